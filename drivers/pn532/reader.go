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
// the RF field is off, once the card in use (if any) has left or the
// application has let it be for idleRelease.
type Reader struct {
	d *device
	o Options

	cards chan cardEvent

	// session is held for one whole conversation with the field: an APDU
	// and its chained frames, a poll, a presence check, a release. It is
	// taken before mu, never while holding it.
	session sync.Mutex

	mu        sync.Mutex
	armed     bool
	closed    bool
	running   bool
	stop      chan struct{}
	stopOnce  sync.Once
	gen       uint64 // which handover the active card is
	active    bool   // the handed-over card is in the field
	inFlight  bool   // an exchange is under way
	lastUse   time.Time
	misses    int  // presence checks in a row that got no answer
	tagSeen   bool // a card that cannot pay was reported and has not left
	clashSeen bool // a collision was reported and has not ended
	wg        sync.WaitGroup

	delivered   int  // card events queued for the application, ever
	cardsGiven  int  // of which cards (not errors)
	outstanding bool // an event was read and the reader not asked again since
}

// idleRelease is how long a card handed over may sit unused while the
// reader is disarmed before it is let go and the field goes down.
const idleRelease = 2 * time.Second

// Delivered counts the card events (cards, and cards that cannot pay)
// the reader has found.
func (r *Reader) Delivered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.delivered
}

