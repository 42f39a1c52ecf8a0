package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shoukuan/pos/app/config"
	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/app/journal"
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
	sleeper *virtualSleep
	cancel  context.CancelFunc
	done    chan error
	o       rigOptions

	// A power cut armed by CrashAt: cut closes when the terminal reaches
	// the point; the terminal is then dead until Restart.
	cutOnce *sync.Once
	cut     chan struct{}

	screens []string // every screen seen at a settle point, in order
}

// rigOptions is what a rig is made of; Restart makes the same again.
type rigOptions struct {
	cfg   config.Config
	desc  *board.Desc
	at    place
	clock *stepClock
	// instantWaits lets wallet waits pass at once instead of on the
	// script's clock (the crash campaign: the host decides by queries).
	instantWaits bool
}

// settleTimeout bounds how long one input may take to be handled.
const settleTimeout = 20 * time.Second

func startRig(o rigOptions) (*rig, error) {
	if o.clock == nil {
		o.clock = &stepClock{now: scenarioEpoch}
	}
	if err := journal.SecureDir(o.at.data); err != nil {
		return nil, err
	}
	// The log stays beside the journal: the first place to look when a
	// scenario fails.
	log, logf, err := openLog(o.at.data)
	if err != nil {
		return nil, err
	}
	st, err := openStack(o.cfg, o.desc, o.at, o.clock.Now, log)
	if err != nil {
		logf.Close()
		return nil, err
	}
	// Wallet polling waits on the scenario's clock: it sleeps until the
	// script says `wait`, so a scenario can act while the customer is
	// "paying" and 30 s cost no real time.
	vs := newVirtualSleep()
	if o.instantWaits {
		st.eng.SetSleep(func(ctx context.Context, d time.Duration) error { return ctx.Err() })
	} else {
		st.eng.SetSleep(vs.sleep)
	}
	b, err := board.Open(o.desc, board.Env{DataDir: o.at.data, Assets: o.at.assets, Headless: true})
	if err != nil {
		st.close()
		logf.Close()
		return nil, err
	}
	t, err := terminal.New(terminal.Options{Config: o.cfg, Devices: b.Devices, Journal: st.db, Clock: o.clock, Build: buildInfo(), Log: log,
		Engine: st.eng, PINPad: st.client, Demo: st.demo, USBDir: o.usbDir(), Updater: newUpdater(o.cfg, o.desc, o.at.data, st, log)})
	if err != nil {
		b.Close()
		st.close()
		logf.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{b: b, t: t, st: st, logf: logf, sleeper: vs, cancel: cancel, done: make(chan error, 1), o: o, cut: make(chan struct{}), cutOnce: new(sync.Once)}
	go func() { r.done <- t.Run(ctx) }()
	return r, nil
}

func (r *rig) close() error {
	r.sleeper.stop()
	if r.isCut() {
		r.t.SetShutdownWait(0) // the power is off: nothing finishes
	}
	r.cancel()
	err := <-r.done
	r.b.Close()
	if r.isCut() {
		// As after a power cut: nothing closed cleanly, the journal's
		// write-ahead log and its dirty marker stay for the next start.
		r.st.db.Abandon()
		r.st.db = nil
	}
	r.st.close()
	r.logf.Close()
	return err
}

func (r *rig) isCut() bool {
	select {
	case <-r.cut:
		return true
	default:
		return false
	}
}

var errPoweredOff = errors.New("the terminal is off (its power was cut); restart it")

// CrashAt cuts the power when the terminal reaches point: the goroutine
// that got there stops for good, and nothing after it is written.
func (r *rig) CrashAt(point string) error {
	if !slices.Contains(engine.CrashPoints, point) {
		return fmt.Errorf("no crash point %q (one of %s)", point, strings.Join(engine.CrashPoints, ", "))
	}
	r.st.eng.SetCrash(point, func(string) {
		r.cutOnce.Do(func() { close(r.cut) })
		select {} // the power is off: this goroutine never runs again
	})
	return nil
}

func (r *rig) Press(k hal.Key) error {
	if r.isCut() {
		return errPoweredOff
	}
	r.b.Fakes.Keypad.Press(k)
	return nil
}

func (r *rig) Scan(image string) error {
	if r.isCut() {
		return errPoweredOff
	}
	if r.b.Fakes.Scanner == nil {
		return errors.New("this board has no fake scanner")
	}
	_, err := r.b.Fakes.Scanner.Present(image)
	return err
}

func (r *rig) Card(name string, mode hal.CardMode) error {
	if r.isCut() {
		return errPoweredOff
	}
	if r.b.Fakes.Cards == nil {
		return errors.New("this board has no fake card reader")
	}
	if f := r.b.Fakes; mode == hal.CardContactless && f.Field != nil {
		// Into the PN532 emulator's field: the real driver finds it on
		// its next poll, if the terminal has armed it.
		p, err := f.Cards.Card(name)
		if err != nil {
			return err
		}
		before := f.PN532.CardsDelivered()
		if err := f.Field.Place(p); err != nil {
			return err
		}
		deadline := time.Now().Add(3 * time.Second)
		for f.PN532.CardsDelivered() == before {
			if time.Now().After(deadline) {
				f.Field.Remove(name)
				return fmt.Errorf("card reader: %w: the PN532 did not find the card (is the reader armed?)", hal.ErrDisabled)
			}
			time.Sleep(2 * time.Millisecond)
		}
		return nil
	}
	return r.b.Fakes.Cards.Present(name, mode)
}

func (r *rig) RemoveCard() error {
	if r.isCut() {
		return errPoweredOff
	}
	if r.b.Fakes.Cards == nil {
		return errors.New("this board has no fake card reader")
	}
	r.b.Fakes.Cards.Remove()
	if r.b.Fakes.Field != nil {
		r.b.Fakes.Field.Remove("")
	}
	return nil
}

func (r *rig) PaperOut(out bool) error {
	if r.isCut() {
		return errPoweredOff
	}
	switch {
	case r.b.Fakes.Printer != nil:
		r.b.Fakes.Printer.SetPaperOut(out)
	case r.b.Fakes.Paper != nil:
		r.b.Fakes.Paper.SetPaperOut(out)
	default:
		return errors.New("this board has no fake or emulated printer")
	}
	return nil
}

// usbDir is where the rig's USB stick mounts: beside the data directory,
// present only while plugged in.
func (o rigOptions) usbDir() string { return filepath.Join(o.at.data, "usb-stick") }

func (r *rig) USB(in bool) error {
	if !in {
		return os.RemoveAll(r.o.usbDir())
	}
	return os.MkdirAll(r.o.usbDir(), 0o700)
}

// USBContents lists every file on the stick with its text, so a scenario
// can check a backup's name or an export's rows.
func (r *rig) USBContents() string {
	var b strings.Builder
	filepath.WalkDir(r.o.usbDir(), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b.WriteString(path + "\n")
		if strings.HasSuffix(path, ".csv") || strings.HasSuffix(path, ".json") || strings.HasSuffix(path, "SHA256SUMS") {
			if data, err := os.ReadFile(path); err == nil {
				b.Write(data)
			}
		}
		return nil
	})
	return b.String()
}

