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

// Errors a technician or the cashier can act on.
var (
	// ErrNotPayment: a card that is not ISO 14443-4 (a transit or access
	// card): this card cannot pay.
	ErrNotPayment = errors.New("pn532: this card cannot pay (not an ISO 14443-4 card)")
	// ErrCollision: two cards in the field at once.
	ErrCollision = errors.New("pn532: more than one card in the field; present one card")
	// ErrCardLeft: the card left the field during an exchange.
	ErrCardLeft = errors.New("pn532: the card left the field")
)

// Options configure a reader.
type Options struct {
	// Timeout bounds the chip's ACK and a quick answer (100 ms when 0).
	Timeout time.Duration
	// Poll is the pause between two polls of an empty field (100 ms
	// when 0).
	Poll time.Duration
	// MaxRetries is the chip's passive activation retries per poll,
	// finite so a poll never blocks (RFConfiguration item 5; 2 when 0).
	MaxRetries byte
}

// Reader is a PN532 as a hal.CardReader for taps: armed, it polls for
// one ISO 14443-4 type A card, hands it to the application as an APDU
// exchanger, and waits for it to leave before polling again. Disarmed,
// the RF field is off, once the card in use (if any) has left.
type Reader struct {
	d *device
	o Options

	cards chan cardEvent

	mu      sync.Mutex
	armed   bool
	stop    chan struct{}
	running bool
	active  bool // a card was handed over and has not left
	lastUse time.Time
	closed  bool
	wg      sync.WaitGroup

	delivered   int  // card events queued for the application, ever
	outstanding bool // an event was read and the reader not asked again since
}

// Delivered counts the card events (cards, and cards that cannot pay)
// the reader has found.
func (r *Reader) Delivered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.delivered
}

// Pending is the card events not yet taken in: queued, or read and the
// reader not yet asked for the next (the application is still on it).
func (r *Reader) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.cards)
	if r.outstanding {
		n++
	}
	return n
}

type cardEvent struct {
	card hal.Card
	err  error
}

// New starts a reader on an open port: wake-up, SAMConfiguration, a
// firmware check and a finite retry count. The port's reads must time
// out (tarm/serial with a read timeout) or end with the port.
func New(ctx context.Context, port io.ReadWriteCloser, o Options) (*Reader, error) {
	if o.Timeout <= 0 {
		o.Timeout = 100 * time.Millisecond
	}
	if o.Poll <= 0 {
		o.Poll = 100 * time.Millisecond
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = 2
	}
	r := &Reader{d: newDevice(port, o.Timeout), o: o, cards: make(chan cardEvent, 1)}
	if err := r.d.wakeUp(ctx); err != nil {
		r.d.close()
		return nil, err
	}
	if _, err := r.Firmware(ctx); err != nil {
		r.d.close()
		return nil, err
	}
	// MxRtyATR, MxRtyPSL, MxRtyPassiveActivation: never FF (for ever).
	if _, err := r.d.command(ctx, cmdRFConfiguration, []byte{0x05, 0xFF, 0x01, o.MaxRetries}, o.Timeout); err != nil {
		r.d.close()
		return nil, err
	}
	if err := r.field(ctx, false); err != nil {
		r.d.close()
		return nil, err
	}
	return r, nil
}

// Firmware is the chip's firmware: IC, version, revision, support.
func (r *Reader) Firmware(ctx context.Context) (string, error) {
	v, err := r.d.command(ctx, cmdGetFirmwareVersion, nil, r.o.Timeout)
	if err != nil {
		return "", err
	}
	if len(v) != 4 || v[0] != 0x32 {
		return "", fmt.Errorf("%w: firmware answer %X is not a PN532's", ErrFrame, v)
	}
	return fmt.Sprintf("PN532 v%d.%d (support %02X)", v[1], v[2], v[3]), nil
}

func (r *Reader) field(ctx context.Context, on bool) error {
	v := byte(0)
	if on {
		v = 1
	}
	_, err := r.d.command(ctx, cmdRFConfiguration, []byte{0x01, v}, r.o.Timeout)
	return err
}