// CardsDelivered counts the cards (not errors) handed over, ever.
func (r *Reader) CardsDelivered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cardsGiven
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
	r := &Reader{d: newDevice(port, o.Timeout), o: o, cards: make(chan cardEvent, 1), stop: make(chan struct{})}
	if err := r.d.wakeUp(ctx); err != nil {
		r.d.close()
		return nil, err
	}
	if _, err := r.Firmware(ctx); err != nil {
		r.d.close()
		return nil, err
	}
	// MxRtyATR (unused by type A), MxRtyPSL, MxRtyPassiveActivation:
	// finite, so a poll never blocks.
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
		r.wg.Add(1)
		go r.poll()
	}
	if !r.armed {
		// A card found and not taken is nobody's now.
		select {
		case ev := <-r.cards:
			if ev.card.APDU != nil {
				r.active = false
				r.gen++
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
func (r *Reader) poll() {
	defer r.wg.Done()
	ctx := context.Background()
	for {
		r.mu.Lock()
		armed, active, closed := r.armed, r.active, r.closed
		idle, inFlight := time.Since(r.lastUse), r.inFlight
		r.mu.Unlock()
		switch {
		case closed:
			r.mu.Lock()
			r.running = false
			r.mu.Unlock()
			return
		case !armed && !active:
			r.session.Lock()
			r.field(ctx, false)
			r.session.Unlock()
			r.mu.Lock()
			if r.armed && !r.closed {
				r.mu.Unlock() // armed again meanwhile: go on polling
				continue
			}
			r.running = false
			r.mu.Unlock()
			return
		case active && !armed && idle > idleRelease && !inFlight:
			r.release(ctx)
		case active && idle > 300*time.Millisecond && !inFlight:
			r.checkPresence(ctx)
		case !active:
			r.listOne(ctx)
		}
		select {
		case <-r.stop:
		case <-time.After(r.o.Poll):
		}
	}
}

// deliver queues an event for Read. A card takes the place of an error
// nobody has read yet; an error does not push out a card.
func (r *Reader) deliver(ev cardEvent) bool {
	select {
	case r.cards <- ev:
		r.delivered++
		return true
	default:
	}
	if ev.card.APDU == nil {
		return false
	}
	select {
	case old := <-r.cards:
		if old.card.APDU != nil {
			r.cards <- old
			return false
		}
	default:
	}
	r.cards <- ev
	r.delivered++
	return true
}

// listOne polls the field once for 106 kbps type A targets (two, to see
// a collision).
func (r *Reader) listOne(ctx context.Context) {
	r.session.Lock()
	defer r.session.Unlock()
	v, err := r.d.command(ctx, cmdInListPassiveTarget, []byte{0x02, 0x00}, time.Second)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		if !errors.Is(err, ErrNoAnswer) {
			r.deliver(cardEvent{err: fmt.Errorf("%w: %w", hal.ErrBadRead, err)})
		}
		return
	}
	if len(v) < 1 || v[0] == 0 {
		r.tagSeen, r.clashSeen = false, false // the field is empty
		return
	}
	t, err := parseTarget(v[1:])
	switch {
	case err != nil:
		r.deliver(cardEvent{err: fmt.Errorf("%w: %w", hal.ErrBadRead, err)})
	case v[0] > 1:
		// Said once per collision, not on every poll.
		if !r.clashSeen && r.deliver(cardEvent{err: fmt.Errorf("%w: %w: %w", hal.ErrBadRead, hal.ErrTwoCards, ErrCollision)}) {
			r.clashSeen = true
		}
	case t.sak&0x20 == 0:
		if !r.tagSeen && r.deliver(cardEvent{err: fmt.Errorf("%w: %w: %w", hal.ErrBadRead, hal.ErrCardNotSupported, ErrNotPayment)}) {
			r.tagSeen = true
		}
	case !r.armed || r.closed:
		// Disarmed while polling: nobody wants this card.
	default:
		r.gen++
		card := hal.Card{Mode: hal.CardContactless, APDU: &isoDep{r: r, tg: t.tg, gen: r.gen}}
		if r.deliver(cardEvent{card: card}) {
			r.active, r.lastUse, r.misses = true, time.Now(), 0
			r.cardsGiven++
		}
		return
	}
	r.d.command(ctx, cmdInRelease, []byte{0x00}, r.o.Timeout)
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

// checkPresence asks the chip whether the ISO 14443-4 target still
// answers (Diagnose, attention request test): 00 it does, 01 it timed
// out (gone); three checks without any answer also count as gone.
func (r *Reader) checkPresence(ctx context.Context) {
	r.session.Lock()
	v, err := r.d.command(ctx, cmdDiagnose, []byte{0x06}, r.o.Timeout*5)
	r.session.Unlock()
	r.mu.Lock()
	gone := false
	switch {
	case err == nil && len(v) >= 1 && v[0]&0x3F == 0x00:
		r.misses = 0
	case err == nil && len(v) >= 1 && v[0]&0x3F == 0x01:
		gone = true
	default:
		r.misses++
		gone = r.misses >= 3
	}
	r.mu.Unlock()
	if gone {
		r.release(ctx)
	}
}

// release lets the target go; its exchanger stops working.
func (r *Reader) release(ctx context.Context) {
	r.session.Lock()
	defer r.session.Unlock()
	r.d.command(ctx, cmdInRelease, []byte{0x00}, r.o.Timeout)
	r.mu.Lock()
	r.active = false
	r.gen++
	r.mu.Unlock()
}

// isoDep is the card handed to the application: APDUs over
// InDataExchange, to that card only (gen).
type isoDep struct {
	r   *Reader
	tg  byte
	gen uint64
}

// chunk is the most APDU data one InDataExchange frame carries.
const chunk = 252

// cardWait bounds one InDataExchange: the card's own frame waiting time
// may reach several seconds.
const cardWait = 5 * time.Second

// Exchange sends one APDU and returns the card's answer with its status
// word, chaining both ways (the MI bit) when longer than a frame.
func (c *isoDep) Exchange(ctx context.Context, apdu []byte) ([]byte, error) {
	r := c.r
	r.session.Lock()
	defer r.session.Unlock()
	r.mu.Lock()
	if !r.active || r.gen != c.gen {
		r.mu.Unlock()
		return nil, fmt.Errorf("pn532: %w: %w", hal.ErrDisconnected, ErrCardLeft)
	}
	r.inFlight = true
	r.mu.Unlock()
	resp, err := c.exchange(ctx, apdu)
	r.mu.Lock()
	r.inFlight, r.lastUse = false, time.Now()
	if err != nil && r.gen == c.gen {
		// Gone, or its state unknown: this card is done either way.
		r.active = false
		r.gen++
	}
	r.mu.Unlock()
	return resp, err
}

func (c *isoDep) exchange(ctx context.Context, apdu []byte) ([]byte, error) {
	d := c.r.d
	var resp []byte
	for sent := 0; ; {
		n := min(len(apdu)-sent, chunk)
		tg := c.tg
		if sent+n < len(apdu) {
			tg |= 0x40 // more data follows
		}
		v, err := d.command(ctx, cmdInDataExchange, append([]byte{tg}, apdu[sent:sent+n]...), cardWait)
		if err != nil {
			if errors.Is(err, errUnknownOutcome) {
				return nil, fmt.Errorf("pn532: %w: %w: %v", hal.ErrDisconnected, ErrCardLeft, err)
			}
			return nil, err
		}
		sent += n
		if len(v) < 1 {
			return nil, fmt.Errorf("%w: InDataExchange without status", ErrFrame)
		}
		if st := v[0] & 0x3F; st != 0 {
			if st == 0x01 || st == 0x29 || st == 0x27 {
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
	r.session.Lock()
	defer r.session.Unlock()
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

// Close stops polling, switches the field off and closes the port.
func (r *Reader) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed, r.armed, r.active = true, false, false
	r.mu.Unlock()
	r.stopOnce.Do(func() { close(r.stop) })
	r.wg.Wait()
	r.session.Lock()
	r.field(context.Background(), false)
	r.session.Unlock()
	return r.d.close()
}
