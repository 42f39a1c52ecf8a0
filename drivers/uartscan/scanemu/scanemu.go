// Package scanemu plays a serial barcode scan engine on a pseudo-terminal,
// so that the real uartscan driver, serial library and termios settings
// can be tested without the hardware. The driver opens Path() as its
// serial port; the test arms, presents codes and injects faults through
// the Module. A module made with New has no line of its own and serves
// whatever connection it is given (a socket that qemu wires to a guest's
// serial port), one at a time.
//
// The module behaves like a Honeywell engine in serial-trigger mode by
// default: the trigger-on command starts reading, a good read sends the
// code plus the suffix and stops reading, the trigger-off command stops
// it. It compares the line settings the driver put on the port with its
// own, as a real UART would, and sends garbage when they differ (baud rate
// and stop bits: a pseudo-terminal does not keep data bits or parity).
package scanemu

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/shoukuan/pos/drivers/internal/pty"
	"github.com/shoukuan/pos/hal"
)

// ErrNotArmed is returned by Present when the module is not reading.
var ErrNotArmed = errors.New("scanemu: module not triggered")

// ErrNoLine is returned by Send when no terminal is connected.
var ErrNoLine = errors.New("scanemu: no terminal on the line")

// Options configure the module. The zero value is a Honeywell-style
// engine at 115200 8N1 with a CR suffix.
type Options struct {
	Baud    int    // the module's own line rate (115200)
	Framing string // "8N1"; only the stop bits are compared (see LineSettings)
	Suffix  string // raw bytes sent after each code ("\r")
	// TriggerOn and TriggerOff are the commands the module obeys
	// (Honeywell SYN T CR / SYN U CR when empty).
	TriggerOn, TriggerOff string
	Presentation          bool // always reading; trigger commands are ignored
	StayOn                bool // keep reading after a good read
	AIM                   bool // prefix codes with their AIM symbology identifier
}

// Module is a running emulated scanner.
type Module struct {
	opts   Options
	master *os.File // nil for a module made with New
	slave  *os.File // held open: the line stays up between driver opens
	path   string

	mu        sync.Mutex
	conn      io.Writer // where codes go: the pty or the connection served
	triggered bool
	received  []byte // everything the driver sent, not yet taken
	cmd       []byte // bytes since the last recognised command
	changed   chan struct{}
	gone      bool
	done      chan struct{}
}

// Start opens a pseudo-terminal and starts the module on it.
func Start(o Options) (*Module, error) {
	m := New(o)
	master, slave, path, err := pty.Open(m.opts.Baud, m.opts.Framing)
	if err != nil {
		return nil, fmt.Errorf("scanemu: %w", err)
	}
	m.master, m.slave, m.path, m.conn = master, slave, path, master
	go func() {
		defer close(m.done)
		m.listen(master)
	}()
	return m, nil
}

// New makes a module without a line; Serve connects it to one.
func New(o Options) *Module {
	if o.Baud == 0 {
		o.Baud = 115200
	}
	if o.Framing == "" {
		o.Framing = "8N1"
	}
	if o.Suffix == "" {
		o.Suffix = "\r"
	}
	if o.TriggerOn == "" && o.TriggerOff == "" {
		o.TriggerOn, o.TriggerOff = "\x16T\r", "\x16U\r"
	}
	return &Module{opts: o, changed: make(chan struct{}), done: make(chan struct{})}
}

// Serve is the module's line while rw's reads last: it obeys what the
// terminal sends and sends its codes there. The trigger state outlives
// the connection, as a module's outlives its terminal's reboot.
func (m *Module) Serve(rw io.ReadWriter) {
	m.mu.Lock()
	m.conn = rw
	m.mu.Unlock()
	m.listen(rw)
	m.mu.Lock()
	if m.conn == rw {
		m.conn = nil
	}
	m.mu.Unlock()
}

// Path is the serial device the driver should open.
func (m *Module) Path() string { return m.path }

// listen reads what the driver sends and obeys trigger commands.
func (m *Module) listen(r io.Reader) {
	buf := make([]byte, 256)
	for {
		n, err := r.Read(buf)
		m.mu.Lock()
		if n > 0 {
			m.received = append(m.received, buf[:n]...)
			for _, b := range buf[:n] {
				m.command(b)
			}
		}
		m.broadcast()
		m.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// command feeds one received byte to the command recogniser; holds mu.
func (m *Module) command(b byte) {
	m.cmd = append(m.cmd, b)
	switch {
	case bytes.HasSuffix(m.cmd, []byte(m.opts.TriggerOn)):
		m.triggered = true
		m.cmd = m.cmd[:0]
	case bytes.HasSuffix(m.cmd, []byte(m.opts.TriggerOff)):
		m.triggered = false
		m.cmd = m.cmd[:0]
	case len(m.cmd) > 64: // unknown bytes: a real module ignores them too
		m.cmd = append(m.cmd[:0], m.cmd[len(m.cmd)-16:]...)
	}
}

// broadcast wakes waiters; holds mu.
func (m *Module) broadcast() {
	close(m.changed)
	m.changed = make(chan struct{})
}

// Triggered reports whether the module is reading.
func (m *Module) Triggered() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.triggered || m.opts.Presentation
}

// WaitTriggered waits until the module is reading (on) or not.
func (m *Module) WaitTriggered(on bool, timeout time.Duration) error {
	return m.wait(timeout, func() bool { return (m.triggered || m.opts.Presentation) == on }, fmt.Sprintf("trigger %v", on))
}

// Received returns what the driver has sent since the last take.
func (m *Module) Received() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]byte(nil), m.received...)
}

