package main

import (
	"context"
	"errors"
	"log/slog"
	"math/rand"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/config"
	"github.com/shoukuan/pos/app/emv"
	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/board"
	"github.com/shoukuan/pos/drivers/fake"
	"github.com/shoukuan/pos/hal"
)

// campaignFaults are what the host does wrong in the fault campaign: lost
// requests and replies, broken and doubled frames, bad MACs, declines it
// never processed, and answers of unknown outcome to requests it did
// process (the money moved).
var campaignFaults = []hostsim.Fault{
	hostsim.DropBefore, hostsim.DropAfter, hostsim.Disconnect, hostsim.Garbage, hostsim.BadMAC, hostsim.Duplicate,
	hostsim.Late, hostsim.SignOnAgain, hostsim.Decline("96"), hostsim.Decline("RT"),
	hostsim.Answer("96"), hostsim.Answer("98"), hostsim.Answer("RT"), hostsim.Answer("91"),
}

// phoneWaiter is the customer's phone at a merchant QR: it pays the code
// shown on the screen, once, when told to.
type phoneWaiter struct {
	sim  *hostsim.Server
	code string
	pay  bool
	paid bool
}

func (w *phoneWaiter) Waiting(left time.Duration, qr string) bool {
	if w.pay && !w.paid && qr != "" {
		w.paid = w.sim.CustomerPays(qr, w.code) == nil
	}
	return false
}

// faultJudge checks after every run what the run touched: the new rows,
// the rows that were still pending, the originals they refer to, and the
// records the host added. Every few hundred runs, and at the end, it
// checks everything.
type faultJudge struct {
	t       *testing.T
	e       *engine.Engine
	sim     *hostsim.Server
	lastTxn int64
	lastRec int64
	pending map[int64]bool
}

func (j *faultJudge) checkRun(label string) {
	t := j.t
	ids := map[int64]bool{}
	for id := range j.pending {
		ids[id] = true
	}
	fresh, _, err := j.e.Query(engine.Filter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range fresh {
		if x.ID > j.lastTxn {
			ids[x.ID] = true
		}
	}
	recs, err := j.sim.RecordsSince("10000001", j.lastRec)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		j.lastRec = max(j.lastRec, r.ID)
		list, _, err := j.e.Query(engine.Filter{Batch: r.Batch, STAN: r.STAN})
		if err != nil {
			t.Fatal(err)
		}
		if len(list) == 0 && r.Status != hostsim.StatusReversed {
			t.Fatalf("%s: the host holds a %s of %d fen (trace %s/%s) the journal does not know", label, r.Kind, r.AmountFen, r.Batch, r.STAN)
		}
		for _, x := range list {
			ids[x.ID] = true
		}
	}
	var list []engine.Txn
	for id := range ids {
		x, err := j.e.Txn(id)
		if err != nil {
			t.Fatal(err)
		}
		list = append(list, x)
	}
	j.pending = map[int64]bool{}
	pendingChild := map[int64]bool{}
	for _, x := range list {
		j.lastTxn = max(j.lastTxn, x.ID)
		if x.Status == engine.StatusPending {
			j.pending[x.ID] = true
			pendingChild[x.OrigID] = true
		}
	}
	for _, x := range list {
		if err := j.judgeOne(x, pendingChild[x.ID]); err != nil {
			t.Fatalf("%s: %v", label, err)
		}
		if x.OrigID != 0 {
			orig, err := j.e.Txn(x.OrigID)
			if err != nil {
				t.Fatal(err)
			}
			if err := j.judgeOne(orig, pendingChild[orig.ID] || j.childPendingElsewhere(orig.ID)); err != nil {
				t.Fatalf("%s (the original of %s %s): %v", label, x.Kind, x.STAN, err)
			}
		}
	}
}

func (j *faultJudge) judgeOne(x engine.Txn, childPending bool) error {
	rec, ok, err := j.sim.RecordAt("10000001", x.Batch, x.STAN)
	if err != nil {
		return err
	}
	if !ok {
		return judgeTxn(x, nil, childPending)
	}
	return judgeTxn(x, &rec, childPending)
}

