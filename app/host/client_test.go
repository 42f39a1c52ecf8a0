package host

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/app/seckey"
)

// ---- sign-on and stored keys ----

func TestSignOnInstallsAndPersistsKeys(t *testing.T) {
	r := newRig(t, rigOpts{mode: seckey.Double})
	c := r.client(nil)
	if c.HasKeys() {
		t.Fatal("fresh journal: HasKeys true before any sign-on")
	}
	rep := r.signOn(c)
	if !c.HasKeys() {
		t.Fatal("HasKeys false after an approved sign-on")
	}
	if len(rep.RRN) != 12 || rep.Date != hostNow.Format("0102") {
		t.Errorf("sign-on reply RRN %q date %q", rep.RRN, rep.Date)
	}
	c.mu.Lock()
	installed := map[string]seckey.Key{"pik": c.keys.PIK, "mak": c.keys.MAK}
	c.mu.Unlock()

	// The journal holds each key sealed under the device key, never clear.
	rows, err := r.db.SQL().Query(`SELECT name, sealed, kcv FROM keys ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var name, kcv string
		var sealed []byte
		if err := rows.Scan(&name, &sealed, &kcv); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
		k := installed[name]
		if bytes.Contains(sealed, k) {
			t.Errorf("%s stored in the clear", name)
		}
		if want := fmt.Sprintf("%X", seckey.CheckValue(k)); kcv != want {
			t.Errorf("%s kcv %s, want %s", name, kcv, want)
		}
		got, err := seckey.OpenKey(r.devKey, sealed, name)
		if err != nil || !got.Equal(k) {
			t.Errorf("%s does not open to the installed key under the device key: %v", name, err)
		}
	}
	rows.Close()
	if strings.Join(names, ",") != "mak,pik" {
		t.Errorf("stored keys %v, want mak,pik", names)
	}

	// A restart: same journal file and device key, no new sign-on.
	r.openJournal()
	c2 := r.client(nil)
	if !c2.HasKeys() {
		t.Fatal("new client on the same journal and device key has no keys")
	}
	if !c2.keys.MAK.Equal(installed["mak"]) || !c2.keys.PIK.Equal(installed["pik"]) {
		t.Error("reloaded keys differ from the installed ones")
	}
	_, sale := r.sale(c2, cardMain, cardMain.pin, 1234)
	if sale.Code != "00" {
		t.Fatalf("sale with reloaded keys: code %s (host rejected MAC or PIN block?)", sale.Code)
	}

	// Another device (or another terminal ID on this secret): the sealed
	// keys must not open; the client starts without them and signs on
	// again rather than refusing to start.
	otherSecret, err := seckey.NewDeviceSecret()
	if err != nil {
		t.Fatal(err)
	}
	for name, dk := range map[string][]byte{
		"other secret":      seckey.DeriveDeviceKey(otherSecret, testTID),
		"other terminal ID": seckey.DeriveDeviceKey(r.secret, "31000043"),
	} {
		store, err := NewKeyStore(r.db, dk)
		if err != nil {
			t.Fatal(err)
		}
		c3, err := NewClient(r.cfg, store)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c3.HasKeys() {
			t.Errorf("%s: NewClient opened keys sealed under another device key", name)
		}
		if _, _, err := store.Load(); !errors.Is(err, seckey.ErrSealed) {
			t.Errorf("%s: the store says %v, want ErrSealed", name, err)
		}
	}
}

func TestSignOnKeyModesAndMACs(t *testing.T) {
	for _, tc := range []struct {
		mode seckey.KeyMode
		mac  seckey.MACAlgorithm
	}{
		{seckey.Single, seckey.MACCUPECB},
		{seckey.Double, seckey.MACCUPECB},
		{seckey.DoubleWithTDK, seckey.MACCUPECB},
		{seckey.Single, seckey.MACANSIX919},
		{seckey.Double, seckey.MACANSIX919},
		{seckey.DoubleWithTDK, seckey.MACANSIX919},
	} {
		t.Run(tc.mode.String()+"/"+tc.mac.String(), func(t *testing.T) {
			r, c := signedOn(t, rigOpts{mode: tc.mode, mac: tc.mac})
			wantTDK := tc.mode == seckey.DoubleWithTDK
			if (c.keys.TDK != nil) != wantTDK {
				t.Errorf("TDK installed %v, want %v", c.keys.TDK != nil, wantTDK)
			}
			// Reload, so the stored TDK (or its absence) is checked too.
			c2 := r.client(nil)
			if (c2.keys.TDK != nil) != wantTDK || !c2.HasKeys() {
				t.Errorf("reloaded: HasKeys %v TDK %v", c2.HasKeys(), c2.keys.TDK != nil)
			}
			if _, rep := r.sale(c2, cardMain, cardMain.pin, 500); rep.Code != "00" {
				t.Errorf("sale: code %s", rep.Code)
			}
		})
	}
}

func TestEchoAndSignOffNeedNoKeys(t *testing.T) {
	r := newRig(t, rigOpts{})
	c := r.client(nil)
	for _, k := range []engine.HostKind{engine.HostEcho, engine.HostSignOff} {
		rep, err := exchange(t, c, engine.HostRequest{Kind: k, STAN: r.nextSTAN(), Batch: testBatch})
		if err != nil || rep.Code != "00" {
			t.Errorf("%s before sign-on: %+v, %v", k, rep, err)
		}
	}
}

func TestNoKeysBeforeSignOn(t *testing.T) {
	r := newRig(t, rigOpts{})
	c := r.client(nil)
	if _, err := c.PINBlock(cardMain.pin, cardMain.pan); !errors.Is(err, ErrNoKeys) {
		t.Errorf("PINBlock before sign-on: %v, want ErrNoKeys", err)
	}
	sale := engine.HostRequest{Kind: engine.HostSale, STAN: r.nextSTAN(), Batch: testBatch, AmountFen: 100,
		Card: &engine.Card{Method: engine.MethodSwipe, Track2: cardMain.track2()}, PAN: cardMain.pan, Expiry: cardMain.expiry}
	for _, req := range []engine.HostRequest{
		sale,
		settleReq(r.nextSTAN(), 0, 0),
		{Kind: engine.HostUpload, STAN: r.nextSTAN(), Batch: testBatch, Upload: &engine.Txn{Kind: engine.KindSale, STAN: "000001", AmountFen: 1}},
	} {
		if _, err := exchange(t, c, req); !errors.Is(err, ErrNoKeys) {
			t.Errorf("%s before sign-on: %v, want ErrNoKeys", req.Kind, err)
		}
	}
	// Nothing may have reached the host: a MAC-less request is not sent.
	if recs, err := r.sim.Records(testTID); err != nil || len(recs) != 0 {
		t.Errorf("host records %v, %v", recs, err)
	}
}

// ---- financial requests ----

func TestSaleApproved(t *testing.T) {
	r, c := signedOn(t, rigOpts{mode: seckey.Double})
	const amount = 12345
	_, rep := r.sale(c, cardMain, cardMain.pin, amount)
	if rep.Code != "00" {
		t.Fatalf("code %s, want 00", rep.Code)
	}
	if len(rep.RRN) != 12 || !allDigits(rep.RRN) {
		t.Errorf("RRN %q, want 12 digits", rep.RRN)
	}
	if len(rep.AuthCode) != 6 {
		t.Errorf("auth code %q", rep.AuthCode)
	}
	if rep.Date != "0514" || rep.Time != "094107" {
		t.Errorf("host date/time %s %s, want 0514 094107", rep.Date, rep.Time)
	}
	if rep.SignOnAgain {
		t.Error("SignOnAgain set without the host asking")
	}
	if n, fen := r.charges(cardMain.pan); n != 1 || fen != amount {
		t.Errorf("charges %d/%d, want 1/%d", n, fen, amount)
	}
	if b := r.balance(cardMain.pan); b != cardMain.balance-amount {
		t.Errorf("balance %d, want %d", b, cardMain.balance-amount)
	}
}

func TestSaleWrongPIN(t *testing.T) {
	r, c := signedOn(t, rigOpts{})
	_, rep := r.sale(c, cardMain, "000000", 500)
	if rep.Code != "55" {
		t.Fatalf("code %s, want 55", rep.Code)
	}
	if n, fen := r.charges(cardMain.pan); n != 0 || fen != 0 {
		t.Errorf("declined sale charged %d/%d", n, fen)
	}
}

func TestBalanceInquiry(t *testing.T) {
	r, c := signedOn(t, rigOpts{})
	// Move the balance first, so a stale or default figure cannot pass.
	if _, rep := r.sale(c, cardOther, cardOther.pin, 777); rep.Code != "00" {
		t.Fatalf("sale: %s", rep.Code)
	}
	blk, err := c.PINBlock(cardOther.pin, cardOther.pan)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := exchange(t, c, engine.HostRequest{
		Kind: engine.HostBalance, STAN: r.nextSTAN(), Batch: testBatch,
		Card: &engine.Card{Method: engine.MethodSwipe, Track2: cardOther.track2(), PINBlock: blk},
		PAN:  cardOther.pan, Expiry: cardOther.expiry,
	})
	if err != nil || rep.Code != "00" {
		t.Fatalf("balance: %+v, %v", rep, err)
	}
	if want := r.balance(cardOther.pan); rep.BalanceFen != want || want != cardOther.balance-777 {
		t.Errorf("BalanceFen %d, host balance %d (seeded %d, -777)", rep.BalanceFen, want, cardOther.balance)
	}
}

func TestDropAfterThenReversal(t *testing.T) {
	r, c := signedOn(t, rigOpts{})
	r.sim.Inject(hostsim.FaultMatch{Kind: "sale"}, hostsim.DropAfter)
	req := r.saleReq(c, cardMain, cardMain.pin, 4200)
	if _, err := exchange(t, c, req); err == nil {
		t.Fatal("sale with the reply dropped: no error")
	}
	// The host charged the card although the terminal heard nothing.
	if n, fen := r.charges(cardMain.pan); n != 1 || fen != 4200 {
		t.Fatalf("charges after drop-after %d/%d, want 1/4200", n, fen)
	}
	rev := reversalReq(req, "98")
	rep, err := exchange(t, c, rev)
	if err != nil || rep.Code != "00" {
		t.Fatalf("reversal: %+v, %v", rep, err)
	}
	if n, fen := r.charges(cardMain.pan); n != 0 || fen != 0 {
		t.Errorf("charges after reversal %d/%d, want 0/0", n, fen)
	}
	if b := r.balance(cardMain.pan); b != cardMain.balance {
		t.Errorf("balance %d after reversal, want %d", b, cardMain.balance)
	}
	// A repeat (the first reply lost, say) is "already reversed".
	rep, err = exchange(t, c, rev)
	if err != nil || rep.Code != "12" {
		t.Errorf("second reversal: %+v, %v, want code 12", rep, err)
	}
}

func TestSettlement(t *testing.T) {
	r, c := signedOn(t, rigOpts{})
	sale, rep := r.sale(c, cardMain, cardMain.pin, 8800)
	if rep.Code != "00" {
		t.Fatalf("sale: %s", rep.Code)
	}
	settle := func(n int, fen int64) engine.SettleResult {
		t.Helper()
		rep, err := exchange(t, c, settleReq(r.nextSTAN(), n, fen))
		if err != nil || rep.Code != "00" {
			t.Fatalf("settle: %+v, %v", rep, err)
		}
		return rep.SettleResult
	}
	if got := settle(1, 8800); got != engine.SettleBalanced {
		t.Errorf("matching totals: %v, want balanced", got)
	}
	if got := settle(1, 8801); got != engine.SettleUnbalanced {
		t.Errorf("amount off by one fen: %v, want unbalanced", got)
	}
	if got := settle(2, 8800); got != engine.SettleUnbalanced {
		t.Errorf("count off by one: %v, want unbalanced", got)
	}

	// The acquirer loses the record; the terminal's totals no longer
	// match until it uploads the batch, then they do.
	if err := r.sim.ForgetRecord(testTID, testBatch, sale.STAN); err != nil {
		t.Fatal(err)
	}
	if got := settle(1, 8800); got != engine.SettleUnbalanced {
		t.Fatalf("host lost the record: %v, want unbalanced", got)
	}
	up, err := exchange(t, c, engine.HostRequest{Kind: engine.HostUpload, STAN: r.nextSTAN(), Batch: testBatch,
		Upload: &engine.Txn{Kind: engine.KindSale, STAN: sale.STAN, AmountFen: 8800, RRN: rep.RRN}})
	if err != nil || up.Code != "00" {
		t.Fatalf("upload: %+v, %v", up, err)
	}
	if got := settle(1, 8800); got != engine.SettleBalanced {
		t.Errorf("after upload: %v, want balanced", got)
	}
}

// ---- host faults ----

func TestFaults(t *testing.T) {
	type check func(t *testing.T, r *rig, rep engine.HostReply, err error, took time.Duration)
	lost := func(t *testing.T, r *rig, rep engine.HostReply, err error, took time.Duration) {
		if err == nil {
			t.Fatalf("no error, reply %+v", rep)
		}
		// A closed connection is not a timeout: it must not wait it out.
		if errors.Is(err, ErrTimeout) || errors.Is(err, ErrBadReply) || !strings.Contains(err.Error(), "connection lost") {
			t.Errorf("error %q, want connection lost", err)
		}
		if took > 2*time.Second {
			t.Errorf("took %v for a dropped connection", took)
		}
	}
	approved := func(t *testing.T, r *rig, rep engine.HostReply, err error, took time.Duration) {
		if err != nil || rep.Code != "00" || len(rep.RRN) != 12 {
			t.Fatalf("%+v, %v; want the approval", rep, err)
		}
		if n, fen := r.charges(cardMain.pan); n != 2 || fen != 300 {
			t.Errorf("charges %d/%d, want 2/300: one sale each", n, fen)
		}
	}
	for _, tc := range []struct {
		fault hostsim.Fault
		check check
	}{
		{hostsim.BadMAC, func(t *testing.T, r *rig, rep engine.HostReply, err error, _ time.Duration) {
			if !errors.Is(err, engine.ErrReplyMAC) || !errors.Is(err, ErrMACMissed) {
				t.Errorf("error %v, want ErrReplyMAC", err)
			}
		}},
		{hostsim.DropAfter, lost},
		{hostsim.DropBefore, lost},
		{hostsim.Disconnect, lost},
		{hostsim.Garbage, func(t *testing.T, r *rig, rep engine.HostReply, err error, _ time.Duration) {
			if !errors.Is(err, ErrBadReply) {
				t.Errorf("error %v, want ErrBadReply", err)
			}
		}},
		{hostsim.Late, approved},
		{hostsim.Duplicate, approved},
		{hostsim.SignOnAgain, func(t *testing.T, r *rig, rep engine.HostReply, err error, _ time.Duration) {
			if err != nil || rep.Code != "00" || !rep.SignOnAgain {
				t.Errorf("%+v, %v; want 00 with SignOnAgain", rep, err)
			}
		}},
		{hostsim.Decline("51"), func(t *testing.T, r *rig, rep engine.HostReply, err error, _ time.Duration) {
			if err != nil || rep.Code != "51" {
				t.Errorf("%+v, %v; want code 51", rep, err)
			}
		}},
	} {
		t.Run(string(tc.fault), func(t *testing.T) {
			var logBuf bytes.Buffer
			r := newRig(t, rigOpts{})
			c := r.client(func(c *Config) { c.Log = slog.New(slog.NewTextHandler(&logBuf, nil)) })
			r.signOn(c)
			// One clean sale first, so "late" has an earlier reply to replay.
			_, first := r.sale(c, cardMain, cardMain.pin, 100)
			if first.Code != "00" {
				t.Fatalf("first sale: %s", first.Code)
			}
			r.sim.Inject(hostsim.FaultMatch{Kind: "sale"}, tc.fault)
			req := r.saleReq(c, cardMain, cardMain.pin, 200)
			start := time.Now()
			rep, err := exchange(t, c, req)
			tc.check(t, r, rep, err, time.Since(start))
			if err == nil && rep.RRN == first.RRN {
				t.Errorf("got the earlier sale's reply (RRN %s) for this one", rep.RRN)
			}
			if tc.fault == hostsim.Late && !strings.Contains(logBuf.String(), "not ours") {
				t.Error("late: the stale reply was not seen and skipped")
			}
			if tc.fault == hostsim.Late || tc.fault == hostsim.Duplicate {
				// The skipped or extra frame must not confuse the next exchange.
				if _, rep := r.sale(c, cardOther, cardOther.pin, 1); rep.Code != "00" {
					t.Errorf("next sale: %s", rep.Code)
				}
			}
		})
	}
}

func TestFaultDelayTimesOut(t *testing.T) {
	r, _ := signedOn(t, rigOpts{})
	// Another client on the stored keys, with a short wait.
	fast := r.client(func(c *Config) { c.Timeout = 100 * time.Millisecond })
	old := hostsim.FaultDelay
	hostsim.FaultDelay = 300 * time.Millisecond
	r.sim.Inject(hostsim.FaultMatch{Kind: "sale"}, hostsim.Delay)
	hostsim.FaultDelay = old
	start := time.Now()
	_, err := exchange(t, fast, r.saleReq(fast, cardMain, cardMain.pin, 100))
	took := time.Since(start)
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("error %v, want ErrTimeout", err)
	}
	if took < 90*time.Millisecond || took > time.Second {
		t.Errorf("returned after %v, want about the 100ms timeout", took)
	}
}

func TestContextCancelMidExchange(t *testing.T) {
	r, c := signedOn(t, rigOpts{})
	old := hostsim.FaultDelay
	hostsim.FaultDelay = 5 * time.Second
	r.sim.Inject(hostsim.FaultMatch{Kind: "sale"}, hostsim.Delay)
	hostsim.FaultDelay = old
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(150*time.Millisecond, cancel)
	start := time.Now()
	_, err := c.Exchange(ctx, r.saleReq(c, cardMain, cardMain.pin, 100))
	took := time.Since(start)
	if err == nil {
		t.Fatal("cancelled exchange returned no error")
	}
	if took > time.Second {
		t.Errorf("returned %v after the start, %v after the cancel", took, took-150*time.Millisecond)
	}
	// Cancelled before it starts: no wait at all.
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	start = time.Now()
	if _, err := c.Exchange(ctx, r.saleReq(c, cardMain, cardMain.pin, 100)); err == nil || time.Since(start) > time.Second {
		t.Errorf("pre-cancelled: %v after %v", err, time.Since(start))
	}
}

func TestConnectRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	r := newRig(t, rigOpts{})
	c := r.client(func(c *Config) { c.Address = addr })
	if _, err := exchange(t, c, engine.HostRequest{Kind: engine.HostSignOn, STAN: "000001", Batch: testBatch}); !errors.Is(err, ErrConnect) {
		t.Errorf("error %v, want ErrConnect", err)
	}
}

// ---- TLS with a pinned CA ----

func TestTLSPinnedCA(t *testing.T) {
	ca := newCA(t, "test acquirer CA")
	r := newRig(t, rigOpts{serverTLS: ca.serverTLS(t)})
	caFile := ca.file(t)

	c := r.client(func(c *Config) { c.TLS, c.CAFile = true, caFile })
	r.signOn(c)
	if _, rep := r.sale(c, cardMain, cardMain.pin, 2500); rep.Code != "00" {
		t.Fatalf("sale over TLS: %s", rep.Code)
	}
	if n, fen := r.charges(cardMain.pan); n != 1 || fen != 2500 {
		t.Errorf("charges %d/%d", n, fen)
	}

	// Pinned to another CA: the acquirer's certificate must be refused,
	// even though the connection itself works.
	other := newCA(t, "some other CA").file(t)
	bad := r.client(func(c *Config) { c.TLS, c.CAFile = true, other })
	_, err := exchange(t, bad, engine.HostRequest{Kind: engine.HostEcho, STAN: r.nextSTAN(), Batch: testBatch})
	if !errors.Is(err, ErrConnect) {
		t.Errorf("other CA: %v, want ErrConnect", err)
	}

	// Plain TCP to a TLS port gets no usable reply.
	plain := r.client(nil)
	if _, err := exchange(t, plain, engine.HostRequest{Kind: engine.HostEcho, STAN: r.nextSTAN(), Batch: testBatch}); err == nil {
		t.Error("plain TCP to a TLS host got a reply")
	}
}

func TestTLSConfigErrors(t *testing.T) {
	dir := t.TempDir()
	noPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(noPEM, []byte("this is not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, file := range map[string]string{"no PEM": noPEM, "missing": filepath.Join(dir, "absent.pem"), "empty name": ""} {
		_, err := NewClient(Config{Address: "127.0.0.1:1", TLS: true, CAFile: file}, nil)
		if err == nil {
			t.Errorf("%s CA file: NewClient accepted it", name)
		}
	}
}

func TestNewClientDefaults(t *testing.T) {
	c, err := NewClient(Config{Address: "127.0.0.1:1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.cfg.Timeout != 60*time.Second || c.cfg.Now == nil || c.cfg.Log == nil || c.cfg.TPDU.ID != 0x60 {
		t.Errorf("defaults not applied: %+v", c.cfg)
	}
	if c.HasKeys() {
		t.Error("no store, yet HasKeys")
	}
	// Network management waits less than a financial request.
	c.cfg.Timeout = time.Minute
	if c.timeoutFor(engine.HostEcho) != 10*time.Second || c.timeoutFor(engine.HostSignOn) != 30*time.Second ||
		c.timeoutFor(engine.HostSale) != time.Minute {
		t.Error("timeoutFor caps wrong")
	}
	c.cfg.Timeout = time.Second
	if c.timeoutFor(engine.HostSignOn) != time.Second {
		t.Error("a short Timeout must cap sign-on too")
	}
}
