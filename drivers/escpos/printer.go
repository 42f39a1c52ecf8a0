// Package escpos drives an ESC/POS thermal receipt printer over a UART or
// a USB printer device. It lays a hal.Document out for the profile's paper
// (Chinese through the printer's double-byte font, anything else as a
// raster), asks the printer's state before a job and while it prints, and
// knows how much of a job reached the paper when it stops.
package escpos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/shoukuan/pos/drivers/glyph"
	"github.com/shoukuan/pos/hal"
)

// Options tune the driver; zero values are the defaults.
type Options struct {
	// StatusTimeout bounds the wait for a DLE EOT answer (500 ms): a
	// printer that does not answer is off or unplugged.
	StatusTimeout time.Duration
	// SyncTimeout bounds the wait for a part of a job to print (10 s).
	SyncTimeout time.Duration
	// ChunkBytes is how much the driver sends before it waits for the
	// printer to catch up (256, some ten lines of text; an image band goes
	// alone): what is in flight when the paper runs out is at most this.
	ChunkBytes int
	// Name is what self-test reports (the port).
	Name string
}

// JobError is a job that stopped. Printed says how many of its parts are
// known to be on paper; up to one more part may still come out of the
// printer's buffer once the paper is back. The application reprints the
// whole receipt.
type JobError struct {
	Title          string
	Printed, Parts int
	At             string // the part that did not print
	Err            error
}

func (e *JobError) Error() string {
	return fmt.Sprintf("printer: %q stopped at %s (%d of %d parts printed): %v", e.Title, e.At, e.Printed, e.Parts, e.Err)
}

func (e *JobError) Unwrap() error { return e.Err }

// Printer is the driver. It is safe for concurrent use; jobs and status
// queries take turns on the line.
type Printer struct {
	prof Profile
	opt  Options
	font *glyph.Font
	rw   io.ReadWriteCloser

	in      chan byte // what the printer sent, from the reader goroutine
	readErr chan error
	done    chan struct{}
	once    sync.Once

	mu sync.Mutex // one job or query on the line at a time
	// owedSyncs counts GS r answers of a stopped job still to come: when
	// the paper is back the printer prints what it buffered and answers
	// them, and they must not be taken for the next job's.
	owedSyncs int
	// syncQ holds GS r answers that came while the driver waited for
	// something else (a status answer): they are still the group's.
	syncQ []byte
}

var (
	_ hal.Printer    = (*Printer)(nil)
	_ hal.SelfTester = (*Printer)(nil)
)

// New starts a driver on an open line to the printer. The line's reads
// should time out now and then (a UART) or end when it is closed.
func New(rw io.ReadWriteCloser, prof Profile, o Options) (*Printer, error) {
	if err := prof.Validate(); err != nil {
		return nil, err
	}
	if o.StatusTimeout <= 0 {
		o.StatusTimeout = 500 * time.Millisecond
	}
	if o.SyncTimeout <= 0 {
		o.SyncTimeout = 10 * time.Second
	}
	if o.ChunkBytes <= 0 {
		o.ChunkBytes = 256
	}
	font, _ := glyph.Default() // nil: the built-in font draws rasters
	p := &Printer{prof: prof, opt: o, font: font, rw: rw,
		in: make(chan byte, 256), readErr: make(chan error, 1), done: make(chan struct{})}
	go p.readLoop()
	return p, nil
}

// Profile is the printer's profile.
func (p *Printer) Profile() Profile { return p.prof }

// Columns is the paper width in narrow characters.
func (p *Printer) Columns() int { return p.prof.Columns() }

func (p *Printer) readLoop() {
	buf := make([]byte, 64)
	for {
		n, err := p.rw.Read(buf)
		for _, b := range buf[:n] {
			select {
			case p.in <- b:
			default: // nobody asked: unsolicited bytes are dropped
			}
		}
		select {
		case <-p.done:
			return
		default:
		}
		switch {
		case err == io.EOF || err == nil && n == 0:
			// A serial read that timed out; wait a little so that a line
			// that returns at once does not spin.
			time.Sleep(10 * time.Millisecond)
		case err != nil:
			p.readErr <- err
			return
		}
	}
}

