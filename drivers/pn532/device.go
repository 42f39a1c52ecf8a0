package pn532

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/shoukuan/pos/hal"
)

// ErrNoAnswer: nothing came back (the wrong port or baud rate, no
// power, or no PN532 at all).
var ErrNoAnswer = errors.New("pn532: no answer (check the port, the baud rate and the wiring)")

// device is the command layer: one command at a time, frame, ACK, answer,
// our ACK; NACK and retry on a garbled frame.
type device struct {
	port io.ReadWriteCloser
	in   chan []byte // chunks from the pump
	buf  []byte
	dead chan struct{}
	quit chan struct{}
	err  error // why the pump stopped

	mu      sync.Mutex // one command at a time
	timeout time.Duration
}

// newDevice starts the pump on port.
func newDevice(port io.ReadWriteCloser, timeout time.Duration) *device {
	d := &device{port: port, in: make(chan []byte, 64), dead: make(chan struct{}), quit: make(chan struct{}), timeout: timeout}
	go d.pump()
	return d
}

// pump is the only reader of the port. A read that returns nothing (a
// UART's read timeout) is silence, not an end.
func (d *device) pump() {
	defer close(d.dead)
	fast := 0
	for {
		b := make([]byte, 512)
		start := time.Now()
		n, err := d.port.Read(b)
		if n > 0 {
			fast = 0
			select {
			case d.in <- b[:n]:
			case <-d.quit:
				return
			}
			continue
		}
		if err != nil && err != io.EOF {
			d.err = err
			return
		}
		// tarm/serial reports its read timeout as 0, EOF; a line that
		// says EOF at once, again and again, is closed or hung up.
		if time.Since(start) < 5*time.Millisecond {
			if fast++; fast > 20 {
				d.err = io.EOF
				return
			}
			time.Sleep(time.Millisecond)
		} else {
			fast = 0
		}
	}
}

// ReadByte gives the next byte from the line, ErrNoAnswer after the
// timeout.
type lineReader struct {
	d        *device
	deadline time.Time
}

func (l *lineReader) ReadByte() (byte, error) {
	d := l.d
	for len(d.buf) == 0 {
		wait := time.Until(l.deadline)
		if wait <= 0 {
			return 0, ErrNoAnswer
		}
		select {
		case b := <-d.in:
			d.buf = b
		case <-d.dead:
			return 0, fmt.Errorf("pn532: %w: %v", hal.ErrDisconnected, d.err)
		case <-time.After(wait):
			return 0, ErrNoAnswer
		}
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b, nil
}

func (d *device) send(b []byte) error {
	_, err := d.port.Write(b)
	if err != nil {
		return fmt.Errorf("pn532: %w: %v", hal.ErrDisconnected, err)
	}
	return nil
}

// flush drops what the line holds: a late answer to an abandoned command
// must not be taken for the next one's.
func (d *device) flush() {
	d.buf = nil
	for {
		select {
		case <-d.in:
		default:
			return
		}
	}
}

// errUnknownOutcome: a command that acts on the card (InDataExchange) was
// sent and its answer never came: it must not be sent again, since the
// card may have acted on it (a GENERATE AC twice).
var errUnknownOutcome = errors.New("pn532: no answer to a command the card may have acted on")

// errChipNACK: the chip did not take the frame and asks for it again.
var errChipNACK = errors.New("pn532: the chip asked for the command again (NACK)")

// command sends cmd with params and returns the answer's data after the
// response code. wait bounds the answer (the ACK comes within the
// device's timeout). A command is sent again only while the chip has not
// taken it (no ACK, no answer), and a card command not even then.
func (d *device) command(ctx context.Context, cmd byte, params []byte, wait time.Duration) ([]byte, error) {
	return d.exchange(ctx, cmd, params, wait, cmd != cmdInDataExchange)
}

func (d *device) exchange(ctx context.Context, cmd byte, params []byte, wait time.Duration, resend bool) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	frame, err := EncodeFrame(tfiHost, append([]byte{cmd}, params...))
	if err != nil {
		return nil, err
	}
	d.flush()
	var resp Frame
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if attempt >= 3 {
			return nil, fmt.Errorf("pn532: command %02X: %w", cmd, err)
		}
		if err = d.send(frame); err != nil {
			return nil, err
		}
		var taken bool
		resp, taken, err = d.await(cmd, wait, !resend)
		if err == nil {
			break
		}
		if errors.Is(err, ErrSyntax) || errors.Is(err, hal.ErrDisconnected) {
			return nil, fmt.Errorf("pn532: command %02X: %w", cmd, err)
		}
		if taken || !resend && !errors.Is(err, errChipNACK) {
			// The chip has it; its outcome is unknown. An ACK aborts what
			// it may still be doing, and what it says late is dropped.
			d.send(ackFrame)
			d.flush()
			return nil, fmt.Errorf("%w: command %02X: %v", errUnknownOutcome, cmd, err)
		}
		d.flush()
	}
	d.send(ackFrame)
	return resp.Data[1:], nil
}

// await reads the ACK (tolerating a lost one) and the answer, asking
// again with a NACK for a garbled answer. taken reports that the chip
// had the command (it ACKed or answered). patient waits the whole answer
// time even without an ACK: a lost ACK must not make a card command go
// twice.
func (d *device) await(cmd byte, wait time.Duration, patient bool) (f Frame, taken bool, err error) {
	first := d.timeout
	if patient {
		first = wait
	}
	r := &lineReader{d: d, deadline: time.Now().Add(first)}
	for nacks := 0; ; {
		f, err := ReadFrame(r)
		switch {
		case errors.Is(err, ErrChecksum) && nacks < 3:
			nacks++
			taken = true
			if err := d.send(nackFrame); err != nil {
				return Frame{}, taken, err
			}
			r.deadline = time.Now().Add(wait)
			continue
		case err != nil:
			return Frame{}, taken, err
		case f.NACK:
			return Frame{}, false, errChipNACK
		case f.ACK:
			taken = true
			r.deadline = time.Now().Add(wait)
			continue
		case f.TFI == tfiError:
			return Frame{}, true, ErrSyntax
		case f.TFI != tfiChip || len(f.Data) == 0:
			return Frame{}, true, fmt.Errorf("%w: an answer that is not to command %02X", ErrFrame, cmd)
		case f.Data[0] != cmd+1:
			// A late answer to an earlier command that timed out: not
			// this one's. Dropped; the right one may still come.
			continue
		}
		// An answer without an ACK before it: the ACK was lost on the
		// line; the answer stands.
		return f, true, nil
	}
}

// wakeUp brings a chip out of power-down or LowVbat (HSU): a long
// preamble of 55 and zeros, then SAMConfiguration, which must be the
// first command after it.
func (d *device) wakeUp(ctx context.Context) error {
	d.mu.Lock()
	err := d.send(append([]byte{0x55, 0x55}, make([]byte, 14)...))
	d.mu.Unlock()
	if err != nil {
		return err
	}
	_, err = d.command(ctx, cmdSAMConfiguration, []byte{0x01, 0x14, 0x01}, d.timeout)
	return err
}

func (d *device) close() error {
	close(d.quit)
	err := d.port.Close()
	<-d.dead
	return err
}

// Command codes (UM0701-02 §7).
const (
	cmdDiagnose            = 0x00
	cmdGetFirmwareVersion  = 0x02
	cmdSAMConfiguration    = 0x14
	cmdRFConfiguration     = 0x32
	cmdInDataExchange      = 0x40
	cmdInListPassiveTarget = 0x4A
	cmdInRelease           = 0x52
)
