// Package scenario runs the terminal headless from a script: key presses,
// device events and expectations on the screen and the paper. Every flow
// of the terminal is tested end to end this way.
//
// A script is a text file, one command per line; '#' starts a comment.
//
//	press 0 1 enter          keys by name (0-9 00 dot enter cancel clear up down f1-f4 menu)
//	type 123456              digits, one key each
//	scan alipay-huabei.png   present an image to the scanner
//	config {JSON}            before the first step: overlay the configuration
//	tap|insert|swipe CARD    present a virtual card
//	remove                   take the card away
//	paper out|in             printer paper
//	usb in|out               the USB stick (backup, export)
//	wait 15m                 move the terminal's clock on
//	expect screen "text"     the screen shows text (substring)
//	expect no-screen "text"  the screen does not show text
//	expect paper "text"      the paper printed so far holds text
//	expect no-paper "text"   the paper printed so far does not hold text
//	expect usb "text"        a file on the USB stick holds text (or is named so)
//	expect last-print "text" the last document printed holds text
//	expect error "text"      the last device command failed with text
//	host FAULT KIND          the host simulator applies FAULT (drop-after,
//	                         drop-before, bad-mac, signon-again, decline:51,
//	                         answer:96, ...) to the next request of KIND (sale,
//	                         void, refund, reversal, settle, upload, signon,
//	                         balance, walletpay, walletquery, walletcancel,
//	                         precreate, walletclose, walletrefund); a fault or
//	                         kind it does not know fails the script;
//	                         issuer-script: the next approved chip sale
//	                         carries an issuer script for the card
//	crash-at POINT           cut the power when the terminal reaches POINT (a
//	                         durable step such as sale.outcome); then restart
//	forget-host-record STAN  the host loses the record of that trace (unbalanced settlement)
//	restart                  stop the terminal and start it again on the same data
//	expect charged CARD FEN  the host ledger has taken net FEN from that card's account
//	                         (CARD may be a code image: the wallet behind that payment code)
//	customer pays IMAGE      the customer's phone reads the QR on the terminal's
//	                         display and pays it with the wallet of that code image
package scenario

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/hal"
)

// Rig is the terminal under test and its fake devices.
type Rig interface {
	Press(k hal.Key) error
	Scan(image string) error
	Card(name string, mode hal.CardMode) error
	RemoveCard() error
	PaperOut(out bool) error
	Advance(d time.Duration) error
	// Settle waits until the terminal has taken in every input and is idle.
	Settle() error
	Screen() string
	Paper() string
	// LastPrint is the last document printed, "" when none.
	LastPrint() string
	// HostFault injects a fault into the host simulator.
	HostFault(fault, kind string) error
	// ForgetHostRecord makes the host lose a transaction record.
	ForgetHostRecord(stan string) error
	// Charged is the net amount the host took from a virtual card.
	Charged(card string) (int64, error)
	// Restart stops the terminal and starts it again on the same data.
	Restart() error
	// CrashAt cuts the power when the terminal reaches a crash point.
	CrashAt(point string) error
	// CustomerPays reads the QR shown on the display, as a phone does,
	// and pays it from the wallet of the payment code in image.
	CustomerPays(image string) error
	// USB plugs the USB stick in or pulls it out.
	USB(in bool) error
	// USBContents is the names and text of the files on the stick.
	USBContents() string
}

// Step is one command of a script.
type Step struct {
	Line int
	Verb string    // press, scan, tap, insert, swipe, remove, paper, wait, expect
	Keys []hal.Key // press, type
	Arg  string    // image, card, "out"/"in", what: screen|no-screen|paper|error
	Text string    // expect text
	Fen  int64     // expect charged
	Wait time.Duration
}

// Script is a parsed scenario.
type Script struct {
	Name  string
	Steps []Step
	// Config holds the script's configuration overlays (JSON objects of
	// `config {...}` lines, before the first step), applied over the
	// terminal's configuration in order.
	Config []string
}

// MaxWait bounds a wait step; a scenario that waits a year is a typo.
const MaxWait = 7 * 24 * time.Hour

