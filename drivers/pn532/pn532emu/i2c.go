package pn532emu

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
)

// Bus is the emulator on an I2C bus, as periph's i2c.Bus: the chip at
// address 0x24 takes frames by write transactions and gives its answers
// to read transactions that begin with a status byte.
type Bus struct {
	e    *Emulator
	host *io.PipeWriter // what the host writes, to the emulator
	mu   sync.Mutex
	out  [][]byte // the chip's frames waiting to be read
	part []byte
}

// I2C serves e on a new emulated I2C bus.
func I2C(e *Emulator) *Bus {
	pr, pw := io.Pipe()
	b := &Bus{e: e, host: pw}
	go e.Serve(struct {
		io.Reader
		io.Writer
	}{pr, (*busWriter)(b)})
	return b
}

// busWriter collects what the emulator writes into frames.
type busWriter Bus

func (w *busWriter) Write(p []byte) (int, error) {
	b := (*Bus)(w)
	b.mu.Lock()
	defer b.mu.Unlock()
	// The emulator writes one frame per call.
	b.out = append(b.out, append([]byte{}, p...))
	return len(p), nil
}

func (b *Bus) String() string { return "pn532emu-i2c" }

func (b *Bus) SetSpeed(physic.Frequency) error { return nil }

// Tx is one transaction at addr.
func (b *Bus) Tx(addr uint16, w, r []byte) error {
	if addr != 0x24 {
		return fmt.Errorf("pn532emu: no device at I2C address %#x", addr)
	}
	if len(w) > 0 {
		if _, err := b.host.Write(w); err != nil {
			return errors.New("pn532emu: bus closed")
		}
	}
	if len(r) == 0 {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	clear(r)
	if len(b.out) == 0 {
		return nil // status 00: not ready
	}
	r[0] = 0x01
	if len(r) == 1 {
		return nil // a status poll leaves the frame for the read
	}
	copy(r[1:], b.out[0])
	b.out = b.out[1:]
	return nil
}

// Close ends the emulator's session.
func (b *Bus) Close() error { return b.host.Close() }

var _ i2c.Bus = (*Bus)(nil)
