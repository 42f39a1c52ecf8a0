package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/app/iso8583"
	"github.com/shoukuan/pos/app/seckey"
	"github.com/shoukuan/pos/drivers/fake"
)

const cardsDir = "../../testdata/cards"

func TestAccountsFromProfiles(t *testing.T) {
	ps, err := fake.LoadCardProfiles(cardsDir)
	if err != nil {
		t.Fatal(err)
	}
	accts, err := AccountsFromProfiles(ps)
	if err != nil {
		t.Fatal(err)
	}
	if len(accts) != len(ps) || len(accts) == 0 {
		t.Fatalf("%d accounts from %d profiles", len(accts), len(ps))
	}
	by := map[string]hostsim.Account{}
	for _, a := range accts {
		by[a.PAN] = a
		if a.PIN == "" || len(a.Expiry) != 4 || a.Status == "" {
			t.Errorf("account %s incomplete: %+v", iso8583.MaskPAN(a.PAN), a)
		}
	}
	want := map[string]hostsim.Account{
		"6258071234123456789": {Expiry: "2911", BalanceFen: 2000000, Status: "active"},                         // credit: limit as balance
		"6222021234567890128": {Expiry: "3012", BalanceFen: 5000000, Status: "active", DailyLimitFen: 5000000}, // debit with a daily limit
		"6217000098765432107": {Expiry: "3106", BalanceFen: 100000, Status: "lost"},
		"6228480012345678903": {Expiry: "2201", BalanceFen: 100000, Status: "active"},
	}
	for pan, w := range want {
		a, ok := by[pan]
		if !ok {
			t.Errorf("no account for %s", iso8583.MaskPAN(pan))
			continue
		}
		if a.Expiry != w.Expiry || a.BalanceFen != w.BalanceFen || a.Status != w.Status || a.DailyLimitFen != w.DailyLimitFen {
			t.Errorf("%s: got %+v", iso8583.MaskPAN(pan), a)
		}
	}
	// The accounts seed a server.
	s, err := hostsim.New(hostsim.Options{DBPath: filepath.Join(t.TempDir(), "h.db"), Accounts: accts})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if b, err := s.Balance("6258071234123456789"); err != nil || b != 2000000 {
		t.Fatalf("credit balance %d, %v", b, err)
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--mac", "md5"},
		{"--key-mode", "triple"},
		{"--fault-rate", "1.5"},
		{"--fault-rate", "-0.1", "--faults", "delay"},
		{"--fault-rate", "0.1"},
		{"--faults", "drop-after,explode"},
		{"--faults", "decline:5"},
		{"--fault-delay", "-1s"},
		{"--db", ""},
		{"--no-such-flag"},
		{"extra"},
	} {
		var stderr bytes.Buffer
		if _, err := parseFlags(args, &stderr); err == nil {
			t.Errorf("%q: no error", args)
		}
	}
	c, err := parseFlags([]string{"--mac", "x9.19", "--key-mode", "double+tdk", "--fault-rate", "0.25", "--faults", "drop-after, delay,decline:96", "--fault-seed", "9", "--fault-delay", "50ms"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.mac != seckey.MACANSIX919 || c.keyMode != seckey.DoubleWithTDK || c.faultRate != 0.25 || c.faultSeed != 9 ||
		c.faultDelay != 50*time.Millisecond || len(c.faults) != 3 || c.faults[2] != hostsim.Decline("96") {
		t.Fatalf("parsed %+v", c)
	}
	// A bad cards directory fails before listening.
	if err := run(context.Background(), []string{"--cards", t.TempDir(), "--db", filepath.Join(t.TempDir(), "h.db")}, io.Discard, io.Discard); err == nil {
		t.Fatal("empty cards directory accepted")
	}
}

// lockedBuffer is written by run and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr lockedBuffer
	done := make(chan error, 1)
	db := filepath.Join(t.TempDir(), "h.db")
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--db", db, "--cards", cardsDir, "--wallets", filepath.Join(filepath.Dir(cardsDir), "wallets.json"), "--mac", "ecb"}, &stdout, &stderr)
	}()
	re := regexp.MustCompile(`listening on (\S+)`)
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(stdout.String()); m != nil {
			addr = m[1]
		}
		select {
		case err := <-done:
			t.Fatalf("run ended early: %v; stderr: %s", err, stderr.String())
		default:
		}
	}
	if addr == "" {
		t.Fatal("never listened")
	}

	// One sign-on over the wire.
	m := iso8583.NewMessage("0800")
	m.Set(11, "000001")
	m.Set(41, "10000001")
	m.Set(42, "898310048160001")
	m.Set(60, "00000001003")
	body, err := iso8583.CUP.Pack(m)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := iso8583.WriteFrame(conn, iso8583.Frame{TPDU: iso8583.TPDU{ID: iso8583.TPDUID, Dest: 1}, Header: iso8583.Header{AppType: 60, SoftwareVersion: 31}, Body: body}); err != nil {
		t.Fatal(err)
	}
	f, err := iso8583.ReadFrame(conn, 0)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := iso8583.CUP.Unpack(f.Body)
	if err != nil {
		t.Fatal(err)
	}
	f62, _ := rep.GetBytes(62)
	if v, _ := rep.Get(39); v != "00" || rep.MTI != "0810" {
		t.Fatalf("reply %s 39=%s", rep.MTI, v)
	}
	if _, err := seckey.ParseField62(seckey.SimulatorTMK(), f62, seckey.Double); err != nil {
		t.Fatal(err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	if !strings.Contains(stdout.String(), "shutting down") {
		t.Errorf("stdout: %s", stdout.String())
	}
	// The ledger is closed and reusable.
	s, err := hostsim.New(hostsim.Options{DBPath: db})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}