// childPendingElsewhere: a void or refund of sale id, not touched by
// this run, is still pending.
func (j *faultJudge) childPendingElsewhere(id int64) bool {
	for pid := range j.pending {
		if x, err := j.e.Txn(pid); err == nil && x.OrigID == id {
			return true
		}
	}
	return false
}

func (j *faultJudge) checkAll(label string) {
	txns, _, err := j.e.Query(engine.Filter{})
	if err != nil {
		j.t.Fatal(err)
	}
	recs, err := j.sim.Records("10000001")
	if err != nil {
		j.t.Fatal(err)
	}
	if err := judgeLedger(txns, recs); err != nil {
		j.t.Fatalf("%s: %v", label, err)
	}
}

// outcomeOK says whether an operation's error is one the engine may give
// for what the journal then holds; anything else (a journal error, an
// approval the journal does not show) fails the campaign.
func outcomeOK(res engine.Result, err error) bool {
	var d *engine.DeclinedError
	st := res.Txn.Status
	switch {
	case err == nil:
		return st == engine.StatusApproved
	case errors.As(err, &d):
		return res.Txn.ID == 0 || st == engine.StatusDeclined
	case errors.Is(err, engine.ErrNoReply):
		return st == engine.StatusReversed || st == engine.StatusPending || res.Txn.ID == 0
	case errors.Is(err, engine.ErrCardDeclined):
		return st == engine.StatusReversed || st == engine.StatusPending
	case errors.Is(err, engine.ErrCancelled):
		return st == engine.StatusCancelled
	case errors.Is(err, engine.ErrWalletOpen):
		return st == engine.StatusPending || res.Txn.ID == 0
	case errors.Is(err, engine.ErrReversalOwed), errors.Is(err, engine.ErrNotSignedOn),
		errors.Is(err, engine.ErrRefundTooLarge), errors.Is(err, engine.ErrNotVoidable), errors.Is(err, engine.ErrNotFound),
		errors.Is(err, engine.ErrLimit), errors.Is(err, engine.ErrDailyLimit):
		return res.Txn.ID == 0
	}
	return false
}