// Parse reads a script. Errors name the line.
func Parse(name, src string) (*Script, error) {
	s := &Script{Name: name}
	for i, raw := range strings.Split(src, "\n") {
		line := strings.TrimSpace(stripComment(raw))
		if line == "" {
			continue
		}
		if rest, ok := strings.CutPrefix(line, "config "); ok {
			if len(s.Steps) > 0 {
				return nil, fmt.Errorf("%s:%d: config must come before the first step", name, i+1)
			}
			if !json.Valid([]byte(rest)) || !strings.HasPrefix(strings.TrimSpace(rest), "{") {
				return nil, fmt.Errorf("%s:%d: config takes a JSON object", name, i+1)
			}
			s.Config = append(s.Config, rest)
			continue
		}
		st, err := parseLine(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, i+1, err)
		}
		st.Line = i + 1
		s.Steps = append(s.Steps, st)
	}
	if len(s.Steps) == 0 {
		return nil, fmt.Errorf("%s: no steps", name)
	}
	return s, nil
}

// stripComment removes a '#' comment outside double quotes.
func stripComment(s string) string {
	in := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if in {
				i++
			}
		case '"':
			in = !in
		case '#':
			if !in {
				return s[:i]
			}
		}
	}
	return s
}

func parseLine(line string) (Step, error) {
	verb, rest, _ := strings.Cut(line, " ")
	rest = strings.TrimSpace(rest)
	st := Step{Verb: verb}
	switch verb {
	case "press":
		if rest == "" {
			return st, errors.New("press: name at least one key")
		}
		for _, f := range strings.Fields(rest) {
			k, err := hal.ParseKey(strings.ToLower(f))
			if err != nil {
				return st, fmt.Errorf("press: %w", err)
			}
			st.Keys = append(st.Keys, k)
		}
	case "type":
		if rest == "" || strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
			return st, fmt.Errorf("type: want digits, got %q", rest)
		}
		for _, r := range rest {
			st.Keys = append(st.Keys, hal.Key0+hal.Key(r-'0'))
		}
		st.Verb = "press"
	case "scan", "tap", "insert", "swipe":
		if rest == "" || strings.ContainsFunc(rest, unicode.IsSpace) {
			return st, fmt.Errorf("%s: want one name", verb)
		}
		st.Arg = rest
	case "remove", "restart":
		if rest != "" {
			return st, fmt.Errorf("%s: takes nothing", verb)
		}
	case "host":
		f := strings.Fields(rest)
		if len(f) != 2 {
			return st, errors.New("host: want FAULT KIND, e.g. host drop-after sale")
		}
		if _, err := hostsim.ParseFault(f[0]); err != nil {
			return st, err
		}
		if _, err := hostsim.ParseKind(f[1]); err != nil {
			return st, err
		}
		st.Arg, st.Text = f[0], f[1]
	case "crash-at":
		if rest == "" || strings.ContainsFunc(rest, unicode.IsSpace) {
			return st, errors.New("crash-at: want one crash point, e.g. crash-at sale.outcome")
		}
		st.Arg = rest
	case "forget-host-record":
		if len(rest) != 6 || strings.Trim(rest, "0123456789") != "" {
			return st, errors.New("forget-host-record: want a 6-digit trace number")
		}
		st.Arg = rest
	case "customer":
		f := strings.Fields(rest)
		if len(f) != 2 || f[0] != "pays" {
			return st, errors.New("customer: want customer pays IMAGE")
		}
		st.Arg = f[1]
	case "paper":
		if rest != "out" && rest != "in" {
			return st, errors.New("paper: want out or in")
		}
		st.Arg = rest
	case "usb":
		if rest != "out" && rest != "in" {
			return st, errors.New("usb: want in or out")
		}
		st.Arg = rest
	case "wait":
		d, err := time.ParseDuration(rest)
		if err != nil || d <= 0 || d > MaxWait {
			return st, fmt.Errorf("wait: want a duration like 90s or 15m, up to %v", MaxWait)
		}
		st.Wait = d
	case "expect":
		what, q, _ := strings.Cut(rest, " ")
		switch what {
		case "screen", "no-screen", "paper", "no-paper", "last-print", "error", "usb":
		case "charged":
			f := strings.Fields(q)
			if len(f) != 2 {
				return st, errors.New("expect charged: want CARD FEN")
			}
			fen, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return st, errors.New("expect charged: FEN must be an integer")
			}
			st.Arg, st.Text, st.Fen = what, f[0], fen
			return st, nil
		default:
			return st, fmt.Errorf("expect: want screen, no-screen, paper, no-paper, last-print, error or charged, got %q", what)
		}
		text, err := strconv.Unquote(strings.TrimSpace(q))
		if err != nil || text == "" {
			return st, fmt.Errorf("expect %s: want a non-empty \"quoted text\"", what)
		}
		st.Arg, st.Text = what, text
	default:
		return st, fmt.Errorf("unknown command %q", verb)
	}
	return st, nil
}

