package pn532

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"periph.io/x/conn/v3/i2c"
)

// I2CAddress is the PN532's 7-bit I2C address.
const I2CAddress = 0x24

// i2cPort makes the PN532's I2C interface a byte stream for the driver.
// Writes are frames; a read starts with the chip's status byte (bit 0:
// a frame is ready) and then carries the frame, which one read takes
// whole (UM0701-02 §6.2.4).
type i2cPort struct {
	bus    i2c.Bus
	addr   uint16
	closer io.Closer
	done   chan struct{}
	once   sync.Once
}

// tx retries a transaction the bus refused: a chip waking from power
// down may not acknowledge its address at once.
func (p *i2cPort) tx(w, r []byte) error {
	var err error
	for try := 0; try < 3; try++ {
		if err = p.bus.Tx(p.addr, w, r); err == nil {
			return nil
		}
		time.Sleep(time.Duration(try+1) * time.Millisecond)
	}
	return err
}

// maxI2CRead is a status byte and the longest frame.
const maxI2CRead = 1 + 8 + maxData + 1 + 2

func (p *i2cPort) Write(b []byte) (int, error) {
	select {
	case <-p.done:
		return 0, io.ErrClosedPipe
	default:
	}
	// HSU's wake-up preamble means nothing on I2C; the bus address wakes
	// the chip.
	if len(b) > 2 && b[0] == 0x55 && b[1] == 0x55 {
		return len(b), nil
	}
	if err := p.tx(b, nil); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Read polls the status byte for up to 50 ms (the driver's pump sees
// silence as a read that came back empty), then reads the frame.
func (p *i2cPort) Read(b []byte) (int, error) {
	deadline := time.Now().Add(50 * time.Millisecond)
	st := []byte{0}
	for {
		select {
		case <-p.done:
			return 0, io.ErrClosedPipe
		default:
		}
		if err := p.tx(nil, st); err != nil {
			return 0, err
		}
		if st[0]&0x01 != 0 {
			break
		}
		if time.Now().After(deadline) {
			return 0, io.EOF
		}
		time.Sleep(time.Millisecond)
	}
	buf := make([]byte, maxI2CRead)
	if err := p.tx(nil, buf); err != nil {
		return 0, err
	}
	frame := trimFrame(buf[1:])
	return copy(b, frame), nil
}

// trimFrame cuts what the chip clocked out after the frame.
func trimFrame(b []byte) []byte {
	for i := 0; i+4 < len(b); i++ {
		if b[i] != 0x00 || b[i+1] != 0xFF {
			continue
		}
		l, lcs := b[i+2], b[i+3]
		end := 0
		switch {
		case l == 0x00 && lcs == 0xFF, l == 0xFF && lcs == 0x00:
			end = i + 5 // ACK, NACK and the postamble
		case l == 0xFF && lcs == 0xFF && i+6 < len(b):
			end = i + 7 + (int(b[i+4])<<8 | int(b[i+5])) + 2
		default:
			end = i + 4 + int(l) + 2
		}
		if end > len(b) {
			end = len(b)
		}
		return b[:end]
	}
	return b
}

func (p *i2cPort) Close() error {
	var err error
	p.once.Do(func() {
		close(p.done)
		if p.closer != nil {
			err = p.closer.Close()
		}
	})
	return err
}

// NewI2C starts a reader on a PN532 wired to an I2C bus (periph), at
// I2CAddress. closer, if not nil, closes the bus with the reader.
func NewI2C(ctx context.Context, bus i2c.Bus, closer io.Closer, o Options) (*Reader, error) {
	if bus == nil {
		return nil, errors.New("pn532: no I2C bus")
	}
	r, err := New(ctx, &i2cPort{bus: bus, addr: I2CAddress, closer: closer, done: make(chan struct{})}, o)
	if err != nil {
		return nil, fmt.Errorf("pn532 on I2C %s: %w", bus, err)
	}
	return r, nil
}
