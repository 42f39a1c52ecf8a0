package main

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/drivers/console"
	"github.com/shoukuan/pos/drivers/imagescan"
	"github.com/shoukuan/pos/hal"
)

// phonePanel is the customer's phone in the simulator: it reads the QR on
// the terminal's screen (decoding the picture the console shows) and pays
// it from one of the simulated wallets.
type phonePanel struct {
	sim     *hostsim.Server
	console **console.Console // set once the board is open

	mu   sync.Mutex // the console asks for lines and hands keys on different goroutines
	note string
}

// phoneWallets are keys and the payment codes of testdata/wallets.json
// whose wallets they pay with.
var phoneWallets = []struct {
	key         rune
	code        string
	name, short string
}{
	{'y', "286512345678901234", "Alipay, Huabei credit", "Alipay"},
	{'u', "134567890123456789", "WeChat Pay", "WeChat"},
	{'o', "6225123456789012345", "UnionPay QR", "UnionPay"},
}

func (p *phonePanel) Title() string { return "Customer phone: scans the QR on screen" }

func (p *phonePanel) Lines(width, height int) []console.Line {
	// Every key on one line where it fits (80x24 gives this box two rows),
	// one wallet a line where there is room.
	var keys []string
	for _, w := range phoneWallets {
		keys = append(keys, fmt.Sprintf("%c=%s", w.key, w.short))
	}
	var out []console.Line
	if one := strings.Join(keys, "  "); len(one) <= width && height < len(phoneWallets)+1 {
		out = append(out, console.Line{Text: one})
	} else {
		for _, w := range phoneWallets {
			out = append(out, console.Line{Text: fmt.Sprintf("%c  pay with %s", w.key, w.name)})
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.note != "" {
		for _, l := range console.Wrap(p.note, width) {
			out = append(out, console.Line{Text: l, Attr: hal.AttrDim})
		}
	}
	return out
}

// WithPicture keeps the phone on screen while the terminal shows a QR:
// it is what pays it.
func (p *phonePanel) WithPicture() bool { return true }

func (p *phonePanel) HandleKey(k console.KeyPress) bool {
	for _, w := range phoneWallets {
		if k.Rune == w.key {
			note := p.pay(w.code)
			p.mu.Lock()
			p.note = note
			p.mu.Unlock()
			return true
		}
	}
	return false
}

func (p *phonePanel) pay(code string) string {
	if *p.console == nil {
		return "no screen"
	}
	if err := payShownQR(p.sim, (*p.console).Picture(), code); err != nil {
		return err.Error()
	}
	return "paid (the terminal sees it when it asks next)"
}

// payShownQR is the customer's phone: it reads the picture on the
// terminal's display as a camera would and pays the order behind it from
// the wallet of code.
func payShownQR(sim *hostsim.Server, pic *hal.Bitmap, code string) error {
	if pic == nil {
		return errors.New("the display shows no QR code")
	}
	qr, err := imagescan.NewDecoder().Decode(pic.Gray(4, 2))
	if err != nil {
		return fmt.Errorf("the QR on the display does not decode: %w", err)
	}
	return sim.CustomerPays(qr.Text, code)
}