// Enable arms the reader for taps (CardContactless); anything else
// disarms it. Chip and stripe are other readers' business.
func (r *Reader) Enable(modes hal.CardMode) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("pn532: %w: closed", hal.ErrDisconnected)
	}
	r.armed = modes&hal.CardContactless != 0
	if r.armed && !r.running {
		r.running = true
		r.stop = make(chan struct{})
		r.wg.Add(1)
		go r.poll(r.stop)
	}
	if !r.armed {
		// Nothing handed over and not yet taken is for anyone now.
		select {
		case ev := <-r.cards:
			if ev.card.APDU != nil {
				r.active = false
			}
		default:
		}
	}
	return nil
}

// Read waits for the next card (or a card that cannot pay).
func (r *Reader) Read(ctx context.Context) (hal.Card, error) {
	r.mu.Lock()
	r.outstanding = false
	r.mu.Unlock()
	select {
	case ev := <-r.cards:
		r.mu.Lock()
		r.outstanding = true
		r.mu.Unlock()
		return ev.card, ev.err
	case <-ctx.Done():
		return hal.Card{}, ctx.Err()
	}
}

// poll runs while the reader is armed or a card is in use.
func (r *Reader) poll(stop chan struct{}) {
	defer r.wg.Done()
	ctx := context.Background()
	fieldOn := false
	for {
		r.mu.Lock()
		armed, active, closed := r.armed, r.active, r.closed
		if !armed && !active || closed {
			r.running = false
			r.mu.Unlock()
			if fieldOn && !closed {
				r.field(ctx, false)
			}
			return
		}
		r.mu.Unlock()
		if active {
			// A card is in use: see that it is still there, now and
			// then, when the application is not talking to it.
			r.mu.Lock()
			idle := time.Since(r.lastUse)
			r.mu.Unlock()
			if idle > 300*time.Millisecond && !r.present(ctx) {
				r.release(ctx)
			}
			sleep(stop, r.o.Poll)
			continue
		}
		fieldOn = true
		ev, found := r.listOne(ctx)
		if found {
			r.mu.Lock()
			select {
			case r.cards <- ev:
				r.delivered++
			default: // the last one was not taken: keep it
			}
			r.mu.Unlock()
		}
		sleep(stop, r.o.Poll)
	}
}

func sleep(stop chan struct{}, d time.Duration) {
	select {
	case <-stop:
	case <-time.After(d):
	}
}

// listOne polls the field once for 106 kbps type A targets (two, to see
// a collision).
func (r *Reader) listOne(ctx context.Context) (cardEvent, bool) {
	v, err := r.d.command(ctx, cmdInListPassiveTarget, []byte{0x02, 0x00}, time.Second)
	if err != nil {
		return cardEvent{err: fmt.Errorf("%w: %w", hal.ErrBadRead, err)}, !errors.Is(err, ErrNoAnswer)
	}
	if len(v) < 1 || v[0] == 0 {
		return cardEvent{}, false
	}
	t, err := parseTarget(v[1:])
	if err != nil {
		return cardEvent{err: fmt.Errorf("%w: %w", hal.ErrBadRead, err)}, true
	}
	r.mu.Lock()
	r.active, r.lastUse = true, time.Now()
	r.mu.Unlock()
	switch {
	case v[0] > 1:
		return cardEvent{err: fmt.Errorf("%w: %w: %w", hal.ErrBadRead, hal.ErrTwoCards, ErrCollision)}, true
	case t.sak&0x20 == 0:
		return cardEvent{err: fmt.Errorf("%w: %w: %w", hal.ErrBadRead, hal.ErrCardNotSupported, ErrNotPayment)}, true
	}
	return cardEvent{card: hal.Card{Mode: hal.CardContactless, APDU: &isoDep{r: r, tg: t.tg}}}, true
}

type targetA struct {
	tg, sak byte
	uid     []byte
}

// parseTarget reads a type A target of InListPassiveTarget: Tg,
// SENS_RES, SEL_RES, NFCID length and NFCID, then the ATS if any.
func parseTarget(b []byte) (targetA, error) {
	if len(b) < 5 {
		return targetA{}, fmt.Errorf("%w: target data of %d bytes", ErrFrame, len(b))
	}
	n := int(b[4])
	if n != 4 && n != 7 && n != 10 || len(b) < 5+n {
		return targetA{}, fmt.Errorf("%w: NFCID of %d bytes", ErrFrame, n)
	}
	return targetA{tg: b[0], sak: b[3], uid: b[5 : 5+n]}, nil
}

