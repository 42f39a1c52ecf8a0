// Package console is the desktop simulator's screen: the POS display in a
// frame, the virtual device panels beside it, and the keyboard as keypad.
// It is the only package that talks to the terminal (termbox); layout is
// pure code drawn on a canvas so that it is testable without a tty.
package console

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/nsf/termbox-go"

	"github.com/shoukuan/pos/hal"
)

// Panel is a virtual device shown beside the POS display.
//
// Lines is called while the console redraws, and HandleKey on the console's
// input goroutine; both must be safe against the device's own goroutines
// and must not block. A panel may call Refresh at any time, also from
// HandleKey or while holding its own lock.
type Panel interface {
	Title() string
	// Lines returns what the panel shows in a box of the given inner size; it may return fewer lines.
	Lines(width, height int) []Line
	// HandleKey is offered every key that is not a keypad key; return true when consumed.
	HandleKey(k KeyPress) bool
}

// Line is one line of a panel.
type Line struct {
	Text string
	Attr hal.Attr
}

// Options configure the console.
type Options struct {
	Cols, Rows int      // the POS display size in cells (default 32x12)
	Title      string   // frame title, e.g. "POS 收款 sim"
	Panels     []Panel  // right-hand column(s), in order; the first gets the most room
	Help       []string // keyboard help lines, shown under the POS frame
}

// ErrQuit is returned by ReadKey once the user has quit the simulator
// (Ctrl-C, Ctrl-Q or F10) or the console was closed.
var ErrQuit = errors.New("console: quit")

// keyBuffer is how many keypad presses wait for ReadKey; like a real
// keypad's buffer, presses beyond it are lost.
const keyBuffer = 64

// Console is the simulator screen. It is a hal.Display (the POS grid) and a
// hal.Keypad (the keyboard).
type Console struct {
	cols, rows int
	title      string
	panels     []Panel
	help       []string
	picture    *hal.Bitmap // guarded by mu

	mu          sync.Mutex // guards the buffers, scr and closed
	back, front []cell
	scr         screen
	closed      bool

	keys    chan hal.KeyEvent
	refresh chan struct{} // one pending redraw; more requests coalesce

	quit     chan struct{} // closed when the user quits or input fails
	quitOnce sync.Once
	quitErr  error // set before quit is closed

	closing   chan struct{}
	closeOnce sync.Once
	polling   bool // the termbox poller runs and must be interrupted on Close
	wg        sync.WaitGroup

	inputMu sync.Mutex // the poller and the escape timer, one at a time
	esc     escJoiner
	escTime *time.Timer
	escGen  int // which arming a firing timer belongs to
}

var _ interface {
	hal.Display
	hal.Keypad
} = (*Console)(nil)

// openMu makes sure one console at a time owns the terminal.
var (
	openMu sync.Mutex
	isOpen bool
)

// Open takes over the terminal. It fails when there is no tty.
func Open(o Options) (*Console, error) {
	openMu.Lock()
	defer openMu.Unlock()
	if isOpen {
		return nil, errors.New("console: already open")
	}
	if err := initTerm(); err != nil {
		return nil, err
	}
	// InputEsc: a lone Esc is the Cancel key, not the start of Alt-x.
	termbox.SetInputMode(termbox.InputEsc)
	termbox.SetOutputMode(outputMode(os.Getenv("TERM"), os.Getenv("COLORTERM")))
	isOpen = true

	c := newConsole(o, termScreen{})
	_ = c.redraw()
	c.polling = true
	c.wg.Add(2)
	go c.poll()
	go c.render()
	return c, nil
}

// newConsole builds a console on any screen; tests use an in-memory one.
func newConsole(o Options, scr screen) *Console {
	if o.Cols <= 0 {
		o.Cols = 32
	}
	if o.Rows <= 0 {
		o.Rows = 12
	}
	c := &Console{
		cols:    o.Cols,
		rows:    o.Rows,
		title:   o.Title,
		panels:  append([]Panel(nil), o.Panels...),
		help:    append([]string(nil), o.Help...),
		back:    make([]cell, o.Cols*o.Rows),
		front:   make([]cell, o.Cols*o.Rows),
		scr:     scr,
		keys:    make(chan hal.KeyEvent, keyBuffer),
		refresh: make(chan struct{}, 1),
		quit:    make(chan struct{}),
		closing: make(chan struct{}),
	}
	blank(c.back)
	blank(c.front)
	return c
}

func blank(cs []cell) {
	for i := range cs {
		cs[i] = cell{r: ' '}
	}
}

// Close gives the terminal back. It is safe to call more than once. It
// must not be called from a panel's HandleKey or Lines.
func (c *Console) Close() {
	c.closeOnce.Do(func() {
		close(c.closing)
		if c.polling {
			// The poller keeps calling PollEvent until it sees this, so
			// Interrupt cannot block forever.
			termbox.Interrupt()
		}
		c.wg.Wait()
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		if c.polling {
			termbox.Close()
			openMu.Lock()
			isOpen = false
			openMu.Unlock()
		}
	})
}

// ShowPicture shows a 1-bit picture (the merchant's QR) beside the POS
// screen, two modules per character cell, until ShowPicture(nil).
func (c *Console) ShowPicture(b *hal.Bitmap) {
	c.mu.Lock()
	c.picture = b
	c.mu.Unlock()
	c.Refresh()
}

// Picture is the picture shown now, nil when none: the simulator's
// customer phone reads it.
func (c *Console) Picture() *hal.Bitmap {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.picture
}

// Size returns the POS display size in cells.
func (c *Console) Size() (int, int) { return c.cols, c.rows }

// Clear blanks the back buffer.
func (c *Console) Clear() {
	c.mu.Lock()
	blank(c.back)
	c.mu.Unlock()
}

