package board

import (
	"fmt"
	"strings"
	"sync"

	"github.com/shoukuan/pos/drivers/console"
	"github.com/shoukuan/pos/drivers/fake"
	"github.com/shoukuan/pos/drivers/pn532/pn532emu"
	"github.com/shoukuan/pos/hal"
)

// simHelp is the simulator's keyboard help, under the POS screen.
var simHelp = []string{
	"0-9 . d=00  Enter=确认 Esc=取消",
	"Bksp=清除 ↑↓ F1-F4 m=menu",
	"←→ choose code, Space scans it",
	"[ ] card; t tap i insert s swipe",
	"r remove card; p paper in/out",
	"Ctrl-C / F10 quit",
}

// simPanels are the virtual devices beside the POS screen.
func simPanels(f *Fakes) []console.Panel {
	var ps []console.Panel
	if f.Printer != nil {
		ps = append(ps, &paperPanel{p: f.Printer})
	}
	if f.Paper != nil {
		ps = append(ps, &paperPanel{p: f.Paper})
	}
	if f.Scanner != nil {
		ps = append(ps, &scannerPanel{s: f.Scanner, images: f.Scanner.Images()})
	}
	if f.Cards != nil {
		ps = append(ps, &cardPanel{r: f.Cards, field: f.Field})
	}
	if f.Indicator != nil {
		ps = append(ps, &indicatorPanel{i: f.Indicator})
	}
	return ps
}

// paperRoll is a printer whose paper the simulator shows: the fake, or
// the ESC/POS emulator behind the real driver.
type paperRoll interface {
	Status() hal.PrinterStatus
	Roll() []string
	SetPaperOut(bool)
}

type paperPanel struct{ p paperRoll }

func (pp *paperPanel) Title() string {
	if pp.p.Status().PaperOut {
		return "Printer: OUT OF PAPER (p)"
	}
	return "Printer paper roll (p: paper out)"
}

func (pp *paperPanel) Lines(width, height int) []console.Line {
	roll := pp.p.Roll()
	if len(roll) > height {
		roll = roll[len(roll)-height:]
	}
	out := make([]console.Line, 0, len(roll))
	for _, l := range roll {
		out = append(out, console.Line{Text: l})
	}
	return out
}

func (pp *paperPanel) HandleKey(k console.KeyPress) bool {
	if k.Rune == 'p' {
		pp.p.SetPaperOut(!pp.p.Status().PaperOut)
		return true
	}
	return false
}

type scannerPanel struct {
	s      *fake.Scanner
	images []string
	mu     sync.Mutex
	sel    int
	status string
}

func (sp *scannerPanel) Title() string {
	if sp.s.Enabled() {
		return "Scanner: ON, waiting for a code"
	}
	return "Scanner: off"
}

func (sp *scannerPanel) Lines(width, height int) []console.Line {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	names := make([]string, len(sp.images))
	for i, n := range sp.images {
		names[i] = strings.TrimSuffix(n, ".png")
	}
	return listWithStatus(names, sp.sel, sp.status, width, height)
}

// listWithStatus is a selectable list under the device's last message.
// The message comes first, wrapped between words, so that an error is
// read whole however small the box; the list takes the rows left, the
// selection kept in view.
func listWithStatus(items []string, sel int, status string, width, height int) []console.Line {
	var out []console.Line
	if status != "" {
		wrapped := console.Wrap(status, width)
		// Leave the selected item a row when there is more than one.
		if keep := max(1, height-1); len(wrapped) > keep {
			wrapped = wrapped[:keep]
			// The cut shows: drop whole words until " …" fits.
			last := wrapped[keep-1]
			for hal.StringWidth(last+" …") > width {
				i := strings.LastIndex(last, " ")
				if i <= 0 {
					last = ""
					break
				}
				last = last[:i]
			}
			wrapped[keep-1] = strings.TrimSpace(last + " …")
		}
		for _, l := range wrapped {
			a := hal.AttrDim
			if strings.HasPrefix(status, "!") {
				a = hal.AttrError
			}
			out = append(out, console.Line{Text: l, Attr: a})
		}
	}
	room := height - len(out)
	first := 0
	if sel >= room {
		first = sel - room + 1
	}
	for i := first; i < len(items) && room > 0; i++ {
		a := hal.AttrNone
		if i == sel {
			a = hal.AttrReverse
		}
		out = append(out, console.Line{Text: items[i], Attr: a})
		room--
	}
	return out
}

