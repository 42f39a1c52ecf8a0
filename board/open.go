package board

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/shoukuan/pos/drivers/console"
	"github.com/shoukuan/pos/drivers/fake"
	"github.com/shoukuan/pos/drivers/gpioind"
	"github.com/shoukuan/pos/drivers/matrixkeypad"
	"github.com/shoukuan/pos/drivers/pn532"
	"github.com/shoukuan/pos/drivers/pn532/pn532emu"
	"github.com/shoukuan/pos/drivers/uartscan"
	"github.com/shoukuan/pos/hal"
)

// Env is where a board is opened.
type Env struct {
	DataDir string // receipts and the journal live here
	Assets  string // relative paths in the board description resolve here ("" = working directory)
	// Headless swaps the console for an in-memory display and a scripted
	// keypad: the scenario runner and tests.
	Headless bool
	Title    string // console frame title
	// Panels are more simulator panels (cmd/pos adds the customer's phone).
	Panels []console.Panel
	// KeepGoing opens what can be opened: a device whose driver fails is
	// left out and listed in Board.Unopened instead of failing the board.
	// The technician's self-test wants every device's verdict, not the
	// first missing one.
	KeepGoing bool
}

// Board is an opened board: the devices, plus handles on the fakes for
// the scenario runner and the simulator.
type Board struct {
	Desc    *Desc
	Devices hal.Devices
	Fakes   Fakes
	Console *console.Console // nil when headless or not a console board
	// Unopened are the devices that failed to open (Env.KeepGoing).
	Unopened []Unopened
	closers  []io.Closer // real drivers, stopped by Close
}

// Unopened is a device of the board whose driver would not start.
type Unopened struct {
	Device string // as the self-test names it: "printer", "card reader"...
	Err    error
}

// Fakes are the fake devices of the board, nil where a real driver sits.
type Fakes struct {
	Keypad  *fake.Keypad
	Display *fake.Display
	Scanner *fake.Scanner
	Cards   *fake.CardReader
	// Field is the PN532 emulator's field on a pn532-emulator board: taps
	// go there, through the real driver (PN532).
	Field   *pn532emu.Emulator
	PN532   *pn532.Reader
	Printer *fake.Printer
	// Paper is the ESC/POS emulator's paper on an escpos-emulator board,
	// printed through the real driver.
	Paper     *EmulatedPrinter
	Indicator *fake.Indicator
}

// Open starts the drivers of a board.
func Open(d *Desc, env Env) (_ *Board, err error) {
	b := &Board{Desc: d}
	defer func() {
		if err != nil {
			b.Close() // drivers opened before the failure hold ports
		}
	}()
	// Named as the self-test names them: a device that would not open is
	// reported in its place.
	for _, o := range []struct {
		device string
		open   func(*Board, Env) error
	}{
		{"scanner", (*Board).openScanner}, {"card reader", (*Board).openCardReader},
		{"printer", (*Board).openPrinter}, {"indicator", (*Board).openIndicator},
		{"display", (*Board).openDisplay}, {"keypad", (*Board).openKeypad},
	} {
		if err := o.open(b, env); err != nil {
			if !env.KeepGoing {
				return nil, fmt.Errorf("board %s: %w", d.Name, err)
			}
			b.Unopened = append(b.Unopened, Unopened{Device: o.device, Err: err})
		}
	}
	// The console is the display and keyboard of a desktop board; a
	// terminal's own panel or keypad that failed does not fall back to it.
	if !env.Headless && (d.Display.Driver == "console" || d.Keypad.Driver == "console") {
		if err := b.openConsole(env); err != nil {
			return nil, fmt.Errorf("board %s: console: %w", d.Name, err)
		}
	}
	return b, nil
}

func (b *Board) openScanner(env Env) error {
	d, f, dev := b.Desc, &b.Fakes, &b.Devices
	switch d.Scanner.Driver {
	case "fake":
		dir := resolve(env.Assets, d.Scanner.Images)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return fmt.Errorf("scanner.images %s: no such directory (run from the repository root, or pass --assets DIR)", dir)
		}
		f.Scanner = fake.NewScanner(dir)
		dev.Scanner = f.Scanner
	case "uart":
		cfg, err := d.Scanner.uartConfig()
		if err != nil {
			return err
		}
		s, err := uartscan.Open(cfg)
		if err != nil {
			return fmt.Errorf("scanner.port: %w", err)
		}
		b.closers = append(b.closers, s)
		dev.Scanner = s
	case "camera":
		s, err := d.Scanner.openCamera(env.Assets)
		if err != nil {
			return err
		}
		b.closers = append(b.closers, s)
		dev.Scanner = s
	}
	return nil
}