// TestHostFaultCampaign runs sales, voids, refunds and wallet payments
// through the real client and host simulator with random host faults and
// random amounts, judging the ledger after every run (-fault-runs, 200 in
// make test; -seed replays one). Most operations must succeed: a
// campaign where nothing gets through proves nothing.
func TestHostFaultCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	runs := *faultRuns
	if runs == 0 {
		runs = 200
	}
	seed := campaignSeed(t)
	c := newCrashEnv(t)
	hostsim.FaultDelay = 50 * time.Millisecond
	defer func() { hostsim.FaultDelay = 2 * time.Second }()
	if err := c.sim.SetRandomFaults(0.2, campaignFaults, seed); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Host.InProcess = false
	cfg.Host.Address = c.addr
	cfg.Host.TimeoutSeconds = 5
	cfg.Host.KeyMode = "double+tdk"
	cfg.Demo = true
	// A day of 10,000 payments: the campaign tests money, not limits.
	cfg.Limits.DailyFen = config.MaxAmountFen
	for class, l := range cfg.Limits.Methods {
		l.DailyFen = config.MaxAmountFen
		cfg.Limits.Methods[class] = l
	}
	desc, _ := board.Load("sim")
	at := place{data: c.data, secrets: c.secrets, assets: c.assets}
	st, err := openStack(cfg, desc, at, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	if v, _ := st.db.Synchronous(); v != 2 {
		t.Fatalf("the journal commits with synchronous = %d, not FULL", v)
	}
	ctx := context.Background()
	e := st.eng
	e.SetSleep(func(ctx context.Context, d time.Duration) error { return ctx.Err() })
	for e.SignOn(ctx) != nil {
	}
	j := &faultJudge{t: t, e: e, sim: c.sim, pending: map[int64]bool{}}
	cards, err := fake.LoadCardProfiles(cardsDir)
	if err != nil {
		t.Fatal(err)
	}
	reader, kcfg := fake.NewCardReader(cards), kernelConfig(t)
	rnd := rand.New(rand.NewSource(seed))
	amount := func() int64 { return int64(100 + rnd.Intn(20000)) }
	ops, succeeded := map[string]int{}, map[string]int{}
	start := time.Now()
	for i := 0; i < runs; i++ {
		if !e.SignedOn() {
			e.SignOn(ctx)
			continue
		}
		txns, _, _ := e.Query(engine.Filter{Limit: 30})
		pick := func(wallet bool, ok func(engine.Txn) bool) (engine.Txn, bool) {
			var cands []engine.Txn
			for _, x := range txns {
				if x.Kind == engine.KindSale && x.Status == engine.StatusApproved && x.Method.IsWallet() == wallet && ok(x) {
					cands = append(cands, x)
				}
			}
			if len(cands) == 0 {
				return engine.Txn{}, false
			}
			return cands[rnd.Intn(len(cands))], true
		}
		var op string
		var res engine.Result
		var err error
		switch n := rnd.Intn(10); {
		case n < 3:
			block, _ := st.client.PINBlock(crashPIN, crashCard)
			fen := amount()
			switch rnd.Intn(4) {
			case 0:
				op = "sale"
				res, err = e.Sale(ctx, engine.SaleInput{AmountFen: fen, Card: engine.Card{Method: engine.MethodSwipe, Track2: crashTrack, PINBlock: block}, Operator: "01"})
			case 1:
				// A chip that takes every approval, or one that refuses
				// them (the engine must reverse at once).
				op = "chip"
				in := chipSale(t, reader, kcfg, "unionpay-debit", hal.CardChip, fen, block)
				res, err = e.Sale(ctx, in)
			case 2:
				op = "chip-aac"
				in := chipSale(t, reader, kcfg, "aac-card", hal.CardChip, fen, nil)
				res, err = e.Sale(ctx, in)
				if err == nil {
					t.Fatalf("run %d: the card refused and the sale stands approved", i)
				}
			default:
				op = "tap"
				res, err = e.Sale(ctx, chipSale(t, reader, kcfg, "unionpay-debit", hal.CardContactless, fen, nil))
			}
		case n == 3:
			x, ok := pick(false, func(x engine.Txn) bool { return !x.Voided && x.RefundedFen == 0 && x.Batch == txns[0].Batch })
			if !ok {
				continue
			}
			op = "void"
			res, err = e.Void(ctx, x.STAN, "00")
		case n == 4:
			x, ok := pick(false, func(x engine.Txn) bool { return !x.Voided && x.RefundedFen < x.AmountFen })
			if !ok {
				continue
			}
			op = "refund"
			res, err = e.Refund(ctx, x.RRN, x.HostDate, 1+rnd.Int63n(x.AmountFen-x.RefundedFen), "00")
		case n < 7:
			op = "wallet"
			code, w := crashWallet, engine.MethodAlipay
			if rnd.Intn(3) == 0 {
				code, w = crashWalletNever, engine.MethodWeChat
			}
			res, err = e.WalletPay(ctx, engine.WalletInput{AmountFen: amount(), Code: code, Wallet: w, Operator: "01"}, nil)
		case n < 9:
			// The phone pays the shown QR, or the customer pays just as
			// the cashier gives up (the close meets a paid order), or
			// nobody pays.
			op = "merchantqr"
			phone := &phoneWaiter{sim: c.sim, code: crashPayer, pay: rnd.Intn(2) == 0}
			race := !phone.pay && rnd.Intn(2) == 0
			c.sim.SetMerchantPayer(crashPayer, 0, race)
			res, err = e.MerchantQR(ctx, engine.WalletInput{AmountFen: amount(), Operator: "01"}, phone)
			c.sim.SetMerchantPayer("", 0, false)
		default:
			x, ok := pick(true, func(x engine.Txn) bool { return x.RefundedFen < x.AmountFen })
			if !ok {
				continue
			}
			op = "walletrefund"
			res, err = e.WalletRefund(ctx, x.OrderNo, 1+rnd.Int63n(x.AmountFen-x.RefundedFen), "00")
		}
		ops[op]++
		// A card that refuses the approval succeeds when the approval is
		// reversed at once.
		if err == nil || op == "chip-aac" && errors.Is(err, engine.ErrCardDeclined) && res.Txn.Status == engine.StatusReversed {
			succeeded[op]++
		}
		if !outcomeOK(res, err) {
			t.Fatalf("run %d %s: unexpected outcome %s with %v", i, op, res.Txn.Status, err)
		}
		j.checkRun(op)
		if i%20 == 19 {
			// A second terminal on the same data directory is refused
			// and changes nothing.
			if _, _, err := journal.OpenTerminal(c.data, cfg.Terminal.TerminalID); !errors.Is(err, journal.ErrLocked) {
				t.Fatalf("run %d: a second open of the data directory: %v", i, err)
			}
		}
		if i%500 == 499 {
			j.checkAll("run " + op)
		}
	}
	c.sim.ClearFaults()
	if _, err := e.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	j.checkAll("after the campaign")
	var s childState
	s.Txns, _, _ = e.Query(engine.Filter{})
	s.Owed, _ = e.OwedReversals()
	s.Open, _ = e.OpenWalletOrders()
	if s.Owed != 0 || s.Open != 0 {
		t.Fatalf("after recovery: %d reversals owed, %d wallet orders open", s.Owed, s.Open)
	}
	total, ok := 0, 0
	var parts []string
	for op, n := range ops {
		total += n
		ok += succeeded[op]
		parts = append(parts, op+" "+strconv.Itoa(succeeded[op])+"/"+strconv.Itoa(n))
	}
	t.Logf("%d runs in %v, %d transactions journaled; succeeded: %s", runs, time.Since(start).Round(time.Millisecond), len(s.Txns), strings.Join(parts, ", "))
	// Most of each kind of operation must get through: a campaign in which
	// nothing is paid proves nothing about payments.
	if ok*2 < total {
		t.Fatalf("only %d of %d operations succeeded: the campaign is not testing payments", ok, total)
	}
	// Per kind a third: wallet payments face two hosts' faults and
	// succeed a little over half the time, so a half failed now and then
	// by chance (seed 1796205439702722116: 24 of 51).
	for op, n := range ops {
		if n >= 10 && succeeded[op]*3 < n {
			t.Fatalf("only %d of %d %s operations succeeded", succeeded[op], n, op)
		}
	}
	for _, op := range []string{"sale", "chip", "chip-aac", "tap", "void", "refund", "wallet", "merchantqr", "walletrefund"} {
		if runs >= 200 && ops[op] == 0 {
			t.Fatalf("no %s was tried", op)
		}
	}
}