// TakeReceived returns and forgets what the driver has sent.
func (m *Module) TakeReceived() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.received
	m.received = nil
	return r
}

// WaitReceived waits until the driver has sent at least n bytes since the
// last take, then takes them.
func (m *Module) WaitReceived(n int, timeout time.Duration) ([]byte, error) {
	err := m.wait(timeout, func() bool { return len(m.received) >= n }, fmt.Sprintf("%d bytes from the driver", n))
	return m.TakeReceived(), err
}

func (m *Module) wait(timeout time.Duration, cond func() bool, what string) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		m.mu.Lock()
		ok, ch := cond(), m.changed
		m.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return fmt.Errorf("scanemu: no %s within %v", what, timeout)
		}
	}
}

// aimIDs are the identifiers the module puts before each symbology.
var aimIDs = map[hal.Symbology]string{hal.SymQR: "]Q1", hal.SymCode128: "]C0", hal.SymEAN13: "]E0"}

// line is what the module sends for a code.
func (m *Module) line(c hal.Code) []byte {
	var b []byte
	if m.opts.AIM {
		id, ok := aimIDs[c.Symbology]
		if !ok {
			id = "]X0"
		}
		b = append(b, id...)
	}
	b = append(b, c.Text...)
	return append(b, m.opts.Suffix...)
}

// Present shows a code to the module. If it is reading, it sends the code
// in one write and, unless StayOn, stops reading, as after a good read.
func (m *Module) Present(c hal.Code) error { return m.PresentSplit(c, 1, 0) }

// PresentSplit sends the code in pieces writes with pause between them,
// as a module behind a slow or buffered link may.
func (m *Module) PresentSplit(c hal.Code, pieces int, pause time.Duration) error {
	m.mu.Lock()
	if !m.triggered && !m.opts.Presentation {
		m.mu.Unlock()
		return ErrNotArmed
	}
	if !m.opts.StayOn {
		m.triggered = false
	}
	m.mu.Unlock()
	data := m.line(c)
	if ok, err := m.matches(); err != nil {
		return err
	} else if !ok {
		data = garble(data)
	}
	if pieces < 1 {
		pieces = 1
	}
	size := (len(data) + pieces - 1) / pieces
	for len(data) > 0 {
		k := min(size, len(data))
		if err := m.Send(data[:k]); err != nil {
			return err
		}
		data = data[k:]
		if len(data) > 0 {
			time.Sleep(pause)
		}
	}
	return nil
}

// Send writes raw bytes to the driver whatever the trigger state: noise,
// partial or over-long lines.
func (m *Module) Send(raw []byte) error {
	m.mu.Lock()
	w := m.conn
	m.mu.Unlock()
	if w == nil {
		return ErrNoLine
	}
	_, err := w.Write(raw)
	if err != nil {
		return fmt.Errorf("scanemu: %w", err)
	}
	return nil
}

// Garbage sends what a UART at the wrong rate makes of n bytes.
func (m *Module) Garbage(n int) error {
	return m.Send(garble(bytes.Repeat([]byte("0123456789"), n/10+1)[:n]))
}

// garble maps each byte to two with the top bit set or the low bits
// clear, the way a receiver at a different baud rate splits and smears
// characters. The result never contains CR or LF, so it never looks like
// the end of a line.
func garble(b []byte) []byte {
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, 0x80|c>>1, ^c&0xf8)
	}
	return out
}

// LineSettings reports the baud rate and stop bits the driver set. Data
// bits and parity cannot be seen: the kernel forces a pseudo-terminal to
// 8 bits without parity whatever is asked.
func (m *Module) LineSettings() (baud, stopBits int, err error) {
	return pty.LineSettings(m.slave)
}

// matches reports whether the driver's line settings are the module's,
// as far as a pseudo-terminal shows them; a socket has none to differ.
func (m *Module) matches() (bool, error) {
	if m.slave == nil {
		return true, nil
	}
	baud, stop, err := m.LineSettings()
	if err != nil {
		return false, fmt.Errorf("scanemu: %w", err)
	}
	return baud == m.opts.Baud && stop == int(m.opts.Framing[2]-'0'), nil
}

// Disconnect hangs up the line, as when the module's cable or USB bridge
// is pulled: the driver's reads end and its writes fail.
func (m *Module) Disconnect() error {
	m.mu.Lock()
	if m.gone || m.master == nil {
		m.mu.Unlock()
		return nil
	}
	m.gone = true
	m.mu.Unlock()
	err := m.master.Close()
	m.slave.Close()
	<-m.done
	return err
}

// Close stops the module.
func (m *Module) Close() error { return m.Disconnect() }
