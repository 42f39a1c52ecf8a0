package host

import (
	"strings"
	"testing"

	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/seckey"
)

// TestTrackEncryptedUnderTDK: once sign-on delivered a track key, track 2
// leaves the terminal encrypted (field 53 says so) and the card number is
// not sent in the clear beside it; the host decrypts it and approves.
func TestTrackEncryptedUnderTDK(t *testing.T) {
	r, c := signedOn(t, rigOpts{mac: seckey.MACCUPECB, mode: seckey.DoubleWithTDK})
	if c.keys.TDK == nil {
		t.Fatal("sign-on in mode double+TDK delivered no track key")
	}
	req := r.saleReq(c, cardMain, cardMain.pin, 4321)
	m, _, err := c.build(req)
	if err != nil {
		t.Fatal(err)
	}
	t2, _ := m.Get(35)
	if t2 == req.Card.Track2 || len(t2) != len(req.Card.Track2) {
		t.Fatalf("field 35 %q: want the track encrypted, same length as %d", t2, len(req.Card.Track2))
	}
	if !strings.HasPrefix(t2, cardMain.pan[:len(cardMain.pan)-4]) {
		t.Errorf("field 35 %q: the leading digits are not what the CUP scheme encrypts", t2)
	}
	if _, ok := m.Get(2); ok {
		t.Error("field 2 carries the card number in the clear beside an encrypted track")
	}
	if _, ok := m.Get(14); ok {
		t.Error("field 14 sent in the clear beside an encrypted track")
	}
	if sec, _ := m.Get(53); len(sec) != 16 || sec[:3] != "261" {
		t.Errorf("field 53 %q: want 261... (PIN format 2, 3DES, track encrypted)", sec)
	}
	clear, err := seckey.DecryptTrack(c.keys.TDK, t2)
	if err != nil || clear != req.Card.Track2 {
		t.Fatalf("decrypted track %q, %v", clear, err)
	}
	// And the host takes it.
	rep, err := exchange(t, c, req)
	if err != nil || rep.Code != "00" {
		t.Fatalf("sale with an encrypted track: %v, code %s", err, rep.Code)
	}
	if n, fen := r.charges(cardMain.pan); n != 1 || fen != 4321 {
		t.Fatalf("host charged %d sales, %d fen", n, fen)
	}
	// Without a track key the track stays as it was, beside field 2.
	r2, c2 := signedOn(t, rigOpts{mac: seckey.MACCUPECB, mode: seckey.Double})
	m2, _, err := c2.build(r2.saleReq(c2, cardMain, cardMain.pin, 1))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := m2.Get(35); v != cardMain.track2() {
		t.Errorf("no TDK: field 35 %q", v)
	}
	if sec, _ := m2.Get(53); sec[:3] != "260" {
		t.Errorf("no TDK: field 53 %q", sec)
	}
}

// TestSignOnNeedsAMasterKey: with no master key loaded the terminal does
// not sign on, and says why.
func TestSignOnNeedsAMasterKey(t *testing.T) {
	r := newRig(t, rigOpts{mac: seckey.MACCUPECB, mode: seckey.Double})
	c := r.client(func(cfg *Config) { cfg.TMK = nil })
	_, err := exchange(t, c, signOnReq(r))
	if err != ErrNoMasterKey {
		t.Fatalf("sign-on without a master key: %v", err)
	}
	// Loaded into the key store, it is found there.
	if _, err := r.store.SaveTMK(seckey.SimulatorTMK(), 1); err != nil {
		t.Fatal(err)
	}
	c = r.client(func(cfg *Config) { cfg.TMK = nil })
	if rep, err := exchange(t, c, signOnReq(r)); err != nil || rep.Code != "00" {
		t.Fatalf("sign-on with the stored master key: %v", err)
	}
	// The working keys' replacement leaves the master key alone.
	c2 := r.client(func(cfg *Config) { cfg.TMK = nil })
	if rep, err := exchange(t, c2, signOnReq(r)); err != nil || rep.Code != "00" {
		t.Fatalf("second sign-on: %v", err)
	}
	if kcv, _ := r.store.TMKCheckValue(); kcv == "" {
		t.Fatal("the master key went with the working keys")
	}
}

func signOnReq(r *rig) engine.HostRequest {
	return engine.HostRequest{Kind: engine.HostSignOn, STAN: r.nextSTAN(), Batch: testBatch, Operator: "01"}
}
