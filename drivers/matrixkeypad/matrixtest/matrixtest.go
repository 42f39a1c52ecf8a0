// Package matrixtest simulates a key matrix wired to GPIO pins, so that a
// matrix keypad driver can be tested without hardware. Row and column
// pins share one model of which keys are down; a column's level follows
// from the rows driven and the keys pressed, the way copper does, and the
// model notes every electrical or protocol mistake the driver makes
// (Problems) so a test can fail on it.
package matrixtest

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"
)

// Matrix is the simulated keypad: rows x cols switches.
type Matrix struct {
	mu      sync.Mutex
	rows    []*Pin
	cols    []*Pin
	pressed [][]bool
	// bouncing keys are down until one scan has seen them (see Bounce).
	bouncing [][]bool
	colLevel []gpio.Level
	grounded []bool // columns shorted to ground
	problems []string

	reads     int // column reads, all kinds
	scanReads int // column reads while exactly one row was driven
	// releasedSinceScan: all rows were released at some point after the
	// last scan read; a driver must do so before driving several rows.
	releasedSinceScan bool
	waiting           int // columns inside WaitForEdge
}

// New is a matrix of rows x cols keys, all up, every pin an input.
func New(rows, cols int) *Matrix {
	m := &Matrix{releasedSinceScan: true}
	for r := 0; r < rows; r++ {
		m.rows = append(m.rows, m.newPin(fmt.Sprintf("ROW%d", r), r, true))
		m.pressed = append(m.pressed, make([]bool, cols))
		m.bouncing = append(m.bouncing, make([]bool, cols))
	}
	for c := 0; c < cols; c++ {
		m.cols = append(m.cols, m.newPin(fmt.Sprintf("COL%d", c), c, false))
		m.colLevel = append(m.colLevel, gpio.High)
		m.grounded = append(m.grounded, false)
	}
	return m
}

func (m *Matrix) newPin(name string, idx int, row bool) *Pin {
	return &Pin{m: m, name: name, idx: idx, row: row, pull: gpio.Float,
		edges: make(chan struct{}, 1), halt: make(chan struct{}, 1)}
}

// Rows are the row pins, for the driver's configuration.
func (m *Matrix) Rows() []gpio.PinIO { return pinIOs(m.rows) }

// Cols are the column pins.
func (m *Matrix) Cols() []gpio.PinIO { return pinIOs(m.cols) }

// Row and Col give one pin, to inject failures.
func (m *Matrix) Row(i int) *Pin { return m.rows[i] }
func (m *Matrix) Col(i int) *Pin { return m.cols[i] }

func pinIOs(ps []*Pin) []gpio.PinIO {
	out := make([]gpio.PinIO, len(ps))
	for i, p := range ps {
		out[i] = p
	}
	return out
}

// Press closes the switch at row r, column c.
func (m *Matrix) Press(r, c int) { m.setKey(r, c, true, false) }

// Release opens it.
func (m *Matrix) Release(r, c int) { m.setKey(r, c, false, false) }

// Bounce closes the switch until a scan has read its column with its row
// driven alone, then opens it: contact bounce shorter than any debounce.
func (m *Matrix) Bounce(r, c int) { m.setKey(r, c, true, true) }

// Ground shorts column c to ground (a crushed membrane, a solder
// bridge): it reads Low whatever the rows do.
func (m *Matrix) Ground(c int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.grounded[c] = true
	m.settle()
}

// ReleaseAll opens every switch at once.
func (m *Matrix) ReleaseAll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for r := range m.pressed {
		for c := range m.pressed[r] {
			m.pressed[r][c], m.bouncing[r][c] = false, false
		}
	}
	m.settle()
}

func (m *Matrix) setKey(r, c int, down, bounce bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pressed[r][c], m.bouncing[r][c] = down, bounce
	m.settle()
}

// Bouncing reports whether a Bounce key is still down (no scan saw it).
func (m *Matrix) Bouncing(r, c int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.bouncing[r][c]
}

// Reads counts column reads; ScanReads those made while exactly one row
// was driven.
func (m *Matrix) Reads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reads
}

func (m *Matrix) ScanReads() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.scanReads
}

// Waiting counts the columns whose WaitForEdge is under way.
func (m *Matrix) Waiting() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.waiting
}

// RowStates draws the rows: L or H driven, - released (input).
func (m *Matrix) RowStates() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rowStates()
}

func (m *Matrix) rowStates() string {
	var b strings.Builder
	for _, p := range m.rows {
		switch {
		case !p.driven:
			b.WriteByte('-')
		case p.level == gpio.Low:
			b.WriteByte('L')
		default:
			b.WriteByte('H')
		}
	}
	return b.String()
}

// Problems are the mistakes seen so far, oldest first.
func (m *Matrix) Problems() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.problems...)
}

func (m *Matrix) problem(format string, args ...any) {
	if len(m.problems) < 50 {
		m.problems = append(m.problems, fmt.Sprintf(format, args...))
	}
}

