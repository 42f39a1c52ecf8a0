package hostsim

import (
	"bytes"
	"encoding/hex"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/shoukuan/pos/app/seckey"
)

func checkCharges(t *testing.T, s *Server, pan string, wantN int, wantNet int64) {
	t.Helper()
	n, net, err := s.Charges(pan)
	if err != nil {
		t.Fatal(err)
	}
	if n != wantN || net != wantNet {
		t.Fatalf("Charges = %d, %d fen; want %d, %d", n, net, wantN, wantNet)
	}
}

func checkBalance(t *testing.T, s *Server, pan string, want int64) {
	t.Helper()
	b, err := s.Balance(pan)
	if err != nil {
		t.Fatal(err)
	}
	if b != want {
		t.Fatalf("balance = %d, want %d", b, want)
	}
}

func TestSignOnDeliversKeys(t *testing.T) {
	for _, alg := range []seckey.MACAlgorithm{seckey.MACCUPECB, seckey.MACANSIX919} {
		for _, mode := range []seckey.KeyMode{seckey.Single, seckey.Double, seckey.DoubleWithTDK} {
			t.Run(alg.String()+"/"+mode.String(), func(t *testing.T) {
				f := newFixture(t, func(o *Options) { o.MAC = alg })
				c := f.client()
				r := c.signOn(mode) // ParseField62 checks every KCV
				for _, n := range []int{11, 12, 13, 37, 41, 42, 60} {
					if !r.Has(n) {
						t.Errorf("0810 lacks field %d", n)
					}
				}
				if r.Has(64) {
					t.Error("0810 carries a MAC")
				}
				if (mode == seckey.DoubleWithTDK) != (c.keys.TDK != nil) {
					t.Errorf("TDK = %v in mode %v", c.keys.TDK, mode)
				}
				// The keys are the host's: a MACed sale with a PIN goes through.
				if rep := c.do(c.saleMsg(debit, 100), true); code(rep) != rcApproved {
					t.Fatalf("sale after sign-on: %s", code(rep))
				}
				if mode == seckey.DoubleWithTDK {
					// A clear track from a terminal holding a track key is refused.
					clearSale := c.saleMsg(debit, 100)
					clearSale.Set(35, debit.pan+"=30122200000000000")
					clearSale.Set(53, "2600000000000000")
					if rep := c.do(clearSale, true); code(rep) != rcInvalidTxn {
						t.Fatalf("clear track after a TDK: %s", code(rep))
					}
				}
				// A second sign-on replaces the keys.
				old := c.keys
				c.signOn(mode)
				if old.MAK.Equal(c.keys.MAK) {
					t.Error("second sign-on delivered the same MAK")
				}
				c.keys = old
				if rep := c.do(c.saleMsg(debit, 100), true); code(rep) != rcMACError {
					t.Fatalf("old MAK after a new sign-on: %s, want A0", code(rep))
				}
			})
		}
	}
}

func TestSignOnDefaultMode(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.KeyMode = seckey.DoubleWithTDK })
	c := f.client()
	m := c.base("0800")
	m.Set(60, "00"+c.batch) // no 60.3: the host's configured mode
	r := c.do(m, false)
	f62, _ := r.GetBytes(62)
	if _, err := seckey.ParseField62(c.tmk, f62, seckey.DoubleWithTDK); err != nil {
		t.Fatal(err)
	}
}

func TestEchoAndSignOff(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	for _, nc := range []string{"301", "002"} {
		m := c.base("0820")
		m.Set(60, "00"+c.batch+nc)
		if r := c.do(m, false); code(r) != rcApproved || r.MTI != "0830" {
			t.Fatalf("0820 %s: %s %s", nc, r.MTI, code(r))
		}
	}
}

