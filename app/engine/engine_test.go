package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/journal"
)

// ledgerHost is an acquirer in memory: it charges, reverses and refunds
// for real, so tests can ask how much a card was charged.
type ledgerHost struct {
	mu      sync.Mutex
	balance map[string]int64       // by PAN
	records map[string]*hostRecord // by batch/stan
	byRRN   map[string]*hostRecord
	faults  []string // one per call, consumed in order; "" = none
	calls   []HostRequest
	rrn     int
	lost    map[string]bool // records the host "loses" before settlement
	agree   bool            // settle balanced whatever the totals (benchmarks)
}

type hostRecord struct {
	kind     HostKind
	pan      string
	amount   int64
	rrn      string
	reversed bool
	refunded int64
	orig     *hostRecord
}

func newLedgerHost() *ledgerHost {
	return &ledgerHost{balance: map[string]int64{"6222021234567890128": 100000, "6258071234123456789": 500}, records: map[string]*hostRecord{}, byRRN: map[string]*hostRecord{}, lost: map[string]bool{}}
}

func (h *ledgerHost) fault(f ...string) {
	h.mu.Lock()
	h.faults = append(h.faults, f...)
	h.mu.Unlock()
}

var errDropped = errors.New("connection dropped")

func (h *ledgerHost) Exchange(ctx context.Context, r HostRequest) (HostReply, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, r)
	f := ""
	if len(h.faults) > 0 {
		f, h.faults = h.faults[0], h.faults[1:]
	}
	switch f {
	case "drop-before":
		return HostReply{}, errDropped
	case "decline-51":
		return HostReply{Code: "51"}, nil
	}
	reply := h.process(r)
	if code, ok := strings.CutPrefix(f, "answer-"); ok {
		reply.Code = code // done, but answered otherwise
	}
	switch f {
	case "drop-after":
		return HostReply{}, errDropped
	case "bad-mac":
		return HostReply{}, fmt.Errorf("%w", ErrReplyMAC)
	case "signon-again":
		reply.SignOnAgain = true
	}
	return reply, nil
}

func (h *ledgerHost) process(r HostRequest) HostReply {
	key := r.Batch + "/" + r.STAN
	ok := func(rec *hostRecord) HostReply {
		h.rrn++
		rec.rrn = fmt.Sprintf("%012d", h.rrn)
		h.byRRN[rec.rrn] = rec
		return HostReply{Code: "00", RRN: rec.rrn, AuthCode: "A12345", Date: "0302", Time: "090000"}
	}
	switch r.Kind {
	case HostSignOn, HostEcho:
		return HostReply{Code: "00"}
	case HostSale:
		if h.balance[r.PAN] < r.AmountFen {
			return HostReply{Code: "51"}
		}
		h.balance[r.PAN] -= r.AmountFen
		rec := &hostRecord{kind: HostSale, pan: r.PAN, amount: r.AmountFen}
		h.records[key] = rec
		return ok(rec)
	case HostVoid:
		orig := h.records[r.OrigBatch+"/"+r.OrigSTAN]
		if orig == nil || orig.reversed {
			return HostReply{Code: "25"}
		}
		orig.reversed = true
		h.balance[orig.pan] += orig.amount
		rec := &hostRecord{kind: HostVoid, pan: orig.pan, amount: orig.amount, orig: orig}
		h.records[key] = rec
		return ok(rec)
	case HostRefund:
		orig := h.byRRN[r.OrigRRN]
		if orig == nil || orig.reversed {
			return HostReply{Code: "25"}
		}
		if orig.refunded+r.AmountFen > orig.amount {
			return HostReply{Code: "61"}
		}
		orig.refunded += r.AmountFen
		h.balance[orig.pan] += r.AmountFen
		rec := &hostRecord{kind: HostRefund, pan: orig.pan, amount: r.AmountFen, orig: orig}
		h.records[key] = rec
		return ok(rec)
	case HostReversal:
		rec := h.records[key]
		if rec == nil {
			return HostReply{Code: "25"}
		}
		if rec.reversed {
			return HostReply{Code: "12"}
		}
		rec.reversed = true
		switch rec.kind {
		case HostSale:
			h.balance[rec.pan] += rec.amount
		case HostVoid:
			rec.orig.reversed = false
			h.balance[rec.pan] -= rec.amount
		case HostRefund:
			rec.orig.refunded -= rec.amount
			h.balance[rec.pan] -= rec.amount
		}
		return HostReply{Code: "00"}
	case HostSettle:
		var n int
		var sum int64
		for k, rec := range h.records {
			if h.lost[k] || rec.reversed || rec.kind != HostSale || len(k) < 6 || k[:6] != r.Batch {
				continue
			}
			n++
			sum += rec.amount
		}
		tot := r.Totals.Total()
		if h.agree || n == tot.DebitCount && sum == tot.DebitFen {
			return HostReply{Code: "00", SettleResult: SettleBalanced}
		}
		return HostReply{Code: "00", SettleResult: SettleUnbalanced}
	case HostUpload:
		for k := range h.lost {
			delete(h.lost, k)
		}
		return HostReply{Code: "00"}
	}
	return HostReply{Code: "12"}
}