// settle recomputes the columns after any change of rows or keys: keys
// join rows and columns into nets; a net holding a row driven Low is Low,
// one with both a Low and a High row is a short.
func (m *Matrix) settle() {
	nr := len(m.rows)
	parent := make([]int, nr+len(m.cols))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		if parent[i] != i {
			parent[i] = find(parent[i])
		}
		return parent[i]
	}
	for r := range m.pressed {
		for c, down := range m.pressed[r] {
			if down {
				parent[find(r)] = find(nr + c)
			}
		}
	}
	low := map[int]bool{}
	high := map[int]bool{}
	for r, p := range m.rows {
		if p.driven {
			if p.level == gpio.Low {
				low[find(r)] = true
			} else {
				high[find(r)] = true
			}
		}
	}
	for net := range low {
		if high[net] {
			m.problem("short: rows %s driven Low and High are joined by pressed keys", m.rowStates())
		}
	}
	for c, p := range m.cols {
		l := gpio.High
		if low[find(nr+c)] || m.grounded[c] {
			l = gpio.Low
		}
		if m.colLevel[c] == gpio.High && l == gpio.Low && (p.edge == gpio.FallingEdge || p.edge == gpio.BothEdges) ||
			m.colLevel[c] == gpio.Low && l == gpio.High && (p.edge == gpio.RisingEdge || p.edge == gpio.BothEdges) {
			select {
			case p.edges <- struct{}{}:
			default:
			}
		}
		m.colLevel[c] = l
	}
}

// rowsChanged checks the release rule after a row pin changes.
func (m *Matrix) rowsChanged() {
	driven := 0
	for _, p := range m.rows {
		if p.driven {
			driven++
			if p.level == gpio.High {
				m.problem("row %s driven High: rows are only driven Low or released", p.name)
			}
		}
	}
	if driven == 0 {
		m.releasedSinceScan = true
	}
	if driven > 1 && !m.releasedSinceScan {
		m.problem("rows %s driven together after a scan without releasing every row first", m.rowStates())
	}
	m.settle()
}

// Pin is one row or column pin of the matrix. SetFail makes In or Out
// fail.
type Pin struct {
	m    *Matrix
	name string
	idx  int
	row  bool

	// guarded by m.mu
	driven  bool
	level   gpio.Level
	pull    gpio.Pull
	edge    gpio.Edge
	failIn  error
	failOut error

	edges chan struct{}
	halt  chan struct{}
}

// SetFail makes In and Out fail (nil: work again).
func (p *Pin) SetFail(in, out error) {
	p.m.mu.Lock()
	p.failIn, p.failOut = in, out
	p.m.mu.Unlock()
}

func (p *Pin) String() string   { return p.name }
func (p *Pin) Name() string     { return p.name }
func (p *Pin) Number() int      { return p.idx }
func (p *Pin) Function() string { return "" }

// Halt interrupts a WaitForEdge under way, as Linux GPIO drivers do.
func (p *Pin) Halt() error {
	select {
	case p.halt <- struct{}{}:
	default:
	}
	return nil
}

func (p *Pin) In(pull gpio.Pull, edge gpio.Edge) error {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.failIn != nil {
		return p.failIn
	}
	p.driven, p.pull, p.edge = false, pull, edge
	for { // a new configuration forgets old edges and halts
		select {
		case <-p.edges:
			continue
		case <-p.halt:
			continue
		default:
		}
		break
	}
	if p.row {
		m.rowsChanged()
	} else {
		m.settle()
	}
	return nil
}

func (p *Pin) Out(l gpio.Level) error {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.failOut != nil {
		return p.failOut
	}
	if !p.row {
		m.problem("column %s driven: columns are inputs", p.name)
		return nil
	}
	p.driven, p.level, p.edge = true, l, gpio.NoEdge
	m.rowsChanged()
	return nil
}

func (p *Pin) Read() gpio.Level {
	m := p.m
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.row {
		m.problem("row %s read: rows are driven, columns read", p.name)
		return gpio.High
	}
	if p.driven || p.pull != gpio.PullUp {
		m.problem("column %s read without its pull-up (pull %s)", p.name, p.pull)
	}
	m.reads++
	driven := -1
	n := 0
	for r, rp := range m.rows {
		if rp.driven {
			driven, n = r, n+1
		}
	}
	l := m.colLevel[p.idx]
	if n == 1 {
		m.scanReads++
		m.releasedSinceScan = false
		if m.bouncing[driven][p.idx] && l == gpio.Low {
			m.pressed[driven][p.idx], m.bouncing[driven][p.idx] = false, false
			m.settle()
		}
	}
	return l
}

// WaitForEdge waits for the column to change as armed by In. It must be
// bounded: a driver waiting forever could not close.
func (p *Pin) WaitForEdge(timeout time.Duration) bool {
	m := p.m
	m.mu.Lock()
	if timeout <= 0 {
		m.problem("WaitForEdge(%v) on %s: unbounded wait", timeout, p.name)
		timeout = time.Second
	}
	if p.row || p.edge == gpio.NoEdge {
		m.problem("WaitForEdge on %s not armed for edges", p.name)
		m.mu.Unlock()
		return false
	}
	m.waiting++
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.waiting--
		m.mu.Unlock()
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-p.edges:
		return true
	case <-p.halt:
		return false
	case <-t.C:
		return false
	}
}

func (p *Pin) Pull() gpio.Pull {
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	return p.pull
}

func (p *Pin) DefaultPull() gpio.Pull { return gpio.PullUp }

func (p *Pin) PWM(gpio.Duty, physic.Frequency) error {
	return fmt.Errorf("matrixtest: %s: no PWM", p.name)
}

var _ gpio.PinIO = (*Pin)(nil)
