package uartscan_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shoukuan/pos/drivers/uartscan"
	"github.com/shoukuan/pos/drivers/uartscan/scanemu"
	"github.com/shoukuan/pos/hal"
)

// These tests run the real driver and serial library against the
// emulated module on a pseudo-terminal.

const wait = 3 * time.Second // generous: the test machine may be busy

func honeywell(c uartscan.Config) uartscan.Config {
	c.TriggerOn, c.TriggerOff = uartscan.HoneywellOn, uartscan.HoneywellOff
	return c
}

// rig starts an emulated module and opens the driver on it. Zero config
// fields get 115200 baud and a 100 ms read timeout.
func rig(t *testing.T, o scanemu.Options, c uartscan.Config) (*scanemu.Module, *uartscan.Scanner) {
	t.Helper()
	emu, err := scanemu.Start(o)
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	t.Cleanup(func() { emu.Close() })
	c.Port = emu.Path()
	if c.Baud == 0 {
		c.Baud = 115200
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 100 * time.Millisecond
	}
	s, err := uartscan.Open(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if c.TriggerOff != "" {
		// Open disarms a module that may have been left reading.
		got, err := emu.WaitReceived(len(c.TriggerOff), wait)
		if err != nil || string(got) != c.TriggerOff {
			t.Fatalf("at open the module got %q (%v), want %q", got, err, c.TriggerOff)
		}
	}
	return emu, s
}

// arm enables the driver and waits until the module is reading.
func arm(t *testing.T, emu *scanemu.Module, s *uartscan.Scanner) {
	t.Helper()
	if err := s.Enable(true); err != nil {
		t.Fatal(err)
	}
	if err := emu.WaitTriggered(true, wait); err != nil {
		t.Fatal(err)
	}
}

func read(s *uartscan.Scanner) (hal.Code, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return s.Read(ctx)
}

// present shows a code once the module reads again (the driver re-arms it
// after each line) and checks that the driver reads it exactly.
func present(t *testing.T, emu *scanemu.Module, s *uartscan.Scanner, c hal.Code) {
	t.Helper()
	if err := emu.WaitTriggered(true, wait); err != nil && !emu.Triggered() {
		t.Fatal(err)
	}
	if err := emu.Present(c); err != nil {
		t.Fatal(err)
	}
	got, err := read(s)
	if err != nil || got != c {
		t.Fatalf("read %+v, %v; want %+v", got, err, c)
	}
}

func badLine(t *testing.T, s *uartscan.Scanner, kind string) {
	t.Helper()
	got, err := read(s)
	var bl *uartscan.BadLineError
	if !errors.Is(err, uartscan.ErrBadLine) || !errors.As(err, &bl) {
		t.Fatalf("read %+v, %v; want a bad line (%s)", got, err, kind)
	}
	if kind != "" && bl.Kind != kind {
		t.Fatalf("bad line %q (%v), want %q", bl.Kind, err, kind)
	}
}

func other(text string) hal.Code { return hal.Code{Symbology: hal.SymOther, Text: text} }

func TestTriggerCommandsOnEnable(t *testing.T) {
	emu, s := rig(t, scanemu.Options{}, honeywell(uartscan.Config{}))
	if err := s.Enable(true); err != nil {
		t.Fatal(err)
	}
	got, err := emu.WaitReceived(3, wait)
	if err != nil || string(got) != "\x16T\r" {
		t.Fatalf("Enable(true) sent %q (%v)", got, err)
	}
	if !emu.Triggered() {
		t.Fatal("module not triggered")
	}
	if err := s.Enable(false); err != nil {
		t.Fatal(err)
	}
	got, err = emu.WaitReceived(3, wait)
	if err != nil || string(got) != "\x16U\r" {
		t.Fatalf("Enable(false) sent %q (%v)", got, err)
	}
	if emu.Triggered() {
		t.Fatal("module still triggered")
	}
	time.Sleep(150 * time.Millisecond)
	if extra := emu.Received(); len(extra) != 0 {
		t.Fatalf("driver sent more: %q", extra)
	}
}

func TestCustomTrigger(t *testing.T) {
	on, off := "\x7eSCAN\x03", "\x7eSTOP\x03"
	emu, s := rig(t, scanemu.Options{TriggerOn: on, TriggerOff: off},
		uartscan.Config{TriggerOn: on, TriggerOff: off})
	s.Enable(true)
	if got, err := emu.WaitReceived(len(on), wait); err != nil || string(got) != on {
		t.Fatalf("Enable(true) sent %q (%v)", got, err)
	}
	present(t, emu, s, other("6912345678901234"))
}

func TestReadsPaymentCodesExactly(t *testing.T) {
	emu, s := rig(t, scanemu.Options{}, honeywell(uartscan.Config{}))
	arm(t, emu, s)
	for _, text := range []string{
		"281234567890123456",       // 18 digits, Alipay
		"134567890123456789",       // WeChat
		"6212345678901234567890",   // 22 digits, UnionPay
		"000000000000000000",       // all zeros
		"001234567890123456789012", // 24 digits, leading zeros
		"0",
	} {
		present(t, emu, s, other(text)) // the module stops after a read; only the driver's re-arm lets the next one through
	}
}

func TestURLWithCRLFAndAIM(t *testing.T) {
	emu, s := rig(t, scanemu.Options{Suffix: "\r\n", AIM: true}, honeywell(uartscan.Config{Suffix: "CRLF", AIM: true}))
	arm(t, emu, s)
	present(t, emu, s, hal.Code{Symbology: hal.SymQR, Text: "https://qr.alipay.com/bax03431ljhokirwl38f00a7"})
	present(t, emu, s, hal.Code{Symbology: hal.SymQR, Text: "weixin://wxp/f2f0AbCdEfGhIjKlMnOp?x=1&y=%20"})
	present(t, emu, s, hal.Code{Symbology: hal.SymCode128, Text: "012345678901234567"})
	present(t, emu, s, hal.Code{Symbology: hal.SymEAN13, Text: "6901234567892"})
	// a line without the identifier is refused, and the next one is read
	emu.WaitTriggered(true, wait)
	emu.Send([]byte("281234567890123456\r\n"))
	badLine(t, s, uartscan.BadAIM)
	present(t, emu, s, hal.Code{Symbology: hal.SymQR, Text: "281234567890123456"})
}

func TestSplitChunks(t *testing.T) {
	emu, s := rig(t, scanemu.Options{Suffix: "\r\n"}, honeywell(uartscan.Config{Suffix: "CRLF"}))
	arm(t, emu, s)
	code := other("https://qr.95516.com/00010000/01234567890123456789")
	for _, pieces := range []int{2, 7, len(code.Text) + 2} {
		emu.WaitTriggered(true, wait)
		// pauses shorter than the read timeout: one line, however cut
		if err := emu.PresentSplit(code, pieces, 5*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if got, err := read(s); err != nil || got != code {
			t.Fatalf("%d pieces: read %+v, %v", pieces, got, err)
		}
	}
}

func TestPartialLineThenTimeout(t *testing.T) {
	emu, s := rig(t, scanemu.Options{}, honeywell(uartscan.Config{}))
	arm(t, emu, s)
	start := time.Now()
	emu.Send([]byte("28123456"))
	badLine(t, s, uartscan.BadPartial)
	if d := time.Since(start); d > time.Second {
		t.Fatalf("partial line reported after %v", d)
	}
	present(t, emu, s, other("281234567890123456"))
}

func TestNoiseRejectedThenNextGood(t *testing.T) {
	emu, s := rig(t, scanemu.Options{}, honeywell(uartscan.Config{}))
	arm(t, emu, s)
	for _, noise := range []string{"2812\x003456\r", "\xff\xfe\x80\r", "12\x1b[0m34\r", "\x16\r"} {
		emu.Send([]byte(noise))
		got, err := read(s)
		if !errors.Is(err, uartscan.ErrBadLine) {
			t.Fatalf("noise %q: read %+v, %v", noise, got, err)
		}
		if strings.Contains(err.Error(), "3456") {
			t.Fatalf("error shows the line: %v", err)
		}
	}
	present(t, emu, s, other("134567890123456789"))
}

func TestOverLongRejected(t *testing.T) {
	emu, s := rig(t, scanemu.Options{}, honeywell(uartscan.Config{MaxLen: 32}))
	arm(t, emu, s)
	emu.Send(append(bytes.Repeat([]byte("7"), 100), '\r'))
	badLine(t, s, uartscan.BadTooLong)
	present(t, emu, s, other("00000000001111111111222222222233")) // exactly 32
	// a flood without a line end is refused once, not buffered
	emu.Send(bytes.Repeat([]byte("8"), 5000))
	emu.Send([]byte("\r"))
	badLine(t, s, uartscan.BadTooLong)
	present(t, emu, s, other("281234567890123456"))
}

func TestPresentationModeDropsLinesWhileDisabled(t *testing.T) {
	emu, s := rig(t, scanemu.Options{Presentation: true}, uartscan.Config{})
	// no trigger commands: nothing to send, at open or at Enable
	if err := emu.Present(other("111111111111111111")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // read by the driver while disarmed
	if err := s.Enable(true); err != nil {
		t.Fatal(err)
	}
	present(t, emu, s, other("222222222222222222"))
	s.Enable(false)
	emu.Present(other("333333333333333333"))
	time.Sleep(300 * time.Millisecond)
	s.Enable(true)
	present(t, emu, s, other("444444444444444444"))
	if got := emu.Received(); len(got) != 0 {
		t.Fatalf("driver sent %q in presentation mode", got)
	}
}

func TestDisarmMidLine(t *testing.T) {
	// A long read timeout so that the driver has not yet seen silence
	// when the scanner is disarmed.
	emu, s := rig(t, scanemu.Options{}, honeywell(uartscan.Config{ReadTimeout: 2 * time.Second}))
	arm(t, emu, s)
	emu.Send([]byte("281234"))
	time.Sleep(200 * time.Millisecond)
	s.Enable(false)
	badLine(t, s, uartscan.BadPartial)
	// the rest of the cut code arrives after re-arming: not a code
	arm(t, emu, s)
	emu.Send([]byte("567890123456\r"))
	present(t, emu, s, other("134567890123456789"))
}

func TestReadCancel(t *testing.T) {
	emu, s := rig(t, scanemu.Options{}, honeywell(uartscan.Config{ReadTimeout: time.Second}))
	arm(t, emu, s)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	_, err := s.Read(ctx)
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("cancelled Read returned after %v", d)
	}
	if !errors.Is(err, context.Canceled) || !errors.Is(err, hal.ErrCancelled) {
		t.Fatalf("cancelled Read: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Read(ctx); !errors.Is(err, hal.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timed-out Read: %v", err)
	}
	// the driver still reads afterwards
	present(t, emu, s, other("281234567890123456"))
}

func TestClosePromptWhileReading(t *testing.T) {
	const rt = 500 * time.Millisecond
	emu, s := rig(t, scanemu.Options{}, honeywell(uartscan.Config{ReadTimeout: rt}))
	arm(t, emu, s)
	errc := make(chan error, 1)
	go func() {
		_, err := s.Read(context.Background())
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	emu.TakeReceived()
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > rt+500*time.Millisecond {
		t.Fatalf("Close took %v with a %v read timeout", d, rt)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, uartscan.ErrClosed) {
			t.Fatalf("pending Read: %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("pending Read still blocked after Close")
	}
	if got, _ := emu.WaitReceived(3, wait); string(got) != "\x16U\r" {
		t.Fatalf("Close sent %q, want trigger off", got)
	}
	if err := s.Enable(true); !errors.Is(err, uartscan.ErrClosed) {
		t.Fatalf("Enable after Close: %v", err)
	}
	// the port is free again
	s2, err := uartscan.Open(uartscan.Config{Port: emu.Path(), Baud: 115200})
	if err != nil {
		t.Fatal(err)
	}
	s2.Close()
}

func TestDisconnect(t *testing.T) {
	emu, s := rig(t, scanemu.Options{}, honeywell(uartscan.Config{}))
	arm(t, emu, s)
	errc := make(chan error, 1)
	go func() {
		_, err := read(s)
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	emu.Disconnect()
	select {
	case err := <-errc:
		if !errors.Is(err, hal.ErrDisconnected) {
			t.Fatalf("Read after hang-up: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("Read did not notice the hang-up")
	}
	if err := s.Enable(false); !errors.Is(err, hal.ErrDisconnected) {
		t.Fatalf("Enable after hang-up: %v", err)
	}
	if r := s.SelfTest(context.Background()); r.OK || !strings.Contains(r.Detail, "disconnected") {
		t.Fatalf("self-test after hang-up: %+v", r)
	}
	start := time.Now()
	s.Close()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close after hang-up took %v", d)
	}
}

func TestLineSettingsFromConfig(t *testing.T) {
	emu, s := rig(t, scanemu.Options{Baud: 9600, Framing: "7E2"}, honeywell(uartscan.Config{Baud: 9600, Framing: "7E2"}))
	if baud, stop, err := emu.LineSettings(); err != nil || baud != 9600 || stop != 2 {
		t.Fatalf("driver set %d baud, %d stop bits (%v)", baud, stop, err)
	}
	arm(t, emu, s)
	present(t, emu, s, other("281234567890123456"))
}

func TestWrongBaudIsNoiseNotACode(t *testing.T) {
	for _, tc := range []struct {
		name string
		emu  scanemu.Options
		cfg  uartscan.Config
	}{
		{"baud", scanemu.Options{Baud: 9600}, uartscan.Config{Baud: 115200}},
		{"stop bits", scanemu.Options{Framing: "8N2"}, uartscan.Config{Framing: "8N1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu, s := rig(t, tc.emu, honeywell(tc.cfg))
			arm(t, emu, s)
			if err := emu.Present(other("281234567890123456")); err != nil {
				t.Fatal(err)
			}
			badLine(t, s, "")
			emu.Garbage(40)
			emu.Send([]byte("\r"))
			badLine(t, s, uartscan.BadNoise)
		})
	}
}

func TestSelfTest(t *testing.T) {
	emu, s := rig(t, scanemu.Options{}, honeywell(uartscan.Config{}))
	r := s.SelfTest(context.Background())
	if !r.OK || r.Device != "scanner" || !strings.Contains(r.Detail, emu.Path()) || !strings.Contains(r.Detail, "115200 8N1") || !strings.Contains(r.Detail, "CR") {
		t.Fatalf("self-test: %+v", r)
	}
	if got, _ := emu.WaitReceived(3, wait); string(got) != "\x16U\r" {
		t.Fatalf("self-test sent %q while disarmed", got)
	}
	// while a screen waits for a code the self-test must not disarm it
	arm(t, emu, s)
	emu.TakeReceived()
	if r := s.SelfTest(context.Background()); !r.OK {
		t.Fatalf("armed self-test: %+v", r)
	}
	if got, _ := emu.WaitReceived(3, wait); string(got) != "\x16T\r" || !emu.Triggered() {
		t.Fatalf("armed self-test sent %q", got)
	}
	var _ hal.SelfTester = s
	var _ hal.Scanner = s
}

func TestOpenErrors(t *testing.T) {
	for cfg, want := range map[*uartscan.Config]string{
		{Port: "/dev/no-such-tty", Baud: 9600}:                        "/dev/no-such-tty",
		{Baud: 9600}:                                                  "port: missing",
		{Port: "/dev/null", Baud: 1234}:                               "baud 1234",
		{Port: "/dev/null", Baud: 9600, Framing: "9Z1"}:               `framing "9Z1"`,
		{Port: "/dev/null", Baud: 9600, Suffix: "TAB"}:                `suffix "TAB"`,
		{Port: "/dev/null", Baud: 9600, TriggerOn: "x"}:               "trigger",
		{Port: "/dev/null", Baud: 9600, ReadTimeout: time.Minute}:     "read timeout",
		{Port: "/dev/null", Baud: 9600, MaxLen: -1}:                   "max length",
		{Port: "/dev/null", Baud: 9600, ReadTimeout: time.Nanosecond}: "read timeout",
	} {
		s, err := uartscan.Open(*cfg)
		if err == nil {
			s.Close()
			t.Errorf("%+v: opened", *cfg)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want %q", *cfg, err, want)
		}
	}
}