func TestSaleApprovedAndIdempotent(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	c.signOn(seckey.Double)
	sale := c.saleMsg(debit, 12345)
	r := c.do(sale, true)
	if code(r) != rcApproved {
		t.Fatalf("sale: %s", code(r))
	}
	for _, n := range []int{3, 4, 11, 12, 13, 15, 25, 37, 38, 39, 41, 42, 49, 60, 64} {
		if !r.Has(n) {
			t.Errorf("0210 lacks field %d", n)
		}
	}
	if rrn := field(r, 37); len(rrn) != 12 || !allDigits(rrn) {
		t.Errorf("RRN %q", rrn)
	}
	if len(field(r, 38)) != 6 {
		t.Errorf("auth code %q", field(r, 38))
	}
	if field(r, 13) != "0514" || field(r, 12) != "103000" {
		t.Errorf("date/time %s %s", field(r, 13), field(r, 12))
	}
	checkBalance(t, f.s, panDebit, 100000-12345)
	checkCharges(t, f.s, panDebit, 1, 12345)

	// The same request again (same TID, batch, STAN, MTI): same reply, no
	// second charge.
	r2 := c.do(sale, true)
	if field(r2, 37) != field(r, 37) || field(r2, 38) != field(r, 38) || code(r2) != rcApproved {
		t.Fatalf("repeat: RRN %s auth %s code %s; first RRN %s auth %s", field(r2, 37), field(r2, 38), code(r2), field(r, 37), field(r, 38))
	}
	checkCharges(t, f.s, panDebit, 1, 12345)
	checkBalance(t, f.s, panDebit, 100000-12345)

	// The same STAN with other content is refused, not charged.
	other := sale.Clone()
	other.Set(4, "000000000999")
	if r3 := c.do(other, true); code(r3) != rcInvalidTxn {
		t.Fatalf("reused STAN with another amount: %s, want 12", code(r3))
	}
	checkCharges(t, f.s, panDebit, 1, 12345)

	// A new STAN is a new sale with a new RRN.
	r4 := c.do(c.saleMsg(debit, 100), true)
	if code(r4) != rcApproved || field(r4, 37) == field(r, 37) {
		t.Fatalf("second sale: %s RRN %s", code(r4), field(r4, 37))
	}
	checkCharges(t, f.s, panDebit, 2, 12445)

	recs, err := f.s.Records(tTID)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Kind != "sale" || recs[0].Status != StatusApproved || recs[0].STAN != field(sale, 11) ||
		recs[0].Batch != "000001" || recs[0].AmountFen != 12345 || recs[0].RRN != field(r, 37) || recs[0].Date != "0514" {
		t.Fatalf("records: %+v", recs)
	}
	if strings.Contains(recs[0].MaskedPAN, panDebit) {
		t.Fatal("Records exposes the full PAN")
	}
}

func TestTrack2OnlySale(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	c.signOn(seckey.Double)
	m := c.saleMsg(card{panCredit, "2911", ""}, 500)
	m.Unset(2)
	m.Unset(14)
	if r := c.do(m, true); code(r) != rcApproved {
		t.Fatalf("track 2 sale: %s", code(r))
	}
	checkCharges(t, f.s, panCredit, 1, 500)
	// Field 2 and track 2 disagreeing is an invalid card.
	m = c.saleMsg(credit, 500)
	m.Set(2, panDebit)
	if r := c.do(m, true); code(r) != rcInvalidCard {
		t.Fatalf("PAN mismatch: %s", code(r))
	}
}