// Close stops the driver and closes the line.
func (p *Printer) Close() error {
	var err error
	p.once.Do(func() {
		close(p.done)
		err = p.rw.Close()
	})
	return err
}

func (p *Printer) drain() {
	for {
		select {
		case <-p.in:
		default:
			return
		}
	}
}

// await waits for a byte that match accepts.
func (p *Printer) await(ctx context.Context, timeout time.Duration, match func(byte) bool) (byte, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case b := <-p.in:
			if match(b) {
				return b, nil
			}
			if isSyncReply(b) {
				p.syncQ = append(p.syncQ, b)
			}
		case err := <-p.readErr:
			p.readErr <- err // every later wait sees it too
			return 0, fmt.Errorf("%w: %v", hal.ErrDisconnected, err)
		case <-t.C:
			return 0, hal.ErrTimeout
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-p.done:
			return 0, hal.ErrDisconnected
		}
	}
}

func (p *Printer) write(b []byte) error {
	if _, err := p.rw.Write(b); err != nil {
		return fmt.Errorf("%w: %v", hal.ErrDisconnected, err)
	}
	return nil
}

// query asks the four DLE EOT questions; the caller holds mu.
func (p *Printer) query(ctx context.Context) (rawStatus, error) {
	var r rawStatus
	for i, dst := range []*byte{&r.printer, &r.offline, &r.errs, &r.paper} {
		p.drainRealTime()
		if err := p.write(realTime(byte(i + 1))); err != nil {
			return r, err
		}
		b, err := p.await(ctx, p.opt.StatusTimeout, isRealTimeReply)
		if err != nil {
			if errors.Is(err, hal.ErrTimeout) {
				return r, fmt.Errorf("%w: no answer to a status request (is the printer on and connected?)", hal.ErrDisconnected)
			}
			return r, err
		}
		*dst = b
	}
	return r, nil
}

// drainRealTime drops stale status answers before a question; GS r
// answers are kept for sync.
func (p *Printer) drainRealTime() {
	for {
		select {
		case b := <-p.in:
			if isSyncReply(b) {
				p.syncQ = append(p.syncQ, b)
			}
		default:
			return
		}
	}
}

// settleOwed matches the answers a stopped job owed with those that came,
// and forgets any others: a new job starts with a clean line.
func (p *Printer) settleOwed() {
	p.drainRealTime()
	for len(p.syncQ) > 0 && p.owedSyncs > 0 {
		p.syncQ = p.syncQ[1:]
		p.owedSyncs--
	}
	p.syncQ = nil
}

// Status asks the printer; a printer that does not answer is offline.
func (p *Printer) Status() hal.PrinterStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 4*p.opt.StatusTimeout)
	defer cancel()
	r, err := p.query(ctx)
	if err != nil {
		return hal.PrinterStatus{}
	}
	return r.status()
}

