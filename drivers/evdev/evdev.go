// Package evdev drives a keypad that Linux presents as an input device
// (/dev/input/eventN): the kernel's gpio-matrix-keypad on a terminal's
// own key matrix, or a USB numeric keypad. Prefer a stable path such as
// /dev/input/by-path/platform-matrix-keypad-event or /dev/input/by-id/…:
// eventN numbers follow probe order.
//
// There is no reader goroutine. ReadKey reads the device itself, so keys
// pressed while nobody asks wait in the kernel's per-reader buffer, and
// the runtime poller lets a context or Close interrupt a blocked read at
// once.
//
// Records are decoded little-endian (ARM and x86 boards); the input
// ioctls are built for the architectures in sys_linux.go.
package evdev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/shoukuan/pos/hal"
)

// ErrClosed is returned after Close.
var ErrClosed = errors.New("evdev: keypad closed")

// errNoIoctl stands for the input ioctls on platforms without them.
var errNoIoctl = errors.New("input ioctls not available on this platform")

// recordsPerRead bounds one read; the kernel returns whole records only.
const recordsPerRead = 64

// longAgo is a deadline in the past, to interrupt a blocked read.
var longAgo = time.Unix(1, 0)

// Keypad is the driver. It implements hal.Keypad, hal.SelfTester and
// io.Closer.
type Keypad struct {
	f       *os.File
	path    string
	name    string // EVIOCGNAME; empty when the file is no input device
	grabbed bool
	grabErr error // why an attempted grab failed, for the self-test
	set     settings

	// turn lets one ReadKey at a time use the file, buf and pending; a
	// channel rather than a mutex so that waiting for it obeys ctx.
	turn    chan struct{}
	buf     []byte
	tail    int       // bytes of a partial record at the start of buf
	pending []hal.Key // decoded presses not yet returned

	mu     sync.Mutex
	closed bool
	fail   error // the device is gone; sticky
	stats  stats
}

// stats are counts for the self-test detail: what bring-up of a new key
// matrix needs to see.
type stats struct {
	presses     int
	unknown     int    // presses of codes not in the key map
	lastUnknown uint16 // the latest such code
	repeats     int    // autorepeats dropped
	skipped     int    // bytes dropped to resynchronise
	overflows   int    // SYN_DROPPED: the kernel lost events
}

// Open opens the input device at path read-only and sets it up as New
// does.
func Open(path string, c Config) (*Keypad, error) {
	set, err := c.check()
	if err != nil {
		return nil, fmt.Errorf("evdev: %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("evdev: %w", err) // a PathError names the path
	}
	k, err := newKeypad(f, set)
	if err != nil {
		f.Close()
		return nil, err
	}
	return k, nil
}

// New drives an already open file, for a device opened elsewhere or a
// pipe carrying recorded events. The keypad owns f from then on, also
// when New fails. f must be pollable (a character device or a pipe, not a
// regular file), so that reads can be interrupted.
//
// Unless c.NoGrab, the device is grabbed. A file that is not an input
// device (a pipe, a pty) cannot be grabbed or named, which is fine; a
// device another process has grabbed is an error, since this process
// would receive nothing.
func New(f *os.File, c Config) (*Keypad, error) {
	set, err := c.check()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("evdev: %s: %w", f.Name(), err)
	}
	k, err := newKeypad(f, set)
	if err != nil {
		f.Close()
		return nil, err
	}
	return k, nil
}