func TestDeclineCodes(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	c.signOn(seckey.Double)
	cases := []struct {
		name string
		k    card
		amt  int64
		want string
	}{
		{"unknown PAN", unknown, 100, rcInvalidCard},
		{"lost", lost, 100, rcDoNotHonour},
		{"blocked", blocked, 100, rcDoNotHonour},
		{"expired", expired, 100, rcExpired},
		{"wrong PIN", card{panCredit, "2911", "000000"}, 100, rcWrongPIN},
		{"insufficient", debit, 100001, rcNoFunds},
		{"over daily limit", debit, 80001, rcOverLimit},
	}
	for _, tc := range cases {
		if r := c.do(c.saleMsg(tc.k, tc.amt), true); code(r) != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, code(r), tc.want)
		}
	}
	// Daily limit counts the day's approved sales.
	if r := c.do(c.saleMsg(debit, 50000), true); code(r) != rcApproved {
		t.Fatalf("sale: %s", code(r))
	}
	if r := c.do(c.saleMsg(debit, 30001), true); code(r) != rcOverLimit {
		t.Fatalf("second sale over the day's limit: %s", code(r))
	}
	checkCharges(t, f.s, panDebit, 1, 50000)
	checkCharges(t, f.s, panCredit, 0, 0)
	for _, p := range []string{panLost, panExpired, panBlocked} {
		checkBalance(t, f.s, p, 100000)
	}
}

func TestPINTries(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	c.signOn(seckey.Double)
	bad := card{panCredit, "2911", "000000"}
	for i := 0; i < maxPINTries; i++ {
		if r := c.do(c.saleMsg(bad, 100), true); code(r) != rcWrongPIN {
			t.Fatalf("wrong PIN %d: %s", i+1, code(r))
		}
	}
	// Locked: even the right PIN gets 75 from now on.
	for i := 0; i < 2; i++ {
		if r := c.do(c.saleMsg(credit, 100), true); code(r) != rcPINTries {
			t.Fatalf("after %d wrong PINs: %s, want 75", maxPINTries, code(r))
		}
	}
	checkCharges(t, f.s, panCredit, 0, 0)

	// Fewer wrong tries are forgotten after a good PIN.
	c.do(c.saleMsg(card{panDebit, "3012", "000000"}, 100), true)
	c.do(c.saleMsg(card{panDebit, "3012", "000000"}, 100), true)
	if r := c.do(c.saleMsg(debit, 100), true); code(r) != rcApproved {
		t.Fatalf("good PIN: %s", code(r))
	}
	c.do(c.saleMsg(card{panDebit, "3012", "000000"}, 100), true)
	c.do(c.saleMsg(card{panDebit, "3012", "000000"}, 100), true)
	if r := c.do(c.saleMsg(debit, 100), true); code(r) != rcApproved {
		t.Fatalf("good PIN after 2 more wrong: %s", code(r))
	}
}

func TestMACErrors(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	// No keys yet: A0, unMACed.
	if r := c.do(c.saleMsg(card{panCredit, "2911", ""}, 100), false); code(r) != rcMACError {
		t.Fatalf("no keys: %s", code(r))
	}
	c.signOn(seckey.Double)
	// A MACed kind without field 64.
	if r := c.do(c.saleMsg(credit, 100), false); code(r) != rcMACError {
		t.Fatalf("no MAC: %s", code(r))
	}
	// A wrong MAC.
	good := c.keys.MAK
	c.keys.MAK, _ = seckey.GenerateKey(seckey.SingleLen)
	if r := c.do(c.saleMsg(credit, 100), true); code(r) != rcMACError {
		t.Fatalf("bad MAC: %s", code(r))
	}
	c.keys.MAK = good
	// A MAC from another terminal's keys.
	c2 := f.client()
	c2.tid = "10000002"
	c2.signOn(seckey.Double)
	c2.tid = tTID
	if r := c2.do(c2.saleMsg(credit, 100), true); code(r) != rcMACError {
		t.Fatalf("other terminal's MAK: %s", code(r))
	}
	checkCharges(t, f.s, panCredit, 0, 0)
}

func TestBalanceInquiry(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	c.signOn(seckey.Double)
	r := c.do(c.balanceMsg(debit), true)
	if code(r) != rcApproved || field(r, 54) != "1002156C000000100000" {
		t.Fatalf("balance: %s 54=%q", code(r), field(r, 54))
	}
	if r := c.do(c.balanceMsg(card{panDebit, "3012", "111111"}), true); code(r) != rcWrongPIN {
		t.Fatalf("balance wrong PIN: %s", code(r))
	}
	if r := c.do(c.balanceMsg(lost), true); code(r) != rcDoNotHonour {
		t.Fatalf("balance lost card: %s", code(r))
	}
	checkCharges(t, f.s, panDebit, 0, 0)
}

