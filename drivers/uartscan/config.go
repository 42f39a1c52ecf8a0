package uartscan

import (
	"fmt"
	"strings"
	"time"
)

// Honeywell serial trigger commands (SYN 'T' CR / SYN 'U' CR), the
// default: most embedded scan engines sold for payment terminals accept
// them or can be switched to them.
const (
	HoneywellOn  = "\x16T\r"
	HoneywellOff = "\x16U\r"
)

// Defaults for the optional Config fields.
const (
	DefaultReadTimeout = 200 * time.Millisecond
	DefaultMaxLen      = 512 // payment codes are 18-24 digits; wallet QR URLs stay well under this
	DefaultGap         = 50 * time.Millisecond
)

// Config describes one scanner module on one serial port.
type Config struct {
	Port    string // device path, e.g. /dev/ttyS1
	Baud    int
	Framing string // data bits, parity, stop bits: "8N1" (default), "7E1", ...
	Suffix  string // line end the module appends: "CR" (default), "LF" or "CRLF"
	// TriggerOn and TriggerOff are sent by Enable(true) and Enable(false).
	// Both empty: the module reads continuously (presentation mode) and
	// Enable(false) only drops what it reads.
	TriggerOn, TriggerOff string
	// ReadTimeout bounds every blocked read of the port. Close and
	// disconnection are noticed only when a read returns, so it also
	// bounds how long Close takes. 100 ms resolution (termios VTIME).
	ReadTimeout time.Duration
	MaxLen      int  // longest accepted line in bytes, without the suffix
	AIM         bool // lines start with an AIM symbology identifier ("]Q1")
	// Gap is the silence after which bytes without a suffix are a partial
	// line. Silence is only seen when a read times out, so in practice a
	// partial line is dropped after max(Gap, ReadTimeout).
	Gap time.Duration
}

// bauds are the standard rates Linux UARTs and USB bridges offer.
var bauds = []int{1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600}

// CheckBaud reports whether rate is a supported baud rate.
func CheckBaud(rate int) error {
	for _, b := range bauds {
		if b == rate {
			return nil
		}
	}
	return fmt.Errorf("unsupported baud rate (one of %s)", strings.Trim(fmt.Sprint(bauds), "[]"))
}

// Framing is a parsed framing string.
type Framing struct {
	DataBits byte // 5-8
	Parity   byte // 'N', 'E' or 'O'
	StopBits byte // 1 or 2
}

func (f Framing) String() string {
	return fmt.Sprintf("%d%c%d", f.DataBits, f.Parity, f.StopBits)
}

// ParseFraming reads "8N1"-style framing: data bits 5-8, parity N, E or O,
// stop bits 1 or 2. Mark/space parity is refused because the Linux serial
// layer underneath cannot set it.
func ParseFraming(s string) (Framing, error) {
	u := strings.ToUpper(s)
	if len(u) != 3 || u[0] < '5' || u[0] > '8' || !strings.ContainsRune("NEO", rune(u[1])) || (u[2] != '1' && u[2] != '2') {
		return Framing{}, fmt.Errorf("want data bits 5-8, parity N, E or O, stop bits 1 or 2 (e.g. 8N1, 7E1)")
	}
	return Framing{DataBits: u[0] - '0', Parity: u[1], StopBits: u[2] - '0'}, nil
}

// ParseSuffix turns a suffix name into the bytes that end a line.
func ParseSuffix(name string) (string, error) {
	switch strings.ToUpper(name) {
	case "CR":
		return "\r", nil
	case "LF":
		return "\n", nil
	case "CRLF":
		return "\r\n", nil
	}
	return "", fmt.Errorf("want CR, LF or CRLF")
}

// settings is a checked Config with defaults applied.
type settings struct {
	Config
	framing Framing
	suffix  string
}

func (c Config) check() (settings, error) {
	s := settings{Config: c}
	if c.Port == "" {
		return s, fmt.Errorf("port: missing")
	}
	if err := CheckBaud(c.Baud); err != nil {
		return s, fmt.Errorf("baud %d: %w", c.Baud, err)
	}
	if s.Framing == "" {
		s.Framing = "8N1"
	}
	var err error
	if s.framing, err = ParseFraming(s.Framing); err != nil {
		return s, fmt.Errorf("framing %q: %w", s.Framing, err)
	}
	if s.Suffix == "" {
		s.Suffix = "CR"
	}
	if s.suffix, err = ParseSuffix(s.Suffix); err != nil {
		return s, fmt.Errorf("suffix %q: %w", s.Suffix, err)
	}
	if (c.TriggerOn == "") != (c.TriggerOff == "") {
		return s, fmt.Errorf("trigger: give both the on and the off command, or neither")
	}
	if s.ReadTimeout == 0 {
		s.ReadTimeout = DefaultReadTimeout
	}
	// Below 100 ms the termios timer cannot go; above 25.5 s it cannot count.
	if s.ReadTimeout < 100*time.Millisecond || s.ReadTimeout > 25500*time.Millisecond {
		return s, fmt.Errorf("read timeout %v: want 100ms-25.5s", s.ReadTimeout)
	}
	if s.MaxLen == 0 {
		s.MaxLen = DefaultMaxLen
	}
	if s.MaxLen < 1 || s.MaxLen > 65536 {
		return s, fmt.Errorf("max length %d: want 1-65536", s.MaxLen)
	}
	if s.Gap == 0 {
		s.Gap = DefaultGap
	}
	if s.Gap < 0 {
		return s, fmt.Errorf("gap %v: negative", s.Gap)
	}
	return s, nil
}

// String describes the settings for self-test and errors.
func (s settings) String() string {
	trig := "no trigger (presentation mode)"
	switch {
	case s.TriggerOn == HoneywellOn && s.TriggerOff == HoneywellOff:
		trig = "Honeywell trigger"
	case s.TriggerOn != "":
		trig = fmt.Sprintf("trigger %q/%q", s.TriggerOn, s.TriggerOff)
	}
	aim := ""
	if s.AIM {
		aim = ", AIM ids"
	}
	return fmt.Sprintf("%s %d %s suffix %s, %s, max %d%s", s.Port, s.Baud, s.framing, strings.ToUpper(s.Suffix), trig, s.MaxLen, aim)
}
