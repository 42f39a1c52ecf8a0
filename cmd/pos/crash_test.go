package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/config"
	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/app/scenario"
	"github.com/shoukuan/pos/app/seckey"
	"github.com/shoukuan/pos/board"
	"github.com/shoukuan/pos/hal"
)

// The crash tests run the whole terminal — screens, fake devices, engine,
// journal, host client — in a child process (this test binary,
// re-executed) that is driven by key presses like a cashier and dies on
// the spot at a named durable step. The parent keeps the host simulator
// and its ledger, restarts the child and judges: the child died where it
// was meant to; the journal and the host agree on every transaction;
// every outcome the host holds was printed and shown to the cashier.

var (
	crashRuns = flag.Int("crash-runs", 0, "randomized crash runs (make reliability sets 1000)")
	faultRuns = flag.Int("fault-runs", 0, "randomized host-fault runs (make reliability sets 10000)")
	seedFlag  = flag.Int64("seed", 0, "seed of a campaign (0: from the clock); printed on failure so a run can be replayed")
)

// campaignSeed is -seed or the clock; logged and named on failure.
func campaignSeed(t *testing.T) int64 {
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (replay with -seed %d)", seed, seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("FAILED with seed %d: replay with go test ./cmd/pos -run '%s' -seed %d", seed, t.Name(), seed)
		}
	})
	return seed
}

const (
	crashCard     = "6222021234567890128" // testdata/cards/unionpay-debit
	crashCardName = "unionpay-debit"
	crashTrack    = "6222021234567890128=30122200000000000"
	crashPIN      = "123456"
	// The wallet customers: one confirms on the phone at the second
	// query, one never does (the order is cancelled), one scans the
	// merchant's QR and pays it.
	crashWallet      = "281000000000000001"
	crashWalletNever = "101000000000000001"
	crashPayer       = "251000000000000009"
	cashierPW        = "2580"
	supervisorPW     = "147258"
	// childLockedExit: the child could not start (the data directory is
	// another process's).
	childLockedExit = 3
)

