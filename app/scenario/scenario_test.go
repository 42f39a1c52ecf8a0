package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoukuan/pos/hal"
)

func TestParse(t *testing.T) {
	s, err := Parse("x", `
# comment
press 0 1 enter   # trailing comment
type 0000
scan alipay.png
swipe unionpay-debit
paper out
wait 15m
expect screen "a # not a comment"
expect no-screen "b"
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Steps) != 8 {
		t.Fatalf("%d steps", len(s.Steps))
	}
	if got := s.Steps[0].Keys; len(got) != 3 || got[0] != hal.Key0 || got[2] != hal.KeyEnter || s.Steps[0].Line != 3 {
		t.Fatalf("press: %+v", s.Steps[0])
	}
	if got := s.Steps[1].Keys; len(got) != 4 || got[0] != hal.Key0 {
		t.Fatalf("type: %+v", s.Steps[1])
	}
	if s.Steps[5].Wait != 15*time.Minute || s.Steps[6].Text != "a # not a comment" {
		t.Fatalf("%+v %+v", s.Steps[5], s.Steps[6])
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	for src, want := range map[string]string{
		"press":                  ":1: press",
		"\npress nokey":          `:2: press: unknown key "nokey"`,
		"type 12a":               "type: want digits",
		"scan a b":               "scan: want one name",
		"paper maybe":            "paper: want out or in",
		"wait 10y":               "wait:",
		"wait 9999h":             "wait:",
		"expect screen unquoted": "quoted",
		"expect smell \"x\"":     "expect: want",
		"dance":                  `unknown command "dance"`,
		"# only a comment":       "no steps",
		"remove now":             "remove: takes nothing",
		"expect screen \"\"":     "non-empty",
		"host decline:XYZ sale":  `fault "decline:XYZ"`,
		"host drop-after salez":  `unknown request kind "salez"`,
		"host teleport sale":     `unknown fault "teleport"`,
		"crash-at":               "crash-at: want one crash point",
	} {
		_, err := Parse("f.txt", src)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", src, err, want)
		}
	}
}

// fakeRig is a terminal stand-in: keys append to the screen.
type fakeRig struct {
	screen  string
	scanErr error
}

func (f *fakeRig) Press(k hal.Key) error           { f.screen += k.String(); return nil }
func (f *fakeRig) Scan(string) error               { return f.scanErr }
func (f *fakeRig) Card(string, hal.CardMode) error { return nil }
func (f *fakeRig) RemoveCard() error               { return nil }
func (f *fakeRig) PaperOut(bool) error             { return nil }
func (f *fakeRig) USB(bool) error                  { return nil }
func (f *fakeRig) USBContents() string             { return "" }
func (f *fakeRig) Advance(time.Duration) error     { return nil }
func (f *fakeRig) Settle() error                   { return nil }
func (f *fakeRig) Screen() string                  { return f.screen }
func (f *fakeRig) Paper() string                   { return "paper" }
func (f *fakeRig) CrashAt(p string) error          { f.screen += "crash@" + p; return nil }
func (f *fakeRig) LastPrint() string               { return "last" }

func TestRunChecksExpectations(t *testing.T) {
	s, _ := Parse("ok", "type 12\nexpect screen \"12\"\nexpect no-screen \"3\"")
	if err := s.Run(&fakeRig{}); err != nil {
		t.Fatal(err)
	}
	s, _ = Parse("bad", "type 12\nexpect screen \"13\"")
	var f *Failure
	if err := s.Run(&fakeRig{}); !errors.As(err, &f) || f.Line != 2 || f.Screen != "12" {
		t.Fatalf("err = %v", err)
	}
}

func TestPaperAndCrashSteps(t *testing.T) {
	s, err := Parse("p", "expect paper \"pap\"\nexpect no-paper \"ink\"\ncrash-at sale.outcome\nexpect screen \"crash@sale.outcome\"")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(&fakeRig{}); err != nil {
		t.Fatal(err)
	}
	s, _ = Parse("p", "expect no-paper \"pap\"")
	if err := s.Run(&fakeRig{}); err == nil {
		t.Fatal("no-paper passed with the text on the paper")
	}
}

func TestChargedExpectation(t *testing.T) {
	s, err := Parse("c", "host drop-after sale\nexpect charged card 42\nrestart")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(&fakeRig{}); err != nil {
		t.Fatal(err)
	}
	s, _ = Parse("c", "expect charged card 41")
	if err := s.Run(&fakeRig{}); err == nil || !strings.Contains(err.Error(), "charged 42") {
		t.Fatalf("wrong charge passed: %v", err)
	}
}

func TestDeviceFailureMustBeExpected(t *testing.T) {
	r := &fakeRig{scanErr: errors.New("scanner off")}
	s, _ := Parse("s", "scan a.png\nexpect error \"off\"\ntype 1")
	if err := s.Run(r); err != nil {
		t.Fatalf("expected failure not accepted: %v", err)
	}
	s, _ = Parse("s", "scan a.png\ntype 1")
	if err := s.Run(r); err == nil || !strings.Contains(err.Error(), "s:1: device command failed: scanner off") {
		t.Fatalf("unexpected device failure passed: %v", err)
	}
	s, _ = Parse("s", "type 1\nexpect error \"x\"")
	if err := s.Run(r); err == nil {
		t.Fatal("expect error after a key press passed")
	}
}

func FuzzParse(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "scenarios", "*.txt"))
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		f.Add(string(b))
	}
	f.Add("expect screen \"\\\"#\"")
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Parse("fuzz", src)
		if err != nil {
			return
		}
		for _, st := range s.Steps {
			if st.Line < 1 || st.Verb == "" || (st.Verb == "wait" && (st.Wait <= 0 || st.Wait > MaxWait)) {
				t.Fatalf("bad step %+v", st)
			}
		}
	})
}

func (f *fakeRig) HostFault(string, string) error { return nil }
func (f *fakeRig) ForgetHostRecord(string) error  { return nil }
func (f *fakeRig) Charged(string) (int64, error)  { return 42, nil }
func (f *fakeRig) Restart() error                 { return nil }
func (f *fakeRig) CustomerPays(string) error      { return nil }
