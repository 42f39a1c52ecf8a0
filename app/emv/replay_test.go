package emv

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testConfig trusts the project's test CA, the one that signed the
// virtual cards of these traces.
func testConfig(t testing.TB) *Config {
	cfg := DefaultConfig()
	k, err := ParseCAKey("A000000333", "F8", testCAModulus, "010001", testCAChecksum)
	if err != nil {
		t.Fatal(err)
	}
	k.Test = true
	cfg.CAKeys = []CAKey{k}
	return &cfg
}

func loadTrace(t testing.TB, name string) *Trace {
	b, err := os.ReadFile(filepath.Join("testdata", "traces", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ParseTrace(b)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestReplayTraces(t *testing.T) {
	for _, tc := range []struct {
		trace, outcome, cvm, ac, oda string
	}{
		{"debit-chip-online-pin", "approved", "online-pin", "TC", "DDA ok"},
		{"debit-tap-no-cvm", "online", "none", "ARQC", "fDDA ok"},
		{"phone-tap-device-cvm", "online", "device", "ARQC", "fDDA ok"},
		{"credit-chip-signature", "approved", "signature", "TC", "DDA ok"},
		{"offline-pin-chip", "online", "offline-pin", "ARQC", "DDA ok"},
		{"tampered-chip", "declined", "online-pin", "AAC", "DDA failed"},
		{"dual-app-chip", "online", "online-pin", "ARQC", "DDA ok"},
		{"aac-after-online", "card-declined", "online-pin", "AAC", "DDA ok"},
		{"sda-chip", "approved", "online-pin", "TC", "SDA ok"},
	} {
		t.Run(tc.trace, func(t *testing.T) {
			rep := Replay(context.Background(), testConfig(t), loadTrace(t, tc.trace), 0, time.Now())
			if rep.Outcome != tc.outcome || rep.CVM != tc.cvm || rep.CryptogramType != tc.ac || rep.ODA != tc.oda {
				t.Errorf("report %+v, want outcome %s cvm %s AC %s ODA %s", rep, tc.outcome, tc.cvm, tc.ac, tc.oda)
			}
			if !strings.Contains(rep.PAN, "****") {
				t.Errorf("PAN %q not masked in the report", rep.PAN)
			}
		})
	}
}

// A changed amount changes what the tap's signature covers: fDDA must
// fail and the transaction end declined, not go online.
func TestReplayOtherAmountFailsFDDA(t *testing.T) {
	rep := Replay(context.Background(), testConfig(t), loadTrace(t, "debit-tap-no-cvm"), 4999, time.Now())
	if rep.Outcome != "declined" || rep.ODA != "fDDA failed" {
		t.Errorf("report %+v", rep)
	}
}

// A card the trace does not describe answers 6D00 to everything: no
// application, a clear error, no panic.
func TestReplayUnknownCommands(t *testing.T) {
	tr := &Trace{Mode: "chip", Exchanges: []TraceAPDU{{C: "00A404000E315041592E5359532E444446303100", R: "6A82"}}}
	rep := Replay(context.Background(), testConfig(t), tr, 100, time.Now())
	if rep.Outcome != "error" || !strings.Contains(rep.Error, "no supported application") {
		t.Errorf("report %+v", rep)
	}
}

// The recorder masks the card number and track data unless told, and
// never keeps a PIN.
func TestRecorderMasks(t *testing.T) {
	for _, unmasked := range []bool{false, true} {
		recordOfflinePIN(t, unmasked)
	}
}

func recordOfflinePIN(t *testing.T, unmasked bool) {
	tr := loadTrace(t, "offline-pin-chip")
	rec := NewRecorder(tr.Card(), Contact, unmasked)
	cfg := testConfig(t)
	u, _ := hex.DecodeString(tr.Unpredictable)
	tx, _ := New(cfg, rec, Input{Mode: Contact, AmountFen: tr.AmountFen, Now: time.Now(), Unpredictable: u})
	if err := tx.Read(context.Background(), -1); err != nil {
		t.Fatal(err)
	}
	if err := tx.VerifyOfflinePIN(context.Background(), "147258"); err != nil {
		var w *WrongPINError
		if !errors.As(err, &w) {
			t.Fatal(err)
		}
	}
	out := rec.Trace(tx)
	all := ""
	for _, e := range out.Exchanges {
		all += e.C + " " + e.R + "\n"
	}
	if strings.Contains(all, "147258") || !strings.Contains(all, "0020008008FFFFFFFFFFFFFFFF") {
		t.Errorf("a trace (unmasked %v) holds the PIN:\n%s", unmasked, all)
	}
	if unmasked {
		return
	}
	if strings.Contains(all, "6214830002223336") || !strings.Contains(all, "6214830000003336") || out.Masked != true {
		t.Errorf("the masked trace holds the PAN:\n%s", all)
	}
	// The ICC certificate opens with public keys and holds the PAN.
	for _, e := range out.Exchanges {
		r := MustHex(e.R)
		if c, ok := Find(r[:len(r)-2], 0x9F46); ok && strings.Trim(hx(c), "0") != "" {
			t.Errorf("the masked trace keeps the ICC certificate")
		}
	}
}