func TestVoidAndItsReversal(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	c.signOn(seckey.Double)
	sale := c.saleMsg(debit, 3000)
	sr := c.do(sale, true)
	void := c.voidMsg(sale, sr)
	vr := c.do(void, true)
	if code(vr) != rcApproved || field(vr, 37) == field(sr, 37) || !vr.Has(38) {
		t.Fatalf("void: %s RRN %s", code(vr), field(vr, 37))
	}
	checkBalance(t, f.s, panDebit, 100000)
	checkCharges(t, f.s, panDebit, 0, 0)

	// Repeating the same void is idempotent; a new void of it is 12.
	if r := c.do(void, true); code(r) != rcApproved || field(r, 37) != field(vr, 37) {
		t.Fatalf("repeated void: %s", code(r))
	}
	if r := c.do(c.voidMsg(sale, sr), true); code(r) != rcInvalidTxn {
		t.Fatalf("second void: %s, want 12", code(r))
	}
	checkBalance(t, f.s, panDebit, 100000)

	// Reversing the void re-debits and makes the sale approved again.
	if r := c.do(c.reversalMsg(void), true); code(r) != rcApproved {
		t.Fatalf("void reversal: %s", code(r))
	}
	checkBalance(t, f.s, panDebit, 97000)
	checkCharges(t, f.s, panDebit, 1, 3000)
	recs, _ := f.s.Records(tTID)
	if len(recs) != 2 || recs[0].Status != StatusApproved || recs[1].Status != StatusReversed || recs[1].Kind != "void" || recs[1].OrigRRN != field(sr, 37) {
		t.Fatalf("records: %+v", recs)
	}
	// So it can be voided again.
	if r := c.do(c.voidMsg(sale, sr), true); code(r) != rcApproved {
		t.Fatalf("void after the void was reversed: %s", code(r))
	}
	checkCharges(t, f.s, panDebit, 0, 0)

	// Not found: unknown RRN, or 61 not matching the RRN's sale.
	bad := c.voidMsg(sale, sr)
	bad.Set(37, "999999999999")
	if r := c.do(bad, true); code(r) != rcNotFound {
		t.Fatalf("void unknown RRN: %s", code(r))
	}
	sale2 := c.saleMsg(debit, 10)
	sr2 := c.do(sale2, true)
	bad = c.voidMsg(sale2, sr2)
	bad.Set(61, "000001999999")
	if r := c.do(bad, true); code(r) != rcNotFound {
		t.Fatalf("void with wrong 61: %s", code(r))
	}
	// A void in another batch is refused.
	other := c.voidMsg(sale2, sr2)
	other.Set(60, "23000002")
	if r := c.do(other, true); code(r) != rcInvalidTxn {
		t.Fatalf("void in another batch: %s", code(r))
	}
	// Another terminal cannot void it.
	c2 := f.client()
	c2.tid = "10000002"
	c2.signOn(seckey.Double)
	if r := c2.do(c2.voidMsg(sale2, sr2), true); code(r) != rcNotFound {
		t.Fatalf("void from another terminal: %s", code(r))
	}
}

