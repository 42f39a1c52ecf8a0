// Package pn532emu is a PN532 on the wire: it answers the frames of NXP
// UM0701-02 the way the chip does, with the virtual cards of
// testdata/cards in its field (the same chip model the fake reader
// carries, drivers/vcard). It runs in memory for unit tests and on a
// pseudo-terminal for the real driver or libnfc's nfc-list. Faults can be
// asked for: a bad checksum, a NACK, a lost ACK, a slow answer, a card
// taken away during an exchange, two cards in the field.
package pn532emu

import (
	"bufio"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/shoukuan/pos/drivers/fake"
	"github.com/shoukuan/pos/drivers/pn532"
	"github.com/shoukuan/pos/drivers/vcard"
)

var (
	ackFrame   = []byte{0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00}
	nackFrame  = []byte{0x00, 0x00, 0xFF, 0xFF, 0x00, 0x00}
	errorFrame = []byte{0x00, 0x00, 0xFF, 0x01, 0xFF, 0x7F, 0x81, 0x00}
)

// Fault is a misbehaviour for the next command.
type Fault string

const (
	BadChecksum  Fault = "bad-checksum"  // the next response's data checksum is wrong
	SendNACK     Fault = "nack"          // the next command is answered with a NACK, not an ACK
	LoseACK      Fault = "lose-ack"      // the next command's ACK is not sent
	Slow         Fault = "slow"          // the next response comes after Options.SlowDelay
	RemoveMidway Fault = "remove-midway" // the card leaves before the next InDataExchange is answered
)

// Options configure an emulator.
type Options struct {
	// Baud paces the bytes it writes as a UART at this rate would
	// (0: as fast as the pipe takes them).
	Baud int
	// Chunk is the most response data of one InDataExchange frame; more
	// is chained (MI). 0 means 252.
	Chunk int
	// SlowDelay is the Slow fault's delay (1 s when 0).
	SlowDelay time.Duration
}

// target is a card in the field.
type target struct {
	name     string
	uid      []byte
	card     *vcard.Card
	session  *vcard.Session
	pending  []byte // chained response data still to send
	incoming []byte // chained command data received so far
	active   bool   // selected by InListPassiveTarget
}

// Emulator is one PN532. Its methods are safe for concurrent use.
type Emulator struct {
	o Options

	mu         sync.Mutex
	field      []*target
	rfOn       bool
	samDone    bool
	regs       map[uint16]byte
	faults     []Fault
	last       []byte // the last response frame, for a NACK
	commands   map[byte]int
	maxRetries byte
	bytesIn    int
	bytesOut   int
}

// New makes an emulator with an empty field.
func New(o Options) *Emulator {
	if o.Chunk <= 0 || o.Chunk > 252 {
		o.Chunk = 252
	}
	if o.SlowDelay <= 0 {
		o.SlowDelay = time.Second
	}
	return &Emulator{o: o, regs: map[uint16]byte{}, commands: map[byte]int{}, maxRetries: 0xFF}
}

// UID is the 4-byte random-style UID the emulator gives a card: the
// first byte 08 says "random", as payment cards use.
func UID(name string) []byte {
	sum := sha256.Sum256([]byte(name))
	return []byte{0x08, sum[0], sum[1], sum[2]}
}

// Place puts a virtual card into the field. Only a card with a chip and
// a contactless interface answers as ISO 14443-4.
func (e *Emulator) Place(p *fake.CardProfile) error {
	chip := p.ChipCard()
	if chip == nil {
		return fmt.Errorf("pn532emu: card %s has no chip application", p.Name)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, t := range e.field {
		if t.name == p.Name {
			return nil
		}
	}
	e.field = append(e.field, &target{name: p.Name, uid: UID(p.Name), card: chip})
	return nil
}

// PlaceTag puts a card that is not ISO 14443-4 into the field: a
// transit or access card (MIFARE Classic, SAK 08).
func (e *Emulator) PlaceTag(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.field = append(e.field, &target{name: name, uid: UID(name)})
}

// Remove takes a card out of the field ("" takes them all).
func (e *Emulator) Remove(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var keep []*target
	for _, t := range e.field {
		if name != "" && t.name != name {
			keep = append(keep, t)
		}
	}
	e.field = keep
}

// Inject asks for a fault on the next command.
func (e *Emulator) Inject(f Fault) {
	e.mu.Lock()
	e.faults = append(e.faults, f)
	e.mu.Unlock()
}

func (e *Emulator) fault(f Fault) bool {
	for i, x := range e.faults {
		if x == f {
			e.faults = append(e.faults[:i], e.faults[i+1:]...)
			return true
		}
	}
	return false
}

// Commands counts the commands received, by command code.
func (e *Emulator) Commands(code byte) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.commands[code]
}

// Bytes is how many bytes went in (from the host) and out.
func (e *Emulator) Bytes() (in, out int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.bytesIn, e.bytesOut
}

// MaxRetries is the passive activation retry count the host set (FF,
// the chip's default, polls for ever).
func (e *Emulator) MaxRetries() byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.maxRetries
}

// RFOn reports whether the RF field is on.
func (e *Emulator) RFOn() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.rfOn
}

// countingReader counts bytes from the host.
type countingReader struct {
	r io.Reader
	e *Emulator
}

func (c countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.e.mu.Lock()
	c.e.bytesIn += n
	c.e.mu.Unlock()
	return n, err
}

// Serve answers the host on rw until it is closed.
func (e *Emulator) Serve(rw io.ReadWriter) error {
	br := bufio.NewReader(countingReader{rw, e})
	for {
		f, err := pn532.ReadFrame(br)
		if errors.Is(err, pn532.ErrChecksum) {
			continue // the chip ignores a garbled frame: the host times out and sends it again
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			return err
		}
		switch {
		case f.ACK:
			continue // the host's ACK of our response
		case f.NACK:
			e.mu.Lock()
			last := e.last
			e.mu.Unlock()
			if last != nil {
				e.write(rw, last)
			}
			continue
		}
		if f.TFI != 0xD4 || len(f.Data) == 0 {
			e.write(rw, errorFrame)
			continue
		}
		e.mu.Lock()
		nack, lose, slow := e.fault(SendNACK), e.fault(LoseACK), e.fault(Slow)
		e.commands[f.Data[0]]++
		e.mu.Unlock()
		if nack {
			e.write(rw, nackFrame)
			continue
		}
		if !lose {
			e.write(rw, ackFrame)
		}
		if slow {
			time.Sleep(e.o.SlowDelay)
		}
		resp := e.handle(f.Data[0], f.Data[1:])
		var out []byte
		if resp == nil {
			out = errorFrame
		} else {
			if out, err = pn532.EncodeFrame(0xD5, resp); err != nil {
				out = errorFrame
			}
		}
		e.mu.Lock()
		if e.fault(BadChecksum) {
			bad := append([]byte{}, out...)
			bad[len(bad)-2] ^= 0x5A
			e.last = out
			out = bad
		} else {
			e.last = out
		}
		e.mu.Unlock()
		e.write(rw, out)
	}
}

// write sends bytes, at the line's pace when a baud rate is set.
func (e *Emulator) write(w io.Writer, b []byte) {
	if e.o.Baud > 0 {
		time.Sleep(time.Duration(len(b)) * 10 * time.Second / time.Duration(e.o.Baud))
	}
	w.Write(b)
	e.mu.Lock()
	e.bytesOut += len(b)
	e.mu.Unlock()
}
