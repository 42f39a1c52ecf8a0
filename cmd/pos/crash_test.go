package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
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
	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/app/seckey"
	"github.com/shoukuan/pos/board"
)

// The crash tests run the engine in a child process (this test binary,
// re-executed) that dies on the spot at a named durable step; the parent
// keeps the host simulator and its ledger, restarts the child, and checks
// that the journal and the ledger agree: nothing lost, nobody charged
// twice or charged for a sale the terminal did not approve.

var (
	crashRuns = flag.Int("crash-runs", 0, "randomized crash runs (make reliability sets 1000)")
	faultRuns = flag.Int("fault-runs", 0, "randomized host-fault runs (make reliability sets 10000)")
)

const (
	crashCard  = "6222021234567890128"
	crashTrack = "6222021234567890128=30122200000000000"
	crashPIN   = "123456"
	// The wallet customers: one confirms on the phone at the second query,
	// one never does (so the order is cancelled).
	crashWallet      = "281000000000000001"
	crashWalletNever = "101000000000000001"
)

func TestMain(m *testing.M) {
	if os.Getenv("POS_CRASH_CHILD") != "" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

// childState is what the child reports after it ran.
type childState struct {
	Txns  []engine.Txn `json:"txns"`
	Owed  int          `json:"owed"`
	Open  int          `json:"open"` // wallet orders unresolved
	Batch string       `json:"batch"`
	Err   string       `json:"err"`
}

// crashChild runs one operation (POS_OP) against the host at POS_HOST with
// the journal in POS_DATA, then prints the journal as JSON. POS_CRASH_AT,
// read by the engine, may kill it before that.
func crashChild() int {
	cfg := config.Default()
	cfg.Host.InProcess = false
	cfg.Host.Address = os.Getenv("POS_HOST")
	cfg.Host.TimeoutSeconds = 5
	desc, err := board.Load("sim")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	dataDir := os.Getenv("POS_DATA")
	st, err := openStack(cfg, desc, dataDir, "", time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer st.close()
	ctx := context.Background()
	e := st.eng
	// Wallet waits pass at once: the host resolves "user paying" by the
	// number of queries, not by time.
	e.SetSleep(func(ctx context.Context, d time.Duration) error { return ctx.Err() })
	var opErr error
	card := func() engine.Card {
		block, err := st.client.PINBlock(crashPIN, crashCard)
		if err != nil {
			opErr = err
		}
		return engine.Card{Method: engine.MethodSwipe, Track2: crashTrack, PINBlock: block}
	}
	op := os.Getenv("POS_OP")
	arg := os.Getenv("POS_ARG")
	switch op {
	case "signon":
		opErr = e.SignOn(ctx)
	case "sale":
		_, opErr = e.Sale(ctx, engine.SaleInput{AmountFen: 1000, Card: card(), Operator: "01"})
	case "void":
		_, opErr = e.Void(ctx, arg, "00")
	case "refund":
		rrn, date, _ := strings.Cut(arg, "/")
		_, opErr = e.Refund(ctx, rrn, date, 400, "00")
	case "settle":
		_, opErr = e.Settle(ctx, "00")
	case "wallet":
		_, opErr = e.WalletPay(ctx, engine.WalletInput{AmountFen: 1000, Code: crashWallet, Wallet: engine.MethodAlipay, Operator: "01"}, nil)
	case "walletnever":
		_, opErr = e.WalletPay(ctx, engine.WalletInput{AmountFen: 1000, Code: crashWalletNever, Wallet: engine.MethodWeChat, Operator: "01"}, nil)
	case "precreate":
		_, opErr = e.MerchantQR(ctx, engine.WalletInput{AmountFen: 1000, Operator: "01"}, nil)
	case "walletrefund":
		_, opErr = e.WalletRefund(ctx, arg, 400, "00")
	case "recover":
		_, opErr = e.Recover(ctx)
	default:
		opErr = fmt.Errorf("unknown op %q", op)
	}
	var s childState
	s.Txns, _, _ = e.Query(engine.Filter{})
	s.Owed, _ = e.OwedReversals()
	s.Open, _ = e.OpenWalletOrders()
	s.Batch, _ = e.CurrentBatch()
	if opErr != nil {
		s.Err = opErr.Error()
	}
	json.NewEncoder(os.Stdout).Encode(s)
	return 0
}

type crashEnv struct {
	t    *testing.T
	sim  *hostsim.Server
	addr string
	data string
}

func newCrashEnv(t *testing.T) *crashEnv {
	t.Helper()
	dir := t.TempDir()
	sim, err := hostsim.New(hostsim.Options{
		DBPath:   filepath.Join(dir, "hostsim.db"),
		Accounts: []hostsim.Account{{PAN: crashCard, Expiry: "3012", PIN: crashPIN, BalanceFen: 1 << 40, Status: "active"}},
		Wallets: []hostsim.WalletAccount{
			{Code: crashWallet, Wallet: "alipay", Buyer: "138****0001", BalanceFen: 1 << 40, Confirm: "after:2"},
			{Code: crashWalletNever, Wallet: "wechat", Buyer: "o6_***0001", BalanceFen: 1 << 40, Confirm: "never"},
		},
		TMK: seckey.SimulatorTMK(), KeyMode: seckey.Double, MAC: seckey.MACCUPECB, Now: time.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	a, err := sim.ListenAndServe("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return &crashEnv{t: t, sim: sim, addr: a.String(), data: filepath.Join(dir, "pos")}
}

// run starts the child; it returns the child's state, or crashed = true
// when it died at crashAt.
func (c *crashEnv) run(op, arg, crashAt string) (childState, bool) {
	c.t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "POS_CRASH_CHILD=1", "POS_HOST="+c.addr, "POS_DATA="+c.data,
		"POS_OP="+op, "POS_ARG="+arg, "POS_CRASH_AT="+crashAt)
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 137 {
		return childState{}, true
	}
	if err != nil {
		c.t.Fatalf("child %s: %v\n%s", op, err, out)
	}
	var s childState
	if err := json.Unmarshal(out, &s); err != nil {
		c.t.Fatalf("child %s output: %v\n%s", op, err, out)
	}
	return s, false
}

// check is the invariant: after recovery nothing is pending or owed, and
// the host's net charge equals what the journal says was approved.
func (c *crashEnv) check(s childState, label string) int64 {
	c.t.Helper()
	var want, wantWallet int64
	for _, x := range s.Txns {
		if x.Status == engine.StatusPending {
			c.t.Fatalf("%s: transaction %s still pending after recovery", label, x.STAN)
		}
		if x.Status != engine.StatusApproved {
			continue
		}
		sum := &want
		if x.Method.IsWallet() {
			sum = &wantWallet
		}
		switch x.Kind {
		case engine.KindSale:
			if !x.Voided {
				*sum += x.AmountFen
			}
		case engine.KindRefund:
			*sum -= x.AmountFen
		}
	}
	if s.Owed != 0 || s.Open != 0 {
		c.t.Fatalf("%s: %d reversals owed, %d wallet orders open", label, s.Owed, s.Open)
	}
	_, got, err := c.sim.Charges(crashCard)
	if err != nil {
		c.t.Fatal(err)
	}
	if got != want {
		c.t.Fatalf("%s: host charged the card %d fen net, journal says %d", label, got, want)
	}
	var gotWallet int64
	for _, code := range []string{crashWallet, crashWalletNever} {
		_, n, err := c.sim.Charges(code)
		if err != nil {
			c.t.Fatal(err)
		}
		gotWallet += n
	}
	if gotWallet != wantWallet {
		c.t.Fatalf("%s: wallets charged %d fen net, journal says %d", label, gotWallet, wantWallet)
	}
	return got + gotWallet
}

// crashOp is the child operation that passes through a crash point.
func crashOp(point string) string {
	switch point {
	case "wallet.cancel":
		return "walletnever"
	}
	return strings.Split(point, ".")[0]
}

func lastWalletSale(s childState) (engine.Txn, bool) {
	for _, x := range s.Txns {
		if x.Kind == engine.KindSale && x.Status == engine.StatusApproved && x.Method.IsWallet() && x.RefundedFen+400 <= x.AmountFen {
			return x, true
		}
	}
	return engine.Txn{}, false
}

func lastApproved(s childState, kind engine.Kind) (engine.Txn, bool) {
	for _, x := range s.Txns { // newest first
		if x.Kind == kind && x.Status == engine.StatusApproved && !x.Method.IsWallet() {
			return x, true
		}
	}
	return engine.Txn{}, false
}

// TestCrashAtEveryStep kills the terminal at every durable step of every
// flow, restarts it and checks the ledger.
func TestCrashAtEveryStep(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, point := range engine.CrashPoints {
		t.Run(point, func(t *testing.T) {
			c := newCrashEnv(t)
			if _, crashed := c.run("signon", "", ""); crashed {
				t.Fatal("sign-on crashed")
			}
			flow := crashOp(point)
			// What the flow needs in place before the crash.
			var arg string
			switch flow {
			case "walletrefund":
				s, _ := c.run("wallet", "", "")
				sale, ok := lastWalletSale(s)
				if !ok {
					t.Fatalf("setup wallet sale: %+v", s)
				}
				arg = sale.OrderNo
			case "void", "refund", "settle":
				s, _ := c.run("sale", "", "")
				sale, ok := lastApproved(s, engine.KindSale)
				if !ok {
					t.Fatalf("setup sale: %+v", s)
				}
				arg = sale.STAN
				if flow == "refund" {
					arg = sale.RRN + "/" + sale.HostDate
				}
			case "reversal":
				// a sale whose reply is lost leaves a reversal owed
				c.sim.Inject(hostsim.FaultMatch{Kind: "sale"}, "drop-after")
				c.sim.Inject(hostsim.FaultMatch{Kind: "reversal", Count: 3}, "drop-before")
				s, _ := c.run("sale", "", "")
				if s.Owed != 1 {
					t.Fatalf("setup: %d reversals owed", s.Owed)
				}
				flow = "recover"
			}
			if flow == "settle" && point == "settle.upload" {
				s, _ := c.run("recover", "", "")
				sale, _ := lastApproved(s, engine.KindSale)
				c.sim.ForgetRecord("10000001", s.Batch, sale.STAN)
			}
			_, crashed := c.run(flow, arg, point)
			if !crashed {
				t.Fatalf("the child did not reach %s", point)
			}
			s, _ := c.run("recover", "", "")
			c.check(s, point)
			if flow == "settle" {
				s, _ = c.run("settle", "", "")
				if s.Err != "" {
					t.Fatalf("settling again after the crash: %s", s.Err)
				}
				c.check(s, point+" settled")
			}
			// and the terminal still works
			s, _ = c.run("sale", "", "")
			if _, ok := lastApproved(s, engine.KindSale); !ok || s.Err != "" {
				t.Fatalf("sale after recovery: %+v", s.Err)
			}
			c.check(s, point+" then sale")
		})
	}
}

// TestCrashCampaign crashes random flows at random steps, many times in a
// row on one terminal and one ledger (-crash-runs, default 25 in make test).
func TestCrashCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	runs := *crashRuns
	if runs == 0 {
		runs = 25
	}
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewSource(seed))
	c := newCrashEnv(t)
	c.run("signon", "", "")
	var s childState
	for i := 0; i < runs; i++ {
		point := engine.CrashPoints[rnd.Intn(len(engine.CrashPoints))]
		flow := crashOp(point)
		arg := ""
		switch flow {
		case "walletrefund":
			sale, ok := lastWalletSale(s)
			if !ok {
				flow = "wallet"
				break
			}
			arg = sale.OrderNo
		case "void", "refund":
			sale, ok := lastApproved(s, engine.KindSale)
			if !ok || sale.Voided || sale.RefundedFen > 0 {
				flow = "sale"
				break
			}
			arg = sale.STAN
			if flow == "refund" {
				arg = sale.RRN + "/" + sale.HostDate
			}
		case "reversal":
			c.sim.Inject(hostsim.FaultMatch{Kind: "sale"}, "drop-after")
			c.sim.Inject(hostsim.FaultMatch{Kind: "reversal", Count: 3}, "drop-before")
			c.run("sale", "", "")
			flow = "recover"
		}
		c.run(flow, arg, point)
		s, _ = c.run("recover", "", "")
		c.check(s, fmt.Sprintf("run %d %s", i, point))
	}
}

// TestHostFaultCampaign runs sales, voids and refunds through the real
// client and host simulator with random host faults, checking the ledger
// after each (-fault-runs, default 200 in make test).
func TestHostFaultCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	runs := *faultRuns
	if runs == 0 {
		runs = 200
	}
	c := newCrashEnv(t)
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	hostsim.FaultDelay = 50 * time.Millisecond
	defer func() { hostsim.FaultDelay = 2 * time.Second }()
	c.sim.SetRandomFaults(0.3, []hostsim.Fault{"drop-before", "drop-after", "disconnect", "garbage", "bad-mac", "duplicate", "late", "signon-again", "decline:96", "decline:RT"}, seed)
	cfg := config.Default()
	cfg.Host.InProcess = false
	cfg.Host.Address = c.addr
	cfg.Host.TimeoutSeconds = 5
	desc, _ := board.Load("sim")
	st, err := openStack(cfg, desc, c.data, "", time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.close()
	ctx := context.Background()
	e := st.eng
	e.SetSleep(func(ctx context.Context, d time.Duration) error { return ctx.Err() })
	for e.SignOn(ctx) != nil {
	}
	rnd := rand.New(rand.NewSource(seed))
	for i := 0; i < runs; i++ {
		if !e.SignedOn() {
			e.SignOn(ctx)
			continue
		}
		txns, _, _ := e.Query(engine.Filter{Limit: 20})
		switch rnd.Intn(7) {
		case 4:
			code, w := crashWallet, engine.MethodAlipay
			if rnd.Intn(3) == 0 {
				code, w = crashWalletNever, engine.MethodWeChat
			}
			e.WalletPay(ctx, engine.WalletInput{AmountFen: int64(100 + rnd.Intn(10000)), Code: code, Wallet: w, Operator: "01"}, nil)
		case 5:
			e.MerchantQR(ctx, engine.WalletInput{AmountFen: int64(100 + rnd.Intn(10000)), Operator: "01"}, nil)
		case 6:
			if x, ok := lastWalletSale(childState{Txns: txns}); ok {
				e.WalletRefund(ctx, x.OrderNo, 400, "00")
			}
		case 0, 1:
			block, _ := st.client.PINBlock(crashPIN, crashCard)
			e.Sale(ctx, engine.SaleInput{AmountFen: int64(100 + rnd.Intn(10000)), Card: engine.Card{Method: engine.MethodSwipe, Track2: crashTrack, PINBlock: block}, Operator: "01"})
		case 2:
			if x, ok := lastApproved(childState{Txns: txns}, engine.KindSale); ok && !x.Voided && x.RefundedFen == 0 {
				e.Void(ctx, x.STAN, "00")
			}
		case 3:
			if x, ok := lastApproved(childState{Txns: txns}, engine.KindSale); ok && !x.Voided && x.RefundedFen < x.AmountFen {
				e.Refund(ctx, x.RRN, x.HostDate, 1+rnd.Int63n(x.AmountFen-x.RefundedFen), "00")
			}
		}
	}
	c.sim.ClearFaults()
	if _, err := e.Recover(ctx); err != nil {
		t.Fatal(err)
	}
	var s childState
	s.Txns, _, _ = e.Query(engine.Filter{})
	s.Owed, _ = e.OwedReversals()
	s.Open, _ = e.OpenWalletOrders()
	c.check(s, "after the campaign")
	t.Logf("%d transactions journaled", len(s.Txns))
}
