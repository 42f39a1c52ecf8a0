package board

import (
	"context"
	"errors"
	"github.com/shoukuan/pos/drivers/escpos"
	"github.com/shoukuan/pos/drivers/escpos/escposemu"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoukuan/pos/drivers/console"
	"github.com/shoukuan/pos/drivers/pn532/pn532emu"
	"github.com/shoukuan/pos/drivers/uartscan"
	"github.com/shoukuan/pos/drivers/uartscan/scanemu"
	"github.com/shoukuan/pos/hal"
)

func TestBuiltinBoardsAreValid(t *testing.T) {
	if len(Names()) == 0 {
		t.Fatal("no built-in boards")
	}
	for _, n := range Names() {
		d, err := Load(n)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		if d.Name != n {
			t.Errorf("board file %s.json names itself %q", n, d.Name)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load("nope"); err == nil || !strings.Contains(err.Error(), "built-in boards are ") || !strings.Contains(err.Error(), "sim") {
		t.Fatalf("unknown board: %v", err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "b.json")
	os.WriteFile(p, []byte(`{"name":"x"`), 0o644)
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Fatalf("broken file: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); err == nil {
		t.Fatal("missing file loaded")
	}
	// A path to something endless is refused after a bounded read.
	if _, err := Load("/dev/zero"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("/dev/zero as a board: %v", err)
	}
}

func TestValidateNamesTheProblem(t *testing.T) {
	base, _ := embedded.ReadFile("boards/sim.json")
	for edit, want := range map[[2]string]string{
		{`"driver": "fake", "images"`, `"driver": "laser", "images"`}:                    `scanner.driver "laser": unknown (one of fake, none`,
		{`"cols": 32`, `"cols": 4`}:                                                      "display: 4x12 cells",
		{`"columns": 32`, `"columns": 100`}:                                              "printer.columns 100",
		{`"images": "testdata/codes"`, `"images": ""`}:                                   "scanner.images",
		{`"name": "sim"`, `"name": ""`}:                                                  "name: missing",
		{`"display": {"driver": "console"`, `"display": {"driver": "memory"`}:            "keypad.driver console: needs display.driver console",
		{`"indicator": {"driver": "fake"}`, `"indicator": {"driver": "fake", "pin": 7}`}: `unknown field "pin"`,
	} {
		src := strings.Replace(string(base), edit[0], edit[1], 1)
		if src == string(base) {
			t.Fatalf("edit %q did not apply", edit[0])
		}
		_, err := Parse([]byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", edit[1], err, want)
		}
	}
}

func TestOpenHeadlessSim(t *testing.T) {
	d, _ := Load("sim")
	b, err := Open(d, Env{DataDir: t.TempDir(), Assets: filepath.Join("..", ""), Headless: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Console != nil || b.Fakes.Display == nil || b.Fakes.Keypad == nil || b.Fakes.Scanner == nil || b.Fakes.Cards == nil || b.Fakes.Printer == nil {
		t.Fatalf("headless sim: %+v", b.Fakes)
	}
	if _, err := Open(d, Env{DataDir: t.TempDir(), Assets: t.TempDir(), Headless: true}); err == nil || !strings.Contains(err.Error(), "--assets") {
		t.Fatalf("missing assets: %v", err)
	}
}

func TestPanels(t *testing.T) {
	d, _ := Load("sim")
	b, err := Open(d, Env{DataDir: t.TempDir(), Assets: "..", Headless: true})
	if err != nil {
		t.Fatal(err)
	}
	ps := simPanels(&b.Fakes)
	if len(ps) != 4 {
		t.Fatalf("%d panels", len(ps))
	}
	scan := ps[1].(*scannerPanel)
	// scanning while the terminal does not want a code says so
	scan.HandleKey(keySpace)
	if got := scan.Lines(40, 20); !strings.Contains(got[0].Text+" "+got[1].Text, "not waiting") {
		t.Fatalf("scanner status: %+v", got)
	}
	b.Fakes.Scanner.Enable(true)
	scan.HandleKey(keySpace)
	if got := scan.Lines(40, 20); !strings.Contains(got[0].Text, "read CODE_128 2812345678901234567") {
		t.Fatalf("scanner status: %+v", got)
	}
	cards := ps[2].(*cardPanel)
	for _, l := range cards.Lines(60, 20) {
		if strings.Contains(l.Text, "6222021234567890128") {
			t.Fatalf("panel shows a full PAN: %q", l.Text)
		}
	}
	b.Fakes.Cards.Enable(hal.CardMagstripe)
	cards.HandleKey(runeKey('s'))
	if got := cards.Lines(60, 20); !strings.Contains(got[0].Text, "magstripe: aac-card") {
		t.Fatalf("card status: %+v", got)
	}
	paper := ps[0].(*paperPanel)
	paper.HandleKey(runeKey('p'))
	if !b.Fakes.Printer.Status().PaperOut || !strings.Contains(paper.Title(), "OUT OF PAPER") {
		t.Fatal("p did not take the paper out")
	}
}

func TestValidateUARTScanner(t *testing.T) {
	base, _ := embedded.ReadFile("boards/devkit.json")
	for edit, want := range map[[2]string]string{
		{`"port": "/dev/ttyS1", `, ``}:                                                     "scanner.port: missing",
		{`"baud": 115200`, `"baud": 0`}:                                                    "scanner.baud: missing",
		{`"baud": 115200`, `"baud": 115201`}:                                               "scanner.baud 115201: unsupported baud rate",
		{`"framing": "8N1"`, `"framing": "8M1"`}:                                           `scanner.framing "8M1": want data bits 5-8, parity N, E or O`,
		{`"suffix": "CR"`, `"suffix": "TAB"`}:                                              `scanner.suffix "TAB": want CR, LF or CRLF`,
		{`"trigger": "honeywell"`, `"trigger": "zebra"`}:                                   `scanner.trigger "zebra": unknown`,
		{`"trigger": "honeywell"`, `"trigger": "custom"`}:                                  "scanner.trigger custom: needs trigger_on and trigger_off",
		{`"trigger": "honeywell"`, `"trigger_on": "\u0016T\r"`}:                            "scanner.trigger_on, trigger_off: only with trigger custom",
		{`"read_timeout_ms": 200`, `"read_timeout_ms": 50`}:                                "scanner.read_timeout_ms 50: want 100-25500",
		{`"read_timeout_ms": 200`, `"read_timeout_ms": 30000`}:                             "scanner.read_timeout_ms 30000",
		{`"max_len": 512`, `"max_len": -1`}:                                                "scanner.max_len -1",
		{`"max_len": 512`, `"max_len": "512"`}:                                             "cannot unmarshal string",
		{`"driver": "uart"`, `"driver": "fake", "images": "x"`}:                            "scanner.port: only the uart driver takes it",
		{`"driver": "uart", "port": "/dev/ttyS1", "baud": 115200, `, `"driver": "none", `}: "scanner.framing: only the uart driver takes it",
	} {
		src := strings.Replace(string(base), edit[0], edit[1], 1)
		if src == string(base) {
			t.Fatalf("edit %q did not apply", edit[0])
		}
		_, err := Parse([]byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", edit[1], err, want)
		}
	}
	// custom trigger strings come through exactly, defaults fill the rest
	src := strings.Replace(string(base), `"trigger": "honeywell"`, `"trigger": "custom", "trigger_on": "\u007eT\u0003", "trigger_off": "\u007eU\u0003"`, 1)
	src = strings.Replace(src, `"framing": "8N1", "suffix": "CR", `, ``, 1)
	d, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	c, err := d.Scanner.uartConfig()
	if err != nil || c.TriggerOn != "~T\x03" || c.TriggerOff != "~U\x03" || c.Framing != "" || c.Suffix != "" || c.ReadTimeout != 200*time.Millisecond || c.MaxLen != 512 {
		t.Fatalf("config %+v, %v", c, err)
	}
}

// The built-in dev kit board is checked like any board file (see
// TestBuiltinBoardsAreValid) but cannot be opened here: its port is real
// hardware. Opening it where the port is missing must say which field.
func TestOpenUARTBoardWithoutPort(t *testing.T) {
	d, _ := Load("devkit")
	d.Scanner.Port = filepath.Join(t.TempDir(), "ttyS1")
	d.CardReader.Port = filepath.Join(t.TempDir(), "ttyS2")
	_, err := Open(d, Env{DataDir: t.TempDir(), Assets: "..", Headless: true})
	if err == nil || !strings.Contains(err.Error(), "board devkit: scanner.port") || !strings.Contains(err.Error(), d.Scanner.Port) {
		t.Fatalf("open without the port: %v", err)
	}
}

func TestOpenUARTScanner(t *testing.T) {
	emu, err := scanemu.Start(scanemu.Options{})
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer emu.Close()
	// The dev kit's PN532 on its own line.
	nfc, err := pn532emu.ListenPTY(pn532emu.New(pn532emu.Options{}), 115200)
	if err != nil {
		t.Fatal(err)
	}
	defer nfc.Close()
	// Its USB printer: the ESC/POS emulator's line stands in for lp0.
	prof, _ := escpos.LookupProfile("58mm")
	paper := escposemu.New(prof, escposemu.Options{})
	lp, err := escposemu.ListenPTY(paper, 115200)
	if err != nil {
		t.Fatal(err)
	}
	defer lp.Close()
	d, _ := Load("devkit")
	d.Scanner.Port = emu.Path()
	d.CardReader.Port = nfc.Path()
	d.Printer.Device = lp.Path()
	b, err := Open(d, Env{DataDir: t.TempDir(), Assets: "..", Headless: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Fakes.PN532 == nil {
		t.Fatal("the dev kit's taps do not go to its PN532")
	}
	s, ok := b.Devices.Scanner.(*uartscan.Scanner)
	if !ok || b.Fakes.Scanner != nil {
		t.Fatalf("scanner %T, fake %v", b.Devices.Scanner, b.Fakes.Scanner)
	}
	if err := s.Enable(true); err != nil {
		t.Fatal(err)
	}
	if err := emu.WaitTriggered(true, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	code := hal.Code{Symbology: hal.SymOther, Text: "012345678901234567"}
	emu.Present(code)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if got, err := s.Read(ctx); err != nil || got != code {
		t.Fatalf("read %+v, %v", got, err)
	}
	if _, ok := b.Devices.Printer.(*escpos.Printer); !ok || b.Devices.Indicator != nil {
		t.Fatalf("printer %T, indicator %T: want the ESC/POS driver and no indicator", b.Devices.Printer, b.Devices.Indicator)
	}
	if st := b.Devices.Printer.(hal.SelfTester).SelfTest(ctx); !st.OK || !strings.Contains(st.Detail, "ready") {
		t.Fatalf("printer self-test %+v", st)
	}
	b.Close()
	if err := s.Enable(true); !errors.Is(err, uartscan.ErrClosed) {
		t.Fatalf("scanner still open after Board.Close: %v", err)
	}
}

var keySpace = console.KeyPress{Name: "space"}

func runeKey(r rune) console.KeyPress { return console.KeyPress{Rune: r} }

func FuzzParse(f *testing.F) {
	base, _ := embedded.ReadFile("boards/sim.json")
	f.Add(base)
	f.Add([]byte(`{"name":"x","display":{"driver":"memory","cols":16,"rows":8}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			return
		}
		if d.Validate() != nil || d.Name == "" {
			t.Fatalf("accepted an invalid board: %+v", d)
		}
	})
}

// TestDeviceMessagesWrapAtWords: a device's message is shown first and
// whole, broken between words, however narrow the box; the selection
// stays in view below it.
func TestDeviceMessagesWrapAtWords(t *testing.T) {
	msg := "! card reader: magstripe not armed: this screen does not want a swipe"
	items := []string{"a", "b", "c", "d"}
	lines := listWithStatus(items, 3, msg, 20, 6)
	var got []string
	for _, l := range lines {
		if hal.StringWidth(l.Text) > 20 {
			t.Errorf("line %q wider than the box", l.Text)
		}
		got = append(got, l.Text)
	}
	if len(lines) != 6 || !strings.HasPrefix(strings.Join(got[:4], " "), "! card reader: magstripe not armed:") {
		t.Fatalf("lines %q", got)
	}
	for _, l := range got[:4] {
		for _, w := range strings.Fields(l) {
			if !strings.Contains(msg, w) {
				t.Errorf("word %q is not whole in the message", w)
			}
		}
	}
	if got[len(got)-1] != "d" || lines[len(lines)-1].Attr != hal.AttrReverse {
		t.Errorf("the selection is not in view: %q", got)
	}
	// Too little room: the message ends at a word, marked as cut.
	short := listWithStatus(items, 0, msg, 20, 3)
	if len(short) != 3 || !strings.HasSuffix(short[1].Text, "…") || short[2].Text != "a" {
		t.Errorf("short box: %+v", short)
	}
}

func TestPN532Wiring(t *testing.T) {
	base, _ := Load("devkit")
	for _, tc := range []struct {
		name        string
		port, i2c   string
		contactless string
		ok          bool
	}{
		{"uart", "/dev/ttyS2", "", "pn532", true},
		{"i2c", "", "1", "pn532", true},
		{"both", "/dev/ttyS2", "1", "pn532", false},
		{"neither", "", "", "pn532", false},
		{"relative port", "ttyS2", "", "pn532", false},
		{"port without a pn532", "/dev/ttyS2", "", "", false},
		{"unknown", "", "", "rc522", false},
	} {
		d := *base
		d.CardReader.Port, d.CardReader.I2C, d.CardReader.Contactless = tc.port, tc.i2c, tc.contactless
		if err := d.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// The buildable terminal's devices: each mistake in its file is named.
func TestValidateTerminalDevices(t *testing.T) {
	base, _ := embedded.ReadFile("boards/rpi4-pos.json")
	for edit, want := range map[[2]string]string{
		{`"device": "/dev/fb1"`, `"device": "fb1"`}:                                    `display.device "fb1"`,
		{`["dot", "0", "down", "enter"]`, `["dot", "0", "down"]`}:                      "layout row 3: 3 keys for 4 column pins",
		{`["dot", "0", "down", "enter"]`, `["dot", "0", "down", "enterr"]`}:            "enterr",
		{`"debounce_ms": 20`, `"debounce_ms": 2000`}:                                   "debounce_ms 2000",
		{`"buzzer": "gpio:GPIO18"`, `"buzzer": "pin18"`}:                               "indicator.buzzer",
		{`"red": "gpio:GPIO23"`, `"red": "gpio:GPIO23:inverted"`}:                      "indicator.red",
		{`"device": "/dev/usb/lp0"`, `"device": "/dev/usb/lp0", "port": "/dev/ttyS3"`}: "printer: on a UART (port) or on USB (device), not both",
		{`"profile": "58mm"`, `"profile": "57mm"`}:                                     `printer.profile: printer profile "57mm": unknown`,
		{`"driver": "matrix",`, `"driver": "evdev",`}:                                  "keypad.rows, cols, layout, debounce_ms: only the matrix driver takes them",
		{`"driver": "gpio", "buzzer"`, `"driver": "fake", "buzzer"`}:                   "indicator.",
		{`"driver": "escpos", "profile": "58mm", "device": "/dev/usb/lp0"`, `"driver": "escpos-emulator", "profile": "58mm", "device": "/dev/usb/lp0"`}: "the emulator makes its own port",
	} {
		src := strings.Replace(string(base), edit[0], edit[1], 1)
		if src == string(base) {
			t.Fatalf("edit %q did not apply", edit[0])
		}
		_, err := Parse([]byte(src))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", edit[1], err, want)
		}
	}
	// An evdev keypad: a device path and a key map that parses.
	ev := strings.Replace(string(base), `"keypad": {`, `"keypad": {"driver": "evdev", "device": "/dev/input/by-path/platform-keypad-event", "keymap": {"KEY_ENTER": "enter", "2": "1"}}, "unused": {`, 1)
	if _, err := Parse([]byte(ev)); err == nil || !strings.Contains(err.Error(), `unknown field "unused"`) {
		t.Fatalf("evdev edit: %v", err)
	}
}

// Opening the terminal's board on a machine without its hardware names
// the first device missing, instead of running on fakes.
func TestOpenTerminalWithoutHardware(t *testing.T) {
	d, err := Load("rpi4-pos")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(d, Env{DataDir: t.TempDir(), Headless: true}); err == nil {
		t.Fatal("rpi4-pos opened on a machine without its devices")
	}
}

// TestKeepGoingListsEveryUnopenedDevice: the technician's self-test opens
// what it can and hears about each device that would not open, named as
// the self-test names it.
func TestKeepGoingListsEveryUnopenedDevice(t *testing.T) {
	d, err := Load("rpi4-pos")
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open(d, Env{DataDir: t.TempDir(), Headless: true, KeepGoing: true})
	if err != nil {
		t.Fatalf("KeepGoing still failed: %v", err)
	}
	defer b.Close()
	var got []string
	for _, u := range b.Unopened {
		got = append(got, u.Device)
		if u.Err == nil {
			t.Errorf("%s: no reason", u.Device)
		}
	}
	want := "scanner,card reader,printer,indicator,display,keypad"
	if strings.Join(got, ",") != want {
		t.Fatalf("unopened %q, want %q", got, want)
	}
	if b.Devices.Printer != nil || b.Devices.Keypad != nil || b.Console != nil {
		t.Fatalf("a device that failed to open is set: %+v", b.Devices)
	}
}