func (h *ledgerHost) balanceOf(pan string) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.balance[pan]
}

const (
	debitPAN  = "6222021234567890128"
	debitT2   = "6222021234567890128=30122200000000000"
	creditT2  = "6258071234123456789=29112010000000000"
	creditPAN = "6258071234123456789"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newEngine(t testing.TB, h Host, cfg Config) (*Engine, *journal.DB, *clock) {
	t.Helper()
	db, err := journal.Open(filepath.Join(t.TempDir(), "journal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.Local)}
	e := New(db, h, c.now, cfg, nil)
	if err := e.SignOn(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e, db, c
}

func sale(e *Engine, t2 string, fen int64) (Result, error) {
	return e.Sale(context.Background(), SaleInput{AmountFen: fen, Card: Card{Method: MethodSwipe, Track2: t2, PINBlock: make([]byte, 8)}, Operator: "01"})
}

func owed(t *testing.T, e *Engine) int {
	t.Helper()
	n, err := e.OwedReversals()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSaleApprovedTwoWrites(t *testing.T) {
	h := newLedgerHost()
	e, _, _ := newEngine(t, h, Config{FeeBP: map[string]int64{"card": 60}})
	before := e.Commits()
	res, err := sale(e, debitT2, 1234)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Commits() - before; got != 2 {
		t.Errorf("durable writes per sale = %d, want 2", got)
	}
	tx := res.Txn
	if tx.Status != StatusApproved || tx.RRN == "" || tx.MaskedPAN != "622202*********0128" || tx.FeeFen != 7 || tx.STAN == "" {
		t.Fatalf("txn %+v", tx)
	}
	if h.balanceOf(debitPAN) != 100000-1234 || owed(t, e) != 0 {
		t.Fatalf("balance %d owed %d", h.balanceOf(debitPAN), owed(t, e))
	}
	stored, _ := e.Txn(tx.ID)
	if stored.Status != StatusApproved || stored.MaskedPAN != tx.MaskedPAN {
		t.Fatalf("journal %+v", stored)
	}
}

func TestDeclineIsFinalAndOwesNothing(t *testing.T) {
	h := newLedgerHost()
	e, _, _ := newEngine(t, h, Config{RiskDeclines: 2})
	_, err := sale(e, creditT2, 600) // balance 500
	var d *DeclinedError
	if !errors.As(err, &d) || d.Code != "51" || d.Txn.Status != StatusDeclined || owed(t, e) != 0 {
		t.Fatalf("err %v owed %d", err, owed(t, e))
	}
	res, _ := sale(e, creditT2, 700)
	if len(res.Alerts) == 0 {
		t.Fatal("no risk alert after two declines")
	}
}

func TestNoReplyIsReversedAtOnce(t *testing.T) {
	for _, f := range []string{"drop-before", "drop-after", "bad-mac"} {
		t.Run(f, func(t *testing.T) {
			h := newLedgerHost()
			e, _, _ := newEngine(t, h, Config{})
			h.fault(f)
			res, err := sale(e, debitT2, 5000)
			if !errors.Is(err, ErrNoReply) {
				t.Fatalf("err = %v", err)
			}
			if res.Txn.Status != StatusReversed || owed(t, e) != 0 {
				t.Fatalf("status %s owed %d", res.Txn.Status, owed(t, e))
			}
			if got := h.balanceOf(debitPAN); got != 100000 {
				t.Fatalf("customer charged: balance %d", got)
			}
			last := h.calls[len(h.calls)-1]
			if last.Kind != HostReversal || last.STAN != res.Txn.STAN {
				t.Fatalf("last call %+v", last)
			}
			if f == "bad-mac" && last.ReversalReason != "A0" {
				t.Fatalf("reversal reason %q, want A0", last.ReversalReason)
			}
			if f != "bad-mac" && last.ReversalReason != "98" {
				t.Fatalf("reversal reason %q, want 98", last.ReversalReason)
			}
		})
	}
}

func TestReversalOwedBlocksUntilSent(t *testing.T) {
	h := newLedgerHost()
	e, _, _ := newEngine(t, h, Config{ReversalRetries: 3})
	// charged but no reply, then the host stays unreachable for all 3 tries
	h.fault("drop-after", "drop-before", "drop-before", "drop-before")
	if _, err := sale(e, debitT2, 2000); !errors.Is(err, ErrNoReply) {
		t.Fatal(err)
	}
	if owed(t, e) != 1 || h.balanceOf(debitPAN) != 98000 {
		t.Fatalf("owed %d balance %d", owed(t, e), h.balanceOf(debitPAN))
	}
	h.fault("drop-before", "drop-before", "drop-before")
	if _, err := sale(e, debitT2, 100); !errors.Is(err, ErrReversalOwed) {
		t.Fatalf("a new sale went out with a reversal owed: %v", err)
	}
	// network back: the next sale first reverses, then charges
	res, err := sale(e, debitT2, 100)
	if err != nil {
		t.Fatal(err)
	}
	if owed(t, e) != 0 || h.balanceOf(debitPAN) != 100000-100 || res.Txn.Status != StatusApproved {
		t.Fatalf("owed %d balance %d", owed(t, e), h.balanceOf(debitPAN))
	}
}

func TestVoidRules(t *testing.T) {
	h := newLedgerHost()
	e, _, _ := newEngine(t, h, Config{})
	res, _ := sale(e, debitT2, 3000)
	if _, err := e.Void(context.Background(), "999999", "00"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("void of unknown trace: %v", err)
	}
	v, err := e.Void(context.Background(), res.Txn.STAN, "00")
	if err != nil || v.Txn.Kind != KindVoid || v.Txn.AmountFen != 3000 {
		t.Fatalf("void %+v %v", v.Txn, err)
	}
	if h.balanceOf(debitPAN) != 100000 {
		t.Fatalf("balance %d", h.balanceOf(debitPAN))
	}
	if _, err := e.Void(context.Background(), res.Txn.STAN, "00"); !errors.Is(err, ErrNotVoidable) {
		t.Fatalf("second void: %v", err)
	}
	orig, _ := e.Txn(res.Txn.ID)
	if !orig.Voided {
		t.Fatal("original not marked voided")
	}
	// a void whose reply is lost is reversed: the sale stands again
	res2, _ := sale(e, debitT2, 400)
	h.fault("drop-after")
	if _, err := e.Void(context.Background(), res2.Txn.STAN, "00"); !errors.Is(err, ErrNoReply) {
		t.Fatal(err)
	}
	if orig2, _ := e.Txn(res2.Txn.ID); orig2.Voided || h.balanceOf(debitPAN) != 100000-400 {
		t.Fatalf("voided %v balance %d", orig2.Voided, h.balanceOf(debitPAN))
	}
}

func TestRefundPartialRepeatedUpToOriginal(t *testing.T) {
	h := newLedgerHost()
	e, _, _ := newEngine(t, h, Config{})
	res, _ := sale(e, debitT2, 10000)
	rrn, date := res.Txn.RRN, res.Txn.HostDate
	if _, err := e.Refund(context.Background(), rrn, date, 4000, "00"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Refund(context.Background(), rrn, date, 6001, "00"); !errors.Is(err, ErrRefundTooLarge) {
		t.Fatalf("over-refund: %v", err)
	}
	if _, err := e.Refund(context.Background(), rrn, date, 6000, "00"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Refund(context.Background(), rrn, date, 1, "00"); !errors.Is(err, ErrRefundTooLarge) {
		t.Fatalf("refund beyond the original: %v", err)
	}
	if _, err := e.Refund(context.Background(), "000000000000", date, 1, "00"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown RRN: %v", err)
	}
	if h.balanceOf(debitPAN) != 100000 {
		t.Fatalf("balance %d", h.balanceOf(debitPAN))
	}
}

func TestSettlementBalancedAndUnbalanced(t *testing.T) {
	h := newLedgerHost()
	e, _, _ := newEngine(t, h, Config{FeeBP: map[string]int64{"card": 50}})
	a, _ := sale(e, debitT2, 1000)
	sale(e, debitT2, 2000)
	b, _ := sale(e, debitT2, 4000)
	e.Void(context.Background(), b.Txn.STAN, "00")
	e.Refund(context.Background(), a.Txn.RRN, a.Txn.HostDate, 300, "00")
	s, err := e.Settle(context.Background(), "00")
	if err != nil {
		t.Fatal(err)
	}
	tot := s.Totals.Total()
	if !s.Balanced || s.Uploaded != 0 || tot.DebitCount != 2 || tot.DebitFen != 3000 || tot.CreditCount != 1 || tot.CreditFen != 300 || tot.FeeFen != 15 {
		t.Fatalf("settlement %+v", s)
	}
	if batch, _ := e.CurrentBatch(); batch != "000002" {
		t.Fatalf("batch after settlement %s", batch)
	}
	// the host lost a record: unbalanced, upload, balanced
	c, _ := sale(e, debitT2, 700)
	h.mu.Lock()
	h.lost["000002/"+c.Txn.STAN] = true
	h.mu.Unlock()
	s, err = e.Settle(context.Background(), "00")
	if err != nil || !s.Balanced || s.Uploaded != 1 {
		t.Fatalf("unbalanced settlement %+v %v", s, err)
	}
	if _, err := e.Void(context.Background(), c.Txn.STAN, "00"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("void of a settled batch's sale: %v", err)
	}
	last, err := e.LastSettlement()
	if err != nil || last.Totals.Batch != "000002" {
		t.Fatalf("last settlement %+v %v", last, err)
	}
}

func TestSignOnRequired(t *testing.T) {
	h := newLedgerHost()
	e, _, c := newEngine(t, h, Config{})
	h.fault("signon-again")
	if _, err := sale(e, debitT2, 100); err != nil {
		t.Fatal(err)
	}
	if _, err := sale(e, debitT2, 100); !errors.Is(err, ErrNotSignedOn) {
		t.Fatalf("host asked for sign-on, sale went out: %v", err)
	}
	e.SignOn(context.Background())
	if !e.SignedOn() {
		t.Fatal("not signed on")
	}
	c.t = c.t.Add(24 * time.Hour)
	if _, err := sale(e, debitT2, 100); !errors.Is(err, ErrNotSignedOn) {
		t.Fatalf("yesterday's sign-on accepted: %v", err)
	}
}

func TestLimitsAndBadCards(t *testing.T) {
	h := newLedgerHost()
	e, _, _ := newEngine(t, h, Config{Default: Limit{PerTxnFen: 5000, DailyFen: 8000}})
	if _, err := sale(e, debitT2, 5001); !errors.Is(err, ErrLimit) {
		t.Fatalf("per-txn: %v", err)
	}
	sale(e, debitT2, 5000)
	if _, err := sale(e, debitT2, 3001); !errors.Is(err, ErrDailyLimit) {
		t.Fatalf("daily: %v", err)
	}
	for _, t2 := range []string{"", "6222021234567890127=3012220", "6222021234567890128=30", "abc=1234567"} {
		if _, err := sale(e, t2, 100); !errors.Is(err, ErrBadCard) {
			t.Errorf("track %q: %v", t2, err)
		}
	}
	if txns, _, _ := e.Query(Filter{}); len(txns) != 1 {
		t.Fatalf("%d journal rows; refused sales must leave none", len(txns))
	}
}

func TestMaskPAN(t *testing.T) {
	for pan, want := range map[string]string{"6222021234567890128": "622202*********0128", "4111111111111111": "411111******1111", "123": "***"} {
		if got := MaskPAN(pan); got != want {
			t.Errorf("MaskPAN(%s) = %s", pan, got)
		}
	}
}

// TestUnknownAnswerIsReversed: a reply whose code leaves the outcome
// unknown (96, 98) is handled as no reply: the host did charge, and the
// reversal gives the money back. Only a definite decline is a decline.
func TestUnknownAnswerIsReversed(t *testing.T) {
	for _, code := range []string{"96", "98", "91"} {
		h := newLedgerHost()
		e, _, _ := newEngine(t, h, Config{})
		h.fault("answer-" + code)
		res, err := sale(e, debitT2, 3000)
		var ua *UnknownAnswerError
		if !errors.Is(err, ErrNoReply) || !errors.As(err, &ua) || ua.Code != code {
			t.Fatalf("%s: err = %v", code, err)
		}
		if res.Txn.Status != StatusReversed || owed(t, e) != 0 || h.balanceOf(debitPAN) != 100000 {
			t.Fatalf("%s: status %s owed %d balance %d", code, res.Txn.Status, owed(t, e), h.balanceOf(debitPAN))
		}
	}
	// 51 is definite: declined, nothing to reverse.
	h := newLedgerHost()
	e, _, _ := newEngine(t, h, Config{})
	_, err := sale(e, creditT2, 600)
	var d *DeclinedError
	if !errors.As(err, &d) || d.Code != "51" || owed(t, e) != 0 {
		t.Fatalf("51: %v", err)
	}
	for _, c := range h.calls {
		if c.Kind == HostReversal {
			t.Fatal("a definite decline was reversed")
		}
	}
}

func TestReplyCodeVerdicts(t *testing.T) {
	rc := DefaultReplyCodes()
	for _, c := range []struct {
		f    Family
		code string
		want Verdict
	}{
		{FamilyCard, "00", Approved}, {FamilyCard, "51", Declined}, {FamilyCard, "96", Unknown}, {FamilyCard, "98", Unknown},
		{FamilyCard, "ZZ", Unknown}, {FamilyWalletPay, "14", Declined}, {FamilyWalletPay, "RT", Unknown},
		{FamilyWalletPay, "96", Unknown}, {FamilyWalletRefund, "64", Declined}, {FamilyWalletRefund, "91", Unknown},
	} {
		if got := rc.Verdict(c.f, c.code); got != c.want {
			t.Errorf("family %d code %s: %v, want %v", c.f, c.code, got, c.want)
		}
	}
	if err := (ReplyCodes{Card: []string{"00"}}).Check(); err == nil {
		t.Error("00 accepted as a decline")
	}
	if err := rc.Check(); err != nil {
		t.Error(err)
	}
}

// TestOutcomesWaitToBeAnnounced: every finished transaction is
// unannounced, with its receipts owed, until the terminal says the
// cashier saw it and the paper came out.
func TestOutcomesWaitToBeAnnounced(t *testing.T) {
	h := newLedgerHost()
	e, _, _ := newEngine(t, h, Config{ReceiptCopies: 2})
	res, err := sale(e, debitT2, 1500)
	if err != nil {
		t.Fatal(err)
	}
	h.fault("drop-before")
	sale(e, debitT2, 700) // no reply: reversed at once
	list, err := e.Unannounced()
	if err != nil || len(list) != 2 || list[0].ID != res.Txn.ID || list[1].Status != StatusReversed {
		t.Fatalf("unannounced: %+v, %v", list, err)
	}
	owedR, _ := e.OwedReceipts()
	if len(owedR) != 1 || owedR[0].ReceiptsOwed != 2 {
		t.Fatalf("owed receipts: %+v", owedR)
	}
	if err := e.SetReceiptsOwed(res.Txn.ID, 1); err != nil {
		t.Fatal(err)
	}
	if owedR, _ = e.OwedReceipts(); len(owedR) != 1 || owedR[0].ReceiptsOwed != 1 {
		t.Fatalf("after one copy: %+v", owedR)
	}
	e.SetReceiptsOwed(res.Txn.ID, 0)
	if err := e.Announce(list[0].ID, list[1].ID); err != nil {
		t.Fatal(err)
	}
	if list, _ = e.Unannounced(); len(list) != 0 {
		t.Fatalf("still unannounced: %+v", list)
	}
	if owedR, _ = e.OwedReceipts(); len(owedR) != 0 {
		t.Fatalf("still owed: %+v", owedR)
	}
	// "Reprint last" is the last approved one, a decline after it or not.
	sale(e, creditT2, 600) // declined
	if last, err := e.LastApproved(); err != nil || last.ID != res.Txn.ID {
		t.Fatalf("last approved: %+v, %v", last, err)
	}
}

// TestQueryTotalsCountAsSettlementDoes: a voided sale is not money in.
func TestQueryTotalsCountAsSettlementDoes(t *testing.T) {
	h := newLedgerHost()
	e, _, _ := newEngine(t, h, Config{})
	res, _ := sale(e, debitT2, 1000)
	sale(e, debitT2, 250)
	if _, err := e.Void(context.Background(), res.Txn.STAN, "00"); err != nil {
		t.Fatal(err)
	}
	_, tot, _ := e.Query(Filter{})
	batch, _ := e.CurrentBatch()
	bt, _ := e.BatchTotals(batch)
	if tot.SaleCount != 1 || tot.SaleFen != 250 || tot.VoidCount != 1 || bt.Total().DebitCount != tot.SaleCount || bt.Total().DebitFen != tot.SaleFen {
		t.Fatalf("query %+v, settlement %+v", tot, bt.Total())
	}
}