func TestRefunds(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	c.signOn(seckey.Double)
	sale := c.saleMsg(credit, 1000)
	sr := c.do(sale, true)
	rrn, date := field(sr, 37), field(sr, 13)
	// Refunds come later, in another batch.
	c.batch = "000002"
	r1 := c.refundMsg(rrn, date, 300)
	if r := c.do(r1, true); code(r) != rcApproved || r.MTI != "0230" {
		t.Fatalf("refund: %s %s", r.MTI, code(r))
	}
	checkCharges(t, f.s, panCredit, 1, 700)
	if r := c.do(r1, true); code(r) != rcApproved {
		t.Fatalf("repeated refund: %s", code(r))
	}
	checkCharges(t, f.s, panCredit, 1, 700)
	if r := c.do(c.refundMsg(rrn, date, 300), true); code(r) != rcApproved {
		t.Fatalf("second refund: %s", code(r))
	}
	if r := c.do(c.refundMsg(rrn, date, 401), true); code(r) != rcOverLimit {
		t.Fatalf("refund over what is left: %s, want 61", code(r))
	}
	checkCharges(t, f.s, panCredit, 1, 400)
	checkBalance(t, f.s, panCredit, 2000000-400)
	if r := c.do(c.refundMsg(rrn, "0101", 10), true); code(r) != rcNotFound {
		t.Fatalf("refund with wrong date: %s", code(r))
	}
	if r := c.do(c.refundMsg("999999999999", date, 10), true); code(r) != rcNotFound {
		t.Fatalf("refund of unknown RRN: %s", code(r))
	}
	// Reversing a refund re-debits and frees its amount for refunding.
	if r := c.do(c.reversalMsg(r1), true); code(r) != rcApproved {
		t.Fatalf("refund reversal: %s", code(r))
	}
	checkCharges(t, f.s, panCredit, 1, 700)
	if r := c.do(c.refundMsg(rrn, date, 700), true); code(r) != rcApproved {
		t.Fatalf("refund of the rest: %s", code(r))
	}
	checkCharges(t, f.s, panCredit, 1, 0)
	checkBalance(t, f.s, panCredit, 2000000)
	// A refunded sale can neither be voided nor reversed.
	c.batch = "000001"
	if r := c.do(c.voidMsg(sale, sr), true); code(r) != rcInvalidTxn {
		t.Fatalf("void of a refunded sale: %s", code(r))
	}
	if r := c.do(c.reversalMsg(sale), true); code(r) != rcInvalidTxn {
		t.Fatalf("reversal of a refunded sale: %s", code(r))
	}
}

func TestReversal(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	c.signOn(seckey.Double)
	sale := c.saleMsg(debit, 777)
	c.do(sale, true)
	checkBalance(t, f.s, panDebit, 100000-777)
	rev := c.reversalMsg(sale)
	r := c.do(rev, true)
	if code(r) != rcApproved || r.MTI != "0410" || field(r, 11) != field(sale, 11) {
		t.Fatalf("reversal: %s %s", r.MTI, code(r))
	}
	checkBalance(t, f.s, panDebit, 100000)
	checkCharges(t, f.s, panDebit, 0, 0)
	if r := c.do(rev, true); code(r) != rcInvalidTxn {
		t.Fatalf("second reversal: %s, want 12", code(r))
	}
	checkBalance(t, f.s, panDebit, 100000)
	// A reversed sale cannot be voided.
	if r := c.do(c.voidMsg(sale, c.do(sale, true)), true); code(r) != rcInvalidTxn {
		t.Fatalf("void of a reversed sale: %s", code(r))
	}
	// Reversal of something the host never saw.
	never := c.saleMsg(debit, 5)
	if r := c.do(c.reversalMsg(never), true); code(r) != rcNotFound {
		t.Fatalf("reversal of unknown: %s, want 25", code(r))
	}
	// Reversal of a declined sale: nothing to undo either.
	declined := c.saleMsg(lost, 5)
	c.do(declined, true)
	if r := c.do(c.reversalMsg(declined), true); code(r) != rcNotFound {
		t.Fatalf("reversal of a declined sale: %s, want 25", code(r))
	}
	recs, _ := f.s.Records(tTID)
	if len(recs) != 1 || recs[0].Status != StatusReversed {
		t.Fatalf("records: %+v", recs)
	}
}