// Print prints doc. A document no printer could print fails before
// anything is sent. The printer's state is asked first, so that a printer
// without paper prints nothing; while it prints the driver waits for each
// part to reach the paper, so when it stops the JobError says how far it
// got.
func (p *Printer) Print(ctx context.Context, doc hal.Document) error {
	chunks, err := newEncoder(p.prof, p.font).encode(doc)
	if err != nil {
		return fmt.Errorf("printer: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settleOwed()
	r, err := p.query(ctx)
	if err != nil {
		return fmt.Errorf("printer: %w", err)
	}
	if err := statusErr(r); err != nil {
		return &JobError{Title: doc.Title, Parts: len(chunks), At: chunks[0].what, Err: err}
	}
	checked := time.Now()
	for i := 0; i < len(chunks); {
		if err := ctx.Err(); err != nil {
			return &JobError{Title: doc.Title, Printed: i, Parts: len(chunks), At: chunks[i].what, Err: err}
		}
		// A group of whole chunks up to ChunkBytes, then the barrier.
		j, size := i, 0
		for j < len(chunks) && (j == i || size+len(chunks[j].data) <= p.opt.ChunkBytes) {
			size += len(chunks[j].data)
			j++
		}
		group := make([]byte, 0, size+len(cmdPaperSync))
		for _, c := range chunks[i:j] {
			group = append(group, c.data...)
		}
		group = append(group, cmdPaperSync...)
		if err := p.write(group); err != nil {
			return &JobError{Title: doc.Title, Printed: i, Parts: len(chunks), At: chunks[i].what, Err: err}
		}
		if err := p.sync(ctx); err != nil {
			return &JobError{Title: doc.Title, Printed: i, Parts: len(chunks), At: chunks[i].what, Err: err}
		}
		i = j
		// A long job: ask the real-time state now and then as well, so a
		// cover opened between parts stops the job at once.
		if i < len(chunks) && time.Since(checked) > time.Second {
			r, err := p.query(ctx)
			if err == nil {
				err = statusErr(r)
			}
			if err != nil {
				return &JobError{Title: doc.Title, Printed: i, Parts: len(chunks), At: chunks[i].what, Err: err}
			}
			checked = time.Now()
		}
	}
	return nil
}

// sync waits for the GS r answer that says the group printed. When it
// does not come, the real-time state says why: paper, cover, a fault, or
// a printer gone.
func (p *Printer) sync(ctx context.Context) error {
	deadline := time.Now().Add(p.opt.SyncTimeout)
	for {
		var b byte
		var err error
		if len(p.syncQ) > 0 {
			b, p.syncQ = p.syncQ[0], p.syncQ[1:]
		} else {
			// Not too long between looks at the real-time state: paper
			// out shows there at once.
			wait := min(time.Until(deadline), 500*time.Millisecond)
			b, err = p.await(ctx, max(wait, time.Millisecond), isSyncReply)
		}
		if err == nil {
			if p.owedSyncs > 0 { // a stopped job's answer, not ours
				p.owedSyncs--
				continue
			}
			if b&0x0c != 0 { // printed, and the paper ended just after
				return hal.ErrNoPaper
			}
			return nil
		}
		if !errors.Is(err, hal.ErrTimeout) {
			p.owedSyncs++
			return err
		}
		r, qerr := p.query(ctx)
		if qerr == nil {
			qerr = statusErr(r)
		}
		if qerr != nil || time.Now().After(deadline) {
			p.owedSyncs++ // it answers when it prints again
			if qerr == nil {
				qerr = fmt.Errorf("%w: the printer is online but printed nothing for %v", hal.ErrTimeout, p.opt.SyncTimeout)
			}
			return qerr
		}
	}
}

// SelfTest asks the printer's state; the terminal's self-test slip then
// shows it prints.
func (p *Printer) SelfTest(ctx context.Context) hal.SelfTestResult {
	start := time.Now()
	res := hal.SelfTestResult{Device: "printer"}
	p.mu.Lock()
	r, err := p.query(ctx)
	p.mu.Unlock()
	desc := fmt.Sprintf("ESC/POS %s (%d dots, %s", p.prof.Name, p.prof.Dots, p.prof.Charset)
	if p.prof.NativeQR {
		desc += ", native QR"
	}
	desc += ")"
	if p.opt.Name != "" {
		desc += " on " + p.opt.Name
	}
	res.Took = time.Since(start)
	if err != nil {
		res.Detail = desc + ": " + err.Error()
		return res
	}
	if err := statusErr(r); err != nil {
		res.Detail = desc + ": " + err.Error()
		return res
	}
	res.OK = true
	res.Detail = desc + ": ready"
	if r.status().PaperLow {
		res.Detail += ", paper low"
	}
	return res
}
