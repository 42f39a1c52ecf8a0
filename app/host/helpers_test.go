package host

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/app/seckey"
)

const (
	testTID   = "31000042"
	testMID   = "898310057220013"
	testBatch = "000007"
)

// hostNow is the simulator's clock: fixed, so dates in replies and the
// expiry check do not depend on when the tests run.
var hostNow = time.Date(2026, 5, 14, 9, 41, 7, 0, time.UTC)

// card is one issuer account as the tests use it.
type card struct {
	pan, expiry, pin string
	balance          int64
}

var (
	cardMain  = card{pan: "6212263602001234567", expiry: "3009", pin: "314159", balance: 500000}
	cardOther = card{pan: "6259650000007654", expiry: "2911", pin: "271828", balance: 20000}
)

// track2 is a plausible track 2: PAN = YYMM, service code, discretionary.
func (k card) track2() string {
	t := k.pan + "=" + k.expiry + "101" + "0000000000"
	return t[:min(len(t), 37)]
}

// rig is one simulator with its own ledger plus the terminal's journal,
// device key and key store: what the POS wires up at start.
type rig struct {
	t      *testing.T
	sim    *hostsim.Server
	addr   string
	dbPath string
	db     *journal.DB
	secret []byte
	devKey []byte
	store  *KeyStore
	cfg    Config
	stan   int
}

type rigOpts struct {
	mac  seckey.MACAlgorithm
	mode seckey.KeyMode
	// serverTLS, when set, serves the simulator through tls.NewListener.
	serverTLS *tls.Config
}

