package board

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/shoukuan/pos/drivers/escpos"
	"github.com/shoukuan/pos/drivers/escpos/escposemu"
	"github.com/shoukuan/pos/hal"
)

type Printer struct {
	Driver  string `json:"driver"`
	Columns int    `json:"columns,omitempty"` // fake: characters per line at normal size
	// Profile names the ESC/POS printer model (escpos, escpos-emulator):
	// its paper, font and features (drivers/escpos/profiles.json).
	Profile string `json:"profile,omitempty"`
	// Port and Baud: an ESC/POS printer on a UART. Device: one on USB
	// (/dev/usb/lp0). One of the two.
	Port   string `json:"port,omitempty"`
	Baud   int    `json:"baud,omitempty"`
	Device string `json:"device,omitempty"`
}

func (p Printer) validate() error {
	switch p.Driver {
	case "none":
		return nil
	case "fake":
		if p.Columns < 24 || p.Columns > 64 {
			return fmt.Errorf("printer.columns %d: want 24-64 (32 for 58 mm paper, 48 for 80 mm)", p.Columns)
		}
		if p.Profile != "" || p.Port != "" || p.Device != "" || p.Baud != 0 {
			return errors.New("printer.profile, port, baud, device: only an ESC/POS printer takes them")
		}
		return nil
	}
	prof, err := escpos.LookupProfile(p.Profile)
	if err != nil {
		return fmt.Errorf("printer.profile: %w", err)
	}
	if p.Columns != 0 && p.Columns != prof.Columns() {
		return fmt.Errorf("printer.columns %d: the %s profile prints %d; leave it out", p.Columns, prof.Name, prof.Columns())
	}
	switch p.Baud {
	case 0, 9600, 19200, 38400, 57600, 115200:
	default:
		return fmt.Errorf("printer.baud %d: a receipt printer's rate (9600, 19200, 38400, 57600 or 115200)", p.Baud)
	}
	if p.Driver == "escpos-emulator" {
		if p.Port != "" || p.Device != "" {
			return errors.New("printer.port, printer.device: the emulator makes its own port")
		}
		return nil
	}
	switch {
	case p.Port != "" && p.Device != "":
		return errors.New("printer: on a UART (port) or on USB (device), not both")
	case p.Port == "" && p.Device == "":
		return errors.New("printer.port or printer.device: missing (e.g. /dev/ttyS3, or /dev/usb/lp0)")
	case p.Port != "" && !filepath.IsAbs(p.Port), p.Device != "" && !filepath.IsAbs(p.Device):
		return errors.New("printer.port, printer.device: want an absolute device path")
	case p.Device != "" && p.Baud != 0:
		return errors.New("printer.baud: only a UART printer has a rate")
	}
	return nil
}

func (p Printer) open() (*escpos.Printer, error) {
	prof, err := escpos.LookupProfile(p.Profile)
	if err != nil {
		return nil, err
	}
	if p.Device != "" {
		return escpos.OpenDevice(p.Device, prof, escpos.Options{})
	}
	return escpos.OpenSerial(p.Port, p.Baud, prof, escpos.Options{})
}

// EmulatedPrinter is the desktop's printer on an escpos-emulator board:
// the real driver, over a pseudo-terminal, to the ESC/POS emulator. Each
// job's paper is saved as PNG and text in the receipts directory, and
// its lines make the simulator's paper roll.
type EmulatedPrinter struct {
	*escpos.Printer
	Emulator *escposemu.Emulator
	dir      string

	mu       sync.Mutex
	roll     []string
	last     []string
	n        int
	onChange func()
}

func openEmulatedPrinter(p Printer, dir string) (*EmulatedPrinter, []func() error, error) {
	prof, err := escpos.LookupProfile(p.Profile)
	if err != nil {
		return nil, nil, err
	}
	baud := p.Baud
	if baud == 0 {
		baud = 115200
	}
	emu := escposemu.New(prof, escposemu.Options{})
	pt, err := escposemu.ListenPTY(emu, baud)
	if err != nil {
		return nil, nil, fmt.Errorf("ESC/POS emulator: %w", err)
	}
	drv, err := escpos.OpenSerial(pt.Path(), baud, prof, escpos.Options{})
	if err != nil {
		pt.Close()
		return nil, nil, err
	}
	ep := &EmulatedPrinter{Printer: drv, Emulator: emu, dir: dir}
	// Closed in reverse: the driver before the emulator it talks to.
	return ep, []func() error{pt.Close, drv.Close}, nil
}

// Print prints through the driver, then tears the paper off and keeps it.
func (p *EmulatedPrinter) Print(ctx context.Context, doc hal.Document) error {
	err := p.Printer.Print(ctx, doc)
	p.Emulator.Finish()
	serr := p.keep(doc.Title)
	p.mu.Lock()
	f := p.onChange
	p.mu.Unlock()
	if f != nil {
		f()
	}
	if err == nil && serr != nil {
		return fmt.Errorf("printer: saving the paper: %w", serr)
	}
	return err
}

func (p *EmulatedPrinter) keep(title string) error {
	pages := p.Emulator.TakePages()
	p.mu.Lock()
	defer p.mu.Unlock()
	var firstErr error
	for _, pg := range pages {
		p.n++
		p.roll = append(p.roll, pg.Lines...)
		p.roll = append(p.roll, strings.Repeat("- ", 16))
		if len(p.roll) > 2000 {
			p.roll = p.roll[len(p.roll)-1000:]
		}
		p.last = pg.Lines
		if p.dir == "" {
			continue
		}
		if err := os.MkdirAll(p.dir, 0o700); err != nil {
			return err
		}
		base := filepath.Join(p.dir, fmt.Sprintf("%06d-%s", p.n, slug(title)))
		b, err := pg.PNG(p.Emulator.Dots())
		if err == nil {
			err = os.WriteFile(base+".png", b, 0o600)
		}
		if err == nil {
			err = os.WriteFile(base+".txt", []byte(strings.Join(pg.Lines, "\n")+"\n"), 0o600)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

func slug(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "-"):
			b.WriteByte('-')
		}
		if b.Len() >= 40 {
			break
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		return "job"
	}
	return s
}

// Roll is the paper so far, as text lines.
func (p *EmulatedPrinter) Roll() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.roll...)
}

// LastJob is the text of the last page printed.
func (p *EmulatedPrinter) LastJob() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.last...)
}

// SetPaperOut runs the roll out, or loads a new one.
func (p *EmulatedPrinter) SetPaperOut(out bool) {
	if out {
		p.Emulator.RunOut()
	} else {
		p.Emulator.LoadPaper(0)
	}
}

// OnChange sets a callback run after every job.
func (p *EmulatedPrinter) OnChange(f func()) {
	p.mu.Lock()
	p.onChange = f
	p.mu.Unlock()
}