func TestSettlementAndUpload(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	c.signOn(seckey.Double)
	s1 := c.saleMsg(credit, 1000)
	r1 := c.do(s1, true)
	s2 := c.saleMsg(credit, 2500)
	r2 := c.do(s2, true)
	s3 := c.saleMsg(credit, 400)
	r3 := c.do(s3, true)
	c.do(c.voidMsg(s3, r3), true) // voided: not in the totals
	rf := c.refundMsg(field(r1, 37), field(r1, 13), 200)
	rr := c.do(rf, true)
	rev := c.saleMsg(credit, 50)
	c.do(rev, true)
	c.do(c.reversalMsg(rev), true) // reversed: not in the totals

	card := group(3500, 2, 200, 1)
	st := c.do(c.settleMsg(card), true)
	if code(st) != rcApproved || resultDigits(st) != "1111" || st.MTI != "0510" {
		t.Fatalf("settlement: %s %q", code(st), resultDigits(st))
	}
	if r := c.do(c.settleMsg(card), true); resultDigits(r) != "1111" {
		t.Fatalf("repeated settlement: %q", resultDigits(r))
	}
	if r := c.do(c.settleMsg(group(3500, 2, 0, 0)), true); resultDigits(r) != "2111" {
		t.Fatalf("terminal totals off: %q", resultDigits(r))
	}

	// The host loses a sale: unbalanced until the batch is uploaded.
	if err := f.s.ForgetRecord(tTID, c.batch, field(s2, 11)); err != nil {
		t.Fatal(err)
	}
	if err := f.s.ForgetRecord(tTID, c.batch, "999999"); err == nil {
		t.Fatal("ForgetRecord of nothing succeeded")
	}
	settle := c.settleMsg(card)
	if r := c.do(settle, true); resultDigits(r) != "2111" {
		t.Fatalf("after ForgetRecord: %q", resultDigits(r))
	}
	checkCharges(t, f.s, panCredit, 2, 3300) // the money still moved
	for _, u := range []struct {
		kind, stan string
		amt        int64
		rrn        string
	}{
		{"00", field(s1, 11), 1000, field(r1, 37)},
		{"00", field(s2, 11), 2500, field(r2, 37)},
		{"25", field(rf, 11), 200, field(rr, 37)},
	} {
		if r := c.do(c.uploadMsg(u.kind, u.stan, u.amt, u.rrn), true); code(r) != rcApproved || r.MTI != "0330" {
			t.Fatalf("upload: %s %s", r.MTI, code(r))
		}
	}
	if r := c.do(c.settleMsg(card), true); resultDigits(r) != "1111" {
		t.Fatalf("after upload: %q", resultDigits(r))
	}
	// The earlier unbalanced settlement, repeated, keeps its answer.
	if r := c.do(settle, true); resultDigits(r) != "2111" {
		t.Fatalf("repeat of the unbalanced settlement: %q", resultDigits(r))
	}

	// Malformed 48.
	bad := c.settleMsg(card)
	bad.Set(48, card[:30])
	if r := c.do(bad, true); code(r) != rcInvalidTxn {
		t.Fatalf("short 48: %s", code(r))
	}
	badUp := c.uploadMsg("07", "000001", 1, "000000000000")
	if r := c.do(badUp, true); code(r) != rcInvalidTxn {
		t.Fatalf("upload of unknown kind: %s", code(r))
	}
}

func TestSettlementOtherClassesMustBeEmpty(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	c.signOn(seckey.Double)
	m := c.settleMsg(group(0, 0, 0, 0))
	m.Set(48, group(0, 0, 0, 0)+group(100, 1, 0, 0)+group(0, 0, 0, 0)+group(0, 0, 0, 0))
	if r := c.do(m, true); resultDigits(r) != "1211" {
		t.Fatalf("alipay totals the host has not seen: %q", resultDigits(r))
	}
}