func (b *Board) openCardReader(env Env) error {
	d, f, dev := b.Desc, &b.Fakes, &b.Devices
	switch d.CardReader.Driver {
	case "fake":
		dir := resolve(env.Assets, d.CardReader.Cards)
		cards, err := fake.LoadCardProfiles(dir)
		if err != nil {
			return fmt.Errorf("card_reader.cards: %w", err)
		}
		if len(cards) == 0 {
			return fmt.Errorf("card_reader.cards %s: no card profiles (run from the repository root, or pass --assets DIR)", dir)
		}
		f.Cards = fake.NewCardReader(cards)
		if env.DataDir != "" {
			if err := f.Cards.KeepChipState(filepath.Join(env.DataDir, "virtual-chips.json")); err != nil {
				return err
			}
		}
		dev.CardReader = f.Cards
		if d.CardReader.Contactless == "" {
			return nil
		}
		port := d.CardReader.Port
		if d.CardReader.Contactless == "pn532-emulator" {
			f.Field = pn532emu.New(pn532emu.Options{Baud: d.CardReader.baud()})
			p, err := pn532emu.ListenPTY(f.Field, d.CardReader.baud())
			if err != nil {
				return fmt.Errorf("PN532 emulator: %w", err)
			}
			b.closers = append(b.closers, p)
			port = p.Path()
		}
		r, err := d.CardReader.openPN532(port)
		if err != nil {
			return fmt.Errorf("card_reader: %w", err)
		}
		// Closed before the emulator: closers run in reverse.
		b.closers = append(b.closers, r)
		f.PN532 = r
		dev.CardReader = newCardMux(f.Cards, r)
	case "pn532":
		r, err := d.CardReader.openPN532(d.CardReader.Port)
		if err != nil {
			return fmt.Errorf("card_reader: %w", err)
		}
		b.closers = append(b.closers, r)
		dev.CardReader = r
	}
	return nil
}

func (b *Board) openPrinter(env Env) error {
	d, f, dev := b.Desc, &b.Fakes, &b.Devices
	receipts := ""
	if env.DataDir != "" {
		receipts = filepath.Join(env.DataDir, "receipts")
	}
	switch d.Printer.Driver {
	case "fake":
		f.Printer = fake.NewPrinter(fake.PrinterOptions{Dir: receipts, Columns: d.Printer.Columns})
		dev.Printer = f.Printer
	case "escpos":
		p, err := d.Printer.open()
		if err != nil {
			return fmt.Errorf("printer: %w", err)
		}
		b.closers = append(b.closers, p)
		dev.Printer = p
	case "escpos-emulator":
		p, closers, err := openEmulatedPrinter(d.Printer, receipts)
		if err != nil {
			return fmt.Errorf("printer: %w", err)
		}
		for _, c := range closers {
			b.closers = append(b.closers, closeFunc(c))
		}
		f.Paper = p
		dev.Printer = p
	}
	return nil
}

func (b *Board) openIndicator(Env) error {
	d, f, dev := b.Desc, &b.Fakes, &b.Devices
	switch d.Indicator.Driver {
	case "fake":
		f.Indicator = fake.NewIndicator()
		dev.Indicator = f.Indicator
	case "gpio":
		ind, err := gpioind.Open(d.Indicator.specs())
		if err != nil {
			return fmt.Errorf("indicator: %w", err)
		}
		b.closers = append(b.closers, ind)
		dev.Indicator = ind
	}
	return nil
}

// Headless swaps only the console for fakes: a terminal's own panel and
// keypad stay, so that pos selftest tests them.
func (b *Board) openDisplay(env Env) error {
	d, f, dev := b.Desc, &b.Fakes, &b.Devices
	switch {
	case d.Display.Driver == "memory" || env.Headless && d.Display.Driver == "console":
		f.Display = fake.NewDisplay(d.Display.Cols, d.Display.Rows)
		dev.Display = f.Display
	case d.Display.Driver == "fbdev":
		disp, err := d.Display.open()
		if err != nil {
			return fmt.Errorf("display: %w", err)
		}
		b.closers = append(b.closers, disp)
		dev.Display = disp
	}
	return nil
}

func (b *Board) openKeypad(env Env) error {
	d, f, dev := b.Desc, &b.Fakes, &b.Devices
	switch {
	case d.Keypad.Driver == "fake" || env.Headless && d.Keypad.Driver == "console":
		f.Keypad = fake.NewKeypad()
		dev.Keypad = f.Keypad
	case d.Keypad.Driver == "matrix":
		cfg, err := d.Keypad.matrixConfig()
		if err != nil {
			return fmt.Errorf("keypad: %w", err)
		}
		k, err := matrixkeypad.Open(cfg)
		if err != nil {
			return fmt.Errorf("keypad: %w", err)
		}
		b.closers = append(b.closers, k)
		dev.Keypad = k
	case d.Keypad.Driver == "evdev":
		k, err := d.Keypad.openEvdev()
		if err != nil {
			return fmt.Errorf("keypad: %w", err)
		}
		b.closers = append(b.closers, k)
		dev.Keypad = k
	}
	return nil
}

func (b *Board) openConsole(env Env) error {
	d, f, dev := b.Desc, &b.Fakes, &b.Devices
	title := env.Title
	if title == "" {
		title = "POS " + d.Name
	}
	c, err := console.Open(console.Options{
		Cols: d.Display.Cols, Rows: d.Display.Rows, Title: title,
		Panels: append(simPanels(f), env.Panels...), Help: simHelp,
	})
	if err != nil {
		return err
	}
	b.Console = c
	if dev.Display == nil {
		dev.Display = c
	}
	if dev.Keypad == nil {
		dev.Keypad = c
	}
	refresh := c.Refresh
	if f.Printer != nil {
		f.Printer.OnChange(refresh)
	}
	if f.Paper != nil {
		f.Paper.OnChange(refresh)
	}
	if f.Indicator != nil {
		f.Indicator.OnChange(refresh)
	}
	return nil
}

// Close stops the drivers; the console gives the terminal back.
func (b *Board) Close() {
	if b.Console != nil {
		b.Console.Close()
	}
	// Last opened, first closed: a driver before the emulator it talks to.
	for i := len(b.closers) - 1; i >= 0; i-- {
		b.closers[i].Close()
	}
}

type closeFunc func() error

func (f closeFunc) Close() error { return f() }
