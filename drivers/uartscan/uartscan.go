// Package uartscan drives a barcode scan engine on a serial port (the
// usual payment-terminal module: Honeywell, Newland, Zebra and their
// clones). The module sends each decoded code as one line of text ending
// in a fixed suffix; the driver arms it with serial trigger commands, or
// leaves it reading continuously and drops what arrives while disarmed.
//
// One goroutine (the pump) reads the port. Every read has a timeout,
// because closing a serial port does not interrupt a blocked read: the
// pump wakes at least once per read timeout to notice Close, silence
// (partial lines) and a vanished device.
package uartscan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sync"
	"time"

	"github.com/shoukuan/pos/hal"
)

// ErrClosed is returned after Close.
var ErrClosed = errors.New("uartscan: scanner closed")

// queueMax bounds the lines kept for a reader that does not come: a
// module left triggered in front of a code can send it many times.
const queueMax = 8

// Scanner is the driver. It implements hal.Scanner and hal.SelfTester.
type Scanner struct {
	set  settings
	port io.ReadWriteCloser

	// ctl orders trigger commands with the armed state, so that a re-arm
	// by the pump can never follow a disarm by the application.
	ctl sync.Mutex

	mu      sync.Mutex
	framer  *Framer
	enabled bool
	queue   []result
	wake    chan struct{} // closed and replaced whenever Read has news
	fail    error         // the port is gone; sticky
	closed  bool

	done chan struct{} // the pump has exited and the port is closed
}

type result struct {
	code hal.Code
	err  error
}

// Open opens the port, sends the trigger-off command (a module may still
// be armed from before a crash) and starts reading.
func Open(c Config) (*Scanner, error) {
	set, err := c.check()
	if err != nil {
		return nil, fmt.Errorf("uartscan: %w", err)
	}
	fr, err := NewFramer(set.suffix, set.MaxLen, set.Gap)
	if err != nil {
		return nil, fmt.Errorf("uartscan: %w", err)
	}
	port, err := openPort(set)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) { // already names the port
			return nil, fmt.Errorf("uartscan: %w", err)
		}
		return nil, fmt.Errorf("uartscan: open %s: %w", set.Port, err)
	}
	s := &Scanner{set: set, port: port, framer: fr, wake: make(chan struct{}), done: make(chan struct{})}
	if err := s.send(set.TriggerOff); err != nil {
		port.Close()
		return nil, err
	}
	go s.pump()
	return s, nil
}

// send writes a trigger command; the caller holds ctl.
func (s *Scanner) send(cmd string) error {
	if cmd == "" {
		return nil
	}
	if _, err := io.WriteString(s.port, cmd); err != nil {
		return fmt.Errorf("uartscan: %s: %w: %v", s.set.Port, hal.ErrDisconnected, err)
	}
	return nil
}

// Enable arms or disarms the module. Queued lines are dropped either
// way: they were read for an earlier screen. A line cut short by disarming
// is reported to the next Read.
func (s *Scanner) Enable(on bool) error {
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.fail != nil {
		err := s.fail
		s.mu.Unlock()
		return err
	}
	s.enabled = on
	s.queue = nil
	aborted := s.framer.Abort()
	if aborted != nil && !on {
		s.queue = append(s.queue, result{err: aborted})
		s.notify()
	}
	s.mu.Unlock()
	if on {
		return s.send(s.set.TriggerOn)
	}
	return s.send(s.set.TriggerOff)
}

// Read waits for the next code or rejected line. A rejected line gives an
// error wrapping ErrBadLine and the scanner keeps working; a lost port
// gives hal.ErrDisconnected.
func (s *Scanner) Read(ctx context.Context) (hal.Code, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			r := s.queue[0]
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return r.code, r.err
		}
		if s.closed {
			s.mu.Unlock()
			return hal.Code{}, ErrClosed
		}
		if s.fail != nil {
			err := s.fail
			s.mu.Unlock()
			return hal.Code{}, err
		}
		wake := s.wake
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return hal.Code{}, fmt.Errorf("uartscan: %w: %w", hal.ErrTimeout, ctx.Err())
			}
			return hal.Code{}, fmt.Errorf("uartscan: %w: %w", hal.ErrCancelled, ctx.Err())
		case <-wake:
		}
	}
}

// notify wakes every waiting Read; the caller holds mu.
func (s *Scanner) notify() {
	close(s.wake)
	s.wake = make(chan struct{})
}

