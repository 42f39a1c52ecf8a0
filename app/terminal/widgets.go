package terminal

import (
	"strings"

	"github.com/shoukuan/pos/app/ui"
	"github.com/shoukuan/pos/hal"
)

// menuItem is one line of a menu; run is called when it is chosen.
type menuItem struct {
	label msg
	run   func(t *Terminal)
}

// menu is a numbered list: a digit chooses directly, Up/Down move the
// highlight, Enter chooses it, Cancel goes back.
type menu struct {
	title  msg
	items  []menuItem
	sel    int
	back   func(t *Terminal) // nil: Cancel does nothing
	header func(t *Terminal) string
}

func (s *menu) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(s.title))
	y := 1
	if s.header != nil {
		if h := s.header(t); h != "" {
			c.Text(0, y, ui.Truncate(h, c.Cols()), hal.AttrDim)
			y++
		}
	}
	// Scroll so the highlight stays visible on small displays.
	room := c.Rows() - 1 - y
	first := 0
	if s.sel >= room {
		first = s.sel - room + 1
	}
	for i := first; i < len(s.items) && y < c.Rows()-1; i++ {
		a := hal.AttrNone
		if i == s.sel {
			a = hal.AttrReverse
			c.Fill(y, a)
		}
		c.Text(0, y, itemNumber(i)+"."+t.tr(s.items[i].label), a)
		y++
	}
	c.Footer(t.tr(mMenuHint))
}

func itemNumber(i int) string { return string(rune('1' + i)) }

func (s *menu) Key(t *Terminal, k hal.Key) {
	switch k {
	case hal.KeyUp:
		s.sel = (s.sel + len(s.items) - 1) % len(s.items)
	case hal.KeyDown:
		s.sel = (s.sel + 1) % len(s.items)
	case hal.KeyEnter:
		s.items[s.sel].run(t)
	case hal.KeyCancel:
		if s.back != nil {
			s.back(t)
		}
	default:
		if d, ok := k.Digit(); ok && d >= 1 && d <= len(s.items) {
			s.sel = d - 1
			s.items[d-1].run(t)
		}
	}
}

// entry reads digits from the keypad: operator numbers, passwords.
type entry struct {
	title  msg
	prompt string // already translated, may carry arguments
	max    int
	masked bool
	value  string
	// note is a line under the field: the last error, a countdown.
	note     string
	noteAttr hal.Attr
	hint     msg
	lines    []string // extra context lines above the prompt
	ok       func(t *Terminal, s *entry)
	cancel   func(t *Terminal, s *entry)
}

func (s *entry) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(s.title))
	y := 2
	for _, l := range s.lines {
		c.Text(0, y, l, hal.AttrNone)
		y++
	}
	shown := s.value
	if s.masked {
		shown = strings.Repeat("*", len(s.value))
	}
	x := c.Text(0, y, s.prompt, hal.AttrNone)
	c.Text(x+1, y+1, shown+"_", hal.AttrBold)
	if s.note != "" {
		c.Paragraph(y+3, c.Rows()-1, s.note, s.noteAttr)
	}
	c.Footer(t.tr(s.hint))
}

func (s *entry) Key(t *Terminal, k hal.Key) {
	switch k {
	case hal.KeyEnter:
		s.ok(t, s)
	case hal.KeyCancel:
		if s.value != "" {
			s.value = ""
			return
		}
		if s.cancel != nil {
			s.cancel(t, s)
		}
	case hal.KeyClear:
		if s.value != "" {
			s.value = s.value[:len(s.value)-1]
		}
	case hal.Key00:
		for i := 0; i < 2 && len(s.value) < s.max; i++ {
			s.value += "0"
		}
	default:
		if d, ok := k.Digit(); ok && len(s.value) < s.max {
			s.value += string(rune('0' + d))
			s.note = ""
		}
	}
}

func (s *entry) fail(t *Terminal, note string) {
	s.value = ""
	s.note = note
	s.noteAttr = hal.AttrError
	if t.dev.Indicator != nil {
		t.dev.Indicator.Beep(hal.BeepError)
	}
}

// message shows a result or an error until Enter (or Cancel).
type message struct {
	title msg
	code  *ErrCode
	text  string
	attr  hal.Attr
	next  func(t *Terminal)
}

func (s *message) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(s.title))
	y := 2
	if s.code != nil {
		c.Text(0, y, s.code.Code+" "+t.tr(s.code.Title), hal.AttrError|hal.AttrBold)
		y = c.Paragraph(y+1, c.Rows()-1, t.tr(s.code.Fix), hal.AttrNone) + 1
	}
	if s.text != "" {
		c.Paragraph(y, c.Rows()-1, s.text, s.attr)
	}
	c.Footer(t.tr(mContinueHint))
}

func (s *message) Key(t *Terminal, k hal.Key) {
	if k == hal.KeyEnter || k == hal.KeyCancel {
		s.next(t)
	}
}

// showError puts an error screen up; Enter returns to back.
func (t *Terminal) showError(title msg, e ErrCode, detail string, back func(*Terminal)) {
	if t.dev.Indicator != nil {
		t.dev.Indicator.Beep(hal.BeepError)
	}
	t.log.Info("error shown", "code", e.Code, "detail", detail)
	t.Show(&message{title: title, code: &e, text: detail, next: back})
}

// showDone puts a success message up; Enter goes to next.
func (t *Terminal) showDone(title msg, text string, next func(*Terminal)) {
	if t.dev.Indicator != nil {
		t.dev.Indicator.Beep(hal.BeepOK)
	}
	t.Show(&message{title: title, text: text, attr: hal.AttrOK, next: next})
}

// storageFailed is the answer to a journal error anywhere.
func (t *Terminal) storageFailed(title msg, err error, back func(*Terminal)) {
	t.log.Error("journal error", "err", err)
	t.showError(title, E901, "", back)
}