func TestLedgerSurvivesRestart(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	c.signOn(seckey.Double)
	sale := c.saleMsg(debit, 4242)
	r := c.do(sale, true)
	checkCharges(t, f.s, panDebit, 1, 4242)

	// New seed accounts do not reset existing ones.
	f.opts.Accounts[0].BalanceFen = 1
	f.restart()
	checkCharges(t, f.s, panDebit, 1, 4242)
	checkBalance(t, f.s, panDebit, 100000-4242)
	// The keys from before the restart still verify, and the repeat still
	// returns the first reply.
	if r2 := c.do(sale, true); field(r2, 37) != field(r, 37) {
		t.Fatalf("repeat after restart: RRN %s, want %s", field(r2, 37), field(r, 37))
	}
	r3 := c.do(c.saleMsg(debit, 1), true)
	if code(r3) != rcApproved || field(r3, 37) == field(r, 37) {
		t.Fatalf("sale after restart: %s RRN %s", code(r3), field(r3, 37))
	}
	if r := c.do(c.reversalMsg(sale), true); code(r) != rcApproved {
		t.Fatalf("reversal after restart: %s", code(r))
	}
	checkCharges(t, f.s, panDebit, 1, 1)
}

func TestNewRequiresDBPath(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("New without DBPath succeeded")
	}
	if _, err := New(Options{DBPath: t.TempDir() + "/x.db", Accounts: []Account{{PAN: "12", Expiry: "3001"}}}); err == nil {
		t.Fatal("New with a bad PAN succeeded")
	}
}

func TestBadRequestsGetAnswersOrClose(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	c.signOn(seckey.Double)
	// 60.1 not matching the processing code.
	m := c.saleMsg(debit, 100)
	m.Set(60, "23"+c.batch)
	if r := c.do(m, true); code(r) != rcInvalidTxn {
		t.Fatalf("sale with 60.1 23: %s", code(r))
	}
	// Unknown processing code.
	m = c.saleMsg(debit, 100)
	m.Set(3, "990000")
	if r := c.do(m, true); code(r) != rcInvalidTxn {
		t.Fatalf("unknown processing code: %s", code(r))
	}
	// Undecodable body: the host closes without a reply.
	got, closed := c.sendRaw([]byte{0, 13, 0x60, 0, 1, 0, 2, 0x60, 0x31, 0, 0, 0, 0, 0x02, 0x00}, c.timeout)
	if len(got) != 0 || !closed {
		t.Fatalf("garbage request: %d frames, closed %v", len(got), closed)
	}
	checkCharges(t, f.s, panDebit, 0, 0)
}

func TestLogsHoldNoSecrets(t *testing.T) {
	var buf bytes.Buffer
	f := newFixture(t, func(o *Options) {
		o.Log = slog.New(slog.NewTextHandler(&syncWriter{w: &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	c := f.client()
	c.signOn(seckey.DoubleWithTDK)
	sale := c.saleMsg(debit, 100)
	r := c.do(sale, true)
	c.do(c.uploadMsg("00", field(sale, 11), 100, field(r, 37)), true)
	c.do(c.balanceMsg(debit), true)
	c.do(c.saleMsg(card{panDebit, "3012", "000000"}, 1), true)
	f.s.Close()
	logs := buf.String()
	if !strings.Contains(logs, "hostsim: handled") {
		t.Fatalf("nothing logged: %s", logs)
	}
	blk, _ := sale.GetBytes(52)
	secrets := map[string]string{"PAN": panDebit, "PIN": pinDebit, "PIN block": hex.EncodeToString(blk)}
	for name, k := range map[string]seckey.Key{"PIK": c.keys.PIK, "MAK": c.keys.MAK, "TDK": c.keys.TDK} {
		secrets[name] = hex.EncodeToString(k)
	}
	for name, v := range secrets {
		if v == "" {
			t.Fatalf("no %s to look for", name)
		}
		if strings.Contains(strings.ToLower(logs), strings.ToLower(v)) {
			t.Errorf("log contains the %s", name)
		}
	}
}

// syncWriter lets the log handler and the test share a buffer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