// Close disarms the module and closes the port. It returns once the pump
// has let go of the port, which takes at most one read timeout.
func (s *Scanner) Close() error {
	s.ctl.Lock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.ctl.Unlock()
		<-s.done
		return nil
	}
	s.closed = true
	wasOn, failed := s.enabled, s.fail != nil
	s.enabled = false
	s.queue = nil
	s.notify()
	s.mu.Unlock()
	if wasOn && !failed {
		s.send(s.set.TriggerOff) // best effort: leave the module idle
	}
	s.ctl.Unlock()
	<-s.done
	return nil
}

// pump is the only reader of the port.
func (s *Scanner) pump() {
	defer close(s.done)
	defer s.port.Close()
	buf := make([]byte, 4096)
	// A read that returns nothing well before its timeout means the line
	// was hung up (a pty master or a USB bridge went away); a few in a row
	// rule out a stray wake-up.
	vtime := s.set.ReadTimeout.Truncate(100 * time.Millisecond)
	fastEmpty := 0
	for {
		start := time.Now()
		n, err := s.port.Read(buf)
		now := time.Now()
		if n > 0 {
			fastEmpty = 0
		}
		switch {
		case err != nil && err != io.EOF:
			s.lost(err)
		case n == 0 && now.Sub(start) < vtime/2:
			if fastEmpty++; fastEmpty >= 3 {
				s.lost(errors.New("hung up"))
			}
		}
		if !s.take(now, buf[:n]) {
			return
		}
	}
}

// take frames what a read returned (nothing: a timed-out read, silence)
// and queues the results if the scanner is armed; what arrives while
// disarmed is dropped, errors included, since nobody asked for it.
// Framing and queueing happen under one lock so that Enable cuts the
// stream cleanly. It reports whether the pump should go on.
//
// In trigger mode the module is re-armed after each line: many modules
// stop reading after one code, and a rejected line must not leave the
// screen waiting on a scanner that no longer reads.
func (s *Scanner) take(now time.Time, chunk []byte) bool {
	s.mu.Lock()
	if s.closed || s.fail != nil {
		s.mu.Unlock()
		return false
	}
	var frames []Frame
	if len(chunk) > 0 {
		frames = s.framer.Push(now, chunk)
	} else {
		frames = s.framer.Idle(now)
	}
	if len(frames) == 0 || !s.enabled {
		s.mu.Unlock()
		return true
	}
	for _, f := range frames {
		r := result{err: f.Err}
		if f.Err == nil {
			r.code, r.err = Decode(f.Line, s.set.AIM)
		}
		if len(s.queue) < queueMax {
			s.queue = append(s.queue, r)
		}
	}
	s.notify()
	s.mu.Unlock()

	if s.set.TriggerOn == "" {
		return true
	}
	s.ctl.Lock()
	defer s.ctl.Unlock()
	s.mu.Lock()
	still := s.enabled && !s.closed
	s.mu.Unlock()
	if still {
		if err := s.send(s.set.TriggerOn); err != nil {
			s.setFail(err)
			return false
		}
	}
	return true
}

// lost records that the port is gone.
func (s *Scanner) lost(cause error) {
	s.setFail(fmt.Errorf("uartscan: %s: %w: %v", s.set.Port, hal.ErrDisconnected, cause))
}

// setFail makes err the answer to every later call and wakes readers.
func (s *Scanner) setFail(err error) {
	s.mu.Lock()
	if s.fail == nil && !s.closed {
		s.fail = err
		s.notify()
	}
	s.mu.Unlock()
}

// SelfTest checks that the port still takes commands by sending the one
// that matches the current state (so a waiting screen stays armed), and
// reports the port settings.
func (s *Scanner) SelfTest(ctx context.Context) hal.SelfTestResult {
	start := time.Now()
	res := hal.SelfTestResult{Device: "scanner"}
	s.ctl.Lock()
	s.mu.Lock()
	on, closed, fail := s.enabled, s.closed, s.fail
	s.mu.Unlock()
	var err error
	switch {
	case closed:
		err = ErrClosed
	case fail != nil:
		err = fail
	case on:
		err = s.send(s.set.TriggerOn)
	default:
		err = s.send(s.set.TriggerOff)
	}
	s.ctl.Unlock()
	res.Took = time.Since(start)
	if err != nil {
		res.Detail = fmt.Sprintf("uart %s: %v", s.set, err)
		return res
	}
	res.OK = true
	res.Detail = "uart " + s.set.String()
	if s.set.TriggerOn != "" {
		res.Detail += ", trigger command accepted"
	}
	return res
}