// SetCell writes r to the back buffer. A wide rune takes x and x+1; one that
// does not fit in the last column is shown as a blank. Writes outside the
// grid and zero-width runes are ignored.
func (c *Console) SetCell(x, y int, r rune, a hal.Attr) {
	w := hal.CellWidth(r)
	if x < 0 || y < 0 || x >= c.cols || y >= c.rows || w == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	row := c.back[y*c.cols : (y+1)*c.cols]
	if w == 2 && x == c.cols-1 {
		r, w = ' ', 1
	}
	// Never leave half of a wide rune behind.
	if row[x].r == contRune && x > 0 {
		row[x-1] = cell{r: ' ', a: row[x-1].a}
	}
	if end := x + w; end < c.cols && row[end].r == contRune {
		row[end] = cell{r: ' ', a: row[end].a}
	}
	row[x] = cell{r: r, a: a}
	if w == 2 {
		row[x+1] = cell{r: contRune, a: a}
	}
}

// Flush shows the back buffer and redraws the whole console.
func (c *Console) Flush() error {
	c.mu.Lock()
	copy(c.front, c.back)
	c.mu.Unlock()
	return c.redraw()
}

// Refresh asks for a redraw of the panels. It never blocks and is safe from
// any goroutine; bursts of requests make one redraw.
func (c *Console) Refresh() {
	select {
	case c.refresh <- struct{}{}:
	default:
	}
}

// Done is closed when the user quits the simulator.
func (c *Console) Done() <-chan struct{} { return c.quit }

// ReadKey waits for a keypad key.
func (c *Console) ReadKey(ctx context.Context) (hal.KeyEvent, error) {
	// Checked first so that a quit or a cancelled context wins over keys
	// still buffered.
	if err := ctx.Err(); err != nil {
		return hal.KeyEvent{}, err
	}
	select {
	case <-c.quit:
		return hal.KeyEvent{}, c.quitErr
	case <-c.closing:
		return hal.KeyEvent{}, fmt.Errorf("console closed: %w", ErrQuit)
	default:
	}
	select {
	case k := <-c.keys:
		return k, nil
	case <-ctx.Done():
		return hal.KeyEvent{}, ctx.Err()
	case <-c.quit:
		return hal.KeyEvent{}, c.quitErr
	case <-c.closing:
		return hal.KeyEvent{}, fmt.Errorf("console closed: %w", ErrQuit)
	}
}

// redraw draws everything with the front buffer.
func (c *Console) redraw() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("console: closed")
	}
	c.scr.clear()
	render(c.scr, &view{
		cols: c.cols, rows: c.rows, cells: c.front,
		title: c.title, panels: c.panels, help: c.help, picture: c.picture,
	})
	return c.scr.flush()
}

// stop ends the session for the user; the first reason wins.
func (c *Console) stop(err error) {
	c.quitOnce.Do(func() {
		c.quitErr = err
		close(c.quit)
	})
}

// handleEvent acts on one terminal event. It runs on the poller goroutine,
// so panel keys and quit work even while nobody is in ReadKey.
func (c *Console) handleEvent(ev termbox.Event) {
	k, kp, act := mapEvent(ev)
	switch act {
	case actKeypad:
		select {
		case c.keys <- hal.KeyEvent{Key: k}:
		default:
		}
	case actPanel:
		if routeKey(c.panels, kp) {
			c.Refresh()
		}
	case actQuit:
		c.stop(ErrQuit)
	case actRedraw:
		c.Refresh()
	case actError:
		c.stop(fmt.Errorf("console: terminal input: %w", ev.Err))
	}
}

// poll is the only caller of termbox.PollEvent. It runs until Close
// interrupts it.
func (c *Console) poll() {
	defer c.wg.Done()
	defer restoreOnPanic()
	for {
		ev := termbox.PollEvent()
		if ev.Type == termbox.EventInterrupt {
			select {
			case <-c.closing:
				return
			default:
				continue
			}
		}
		select {
		case <-c.closing:
			continue // wait for Close's interrupt
		default:
		}
		c.input(ev)
		if ev.Type == termbox.EventError {
			// A dead tty keeps failing; do not spin on it.
			select {
			case <-c.closing:
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
}

// input passes events through the escape joiner to handleEvent.
func (c *Console) input(ev termbox.Event) {
	c.inputMu.Lock()
	defer c.inputMu.Unlock()
	if c.escTime != nil {
		c.escTime.Stop()
		c.escTime = nil
	}
	c.escGen++ // a timer already firing is stale
	out, wait := c.esc.feed(ev)
	for _, e := range out {
		c.handleEvent(e)
	}
	if wait {
		gen := c.escGen
		c.escTime = time.AfterFunc(escWait, func() { c.escTimeout(gen) })
	}
}

// escTimeout: nothing completed the held Escape in time. A timer that
// fired while input was arming a newer one does nothing.
func (c *Console) escTimeout(gen int) {
	c.inputMu.Lock()
	defer c.inputMu.Unlock()
	if gen != c.escGen {
		return
	}
	c.escTime = nil
	select {
	case <-c.closing:
		return
	default:
	}
	for _, e := range c.esc.timeout() {
		c.handleEvent(e)
	}
}

// render serves Refresh requests.
func (c *Console) render() {
	defer c.wg.Done()
	defer restoreOnPanic()
	for {
		select {
		case <-c.refresh:
			_ = c.redraw()
		case <-c.closing:
			return
		}
	}
}

// restoreOnPanic gives the terminal back before a panic (say in a panel)
// kills the process, so the trace is readable and the shell usable.
func restoreOnPanic() {
	if r := recover(); r != nil {
		termbox.Close()
		panic(r)
	}
}
