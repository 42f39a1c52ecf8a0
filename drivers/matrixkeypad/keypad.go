// Package matrixkeypad drives a key matrix (a 4x4 membrane keypad, say)
// wired to GPIO pins, as a hal.Keypad.
//
// Rows are driven, columns are read through pull-ups. At rest every row
// is driven Low and the driver sleeps on the columns' falling edges, so
// an idle keypad costs no CPU. A press wakes it; it then scans one row at
// a time, driving that row Low and leaving the others released (inputs),
// so two keys down in one column never join a High row to a Low one.
//
// Debounce: a key counts as pressed (or released) only when two scans
// Debounce apart agree. Each press is reported once.
//
// Ghosting: with three keys down on the corners of a rectangle, the
// fourth corner reads as pressed too, and no scan can tell which three
// are real. A scan showing a rectangle is ignored as a whole: nothing in
// it is reported or released until a scan without one. A phantom key is
// worse than a lost press on a payment terminal; a cashier presses again.
package matrixkeypad

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/shoukuan/pos/hal"
)

// DefaultDebounce is used when Config.Debounce is 0.
const DefaultDebounce = 20 * time.Millisecond

// edgeWait bounds one WaitForEdge so that the waiters notice Close even
// on pin drivers whose Halt does not interrupt a wait.
const edgeWait = 100 * time.Millisecond

// queued is how many presses wait for a reader; more are dropped, since a
// keypad nobody reads should not replay a burst of keys later.
const queued = 16

// Config describes the wiring.
type Config struct {
	Rows []gpio.PinIO // driven Low one at a time, released otherwise
	Cols []gpio.PinIO // read with pull-ups; never driven
	// Layout is the key at each row and column, len(Rows) x len(Cols);
	// hal.KeyNone where no switch sits.
	Layout [][]hal.Key
	// Debounce is how long a key must read steadily down (or up) before it
	// counts: DefaultDebounce when 0. Held keys are scanned this often.
	Debounce time.Duration
}

// Keypad is the driver: hal.Keypad, hal.SelfTester and io.Closer.
type Keypad struct {
	rows, cols []gpio.PinIO
	layout     [][]hal.Key
	debounce   time.Duration

	events    chan hal.KeyEvent
	selfTests chan chan hal.SelfTestResult
	stop      chan struct{}
	done      chan struct{} // the scan loop has ended
	closeOnce sync.Once

	mu  sync.Mutex
	err error // why the scan loop ended
}

var (
	_ hal.Keypad     = (*Keypad)(nil)
	_ hal.SelfTester = (*Keypad)(nil)
	_ hal.KeyLister  = (*Keypad)(nil)
)