func (r *rig) Advance(d time.Duration) error {
	r.o.clock.advance(d)
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
	err := r.settle()
	if err == nil && !r.isCut() {
		if s := r.Screen(); len(r.screens) == 0 || r.screens[len(r.screens)-1] != s {
			r.screens = append(r.screens, s)
		}
	}
	return err
}

func (r *rig) settle() error {
	deadline := time.Now().Add(settleTimeout)
	f := r.b.Fakes
	for {
		if r.isCut() {
			return nil // a dead terminal is as settled as it gets
		}
		select {
		case err := <-r.done:
			r.done <- err
			return fmt.Errorf("terminal stopped: %v", err)
		default:
		}
		quiet := f.Keypad.Pending() == 0 &&
			(f.Scanner == nil || f.Scanner.Pending() == 0) &&
			(f.Cards == nil || f.Cards.Pending() == 0) &&
			(f.PN532 == nil || f.PN532.Pending() == 0)
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

func (r *rig) LastPrint() string {
	if r.b.Fakes.Paper != nil {
		return strings.Join(r.b.Fakes.Paper.LastJob(), "\n")
	}
	if r.b.Fakes.Printer == nil {
		return ""
	}
	jobs := r.b.Fakes.Printer.Jobs()
	if len(jobs) == 0 {
		return ""
	}
	return strings.Join(jobs[len(jobs)-1].Lines, "\n")
}

func (r *rig) Paper() string {
	if r.b.Fakes.Paper != nil {
		return strings.Join(r.b.Fakes.Paper.Roll(), "\n")
	}
	if r.b.Fakes.Printer == nil {
		return ""
	}
	return strings.Join(r.b.Fakes.Printer.Roll(), "\n")
}

func (r *rig) HostFault(fault, kind string) error {
	if r.st.sim == nil {
		return errors.New("no in-process host simulator (host.in_process is off)")
	}
	return r.st.sim.Inject(hostsim.FaultMatch{Kind: kind}, hostsim.Fault(fault))
}

func (r *rig) ForgetHostRecord(stan string) error {
	if r.st.sim == nil {
		return errors.New("no in-process host simulator (host.in_process is off)")
	}
	batch, err := r.st.eng.CurrentBatch()
	if err != nil {
		return err
	}
	return r.st.sim.ForgetRecord(r.o.cfg.Terminal.TerminalID, batch, stan)
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
	if r.isCut() {
		return errPoweredOff
	}
	if r.st.sim == nil {
		return errors.New("no in-process host simulator (host.in_process is off)")
	}
	code, err := r.codeOf(image)
	if err != nil {
		return err
	}
	return payShownQR(r.st.sim, r.b.Fakes.Display.Picture(), code)
}

// Restart stops the terminal and starts it again on the same data
// directory and clock, as after switching the terminal off and on (or on
// again, after a power cut).
func (r *rig) Restart() error {
	if err := r.close(); err != nil {
		return err
	}
	n, err := startRig(r.o)
	if err != nil {
		return err
	}
	seen := r.screens
	*r = *n
	r.screens = seen
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