// chipSale reads a virtual card with the kernel and makes the engine's
// input for it, with the card's completion.
func chipSale(t *testing.T, r *fake.CardReader, cfg *emv.Config, card string, mode hal.CardMode, fen int64, block []byte) engine.SaleInput {
	t.Helper()
	c := readCard(t, r, card, mode)
	km, method := emv.Contact, engine.MethodChip
	if mode == hal.CardContactless {
		km, method = emv.Contactless, engine.MethodTap
	}
	tx, err := emv.New(cfg, c.APDU, emv.Input{Mode: km, AmountFen: fen, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.Read(context.Background(), -1); err != nil {
		t.Fatal(err)
	}
	if tx.CVM() != emv.CVMOnlinePIN {
		block = nil
	}
	on, err := tx.RequestOnline(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	in := engine.SaleInput{AmountFen: fen, Operator: "01", Card: engine.Card{Method: method, Track2: tx.Track2(), PINBlock: block,
		ICC: on.Field55, Seq: tx.PSN(), ReversalICC: tx.ReversalICC()}}
	if km == emv.Contact {
		in.Chip = testCompleter{tx}
	}
	return in
}

type testCompleter struct{ tx *emv.Transaction }

func (c testCompleter) Complete(ctx context.Context, approved bool, icc []byte) (string, []byte, error) {
	_, err := c.tx.Complete(ctx, approved, icc)
	return "", c.tx.ReversalICC(), err
}
