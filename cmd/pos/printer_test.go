package main

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoukuan/pos/drivers/escpos"
	"github.com/shoukuan/pos/drivers/uartscan"
)

// The scenarios that print the most, with paper running out and coming
// back, run on a board whose printer is the real ESC/POS driver talking to
// the emulator over a pseudo-terminal: the paper they check is what the
// emulator printed, and each page is saved as a PNG.
func TestScenariosThroughESCPOS(t *testing.T) {
	for _, name := range []string{"paper-out-approved", "sale", "qr-merchant-huabei", "settlement", "chip-tap", "selftest"} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			p := filepath.Join(repoRoot, "testdata", "scenarios", name+".txt")
			data := t.TempDir()
			code := run([]string{"scenario", "--board", "sim-escpos", "--assets", repoRoot, "--data", data, "--secrets", t.TempDir(), p}, &out, &out)
			if code != 0 {
				log, _ := os.ReadFile(filepath.Join(data, "pos.log"))
				t.Fatalf("exit %d\n%s\nlog:\n%s", code, out.String(), log)
			}
			pngs, _ := filepath.Glob(filepath.Join(data, "receipts", "*.png"))
			if len(pngs) == 0 {
				t.Fatal("no pages saved")
			}
			for _, f := range pngs {
				if b, _ := os.ReadFile(f); !bytes.HasPrefix(b, []byte("\x89PNG")) || strings.Contains(f, "--") {
					t.Fatalf("%s is not a page", f)
				}
			}
		})
	}
}

// pos escpos render prints another program's bytes: text, a native QR, a
// barcode it does not draw (reported on stderr, not printed as text), and
// a cut that starts a second page.
func TestEscposRender(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "job.bin")
	job := []byte("\x1b@\x1c&\xc4\xe3\xba\xc3 hello\n\x1dk\x04ABC\x00\x1b\x61\x01" +
		"\x1d(k\x03\x001C\x06\x1d(k\x08\x001P0ABCDE\x1d(k\x03\x001Q0\n\x1dV\x42\x00second page\n")
	if err := os.WriteFile(in, job, 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	png := filepath.Join(dir, "out.png")
	if code := run([]string{"escpos", "render", in, png}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "GS k barcode (7 bytes) not drawn") {
		t.Fatalf("stderr %q", errb.String())
	}
	for _, f := range []string{png, filepath.Join(dir, "out-2.png")} {
		if b, err := os.ReadFile(f); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Fatalf("%s: %v", f, err)
		}
	}
	if !strings.Contains(out.String(), "out.png: 384x") {
		t.Fatalf("stdout %q", out.String())
	}
	if code := run([]string{"escpos", "render", "--profile", "nope", in, png}, &out, &errb); code == 0 {
		t.Fatal("unknown profile accepted")
	}
}

// TestEmulateCommands: pos emulate's stdin commands, and its refusals.
func TestEmulateCommands(t *testing.T) {
	prof, err := escpos.LookupProfile("58mm")
	if err != nil {
		t.Fatal(err)
	}
	var log syncBuffer
	dir := t.TempDir()
	em, err := startEmulators(filepath.Join(dir, "s"), filepath.Join(repoRoot, "testdata", "cards"), filepath.Join(dir, "pages"), prof, &log)
	if err != nil {
		t.Fatal(err)
	}
	defer em.Close()
	for line, want := range map[string]string{
		"tap nosuchcard":          `no card "nosuchcard"`,
		"tap":                     "unknown command",
		"paper -1":                "want a number of dot rows",
		"cover ajar":              "unknown command",
		"dance":                   "unknown command",
		"tap magstripe-only":      "has no chip application",
		"scan 281000000000000001": "the scanner is not reading",
		"scan":                    "unknown command",
	} {
		if err := em.command(line); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", line, err, want)
		}
	}
	for _, line := range []string{"tap unionpay-debit", "remove", "cards", "paper 0", "cover open", "cover close", ""} {
		if err := em.command(line); err != nil {
			t.Errorf("%q: %v", line, err)
		}
	}
	var listed string
	for _, l := range strings.Split(log.String(), "\n") {
		if strings.HasPrefix(l, "emulate: cards: ") {
			listed = l
		}
	}
	if !strings.Contains(listed, " unionpay-debit") || strings.Contains(listed, "magstripe-only") {
		t.Errorf("cards lists the chip cards only: %q", listed)
	}
	// A terminal connected to all three: the scanner reads when asked,
	// what it prints is saved, and Close does not wait for it to hang up.
	var conns []net.Conn
	for _, name := range []string{"pn532.sock", "printer.sock", "scanner.sock"} {
		c, err := net.Dial("unix", filepath.Join(dir, "s", name))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	conns[1].Write([]byte("\x1b@hello from the guest\n"))
	for deadline := time.Now().Add(5 * time.Second); strings.Count(log.String(), "connected") < 3; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no connections:\n%s", log.String())
		}
	}
	conns[2].Write([]byte(uartscan.HoneywellOn))
	if err := em.scanner.WaitTriggered(true, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := em.command("scan 281000000000000001"); err != nil {
		t.Fatal(err)
	}
	conns[2].SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := bufio.NewReader(conns[2]).ReadString('\r')
	if err != nil || got != "281000000000000001\r" {
		t.Errorf("the terminal read %q (%v) from the scanner", got, err)
	}
	if err := em.command("scan 281000000000000001"); err == nil {
		t.Error("the scanner kept reading after a good read")
	}
	closed := make(chan struct{})
	go func() { em.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waits for the terminal to hang up")
	}
	if b, err := os.ReadFile(filepath.Join(dir, "pages", "page-0001.txt")); err != nil || !strings.Contains(string(b), "hello from the guest") {
		t.Errorf("the printed page: %q %v", b, err)
	}
}