func newRig(t *testing.T, o rigOpts) *rig {
	t.Helper()
	dir := t.TempDir()
	sim, err := hostsim.New(hostsim.Options{
		DBPath: filepath.Join(dir, "host.db"),
		Accounts: []hostsim.Account{
			{PAN: cardMain.pan, Expiry: cardMain.expiry, PIN: cardMain.pin, BalanceFen: cardMain.balance},
			{PAN: cardOther.pan, Expiry: cardOther.expiry, PIN: cardOther.pin, BalanceFen: cardOther.balance},
		},
		TMK:     seckey.SimulatorTMK(),
		KeyMode: o.mode,
		MAC:     o.mac,
		Now:     func() time.Time { return hostNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	r := &rig{t: t, sim: sim, dbPath: filepath.Join(dir, "pos", "journal.db")}
	if o.serverTLS != nil {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		r.addr = l.Addr().String()
		go sim.Serve(tls.NewListener(l, o.serverTLS))
	} else {
		a, err := sim.ListenAndServe("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		r.addr = a.String()
	}
	r.openJournal()
	if r.secret, err = DeviceSecret(filepath.Join(filepath.Dir(r.dbPath), "secrets"), filepath.Dir(r.dbPath)); err != nil {
		t.Fatal(err)
	}
	r.devKey = seckey.DeriveDeviceKey(r.secret, testTID)
	if r.store, err = NewKeyStore(r.db, r.devKey); err != nil {
		t.Fatal(err)
	}
	r.cfg = Config{
		Address:    r.addr,
		Timeout:    10 * time.Second,
		TerminalID: testTID,
		MerchantID: testMID,
		MAC:        o.mac,
		KeyMode:    o.mode,
		TMK:        seckey.SimulatorTMK(),
		Now:        func() time.Time { return hostNow },
	}
	return r
}

// openJournal (re)opens the terminal's journal and key store on the same
// file, so a test can prove keys survive a restart and not just memory.
func (r *rig) openJournal() {
	r.t.Helper()
	db, err := journal.Open(r.dbPath)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { db.Close() })
	r.db = db
	if r.devKey != nil {
		if r.store, err = NewKeyStore(db, r.devKey); err != nil {
			r.t.Fatal(err)
		}
	}
}

// client makes a Client from the rig's config, changed by mut.
func (r *rig) client(mut func(*Config)) *Client {
	r.t.Helper()
	cfg := r.cfg
	if mut != nil {
		mut(&cfg)
	}
	c, err := NewClient(cfg, r.store)
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

// nextSTAN is shared by all clients of a rig: the host refuses a trace
// reused with other content, as a real acquirer would.
func (r *rig) nextSTAN() string {
	r.stan++
	return fmt.Sprintf("%06d", r.stan)
}

func exchange(t *testing.T, c *Client, req engine.HostRequest) (engine.HostReply, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return c.Exchange(ctx, req)
}

func (r *rig) signOn(c *Client) engine.HostReply {
	r.t.Helper()
	rep, err := exchange(r.t, c, engine.HostRequest{Kind: engine.HostSignOn, STAN: r.nextSTAN(), Batch: testBatch, Operator: "01"})
	if err != nil {
		r.t.Fatalf("sign-on: %v", err)
	}
	if rep.Code != "00" {
		r.t.Fatalf("sign-on: code %s", rep.Code)
	}
	return rep
}

// signedOn is a rig and a client that has signed on.
func signedOn(t *testing.T, o rigOpts) (*rig, *Client) {
	t.Helper()
	r := newRig(t, o)
	c := r.client(nil)
	r.signOn(c)
	return r, c
}

// saleReq is a swiped sale with the PIN entered, the block made by c.
func (r *rig) saleReq(c *Client, k card, pin string, amount int64) engine.HostRequest {
	r.t.Helper()
	blk, err := c.PINBlock(pin, k.pan)
	if err != nil {
		r.t.Fatalf("PIN block: %v", err)
	}
	return engine.HostRequest{
		Kind: engine.HostSale, STAN: r.nextSTAN(), Batch: testBatch, AmountFen: amount,
		Card: &engine.Card{Method: engine.MethodSwipe, Track2: k.track2(), PINBlock: blk},
		PAN:  k.pan, Expiry: k.expiry, Operator: "01",
	}
}

// sale sends a sale that must get a reply (any code).
func (r *rig) sale(c *Client, k card, pin string, amount int64) (engine.HostRequest, engine.HostReply) {
	r.t.Helper()
	req := r.saleReq(c, k, pin, amount)
	rep, err := exchange(r.t, c, req)
	if err != nil {
		r.t.Fatalf("sale: %v", err)
	}
	return req, rep
}

func (r *rig) charges(pan string) (int, int64) {
	r.t.Helper()
	n, fen, err := r.sim.Charges(pan)
	if err != nil {
		r.t.Fatal(err)
	}
	return n, fen
}

func (r *rig) balance(pan string) int64 {
	r.t.Helper()
	b, err := r.sim.Balance(pan)
	if err != nil {
		r.t.Fatal(err)
	}
	return b
}

// reversalReq undoes sale as the engine does: same STAN and batch.
func reversalReq(sale engine.HostRequest, reason string) engine.HostRequest {
	return engine.HostRequest{
		Kind: engine.HostReversal, STAN: sale.STAN, Batch: sale.Batch, AmountFen: sale.AmountFen,
		OrigKind: engine.KindSale, OrigSTAN: sale.STAN, OrigBatch: sale.Batch,
		ReversalReason: reason, Operator: "01",
	}
}

func settleReq(stan string, debitN int, debitFen int64) engine.HostRequest {
	return engine.HostRequest{
		Kind: engine.HostSettle, STAN: stan, Batch: testBatch, Operator: "01",
		Totals: &engine.BatchTotals{Batch: testBatch, Classes: []engine.ClassTotals{
			{Class: "card", DebitCount: debitN, DebitFen: debitFen},
		}},
	}
}

func allDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// ---- TLS material, made fresh per test ----

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// serverTLS is a listener config whose certificate, for 127.0.0.1 (the
// name the client checks, taken from its address), is signed by ca.
func (ca *testCA) serverTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano() + 1),
		Subject:      pkix.Name{CommonName: "acquirer.test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}},
		MinVersion:   tls.VersionTLS12,
	}
}

func (ca *testCA) file(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, ca.pem, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
