package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/shoukuan/pos/app/config"
	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/app/terminal"
	"github.com/shoukuan/pos/board"
	"github.com/shoukuan/pos/drivers/imagescan"
	"github.com/shoukuan/pos/hal"
)

// scenarioEpoch is where a scenario's clock starts: fixed, so lock-out
// times and receipt dates are the same on every run.
var scenarioEpoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.Local)

// stepClock moves only when told.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// rig is a headless terminal on a board's fake devices: the scenario
// runner's hands and eyes.
type rig struct {
	b       *board.Board
	t       *terminal.Terminal
	st      *stack
	logf    io.Closer
	clock   *stepClock
	sleeper *virtualSleep
	cancel  context.CancelFunc
	done    chan error

	cfg             config.Config
	desc            *board.Desc
	dataDir, assets string
}

// settleTimeout bounds how long one input may take to be handled.
const settleTimeout = 20 * time.Second

func startRig(cfg config.Config, desc *board.Desc, dataDir, assets string) (*rig, error) {
	return startRigAt(cfg, desc, dataDir, assets, &stepClock{now: scenarioEpoch})
}

func startRigAt(cfg config.Config, desc *board.Desc, dataDir, assets string, clock *stepClock) (*rig, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	// The log stays beside the journal: the first place to look when a
	// scenario fails.
	log, logf, err := openLog(dataDir)
	if err != nil {
		return nil, err
	}
	st, err := openStack(cfg, desc, dataDir, assets, clock.Now, log)
	if err != nil {
		logf.Close()
		return nil, err
	}
	// Wallet polling waits on the scenario's clock: it sleeps until the
	// script says `wait`, so a scenario can act while the customer is
	// "paying" and 30 s cost no real time.
	vs := newVirtualSleep()
	st.eng.SetSleep(vs.sleep)
	b, err := board.Open(desc, board.Env{DataDir: dataDir, Assets: assets, Headless: true})
	if err != nil {
		st.close()
		logf.Close()
		return nil, err
	}
	t, err := terminal.New(terminal.Options{Config: cfg, Devices: b.Devices, Journal: st.db, Clock: clock, Build: buildInfo(), Log: log, Engine: st.eng, PINPad: st.client})
	if err != nil {
		b.Close()
		st.close()
		logf.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{b: b, t: t, st: st, logf: logf, clock: clock, sleeper: vs, cancel: cancel, done: make(chan error, 1),
		cfg: cfg, desc: desc, dataDir: dataDir, assets: assets}
	go func() { r.done <- t.Run(ctx) }()
	return r, nil
}

func (r *rig) close() error {
	r.sleeper.stop()
	r.cancel()
	err := <-r.done
	r.b.Close()
	r.st.close()
	r.logf.Close()
	return err
}

func (r *rig) Press(k hal.Key) error {
	r.b.Fakes.Keypad.Press(k)
	return nil
}

func (r *rig) Scan(image string) error {
	if r.b.Fakes.Scanner == nil {
		return errors.New("this board has no fake scanner")
	}
	_, err := r.b.Fakes.Scanner.Present(image)
	return err
}

func (r *rig) Card(name string, mode hal.CardMode) error {
	if r.b.Fakes.Cards == nil {
		return errors.New("this board has no fake card reader")
	}
	return r.b.Fakes.Cards.Present(name, mode)
}

func (r *rig) RemoveCard() error {
	if r.b.Fakes.Cards == nil {
		return errors.New("this board has no fake card reader")
	}
	r.b.Fakes.Cards.Remove()
	return nil
}

func (r *rig) PaperOut(out bool) error {
	if r.b.Fakes.Printer == nil {
		return errors.New("this board has no fake printer")
	}
	r.b.Fakes.Printer.SetPaperOut(out)
	return nil
}

func (r *rig) Advance(d time.Duration) error {
	r.clock.advance(d)
	r.sleeper.add(d)
	return nil
}

// virtualSleep is the engine's wallet wait in scenarios: sleepers take
// time from a budget that only the script's `wait` fills.
type virtualSleep struct {
	mu      sync.Mutex
	cond    *sync.Cond
	waiting int
	budget  time.Duration
	stopped bool
}

func newVirtualSleep() *virtualSleep {
	v := &virtualSleep{}
	v.cond = sync.NewCond(&v.mu)
	return v
}

func (v *virtualSleep) sleep(ctx context.Context, d time.Duration) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.waiting++
	v.cond.Broadcast()
	for v.budget < d && !v.stopped {
		v.cond.Wait()
	}
	v.waiting--
	if v.stopped {
		return errors.New("terminal switched off")
	}
	v.budget -= d
	return ctx.Err()
}