func (sp *scannerPanel) HandleKey(k console.KeyPress) bool {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if len(sp.images) == 0 {
		return false
	}
	switch {
	case k.Name == "left":
		sp.sel = (sp.sel + len(sp.images) - 1) % len(sp.images)
	case k.Name == "right":
		sp.sel = (sp.sel + 1) % len(sp.images)
	case k.Name == "space" || k.Rune == ' ':
		c, err := sp.s.Present(sp.images[sp.sel])
		if err != nil {
			sp.status = "! " + err.Error()
		} else {
			sp.status = fmt.Sprintf("read %s %s", c.Symbology, c.Text)
		}
	default:
		return false
	}
	return true
}

type cardPanel struct {
	r      *fake.CardReader
	field  *pn532emu.Emulator // taps go into the PN532 emulator's field, when the board has one
	mu     sync.Mutex
	sel    int
	status string
}

func (cp *cardPanel) Title() string {
	return "Cards (reader: " + cp.r.Armed().String() + ")"
}

func (cp *cardPanel) Lines(width, height int) []console.Line {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cards := cp.r.Cards()
	names := make([]string, len(cards))
	for i, c := range cards {
		names[i] = c.Label + " " + maskPAN(c.PAN)
	}
	return listWithStatus(names, cp.sel, cp.status, width, height)
}

// maskPAN shows the last four digits only: the simulator is a screen that
// people photograph.
func maskPAN(pan string) string {
	if len(pan) < 4 {
		return "****"
	}
	return "**" + pan[len(pan)-4:]
}

func (cp *cardPanel) HandleKey(k console.KeyPress) bool {
	cp.mu.Lock()
	defer cp.mu.Unlock()
	cards := cp.r.Cards()
	if len(cards) == 0 {
		return false
	}
	var mode hal.CardMode
	switch k.Rune {
	case '[':
		cp.sel = (cp.sel + len(cards) - 1) % len(cards)
		return true
	case ']':
		cp.sel = (cp.sel + 1) % len(cards)
		return true
	case 'r':
		cp.r.Remove()
		if cp.field != nil {
			cp.field.Remove("")
		}
		cp.status = "card removed"
		return true
	case 't':
		mode = hal.CardContactless
	case 'i':
		mode = hal.CardChip
	case 's':
		mode = hal.CardMagstripe
	default:
		return false
	}
	if mode == hal.CardContactless && cp.field != nil {
		// Into the PN532's field: the real driver finds it when it polls.
		if err := cp.field.Place(cards[cp.sel]); err != nil {
			cp.status = "! " + err.Error()
		} else {
			cp.status = "in the PN532 field: " + cards[cp.sel].Name
		}
		return true
	}
	if err := cp.r.Present(cards[cp.sel].Name, mode); err != nil {
		cp.status = "! " + err.Error()
	} else {
		cp.status = mode.String() + ": " + cards[cp.sel].Name
	}
	return true
}

type indicatorPanel struct{ i *fake.Indicator }

func (ip *indicatorPanel) Title() string { return "Indicator" }

func (ip *indicatorPanel) Lines(width, height int) []console.Line {
	var leds []string
	for l := hal.LED(0); l < hal.LEDCount; l++ {
		mark := "○"
		if ip.i.LED(l) {
			mark = "●"
		}
		leds = append(leds, mark+l.String())
	}
	out := []console.Line{{Text: strings.Join(leds, " ")}}
	beeps := ip.i.Beeps()
	if n := len(beeps); n > 0 {
		out = append(out, console.Line{Text: fmt.Sprintf("beep: %s (%d)", beeps[n-1], n), Attr: hal.AttrDim})
	}
	return out
}

func (ip *indicatorPanel) HandleKey(console.KeyPress) bool { return false }
