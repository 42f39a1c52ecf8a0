package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/config"
	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/host"
	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/app/seckey"
	"github.com/shoukuan/pos/board"
	_ "modernc.org/sqlite"
)

// startFails runs a child that must not get as far as the sign-in screen
// and returns its exit code and what it said.
func (c *crashEnv) startFails(op string) (int, string) {
	c.t.Helper()
	out, err := c.child(op, "", "").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		c.t.Fatalf("%s: the terminal started: %v\n%s", op, err, out)
	}
	return ee.ExitCode(), string(out)
}

// TestSecondTerminalRefused: two real terminal processes on one data
// directory: the second stops at once, names the first, touches nothing,
// and the first finishes its sale.
func TestSecondTerminalRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	c := newCrashEnv(t)
	c.run("setup", "", "")
	c.secondProcess(rand.New(rand.NewSource(1)))
}

// TestLostWALRefusedAndReinit is finding 4: a crash right after a sale,
// the write-ahead log deleted, a start. The terminal refuses, creates
// nothing and gives no default password back; a supervised re-initialise
// then continues the trace numbers, so the host takes the next sale.
func TestLostWALRefusedAndReinit(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	c := newCrashEnv(t)
	c.run("setup", "", "")
	s := c.run("op", scriptSale(2500), "")
	first, ok := lastApproved(s, engine.KindSale, false)
	if !ok {
		t.Fatal("no sale")
	}
	c.run("op", scriptSale(9900), "sale.outcome")
	if err := os.Remove(filepath.Join(c.data, "journal.db-wal")); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, c.data)
	code, msg := c.startFails("recover")
	if code != 2 || !strings.Contains(msg, "write-ahead log") || !strings.Contains(msg, "Nothing was changed") {
		t.Fatalf("exit %d: %s", code, msg)
	}
	if after := snapshot(t, c.data); after != before {
		t.Fatalf("the refusal changed the data directory:\nbefore %s\nafter  %s", before, after)
	}
	// The technician's view, and the way on.
	var out bytes.Buffer
	if code := run([]string{"journal", "check", "--data", c.data}, &out, &out); code != 1 || !strings.Contains(out.String(), "write-ahead log") {
		t.Fatalf("journal check: exit %d\n%s", code, out.String())
	}
	out.Reset()
	if code := run([]string{"journal", "reinit", "--data", c.data, "--confirm", "1000000X"}, &out, &out); code != 1 {
		t.Fatalf("reinit without the right confirmation: exit %d", code)
	}
	out.Reset()
	if code := run([]string{"journal", "reinit", "--data", c.data, "--confirm", "10000001"}, &out, &out); code != 0 || !strings.Contains(out.String(), "lost-") {
		t.Fatalf("journal reinit: exit %d\n%s", code, out.String())
	}
	// A new journal: the operators start again, the trace numbers do not.
	c.run("setup", "", "")
	s = c.run("op", scriptSale(1200), "")
	next, ok := lastApproved(s, engine.KindSale, false)
	if !ok {
		t.Fatalf("no sale after re-initialising: %+v", s.Txns)
	}
	if next.STAN <= first.STAN {
		t.Fatalf("trace %s after re-initialising reuses the old journal's numbers (it had %s)", next.STAN, first.STAN)
	}
}

// TestDemoAndMasterKeyRules: the simulator's public master key and the
// in-process host are demo mode only, and demo mode is never implied off
// the sim board.
func TestDemoAndMasterKeyRules(t *testing.T) {
	sim, _ := board.Load("sim")
	devkit, _ := board.Load("devkit")
	cfg := config.Default()
	if demo, err := demoMode(cfg, sim); !demo || err != nil {
		t.Fatalf("sim board, in-process host: demo %v, %v", demo, err)
	}
	if _, err := demoMode(cfg, devkit); err == nil || !strings.Contains(err.Error(), `"demo": true`) {
		t.Fatalf("devkit with the in-process host and no demo: %v", err)
	}
	cfg.Demo = true
	if demo, err := demoMode(cfg, devkit); !demo || err != nil {
		t.Fatalf("devkit, demo set: %v %v", demo, err)
	}
	real := config.Default()
	real.Host.InProcess = false
	if _, err := demoMode(real, sim); err == nil || !strings.Contains(err.Error(), "pos keys load") {
		t.Fatalf("a real host with the simulator's master key: %v", err)
	}
	real.Host.TMK = "loaded"
	if demo, err := demoMode(real, devkit); demo || err != nil {
		t.Fatalf("a real host with a loaded key: demo %v, %v", demo, err)
	}
}