// Failure is a failed expectation or step, with what the screen showed.
type Failure struct {
	Script string
	Line   int
	Msg    string
	Screen string
}

func (f *Failure) Error() string {
	return fmt.Sprintf("%s:%d: %s\n--- screen ---\n%s\n--------------", f.Script, f.Line, f.Msg, f.Screen)
}

// Run executes the script against the rig and stops at the first failure.
func (s *Script) Run(r Rig) error {
	if err := r.Settle(); err != nil {
		return &Failure{Script: s.Name, Msg: "terminal did not start: " + err.Error(), Screen: r.Screen()}
	}
	var lastErr error // of the last device command
	lastLine := 0
	for _, st := range s.Steps {
		fail := func(format string, args ...any) error {
			return &Failure{Script: s.Name, Line: st.Line, Msg: fmt.Sprintf(format, args...), Screen: r.Screen()}
		}
		// A device command may fail on purpose (a code that does not read),
		// but then the very next step must say so with `expect error`.
		if lastErr != nil && !(st.Verb == "expect" && st.Arg == "error") {
			return &Failure{Script: s.Name, Line: lastLine, Msg: "device command failed: " + lastErr.Error(), Screen: r.Screen()}
		}
		var err error
		device := true
		switch st.Verb {
		case "press":
			device = false
			for _, k := range st.Keys {
				if err = r.Press(k); err != nil {
					break
				}
				if err = r.Settle(); err != nil {
					break
				}
			}
		case "scan":
			err = r.Scan(st.Arg)
		case "customer":
			err = r.CustomerPays(st.Arg)
		case "tap":
			err = r.Card(st.Arg, hal.CardContactless)
		case "insert":
			err = r.Card(st.Arg, hal.CardChip)
		case "swipe":
			err = r.Card(st.Arg, hal.CardMagstripe)
		case "remove":
			err = r.RemoveCard()
		case "paper":
			err = r.PaperOut(st.Arg == "out")
		case "usb":
			device = false
			err = r.USB(st.Arg == "in")
		case "wait":
			device = false
			err = r.Advance(st.Wait)
		case "host":
			device = false
			err = r.HostFault(st.Arg, st.Text)
		case "forget-host-record":
			device = false
			err = r.ForgetHostRecord(st.Arg)
		case "restart":
			device = false
			err = r.Restart()
		case "crash-at":
			device = false
			err = r.CrashAt(st.Arg)
		case "expect":
			device = false
			if e := s.check(r, st, lastErr); e != nil {
				return fail("%s", e)
			}
			if st.Arg == "error" {
				lastErr = nil
			}
			continue
		}
		if device {
			lastErr, lastLine, err = err, st.Line, nil
		} else if st.Verb != "expect" {
			lastErr = nil
		}
		if err == nil {
			err = r.Settle()
		}
		if err != nil {
			return fail("%s: %v", st.Verb, err)
		}
	}
	return nil
}

func (s *Script) check(r Rig, st Step, lastErr error) error {
	switch st.Arg {
	case "screen":
		if !strings.Contains(r.Screen(), st.Text) {
			return fmt.Errorf("expected the screen to show %q", st.Text)
		}
	case "no-screen":
		if strings.Contains(r.Screen(), st.Text) {
			return fmt.Errorf("expected the screen not to show %q", st.Text)
		}
	case "paper":
		if !strings.Contains(r.Paper(), st.Text) {
			return fmt.Errorf("expected the paper to hold %q; paper:\n%s", st.Text, r.Paper())
		}
	case "usb":
		if !strings.Contains(r.USBContents(), st.Text) {
			return fmt.Errorf("expected a file on the USB stick to hold %q", st.Text)
		}
	case "no-paper":
		if strings.Contains(r.Paper(), st.Text) {
			return fmt.Errorf("expected the paper not to hold %q", st.Text)
		}
	case "last-print":
		if last := r.LastPrint(); !strings.Contains(last, st.Text) {
			return fmt.Errorf("expected the last document printed to hold %q; it was:\n%s", st.Text, last)
		}
	case "charged":
		got, err := r.Charged(st.Text)
		if err != nil {
			return err
		}
		if got != st.Fen {
			return fmt.Errorf("expected the host to have charged %s %d fen net, it charged %d", st.Text, st.Fen, got)
		}
	case "error":
		if lastErr == nil {
			return fmt.Errorf("expected the device command before to fail with %q, it succeeded", st.Text)
		}
		if !strings.Contains(lastErr.Error(), st.Text) {
			return fmt.Errorf("expected the last device command to fail with %q, got %v", st.Text, lastErr)
		}
	}
	return nil
}