func TestMain(m *testing.M) {
	if os.Getenv("POS_CRASH_CHILD") != "" {
		os.Exit(crashChild())
	}
	// The sim board keeps the device secret in the user's configuration
	// directory: the tests keep theirs in a directory of their own.
	cfgHome, err := os.MkdirTemp("", "pos-test-config-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Setenv("XDG_CONFIG_HOME", cfgHome)
	code := m.Run()
	os.RemoveAll(cfgHome)
	removePosBuilds()
	os.Exit(code)
}

// childState is what the child reports after it ran.
type childState struct {
	Txns     []engine.Txn `json:"txns"`
	Owed     int          `json:"owed"`
	Open     int          `json:"open"` // wallet orders unresolved
	SlipOwed bool         `json:"slip_owed"`
	Batch    string       `json:"batch"`
	// Unannounced is what the journal held unannounced when the child
	// started: what this start had to show the cashier.
	Unannounced []engine.Txn `json:"unannounced"`
	Screens     []string     `json:"screens"`
	// Synchronous is the journal's PRAGMA synchronous (2: FULL).
	Synchronous int    `json:"synchronous"`
	Err         string `json:"err"`
}

func (s childState) shown(stan string) bool {
	for _, sc := range s.Screens {
		if strings.Contains(sc, stan) {
			return true
		}
	}
	return false
}

// crashChild is a terminal on the sim board's fake devices, talking to the
// host at POS_HOST, with its data in POS_DATA. POS_OP says what the
// cashier does: setup (first sign-ins and password changes), recover
// (sign in, read what the terminal shows), or op (sign in, run the key
// script POS_SCRIPT, go back to the menu). POS_CRASH_AT, read by the
// engine, may kill it on the way.
func crashChild() int {
	cfg := config.Default()
	cfg.Host.InProcess = false
	cfg.Host.Address = os.Getenv("POS_HOST")
	cfg.Host.TimeoutSeconds = 5
	cfg.Host.KeyMode = "double+tdk"
	cfg.Demo = true
	desc, err := board.Load("sim")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	at := place{data: os.Getenv("POS_DATA"), secrets: os.Getenv("POS_SECRETS"), assets: os.Getenv("POS_ASSETS")}
	r, err := startRig(rigOptions{cfg: cfg, desc: desc, at: at, instantWaits: true})
	if err != nil {
		fmt.Fprintln(os.Stderr, "pos:", err)
		if strings.Contains(err.Error(), "in use by") {
			return childLockedExit
		}
		return 2
	}
	var s childState
	s.Unannounced, _ = r.st.eng.Unannounced()
	var runErr error
	switch op := os.Getenv("POS_OP"); op {
	case "setup":
		runErr = childSetup(r)
	case "recover":
		runErr = childSignIn(r, "01", cashierPW)
	case "op":
		if runErr = childSignIn(r, "01", cashierPW); runErr == nil {
			var script *scenario.Script
			if script, runErr = scenario.Parse("op", os.Getenv("POS_SCRIPT")); runErr == nil {
				if runErr = script.Run(r); runErr == nil {
					runErr = childBackToMenu(r)
				}
			}
		}
	default:
		runErr = fmt.Errorf("unknown op %q", op)
	}
	e := r.st.eng
	s.Txns, _, _ = e.Query(engine.Filter{})
	s.Owed, _ = e.OwedReversals()
	s.Open, _ = e.OpenWalletOrders()
	_, s.SlipOwed, _ = e.OwedSlip()
	s.Batch, _ = e.CurrentBatch()
	s.Synchronous, _ = r.st.db.Synchronous()
	s.Screens = r.screens
	if runErr != nil {
		s.Err = runErr.Error()
	}
	if err := r.close(); err != nil && s.Err == "" {
		s.Err = err.Error()
	}
	json.NewEncoder(os.Stdout).Encode(s)
	return 0
}

func childPress(r *rig, keys ...hal.Key) error {
	for _, k := range keys {
		if err := r.Press(k); err != nil {
			return err
		}
		if err := r.Settle(); err != nil {
			return err
		}
	}
	return nil
}

func childType(r *rig, digits string) error {
	for _, c := range digits {
		if err := childPress(r, hal.Key0+hal.Key(c-'0')); err != nil {
			return err
		}
	}
	return nil
}

func atMainMenu(r *rig) bool { return strings.Contains(r.Screen(), "主菜单") }

// childSignIn signs in and reads through whatever the terminal shows on
// the way to the main menu (results of the last run, receipts printing).
func childSignIn(r *rig, no, pw string) error {
	if err := r.Settle(); err != nil {
		return err
	}
	if err := childType(r, no); err != nil {
		return err
	}
	if err := childPress(r, hal.KeyEnter); err != nil {
		return err
	}
	if err := childType(r, pw); err != nil {
		return err
	}
	if err := childPress(r, hal.KeyEnter); err != nil {
		return err
	}
	for i := 0; i < 12 && !atMainMenu(r); i++ {
		if err := childPress(r, hal.KeyEnter); err != nil {
			return err
		}
	}
	if !atMainMenu(r) {
		return fmt.Errorf("sign-in did not reach the main menu:\n%s", r.Screen())
	}
	return nil
}

// childBackToMenu leaves a flow's result screens for the main menu.
func childBackToMenu(r *rig) error {
	for i := 0; i < 12 && !atMainMenu(r); i++ {
		before := r.Screen()
		if err := childPress(r, hal.KeyCancel); err != nil {
			return err
		}
		if r.Screen() == before {
			if err := childPress(r, hal.KeyEnter); err != nil {
				return err
			}
		}
	}
	if !atMainMenu(r) {
		return fmt.Errorf("did not get back to the main menu:\n%s", r.Screen())
	}
	return nil
}

// childSetup is a new terminal's first sign-ins: the supervisor and the
// cashier both replace their default passwords.
func childSetup(r *rig) error {
	steps := []func() error{
		func() error { return r.Settle() },
		func() error { return childType(r, "00") }, func() error { return childPress(r, hal.KeyEnter) },
		func() error { return childType(r, "123456") }, func() error { return childPress(r, hal.KeyEnter) },
		func() error { return childType(r, supervisorPW) }, func() error { return childPress(r, hal.KeyEnter) },
		func() error { return childType(r, supervisorPW) }, func() error { return childPress(r, hal.KeyEnter) },
		func() error { return childPress(r, hal.KeyEnter) }, // password changed
		func() error { return childPress(r, hal.Key5) },     // sign off
		func() error { return childType(r, "01") }, func() error { return childPress(r, hal.KeyEnter) },
		func() error { return childType(r, "0000") }, func() error { return childPress(r, hal.KeyEnter) },
		func() error { return childType(r, cashierPW) }, func() error { return childPress(r, hal.KeyEnter) },
		func() error { return childType(r, cashierPW) }, func() error { return childPress(r, hal.KeyEnter) },
		func() error { return childPress(r, hal.KeyEnter) },
	}
	for _, st := range steps {
		if err := st(); err != nil {
			return err
		}
	}
	for i := 0; i < 6 && !atMainMenu(r); i++ {
		childPress(r, hal.KeyEnter)
	}
	if !atMainMenu(r) {
		return fmt.Errorf("setup did not reach the main menu:\n%s", r.Screen())
	}
	return nil
}

// Key scripts of the cashier's flows, from the main menu.
// The card is inserted (the chip completes with the host's ARPC) or, on
// even amounts, tapped; the online PIN is asked for an insert and for a
// tap over the CVM limit (¥1000).
func scriptSale(fen int64) string {
	present, pin := "insert", true
	if fen%2 == 0 {
		present, pin = "tap", fen > 100000
	}
	s := fmt.Sprintf("press 1 1\ntype %d\npress enter\npress enter\n%s %s\n", fen, present, crashCardName)
	if pin {
		s += fmt.Sprintf("type %s\npress enter\n", crashPIN)
	}
	return s
}

func scriptVoid(stan string) string {
	return fmt.Sprintf("press 1 2\ntype %s\npress enter\ntype %s\npress enter\npress enter\n", supervisorPW, stan)
}

func scriptRefund(rrn, date string, fen int64) string {
	return fmt.Sprintf("press 1 3\ntype %s\npress enter\ntype %s\npress enter\ntype %s\npress enter\ntype %d\npress enter\npress enter\n",
		supervisorPW, rrn, date, fen)
}

func scriptSettle() string { return "press 1 5\npress enter\n" }

func scriptWallet(fen int64, code string) string {
	return fmt.Sprintf("press 1 6\ntype %d\npress enter\ntype %s\npress enter\npress enter\n", fen, code)
}

func scriptMerchantQR(fen int64) string { return fmt.Sprintf("press 1 7\ntype %d\npress enter\n", fen) }

func scriptWalletRefund(order string, fen int64) string {
	return fmt.Sprintf("press 1 9\ntype %s\npress enter\ntype %s\npress enter\ntype %d\npress enter\npress enter\n", supervisorPW, order, fen)
}

type crashEnv struct {
	t       *testing.T
	sim     *hostsim.Server
	addr    string
	data    string
	secrets string
	assets  string
	paper   *paperJudge
	deaths  int // children that died at their crash point
}

func newCrashEnv(t *testing.T) *crashEnv {
	t.Helper()
	dir := t.TempDir()
	sim, err := hostsim.New(hostsim.Options{
		DBPath: filepath.Join(dir, "hostsim.db"),
		Accounts: []hostsim.Account{{PAN: crashCard, Expiry: "3012", PIN: crashPIN, BalanceFen: 1 << 40, Status: "active"},
			// testdata/cards/aac-card: its chip refuses every approval.
			{PAN: "6217000077778880", Expiry: "3005", PIN: "135246", BalanceFen: 1 << 40, Status: "active"}},
		Wallets: []hostsim.WalletAccount{
			{Code: crashWallet, Wallet: "alipay", Buyer: "138****0001", BalanceFen: 1 << 40, Confirm: "after:2"},
			{Code: crashWalletNever, Wallet: "wechat", Buyer: "o6_***0001", BalanceFen: 1 << 40, Confirm: "never"},
			{Code: crashPayer, Wallet: "alipay", Buyer: "139****0009", BalanceFen: 1 << 40},
		},
		TMK: seckey.SimulatorTMK(), KeyMode: seckey.DoubleWithTDK, MAC: seckey.MACCUPECB, Now: time.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	a, err := sim.ListenAndServe("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The customer at the counter pays a shown QR at the second query.
	sim.SetMerchantPayer(crashPayer, 2, false)
	assets, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	c := &crashEnv{t: t, sim: sim, addr: a.String(), data: filepath.Join(dir, "pos"), secrets: filepath.Join(dir, "secrets"), assets: assets}
	c.paper = newPaperJudge(c.data)
	return c
}

// child makes a child process for op (and its script), armed to crash at
// crashAt.
func (c *crashEnv) child(op, script, crashAt string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "POS_CRASH_CHILD=1", "POS_HOST="+c.addr, "POS_DATA="+c.data, "POS_SECRETS="+c.secrets,
		"POS_ASSETS="+c.assets, "POS_OP="+op, "POS_SCRIPT="+script, "POS_CRASH_AT="+crashAt)
	return cmd
}

// run runs a child to its end. With crashAt set the child must die there:
// a child that did not is a failed run (the campaign must reach every
// point it aims at).
func (c *crashEnv) run(op, script, crashAt string) childState {
	c.t.Helper()
	cmd := c.child(op, script, crashAt)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if crashAt != "" {
		if errors.As(err, &ee) && ee.ExitCode() == engine.CrashExit && strings.Contains(stderr.String(), "crash point "+crashAt+" reached") {
			c.deaths++
			return childState{}
		}
		c.t.Fatalf("%s: the child was to die at %s and did not (%v)\nstderr: %s\nstdout: %s", op, crashAt, err, stderr.String(), out)
	}
	if err != nil {
		c.t.Fatalf("child %s: %v\nstderr: %s\n%s", op, err, stderr.String(), out)
	}
	var s childState
	if err := json.Unmarshal(out, &s); err != nil {
		c.t.Fatalf("child %s output: %v\n%s", op, err, out)
	}
	if s.Err != "" {
		c.t.Fatalf("child %s: %s", op, s.Err)
	}
	return s
}

// check is the judge after a recovery: nothing left pending, owed or
// unseen; the host and the journal agree on every trace; every outcome the
// cashier had not seen was on the screen; every record the host holds was
// printed.
func (c *crashEnv) check(s childState, label string) {
	c.t.Helper()
	for _, x := range s.Txns {
		switch {
		case x.Status == engine.StatusPending:
			c.t.Fatalf("%s: %s %s still pending after recovery", label, x.Kind, x.STAN)
		case !x.Announced:
			c.t.Fatalf("%s: the cashier was never told how %s %s ended (%s)", label, x.Kind, x.STAN, x.Status)
		case x.ReceiptsOwed > 0:
			c.t.Fatalf("%s: %s %s still owes %d receipts", label, x.Kind, x.STAN, x.ReceiptsOwed)
		}
	}
	if s.Owed != 0 || s.Open != 0 || s.SlipOwed {
		c.t.Fatalf("%s: %d reversals owed, %d wallet orders open, slip owed %v", label, s.Owed, s.Open, s.SlipOwed)
	}
	if s.Synchronous != 2 {
		c.t.Fatalf("%s: the journal commits with synchronous = %d, not FULL: a power cut would lose payments", label, s.Synchronous)
	}
	if err := privateTree(c.data); err != nil {
		c.t.Fatalf("%s: %v", label, err)
	}
	for _, x := range s.Unannounced {
		if !s.shown(x.STAN) {
			c.t.Fatalf("%s: %s %s (%s) was waiting to be shown and never appeared on the screen; screens:\n%s",
				label, x.Kind, x.STAN, x.Status, strings.Join(s.Screens, "\n-----\n"))
		}
	}
	recs, err := c.sim.Records("10000001")
	if err != nil {
		c.t.Fatal(err)
	}
	if err := judgeLedger(s.Txns, recs); err != nil {
		c.t.Fatalf("%s: %v", label, err)
	}
	missing, err := c.paper.unprinted(recs)
	if err != nil {
		c.t.Fatal(err)
	}
	if len(missing) > 0 {
		c.t.Fatalf("%s: the host holds these and no receipt came out: %s", label, strings.Join(missing, "; "))
	}
}

func lastApproved(s childState, kind engine.Kind, wallet bool) (engine.Txn, bool) {
	for _, x := range s.Txns { // newest first
		if x.Kind == kind && x.Status == engine.StatusApproved && x.Method.IsWallet() == wallet && !x.Voided && x.RefundedFen == 0 {
			return x, true
		}
	}
	return engine.Txn{}, false
}

// crashRun is one run aimed at a crash point: what must be in place, the
// cashier's flow that passes the point, then the crash and the recovery.
type crashRun struct {
	c     *crashEnv
	rnd   *rand.Rand
	state childState // the journal as the last child left it
}

func (r *crashRun) amount() int64 { return int64(100 + r.rnd.Intn(20000)) }

// prepare leaves the terminal where the flow through point can start and
// returns which child op and script reach it.
func (r *crashRun) prepare(point string) (op, script string) {
	c := r.c
	flow := strings.Split(point, ".")[0]
	// need finds an approved sale to void or refund, or makes one. A
	// void takes only a sale of the open batch.
	need := func(kind engine.Kind, wallet bool) engine.Txn {
		sameBatch := flow == "void" || point == "settle.upload"
		if x, ok := lastApproved(r.state, kind, wallet); ok && (!sameBatch || x.Batch == r.state.Batch) {
			return x
		}
		s := scriptSale(r.amount())
		if wallet {
			s = scriptWallet(r.amount(), crashWallet)
		}
		r.state = c.run("op", s, "")
		x, ok := lastApproved(r.state, kind, wallet)
		if !ok {
			c.t.Fatalf("setup for %s: no approved %s", point, kind)
		}
		return x
	}
	switch flow {
	case "sale", "receipt":
		fen := r.amount()
		if point == "sale.card" {
			fen |= 1 // only an inserted chip completes with the card
		}
		return "op", scriptSale(fen)
	case "void":
		return "op", scriptVoid(need(engine.KindSale, false).STAN)
	case "refund":
		x := need(engine.KindSale, false)
		return "op", scriptRefund(x.RRN, x.HostDate, 1+r.rnd.Int63n(x.AmountFen))
	case "reversal":
		// A sale whose reply is lost and whose reversal cannot go out
		// leaves the reversal owed; the next start sends it.
		c.sim.Inject(hostsim.FaultMatch{Kind: "sale"}, hostsim.DropAfter)
		c.sim.Inject(hostsim.FaultMatch{Kind: "reversal", Count: 3}, hostsim.DropBefore)
		r.state = c.run("op", scriptSale(r.amount()), "")
		if r.state.Owed != 1 {
			c.t.Fatalf("setup for %s: %d reversals owed", point, r.state.Owed)
		}
		return "recover", ""
	case "settle":
		x := need(engine.KindSale, false)
		if point == "settle.upload" {
			if err := c.sim.ForgetRecord("10000001", x.Batch, x.STAN); err != nil {
				c.t.Fatal(err)
			}
		}
		return "op", scriptSettle()
	case "wallet":
		code := crashWallet
		if point == "wallet.cancel" || r.rnd.Intn(3) == 0 && point != "wallet.query" {
			code = crashWalletNever
		}
		return "op", scriptWallet(r.amount(), code)
	case "precreate":
		return "op", scriptMerchantQR(r.amount())
	case "walletrefund":
		x := need(engine.KindSale, true)
		return "op", scriptWalletRefund(x.OrderNo, 1+r.rnd.Int63n(x.AmountFen))
	case "announce":
		// Something to announce: a sale that died right after approval.
		r.c.run("op", scriptSale(r.amount()), "sale.outcome")
		return "recover", ""
	}
	c.t.Fatalf("no flow reaches %s", point)
	return "", ""
}

// crashAt runs the flow to point, lets it die there, restarts the
// terminal and judges.
func (r *crashRun) crashAt(point string) {
	op, script := r.prepare(point)
	r.c.run(op, script, point)
	r.state = r.c.run("recover", "", "")
	r.c.check(r.state, point)
	if strings.HasPrefix(point, "settle.") {
		// The batch settles again after the crash, balanced.
		r.state = r.c.run("op", scriptSettle(), "")
		r.c.check(r.state, point+" settled again")
	}
}

// TestCrashAtEveryStep kills the terminal at every durable step of every
// flow, restarts it and judges; then the terminal still takes a sale.
func TestCrashAtEveryStep(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, point := range engine.CrashPoints {
		t.Run(point, func(t *testing.T) {
			c := newCrashEnv(t)
			r := &crashRun{c: c, rnd: rand.New(rand.NewSource(int64(len(point))))}
			r.state = c.run("setup", "", "")
			r.crashAt(point)
			r.state = c.run("op", scriptSale(777), "")
			if _, ok := lastApproved(r.state, engine.KindSale, false); !ok {
				t.Fatal("no sale after recovery")
			}
			c.check(r.state, point+" then sale")
			if c.deaths != 1+boolInt(point == "announce.shown") {
				t.Fatalf("%d children died at their point", c.deaths)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestCrashCampaign crashes random flows at random steps many times in a
// row on one terminal and one ledger (-crash-runs, 25 in make test), with
// random amounts, and now and then a second terminal process trying the
// same data directory in the middle of a payment.
func TestCrashCampaign(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	runs := *crashRuns
	if runs == 0 {
		runs = 25
	}
	rnd := rand.New(rand.NewSource(campaignSeed(t)))
	c := newCrashEnv(t)
	r := &crashRun{c: c, rnd: rnd}
	r.state = c.run("setup", "", "")
	aimed, second := 0, 0
	start := time.Now()
	for i := 0; i < runs; i++ {
		if i%10 == 9 {
			c.secondProcess(rnd)
			second++
			continue
		}
		point := engine.CrashPoints[rnd.Intn(len(engine.CrashPoints))]
		aimed += 1 + boolInt(point == "announce.shown")
		r.crashAt(point)
	}
	if c.deaths != aimed {
		t.Fatalf("%d runs aimed at a crash point, %d children died there", aimed, c.deaths)
	}
	recs, _ := c.sim.Records("10000001")
	t.Logf("%d runs in %v: %d crashes at their point, %d second-process attempts refused, %d host records, %d journal rows",
		runs, time.Since(start).Round(time.Millisecond), c.deaths, second, len(recs), len(r.state.Txns))
}

// secondProcess starts a second terminal on the data directory while the
// first is in the middle of a sale: it must refuse at once, naming the
// first, and change nothing; the first finishes its sale.
func (c *crashEnv) secondProcess(rnd *rand.Rand) {
	t := c.t
	hostsim.FaultDelay = 1500 * time.Millisecond
	c.sim.Inject(hostsim.FaultMatch{Kind: "sale"}, hostsim.Delay)
	hostsim.FaultDelay = 2 * time.Second
	before := c.sim.Requests("sale")
	first := c.child("op", scriptSale(int64(100+rnd.Intn(20000))), "")
	var out1, err1 bytes.Buffer
	first.Stdout, first.Stderr = &out1, &err1
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); c.sim.Requests("sale") == before; {
		if time.Now().After(deadline) {
			first.Process.Kill()
			t.Fatalf("the first terminal never sent its sale\n%s", err1.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	files := snapshot(t, c.data)
	second := c.child("recover", "", "")
	msg, err := second.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != childLockedExit || !strings.Contains(string(msg), "in use by pos process "+strconv.Itoa(first.Process.Pid)) {
		first.Process.Kill()
		t.Fatalf("a second terminal on the same data: %v\n%s", err, msg)
	}
	if after := snapshot(t, c.data); after != files {
		t.Fatalf("the refused terminal changed the data directory:\nbefore %s\nafter  %s", files, after)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("the first terminal: %v\n%s", err, err1.String())
	}
	var s childState
	if err := json.Unmarshal(out1.Bytes(), &s); err != nil || s.Err != "" {
		t.Fatalf("the first terminal: %v %s", err, s.Err)
	}
	if _, ok := lastApproved(s, engine.KindSale, false); !ok {
		t.Fatal("the first terminal's sale did not go through")
	}
	c.check(s, "second process")
}

// privateTree checks that everything in the data directory is its
// user's alone: directories 0700, files 0600.
func privateTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		want := os.FileMode(0o600)
		if e.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			return fmt.Errorf("%s is mode %v, want %v: payment data is its user's alone", p, info.Mode().Perm(), want)
		}
		return nil
	})
}

// snapshot describes the journal files: size and modification time.
func snapshot(t *testing.T, dir string) string {
	var b strings.Builder
	for _, name := range []string{"journal.db", "journal.db-wal", "journal.marker", "hostsim.db"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			fmt.Fprintf(&b, "%s:none ", name)
			continue
		}
		fmt.Fprintf(&b, "%s:%d@%d ", name, st.Size(), st.ModTime().UnixNano())
	}
	return b.String()
}