// TestKeysLoad: the master key from two components, each checked against
// its check value; the terminal then signs on with it, and only with it.
func TestKeysLoad(t *testing.T) {
	dir := t.TempDir()
	c1, c2 := "0123456789ABCDEF0123456789ABCDEF", "FEDCBA9876543210FEDCBA9876543211"
	k1, _ := seckey.ParseKeyHex(c1)
	k2, _ := seckey.ParseKeyHex(c2)
	tmk, _ := combineComponents([]seckey.Key{k1, k2})
	kcv := func(k seckey.Key) string {
		return strings.ToUpper(strings.TrimSpace(hexString(seckey.CheckValue(k))))[:6]
	}

	simDir := filepath.Join(dir, "host")
	simSrv, err := hostsim.New(hostsim.Options{DBPath: filepath.Join(simDir, "hostsim.db"), TMK: tmk, KeyMode: seckey.Double, MAC: seckey.MACCUPECB})
	if err != nil {
		t.Fatal(err)
	}
	defer simSrv.Close()
	addr, err := simSrv.ListenAndServe("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "pos.json")
	os.WriteFile(cfgPath, []byte(`{"host": {"address": "`+addr.String()+`", "in_process": false, "tmk": "loaded", "timeout_seconds": 5}}`), 0o600)
	data, secrets := filepath.Join(dir, "data"), filepath.Join(dir, "secrets")
	load := func(input string, extra ...string) (int, string) {
		var out bytes.Buffer
		args := append([]string{"keys", "load", "--data", data, "--secrets", secrets, "--config", cfgPath}, extra...)
		code := runWith(args, strings.NewReader(input), &out, &out)
		return code, out.String()
	}
	// A component keyed in wrong is caught by its check value.
	if code, out := load(c1 + " " + kcv(k1) + "\n" + "0" + c2[1:] + " " + kcv(k2) + "\n"); code != 1 || !strings.Contains(out, "component 2") || !strings.Contains(out, "keyed in wrong") {
		t.Fatalf("wrong component: exit %d\n%s", code, out)
	}
	if code, out := load(c1 + " " + kcv(k1) + "\n" + c1 + " " + kcv(k1) + "\n"); code != 1 || !strings.Contains(out, "same as component 1") {
		t.Fatalf("the same component twice: exit %d\n%s", code, out)
	}
	if code, out := load(c1+" "+kcv(k1)+"\n"+c2+" "+kcv(k2)+"\n", "--kcv", "ABCDEF"); code != 1 || !strings.Contains(out, "nothing was loaded") {
		t.Fatalf("combined check value wrong: exit %d\n%s", code, out)
	}
	code, out := load(c1+" "+kcv(k1)+"\n"+c2+" "+kcv(k2)+"\n", "--kcv", kcv(tmk))
	if code != 0 || !strings.Contains(out, "check value "+kcv(tmk)) {
		t.Fatalf("keys load: exit %d\n%s", code, out)
	}
	if strings.Contains(out, c1) || strings.Contains(out, c2) || strings.Contains(strings.ToUpper(out), strings.ToUpper(hexString(tmk))) {
		t.Fatal("keys load echoed key material")
	}
	logb, _ := os.ReadFile(filepath.Join(data, "pos.log"))
	if strings.Contains(string(logb), c1) || strings.Contains(string(logb), hexString(tmk)) || !strings.Contains(string(logb), kcv(tmk)) {
		t.Fatalf("the log: %s", logb)
	}
	// The terminal signs on with the loaded key.
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	desc, _ := board.Load("sim")
	st, err := openStack(cfg, desc, place{data: data, secrets: secrets}, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if st.demo {
		t.Error("a loaded key and a real host are not demo mode")
	}
	if err := st.eng.SignOn(context.Background()); err != nil {
		t.Fatalf("sign-on with the loaded master key: %v", err)
	}
	st.close()
	// A host with another master key: the working keys do not open.
	other, err := hostsim.New(hostsim.Options{DBPath: filepath.Join(dir, "other.db"), KeyMode: seckey.Double, MAC: seckey.MACCUPECB})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	oaddr, _ := other.ListenAndServe("127.0.0.1:0")
	cfg.Host.Address = oaddr.String()
	st, err = openStack(cfg, desc, place{data: data, secrets: secrets}, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	if err := st.eng.SignOn(context.Background()); !errors.Is(err, host.ErrBadReply) {
		t.Fatalf("sign-on against a host with another master key: %v", err)
	}
}

func hexString(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 2*len(b))
	for i, x := range b {
		out[2*i], out[2*i+1] = digits[x>>4], digits[x&15]
	}
	return string(out)
}

// TestDataDirectoryPrivate: after a day's work every file the terminal
// wrote is its user's alone, the device secret is elsewhere, and the
// simulator's ledger holds no clear PIN.
func TestDataDirectoryPrivate(t *testing.T) {
	dir := t.TempDir()
	data, secrets := filepath.Join(dir, "data"), filepath.Join(dir, "secrets")
	script := filepath.Join(repoRoot, "testdata", "scenarios", "sale.txt")
	var out bytes.Buffer
	if code := run([]string{"scenario", "--assets", repoRoot, "--data", data, "--secrets", secrets, script}, &out, &out); code != 0 {
		t.Fatalf("scenario: %s", out.String())
	}
	if err := privateTree(data); err != nil {
		t.Error(err)
	}
	if found, _ := filepath.Glob(filepath.Join(data, "*", host.SecretFile)); len(found) > 0 {
		t.Errorf("the device secret beside the journal: %v", found)
	}
	if _, err := os.Stat(filepath.Join(data, host.SecretFile)); err == nil {
		t.Error("the device secret beside the journal")
	}
	if _, err := os.Stat(filepath.Join(secrets, host.SecretFile)); err != nil {
		t.Errorf("device secret: %v", err)
	}
	db, err := sql.Open("sqlite", filepath.Join(data, "hostsim.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT pin FROM accounts`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var pin string
		rows.Scan(&pin)
		if pin != "" && !strings.HasPrefix(pin, "$argon2id$") {
			t.Errorf("the ledger keeps a PIN as %q", pin)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no accounts in the ledger")
	}
}

// TestReplyCodeDefaultsAgree: the configuration's default declines are
// the engine's, so a terminal without a file and a test engine judge
// replies alike.
func TestReplyCodeDefaultsAgree(t *testing.T) {
	got := engineConfig(config.Default()).Codes
	want := engine.DefaultReplyCodes()
	if strings.Join(got.Card, " ") != strings.Join(want.Card, " ") ||
		strings.Join(got.WalletPay, " ") != strings.Join(want.WalletPay, " ") ||
		strings.Join(got.WalletRefund, " ") != strings.Join(want.WalletRefund, " ") {
		t.Fatalf("default.json reply_codes %+v, engine defaults %+v", got, want)
	}
}