func newKeypad(f *os.File, set settings) (*Keypad, error) {
	path := f.Name()
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		return nil, fmt.Errorf("evdev: %s: reads cannot be interrupted (%v): want an input device or a pipe", path, err)
	}
	k := &Keypad{
		f: f, path: path, set: set,
		turn: make(chan struct{}, 1),
		buf:  make([]byte, recordsPerRead*set.size),
	}
	name, err := deviceName(f)
	switch {
	case err == nil:
		k.name = name
	case gone(err):
		return nil, k.lostErr(err)
	case !notSupported(err):
		return nil, fmt.Errorf("evdev: %s: EVIOCGNAME: %w", path, err)
	}
	if !set.NoGrab {
		err := grab(f)
		switch {
		case err == nil:
			k.grabbed = true
		case busy(err):
			return nil, fmt.Errorf("evdev: %s: another process has grabbed the device: %w", path, err)
		case gone(err):
			return nil, k.lostErr(err)
		case !notSupported(err):
			k.grabErr = err // still usable, shared with the console
		}
	}
	return k, nil
}

// lostErr is the error for a device that went away.
func (k *Keypad) lostErr(cause error) error {
	return fmt.Errorf("evdev: %s: %w: %w", k.path, hal.ErrDisconnected, cause)
}

// ReadKey waits for the next key press. Releases are never reported;
// autorepeats only with Config.Repeat. Presses decoded before the device
// went away are still returned, then hal.ErrDisconnected.
func (k *Keypad) ReadKey(ctx context.Context) (hal.KeyEvent, error) {
	select {
	case k.turn <- struct{}{}:
	case <-ctx.Done():
		return hal.KeyEvent{}, ctxErr(ctx.Err())
	}
	defer func() { <-k.turn }()
	for {
		k.mu.Lock()
		closed, fail := k.closed, k.fail
		k.mu.Unlock()
		if closed {
			return hal.KeyEvent{}, ErrClosed
		}
		if len(k.pending) > 0 {
			key := k.pending[0]
			k.pending = k.pending[1:]
			return hal.KeyEvent{Key: key}, nil
		}
		if fail != nil {
			return hal.KeyEvent{}, fail
		}
		if err := ctx.Err(); err != nil {
			return hal.KeyEvent{}, ctxErr(err)
		}
		if err := k.fill(ctx); err != nil {
			return hal.KeyEvent{}, err
		}
	}
}

// fill does one read and decodes it into pending. It returns an error
// only for ctx or Close; a lost device is recorded in k.fail.
func (k *Keypad) fill(ctx context.Context) error {
	dl, hasDL := ctx.Deadline()
	if err := k.f.SetReadDeadline(dl); err != nil {
		return k.readErr(err)
	}
	// A cancel without a deadline moves the deadline into the past to
	// wake the read. Wait for that to finish so that it cannot reach
	// into the next ReadKey's read.
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		k.f.SetReadDeadline(longAgo)
		close(fired)
	})
	n, err := k.f.Read(k.buf[k.tail:])
	if !stop() {
		<-fired
	}
	if n > 0 {
		k.decode(n)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, os.ErrDeadlineExceeded):
		if cerr := ctx.Err(); cerr != nil {
			return ctxErr(cerr)
		}
		if hasDL && !time.Now().Before(dl) {
			// The poller's timer beat the context's own.
			return ctxErr(context.DeadlineExceeded)
		}
		return nil // a stale wake-up: read again
	default:
		return k.readErr(err)
	}
}

// readErr turns a read error into ErrClosed, or records a lost device.
func (k *Keypad) readErr(err error) error {
	if errors.Is(err, os.ErrClosed) {
		return ErrClosed
	}
	if errors.Is(err, io.EOF) {
		err = errors.New("end of file")
	}
	// ENODEV after an unplug, EIO on some USB hubs, EOF on a pipe: the
	// device will not come back under this file.
	k.mu.Lock()
	if k.fail == nil {
		k.fail = k.lostErr(err)
	}
	k.mu.Unlock()
	return nil
}

