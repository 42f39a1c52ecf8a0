package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/emv"
	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/drivers/fake"
	"github.com/shoukuan/pos/hal"
)

// kernelConfig is the default kernel with the project's test CA, as the
// simulator's terminal has it.
func kernelConfig(t testing.TB) *emv.Config {
	t.Helper()
	cfg := emv.DefaultConfig()
	p := loadPKI(t)
	key, err := p.CA.Public()
	if err != nil {
		t.Fatal(err)
	}
	k, err := emv.ParseCAKey(p.RID, p.CAIndex, key.ModulusHex, key.ExponentHex, key.ChecksumHex(p.RID, p.CAIndex))
	if err != nil {
		t.Fatal(err)
	}
	cfg.CAKeys = append(cfg.CAKeys, k)
	return &cfg
}

func presentCard(t *testing.T, name string, mode hal.CardMode) (*fake.CardReader, hal.Card) {
	t.Helper()
	cards, err := fake.LoadCardProfiles(cardsDir)
	if err != nil {
		t.Fatal(err)
	}
	r := fake.NewCardReader(cards)
	return r, readCard(t, r, name, mode)
}

// readCard presents a virtual card to an armed reader and takes it in.
func readCard(t testing.TB, r *fake.CardReader, name string, mode hal.CardMode) hal.Card {
	t.Helper()
	r.Enable(hal.CardAny)
	if err := r.Present(name, mode); err != nil {
		t.Fatal(err)
	}
	c, err := r.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestKernelReadsVirtualCards(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.Local)
	for _, tc := range []struct {
		card string
		mode hal.CardMode
		fen  int64
		cvm  emv.CVM
		err  error
	}{
		{"unionpay-debit", hal.CardChip, 12345, emv.CVMOnlinePIN, nil},
		{"unionpay-debit", hal.CardContactless, 5000, emv.CVMNone, nil},
		{"unionpay-debit", hal.CardContactless, 150000, emv.CVMOnlinePIN, nil},
		{"unionpay-credit", hal.CardChip, 5000, emv.CVMSignature, nil},
		{"phone-quickpass", hal.CardContactless, 250000, emv.CVMDevice, nil},
		{"offline-pin-card", hal.CardChip, 5000, emv.CVMOfflinePIN, nil},
		{"sda-card", hal.CardChip, 5000, emv.CVMOnlinePIN, nil},
		{"tampered-card", hal.CardChip, 5000, emv.CVMOnlinePIN, emv.ErrDeclinedOffline},
		{"tampered-card", hal.CardContactless, 5000, emv.CVMNone, emv.ErrDeclinedOffline},
		{"app-blocked", hal.CardChip, 5000, 0, emv.ErrAppBlocked},
		{"foreign-card", hal.CardChip, 5000, 0, emv.ErrNoApplication},
		{"foreign-card", hal.CardContactless, 5000, 0, emv.ErrNoApplication},
	} {
		t.Run(tc.card+"/"+tc.mode.String(), func(t *testing.T) {
			_, c := presentCard(t, tc.card, tc.mode)
			mode := emv.Contact
			if tc.mode == hal.CardContactless {
				mode = emv.Contactless
			}
			tx, err := emv.New(kernelConfig(t), c.APDU, emv.Input{Mode: mode, AmountFen: tc.fen, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			err = tx.Read(ctx, -1)
			if err == nil {
				if tx.CVM() != tc.cvm {
					t.Errorf("CVM %v, want %v", tx.CVM(), tc.cvm)
				}
				_, err = tx.RequestOnline(ctx)
			}
			if !errors.Is(err, tc.err) && !(tc.err == nil && err == nil) {
				t.Fatalf("err %v, want %v (summary %+v)", err, tc.err, tx.Summary())
			}
			if err != nil {
				return
			}
			s := tx.Summary()
			if s.ODAResult != "ok" || s.ACType != "ARQC" || len(tx.Field55()) < 100 {
				t.Errorf("summary %+v, field 55 of %d bytes", s, len(tx.Field55()))
			}
			icc := emv.Data{}
			if err := icc.Flatten(tx.Field55()); err != nil {
				t.Fatal(err)
			}
			pan, _ := tx.PAN()
			mk, _ := emv.DeriveICCMasterKey(hostsim.TestIssuerMasterKey(), pan, tx.PSN()[1:])
			if ok, err := emv.VerifyARQC(mk, icc); !ok || err != nil {
				t.Errorf("the issuer cannot verify the ARQC: %v", err)
			}
		})
	}
}

var recordTraces = flag.Bool("record-traces", false, "record the virtual cards' APDU traces into app/emv/testdata/traces")

// TestRecordTraces records the kernel's exchange with virtual cards in
// the replay format; app/emv replays them (and seeds its fuzzing with
// them) without the cards. The recorded traces are checked to replay to
// the outcome the live card gave.
func TestRecordTraces(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.Local)
	dir := "../../app/emv/testdata/traces"
	for _, tc := range []struct {
		name, card string
		mode       hal.CardMode
		fen        int64
		complete   bool
	}{
		{"debit-chip-online-pin", "unionpay-debit", hal.CardChip, 12345, true},
		{"debit-tap-no-cvm", "unionpay-debit", hal.CardContactless, 5000, false},
		{"phone-tap-device-cvm", "phone-quickpass", hal.CardContactless, 250000, false},
		{"credit-chip-signature", "unionpay-credit", hal.CardChip, 30000, true},
		{"offline-pin-chip", "offline-pin-card", hal.CardChip, 8800, false},
		{"tampered-chip", "tampered-card", hal.CardChip, 5000, false},
		{"dual-app-chip", "dual-app", hal.CardChip, 6600, false},
		{"aac-after-online", "aac-card", hal.CardChip, 7700, true},
		{"sda-chip", "sda-card", hal.CardChip, 3300, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := presentCard(t, tc.card, tc.mode)
			mode := emv.Contact
			if tc.mode == hal.CardContactless {
				mode = emv.Contactless
			}
			rec := emv.NewRecorder(c.APDU, mode, true)
			cfg := kernelConfig(t)
			tx, err := emv.New(cfg, rec, emv.Input{Mode: mode, AmountFen: tc.fen, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			err = tx.Read(ctx, -1)
			if errors.Is(err, emv.ErrChoose) {
				err = tx.Read(ctx, 0)
			}
			if err == nil && tx.CVM() == emv.CVMOfflinePIN {
				err = tx.VerifyOfflinePIN(ctx, "147258")
			}
			var on emv.Online
			if err == nil {
				on, err = tx.RequestOnline(ctx)
			}
			tr := rec.Trace(tx)
			if err == nil && tc.complete {
				icc := emv.Data{}
				icc.Flatten(on.Field55)
				pan, _ := tx.PAN()
				mk, _ := emv.DeriveICCMasterKey(hostsim.TestIssuerMasterKey(), pan, tx.PSN()[1:])
				atc := icc[0x9F36]
				arpc, _ := emv.ARPC(mk, uint16(atc[0])<<8|uint16(atc[1]), icc[0x9F26], []byte("00"))
				host := emv.Encode(0x91, arpc)
				_, err = tx.Complete(ctx, true, host)
				tr = rec.Trace(tx)
				tr.Host = &emv.TraceHostICC{Approved: true, ICC: fmt.Sprintf("%X", host)}
			}
			live := "online"
			switch {
			case errors.Is(err, emv.ErrDeclinedOffline):
				live = "declined"
			case errors.Is(err, emv.ErrCardDeclined):
				live = "card-declined"
			case err != nil:
				t.Fatal(err)
			case tc.complete:
				live = "approved"
			}
			b, _ := json.MarshalIndent(tr, "", " ")
			parsed, err := emv.ParseTrace(b)
			if err != nil {
				t.Fatal(err)
			}
			rep := emv.Replay(ctx, cfg, parsed, 0, now)
			if rep.Outcome != live {
				t.Fatalf("replay says %s (%s), the live card %s", rep.Outcome, rep.Error, live)
			}
			if *recordTraces {
				os.MkdirAll(dir, 0o755)
				if err := os.WriteFile(filepath.Join(dir, tc.name+".json"), append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestEMVReplayCommand(t *testing.T) {
	trace := filepath.Join(repoRoot, "app", "emv", "testdata", "traces", "debit-tap-no-cvm.json")
	var out bytes.Buffer
	if code := run([]string{"emv", "replay", "--json", "--test-keys", trace}, &out, &out); code != 0 {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
	var rep emv.Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if rep.Outcome != "online" || rep.CVM != "none" || rep.ODA != "fDDA ok" || rep.PAN != "622202*********0128" || len(rep.Field55) < 200 {
		t.Errorf("report %+v", rep)
	}
	// Without the test CA the card's signature cannot be checked: the
	// terminal declines rather than trust it.
	out.Reset()
	run([]string{"emv", "replay", "--json", trace}, &out, &out)
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Outcome != "declined" || !strings.Contains(rep.Error, "no CA key") {
		t.Errorf("without the test CA: %+v %v", rep, err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"mode":"chip","exchanges":[{"c":"00A4","r":"zz"}]}`), 0o644)
	out.Reset()
	if code := run([]string{"emv", "replay", bad}, &out, &out); code != 1 || !strings.Contains(out.String(), "exchange 1") {
		t.Errorf("bad trace: exit %d\n%s", code, out.String())
	}
}

// A technician asks the terminal to record the cards' exchanges: each
// card read leaves a trace, private to the terminal's user, with the card
// number masked and no PIN.
func TestTerminalRecordsCardTraces(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "traces")
	script := filepath.Join(t.TempDir(), "record.txt")
	src := fmt.Sprintf(`config {"emv": {"record_traces": %q}}
type 01
press enter
type 0000
press enter
type 2580
press enter
type 2580
press enter
press enter
press 1 1
type 8800
press enter
press enter
insert offline-pin-card
type 147258
press enter
expect screen "交易成功"
`, dir)
	os.WriteFile(script, []byte(src), 0o644)
	var out bytes.Buffer
	if code := run([]string{"scenario", "--assets", repoRoot, "--data", t.TempDir(), "--secrets", t.TempDir(), script}, &out, &out); code != 0 {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
	files, _ := filepath.Glob(filepath.Join(dir, "card-*.json"))
	if len(files) != 1 {
		t.Fatalf("%d traces in %s", len(files), dir)
	}
	st, _ := os.Stat(files[0])
	b, _ := os.ReadFile(files[0])
	if st.Mode().Perm() != 0o600 || strings.Contains(string(b), "6214830002223336") || strings.Contains(string(b), "147258") {
		t.Errorf("trace mode %v, holds the PAN or the PIN:\n%s", st.Mode(), b)
	}
	tr, err := emv.ParseTrace(b)
	if err != nil || !tr.Masked || tr.Mode != "chip" || len(tr.Exchanges) < 10 {
		t.Fatalf("trace %+v %v", tr, err)
	}
}

// The QuickPass scenario again on the sim-pn532 board: every tap goes
// through the real PN532 driver, over a serial line, to the emulator, and
// pays end to end (kernel, host, receipt).
func TestTapScenarioThroughPN532(t *testing.T) {
	var out bytes.Buffer
	p := filepath.Join(repoRoot, "testdata", "scenarios", "chip-tap.txt")
	data := t.TempDir()
	code := run([]string{"scenario", "--board", "sim-pn532", "--assets", repoRoot, "--data", data, "--secrets", t.TempDir(), p}, &out, &out)
	if code != 0 {
		log, _ := os.ReadFile(filepath.Join(data, "pos.log"))
		t.Fatalf("exit %d\n%s\nlog:\n%s", code, out.String(), log)
	}
}