// New checks the configuration, sets the pins to their idle state and
// starts scanning. Close releases the pins.
func New(cfg Config) (*Keypad, error) {
	if err := validate(cfg); err != nil {
		return nil, err
	}
	if cfg.Debounce < 0 {
		return nil, fmt.Errorf("matrixkeypad: debounce %v is negative", cfg.Debounce)
	}
	if cfg.Debounce == 0 {
		cfg.Debounce = DefaultDebounce
	}
	k := &Keypad{
		rows: cfg.Rows, cols: cfg.Cols, layout: cfg.Layout, debounce: cfg.Debounce,
		events:    make(chan hal.KeyEvent, queued),
		selfTests: make(chan chan hal.SelfTestResult),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	// Claim every pin once before the loop so that a wrong pin is an error
	// of New, not of the first ReadKey.
	if err := k.releaseRows(); err != nil {
		return nil, fmt.Errorf("%w: %w", hal.ErrNoDevice, err)
	}
	for i, p := range k.rows { // all Low together is the idle state: no short
		if err := p.Out(gpio.Low); err != nil {
			k.releaseRows()
			return nil, fmt.Errorf("%w: %w", hal.ErrNoDevice, pinError("row", i, p, "drive Low", err))
		}
	}
	if err := k.armCols(gpio.NoEdge); err != nil {
		k.releaseRows()
		return nil, fmt.Errorf("%w: %w", hal.ErrNoDevice, err)
	}
	go k.run()
	return k, nil
}

func validate(cfg Config) error {
	if len(cfg.Rows) == 0 || len(cfg.Cols) == 0 {
		return fmt.Errorf("matrixkeypad: %d rows and %d cols: need at least one of each", len(cfg.Rows), len(cfg.Cols))
	}
	seen := map[string]string{}
	for _, group := range []struct {
		field string
		pins  []gpio.PinIO
	}{{"rows", cfg.Rows}, {"cols", cfg.Cols}} {
		for i, p := range group.pins {
			if p == nil {
				return fmt.Errorf("matrixkeypad: %s[%d]: no pin", group.field, i)
			}
			where := fmt.Sprintf("%s[%d]", group.field, i)
			if first, dup := seen[p.Name()]; dup {
				return fmt.Errorf("matrixkeypad: %s: pin %s is already %s", where, p.Name(), first)
			}
			seen[p.Name()] = where
		}
	}
	if len(cfg.Layout) != len(cfg.Rows) {
		return fmt.Errorf("matrixkeypad: layout has %d rows for %d row pins", len(cfg.Layout), len(cfg.Rows))
	}
	keys := map[hal.Key]string{}
	for r, row := range cfg.Layout {
		if len(row) != len(cfg.Cols) {
			return fmt.Errorf("matrixkeypad: layout row %d has %d keys for %d column pins", r, len(row), len(cfg.Cols))
		}
		for c, key := range row {
			if key == hal.KeyNone {
				continue
			}
			where := fmt.Sprintf("row %d col %d", r, c)
			if _, err := hal.ParseKey(key.String()); err != nil {
				return fmt.Errorf("matrixkeypad: layout %s: %v", where, key)
			}
			if first, dup := keys[key]; dup {
				return fmt.Errorf("matrixkeypad: layout %s: key %s is already at %s", where, key, first)
			}
			keys[key] = where
		}
	}
	return nil
}

// ReadKey waits for the next press, the end of ctx, or the end of the
// keypad (closed, or a pin failed).
func (k *Keypad) ReadKey(ctx context.Context) (hal.KeyEvent, error) {
	select {
	case ev := <-k.events:
		return ev, nil
	case <-ctx.Done():
		return hal.KeyEvent{}, ctx.Err()
	case <-k.done:
	}
	select { // presses made before the end are still the user's
	case ev := <-k.events:
		return ev, nil
	default:
	}
	return hal.KeyEvent{}, k.failure()
}

func (k *Keypad) failure() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.err != nil {
		return k.err
	}
	return fmt.Errorf("matrixkeypad: %w: closed", hal.ErrDisconnected)
}

// Close stops scanning and leaves every pin an input, so nothing is
// driven once the terminal stops. It returns within about edgeWait.
func (k *Keypad) Close() error {
	k.closeOnce.Do(func() {
		close(k.stop)
		k.haltCols()
	})
	<-k.done
	if err := k.releaseRows(); err != nil {
		return err
	}
	return k.armCols(gpio.NoEdge)
}

// run is the scan loop: it alone touches the pins until Close.
func (k *Keypad) run() {
	defer close(k.done)
	for {
		woke, err := k.idle()
		if err == nil && woke {
			err = k.track()
		}
		if err != nil {
			k.mu.Lock()
			k.err = fmt.Errorf("matrixkeypad: %w: %w", hal.ErrDisconnected, err)
			k.mu.Unlock()
			return
		}
		if k.stopping() {
			return
		}
	}
}

func (k *Keypad) stopping() bool {
	select {
	case <-k.stop:
		return true
	default:
		return false
	}
}