// decode handles n new bytes after the kept tail.
func (k *Keypad) decode(n int) {
	data := k.buf[:k.tail+n]
	evs, used, skipped := Decode(data, k.set.size)
	k.tail = copy(k.buf, data[used:])
	k.mu.Lock()
	defer k.mu.Unlock()
	k.stats.skipped += skipped
	for _, ev := range evs {
		switch {
		case ev.Type == EvSyn && ev.Code == SynDropped:
			// Presses may be lost, but those delivered are real; a key
			// driver need not rebuild state (EVIOCGKEY) for presses.
			k.stats.overflows++
		case ev.Type != EvKey, ev.Value == KeyRelease:
		case ev.Value == KeyRepeat && !k.set.Repeat:
			k.stats.repeats++
		case ev.Value == KeyPress, ev.Value == KeyRepeat:
			key, ok := k.set.keys[ev.Code]
			if !ok {
				k.stats.unknown++
				k.stats.lastUnknown = ev.Code
				continue
			}
			k.stats.presses++
			k.pending = append(k.pending, key)
		}
	}
}

// ctxErr wraps a context error in the hal error the application tests.
func ctxErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("evdev: %w: %w", hal.ErrTimeout, err)
	}
	return fmt.Errorf("evdev: %w: %w", hal.ErrCancelled, err)
}

// Close releases the device (closing also ends the grab). A blocked
// ReadKey returns ErrClosed at once: the poller wakes it.
func (k *Keypad) Close() error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil
	}
	k.closed = true
	k.mu.Unlock()
	if err := k.f.Close(); err != nil {
		return fmt.Errorf("evdev: %w", err)
	}
	return nil
}

// SelfTest checks, without reading, that the device is open and has not
// hung up, and reports its name, path and the counts since open.
func (k *Keypad) SelfTest(ctx context.Context) hal.SelfTestResult {
	start := time.Now()
	res := hal.SelfTestResult{Device: "keypad"}
	k.mu.Lock()
	closed, fail, st := k.closed, k.fail, k.stats
	k.mu.Unlock()
	err := fail
	switch {
	case closed:
		err = ErrClosed
	case fail == nil:
		if hup, perr := hungUp(k.f); perr != nil {
			err = fmt.Errorf("evdev: %s: poll: %w", k.path, perr)
		} else if hup {
			err = k.lostErr(errors.New("hung up"))
		}
	}
	res.Took = time.Since(start)
	res.Detail = k.describe(st)
	if err != nil {
		res.Detail += ": " + err.Error()
		return res
	}
	res.OK = true
	return res
}

// describe renders the device and counts for the self-test.
func (k *Keypad) describe(st stats) string {
	var b strings.Builder
	b.WriteString("evdev " + k.path)
	if k.name != "" {
		fmt.Fprintf(&b, " %q", k.name)
	}
	fmt.Fprintf(&b, ", %d-byte records, %d keys mapped", k.set.size, len(k.set.keys))
	switch {
	case k.grabbed:
		b.WriteString(", grabbed")
	case k.set.NoGrab:
		b.WriteString(", shared (not grabbed)")
	case k.grabErr != nil:
		fmt.Fprintf(&b, ", not grabbed (%v)", k.grabErr)
	}
	if k.set.Repeat {
		b.WriteString(", autorepeat on")
	}
	fmt.Fprintf(&b, ", %d presses", st.presses)
	if st.unknown > 0 {
		fmt.Fprintf(&b, ", %d unmapped (last code %d)", st.unknown, st.lastUnknown)
	}
	if st.repeats > 0 {
		fmt.Fprintf(&b, ", %d repeats ignored", st.repeats)
	}
	if st.skipped > 0 {
		fmt.Fprintf(&b, ", %d bytes skipped to resync", st.skipped)
	}
	if st.overflows > 0 {
		fmt.Fprintf(&b, ", %d kernel overflows", st.overflows)
	}
	return b.String()
}

// Keys lists the keys of the key map, for the "press every key" check.
func (k *Keypad) Keys() []hal.Key {
	keys := make([]hal.Key, 0, len(k.set.keys))
	for _, key := range k.set.keys {
		keys = append(keys, key)
	}
	return hal.SortedKeys(keys)
}