// add gives sleepers d more; with nobody asleep the time is simply gone.
func (v *virtualSleep) add(d time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.waiting > 0 {
		v.budget += d
		v.cond.Broadcast()
	}
}

// blocked is how many sleepers wait for the script.
func (v *virtualSleep) blocked() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.budget >= time.Second {
		return 0 // still has time to use up
	}
	return v.waiting
}

func (v *virtualSleep) stop() {
	v.mu.Lock()
	v.stopped = true
	v.cond.Broadcast()
	v.mu.Unlock()
}

// Settle waits until every fake input has been taken in and the terminal
// is idle. The fakes are checked first: an input counts as consumed only
// after the terminal has queued it, so the order makes the check exact.
func (r *rig) Settle() error {
	deadline := time.Now().Add(settleTimeout)
	f := r.b.Fakes
	for {
		select {
		case err := <-r.done:
			r.done <- err
			return fmt.Errorf("terminal stopped: %v", err)
		default:
		}
		quiet := f.Keypad.Pending() == 0 &&
			(f.Scanner == nil || f.Scanner.Pending() == 0) &&
			(f.Cards == nil || f.Cards.Pending() == 0)
		// A wallet job asleep until the script's next `wait` counts as idle.
		if quiet && (r.t.Idle() || r.t.Pending() == int64(r.sleeper.blocked())) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("terminal still busy after %v", settleTimeout)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

func (r *rig) Screen() string { return r.b.Fakes.Display.Text() }

func (r *rig) Paper() string {
	if r.b.Fakes.Printer == nil {
		return ""
	}
	return strings.Join(r.b.Fakes.Printer.Roll(), "\n")
}

func (r *rig) HostFault(fault, kind string) error {
	if r.st.sim == nil {
		return errors.New("no in-process host simulator (host.in_process is off)")
	}
	r.st.sim.Inject(hostsim.FaultMatch{Kind: kind}, hostsim.Fault(fault))
	return nil
}

func (r *rig) ForgetHostRecord(stan string) error {
	if r.st.sim == nil {
		return errors.New("no in-process host simulator (host.in_process is off)")
	}
	batch, err := r.st.eng.CurrentBatch()
	if err != nil {
		return err
	}
	return r.st.sim.ForgetRecord(r.cfg.Terminal.TerminalID, batch, stan)
}

func (r *rig) Charged(card string) (int64, error) {
	if r.st.sim == nil {
		return 0, errors.New("no in-process host simulator (host.in_process is off)")
	}
	if r.b.Fakes.Cards == nil {
		return 0, errors.New("this board has no fake card reader")
	}
	if strings.HasSuffix(card, ".png") {
		code, err := r.codeOf(card)
		if err != nil {
			return 0, err
		}
		_, net, err := r.st.sim.Charges(code)
		return net, err
	}
	p, err := r.b.Fakes.Cards.Card(card)
	if err != nil {
		return 0, err
	}
	_, net, err := r.st.sim.Charges(p.PAN)
	return net, err
}

// codeOf is the payment code in one of the fake scanner's images.
func (r *rig) codeOf(image string) (string, error) {
	if r.b.Fakes.Scanner == nil {
		return "", errors.New("this board has no fake scanner")
	}
	c, err := imagescan.NewDecoder().DecodeFile(filepath.Join(r.b.Fakes.Scanner.Dir(), image))
	if err != nil {
		return "", err
	}
	return c.Text, nil
}

func (r *rig) CustomerPays(image string) error {
	if r.st.sim == nil {
		return errors.New("no in-process host simulator (host.in_process is off)")
	}
	code, err := r.codeOf(image)
	if err != nil {
		return err
	}
	return payShownQR(r.st.sim, r.b.Fakes.Display.Picture(), code)
}

// Restart stops the terminal cleanly and starts it again on the same data
// directory and clock, as after switching the terminal off and on.
func (r *rig) Restart() error {
	if err := r.close(); err != nil {
		return err
	}
	n, err := startRigAt(r.cfg, r.desc, r.dataDir, r.assets, r.clock)
	if err != nil {
		return err
	}
	*r = *n
	return nil
}

// rssKB reads the resident set size from /proc (Linux and Android).
func rssKB() (int, error) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int
			_, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			return kb, err
		}
	}
	return 0, errors.New("no VmRSS in /proc/self/status")
}