// idle drives every row Low and sleeps until a column falls. It reports
// false when the keypad is closing.
func (k *Keypad) idle() (bool, error) {
	for {
		for i, p := range k.rows {
			if err := p.Out(gpio.Low); err != nil {
				return false, pinError("row", i, p, "drive Low", err)
			}
		}
		// Arm first, then look: a key already down (or pressed between the
		// two) is seen by the look, a later one by its edge.
		if err := k.armCols(gpio.FallingEdge); err != nil {
			return false, err
		}
		for _, p := range k.cols {
			if p.Read() == gpio.Low {
				return true, nil
			}
		}
		fell := make(chan struct{}, 1)
		quit := make(chan struct{})
		var waiters sync.WaitGroup
		for _, p := range k.cols {
			waiters.Add(1)
			go waitFall(p, fell, quit, &waiters)
		}
		var reply chan hal.SelfTestResult
		woke := false
		select {
		case <-fell:
			woke = true
		case reply = <-k.selfTests:
		case <-k.stop:
		}
		close(quit)
		k.haltCols()
		waiters.Wait()
		if reply != nil {
			reply <- k.selfTest()
			continue // back to idle, pins re-armed
		}
		return woke, nil
	}
}

// waitFall is one column's sleeper: periph waits for edges pin by pin.
func waitFall(p gpio.PinIO, fell chan<- struct{}, quit <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case <-quit:
			return
		default:
		}
		if p.WaitForEdge(edgeWait) {
			select {
			case fell <- struct{}{}:
			default:
			}
			return
		}
	}
}

// haltCols interrupts the waiters' WaitForEdge where the pin driver can.
func (k *Keypad) haltCols() {
	for _, p := range k.cols {
		p.Halt()
	}
}

// track scans while any key is down, reporting presses, until every key
// has been steadily up.
func (k *Keypad) track() error {
	nr, nc := len(k.rows), len(k.cols)
	held := newGrid(nr, nc) // debounced state
	prev, err := k.scan()
	if err != nil {
		return err
	}
	prevValid := !prev.ghosted()
	timer := time.NewTimer(k.debounce)
	defer timer.Stop()
	for {
		select {
		case <-k.stop:
			return nil
		case reply := <-k.selfTests:
			reply <- k.selfTest() // rows are all released between scans
			continue
		case <-timer.C:
		}
		cur, err := k.scan()
		if err != nil {
			return err
		}
		timer.Reset(k.debounce)
		if cur.ghosted() {
			prevValid = false
			continue
		}
		if prevValid {
			for r := range nr {
				for c := range nc {
					if cur[r][c] == prev[r][c] && held[r][c] != cur[r][c] {
						held[r][c] = cur[r][c]
						if cur[r][c] && k.layout[r][c] != hal.KeyNone {
							k.report(k.layout[r][c])
						}
					}
				}
			}
		}
		prev, prevValid = cur, true
		if !held.any() && !cur.any() {
			return nil
		}
	}
}

func (k *Keypad) report(key hal.Key) {
	select {
	case k.events <- hal.KeyEvent{Key: key}:
	default: // nobody reads: drop, see queued
	}
}

// scan reads the whole matrix, one row driven Low at a time, and leaves
// every row released.
func (k *Keypad) scan() (grid, error) {
	g := newGrid(len(k.rows), len(k.cols))
	if err := k.releaseRows(); err != nil {
		return nil, err
	}
	for r, p := range k.rows {
		if err := p.Out(gpio.Low); err != nil {
			k.releaseRows()
			return nil, pinError("row", r, p, "drive Low", err)
		}
		for c, col := range k.cols {
			g[r][c] = col.Read() == gpio.Low
		}
		if err := release(p); err != nil {
			k.releaseRows()
			return nil, pinError("row", r, p, "release", err)
		}
	}
	return g, nil
}

// releaseRows makes every row an input. It tries them all: a row left
// driven is the one thing to avoid.
func (k *Keypad) releaseRows() error {
	var errs []error
	for i, p := range k.rows {
		if err := release(p); err != nil {
			errs = append(errs, pinError("row", i, p, "release", err))
		}
	}
	return errors.Join(errs...)
}

// release makes a row an input; the pull-up gives a released row a
// defined level without fighting anything through a pressed key.
func release(p gpio.PinIO) error { return p.In(gpio.PullUp, gpio.NoEdge) }