// present asks the chip whether the ISO 14443-4 target still answers
// (Diagnose, attention request test).
func (r *Reader) present(ctx context.Context) bool {
	v, err := r.d.command(ctx, cmdDiagnose, []byte{0x06}, r.o.Timeout*3)
	return err == nil && len(v) >= 1 && v[0] == 0x00
}

// release lets the target go: the field goes down with it when the
// reader is disarmed.
func (r *Reader) release(ctx context.Context) {
	r.d.command(ctx, cmdInRelease, []byte{0x00}, r.o.Timeout)
	r.mu.Lock()
	r.active = false
	r.mu.Unlock()
}

// isoDep is the card handed to the application: APDUs over InDataExchange.
type isoDep struct {
	r  *Reader
	tg byte
}

// chunk is the most APDU data one InDataExchange frame carries.
const chunk = 252

// Exchange sends one APDU and returns the card's answer with its status
// word, chaining both ways (the MI bit) when longer than a frame.
func (c *isoDep) Exchange(ctx context.Context, apdu []byte) ([]byte, error) {
	r := c.r
	r.mu.Lock()
	if !r.active {
		r.mu.Unlock()
		return nil, fmt.Errorf("pn532: %w: %w", hal.ErrDisconnected, ErrCardLeft)
	}
	r.lastUse = time.Now()
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.lastUse = time.Now()
		r.mu.Unlock()
	}()
	var resp []byte
	for sent := 0; ; {
		n := min(len(apdu)-sent, chunk)
		tg := c.tg
		if sent+n < len(apdu) {
			tg |= 0x40 // more data follows
		}
		v, err := r.d.command(ctx, cmdInDataExchange, append([]byte{tg}, apdu[sent:sent+n]...), time.Second)
		if err != nil {
			return nil, err
		}
		sent += n
		if len(v) < 1 {
			return nil, fmt.Errorf("%w: InDataExchange without status", ErrFrame)
		}
		if st := v[0] & 0x3F; st != 0 {
			if st == 0x01 || st == 0x29 || st == 0x27 {
				r.mu.Lock()
				r.active = false
				r.mu.Unlock()
				return nil, fmt.Errorf("pn532: %w: %w (status %02X)", hal.ErrDisconnected, ErrCardLeft, st)
			}
			return nil, fmt.Errorf("pn532: InDataExchange status %02X", st)
		}
		if sent < len(apdu) {
			continue
		}
		resp = append(resp, v[1:]...)
		if v[0]&0x40 == 0 {
			return resp, nil
		}
		apdu, sent = nil, 0 // fetch the rest: Tg alone
		if len(resp) > 4096 {
			return nil, fmt.Errorf("%w: an answer over 4096 bytes", ErrFrame)
		}
	}
}

// SelfTest reports the firmware and switches the field on and off.
func (r *Reader) SelfTest(ctx context.Context) hal.SelfTestResult {
	start := time.Now()
	res := hal.SelfTestResult{Device: "card reader (PN532)"}
	fw, err := r.Firmware(ctx)
	if err == nil {
		if err = r.field(ctx, true); err == nil {
			err = r.field(ctx, false)
		}
	}
	res.Took = time.Since(start)
	if err != nil {
		res.Detail = err.Error()
		return res
	}
	res.OK, res.Detail = true, fw+", RF field switches"
	return res
}

// Traffic is the bytes written to and read from the chip so far.
func (r *Reader) Traffic() (written, read int) {
	r.d.mu.Lock()
	defer r.d.mu.Unlock()
	return r.d.written, r.d.read
}

// Close stops polling, switches the field off and closes the port.
func (r *Reader) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	stop := r.stop
	running := r.running
	r.armed, r.active = false, false
	r.mu.Unlock()
	if running && stop != nil {
		close(stop)
	}
	r.wg.Wait()
	r.field(context.Background(), false)
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return r.d.close()
}