func (k *Keypad) armCols(edge gpio.Edge) error {
	for i, p := range k.cols {
		if err := p.In(gpio.PullUp, edge); err != nil {
			return pinError("col", i, p, "set as input with pull-up", err)
		}
	}
	return nil
}

func pinError(role string, i int, p gpio.PinIO, what string, err error) error {
	return fmt.Errorf("%s %d (%s): %s: %w", role, i, p.Name(), what, err)
}

// SelfTest checks that the matrix is at rest: every column reads High
// with no row driven (no column shorted to ground), and no key reads
// down in a full scan (no stuck key, no row shorted to a column). The
// keypad must not be touched meanwhile. Pressing every key is an
// interactive check done elsewhere.
func (k *Keypad) SelfTest(ctx context.Context) hal.SelfTestResult {
	start := time.Now()
	reply := make(chan hal.SelfTestResult, 1)
	fail := func(detail string) hal.SelfTestResult {
		return hal.SelfTestResult{Device: "keypad", Detail: detail, Took: time.Since(start)}
	}
	select {
	case k.selfTests <- reply:
	case <-k.done:
		return fail(k.failure().Error())
	case <-ctx.Done():
		return fail("self-test: " + ctx.Err().Error())
	}
	res := <-reply // the loop answers at once
	res.Took = time.Since(start)
	return res
}

// selfTest runs on the scan loop, between waits or scans.
func (k *Keypad) selfTest() hal.SelfTestResult {
	res := hal.SelfTestResult{Device: "keypad"}
	if err := k.releaseRows(); err != nil {
		res.Detail = err.Error()
		return res
	}
	if err := k.armCols(gpio.NoEdge); err != nil {
		res.Detail = err.Error()
		return res
	}
	var low []string
	for i, p := range k.cols {
		if p.Read() == gpio.Low {
			low = append(low, fmt.Sprintf("col %d (%s)", i, p.Name()))
		}
	}
	if len(low) > 0 {
		res.Detail = strings.Join(low, ", ") + " read Low with no row driven: shorted to ground or a broken pull-up"
		return res
	}
	g, err := k.scan()
	if err != nil {
		res.Detail = err.Error()
		return res
	}
	var down []string
	for r := range g {
		for c, on := range g[r] {
			if on {
				down = append(down, fmt.Sprintf("%s at row %d (%s) col %d (%s)", k.layout[r][c], r, k.rows[r].Name(), c, k.cols[c].Name()))
			}
		}
	}
	if len(down) > 0 {
		res.Detail = "reads pressed (a stuck or held key, or a row shorted to a column): " + strings.Join(down, "; ")
		return res
	}
	res.OK = true
	res.Detail = fmt.Sprintf("%dx%d matrix at rest; rows %s, cols %s", len(k.rows), len(k.cols), pinNames(k.rows), pinNames(k.cols))
	return res
}

func pinNames(ps []gpio.PinIO) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name()
	}
	return strings.Join(names, ",")
}

// grid is one scan: [row][col] reads pressed.
type grid [][]bool

func newGrid(rows, cols int) grid {
	g := make(grid, rows)
	for r := range g {
		g[r] = make([]bool, cols)
	}
	return g
}

func (g grid) any() bool {
	for _, row := range g {
		for _, on := range row {
			if on {
				return true
			}
		}
	}
	return false
}

// ghosted reports a rectangle of pressed readings: one of its corners may
// be a phantom made by the other three.
func (g grid) ghosted() bool {
	for r1 := range g {
		for r2 := r1 + 1; r2 < len(g); r2++ {
			shared := 0
			for c := range g[r1] {
				if g[r1][c] && g[r2][c] {
					shared++
				}
			}
			if shared >= 2 {
				return true
			}
		}
	}
	return false
}

// Keys lists the keys of the layout, for the "press every key" check.
func (k *Keypad) Keys() []hal.Key {
	var keys []hal.Key
	for _, row := range k.layout {
		keys = append(keys, row...)
	}
	return hal.SortedKeys(keys)
}
