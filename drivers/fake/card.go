package fake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoukuan/pos/drivers/vcard"
	"github.com/shoukuan/pos/hal"
)

// CardReader is a reader for virtual cards. Tapping, inserting or swiping
// a card delivers it when the application has armed that interface.
type CardReader struct {
	in *inbox[hal.Card]

	mu      sync.Mutex
	cards   []*CardProfile
	modes   hal.CardMode
	present *CardProfile // the card in the field or in the slot, if any

	exchanges atomic.Int64 // APDUs answered, for the kernel's figures
}

// KeepChipState keeps the chips' counters (ATC, PIN tries) in a file,
// as a real card keeps them in its memory: a terminal restarted on the
// same data does not replay an ATC the issuer has seen.
func (r *CardReader) KeepChipState(path string) error {
	states := map[string]vcard.State{}
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &states); err != nil {
			return fmt.Errorf("card reader: chip state %s: %w", path, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("card reader: chip state: %w", err)
	}
	var mu sync.Mutex
	save := func() {
		mu.Lock()
		defer mu.Unlock()
		all := map[string]vcard.State{}
		for _, c := range r.cards {
			if chip := c.ChipCard(); chip != nil {
				all[c.Name] = chip.State()
			}
		}
		b, _ := json.Marshal(all)
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, b, 0o600); err == nil {
			os.Rename(tmp, path)
		}
	}
	for _, c := range r.cards {
		if chip := c.ChipCard(); chip != nil {
			if st, ok := states[c.Name]; ok {
				chip.Restore(st)
			}
			chip.SetOnChange(save)
		}
	}
	return nil
}

// Exchanges counts the APDUs the virtual cards have answered.
func (r *CardReader) Exchanges() int64 { return r.exchanges.Load() }

// NewCardReader serves the given virtual cards.
func NewCardReader(cards []*CardProfile) *CardReader {
	return &CardReader{in: newInbox[hal.Card](false), cards: cards}
}

// Cards lists the virtual cards, in the order given.
func (r *CardReader) Cards() []*CardProfile { return r.cards }

// Card finds a card by name.
func (r *CardReader) Card(name string) (*CardProfile, error) {
	for _, c := range r.cards {
		if c.Name == name {
			return c, nil
		}
	}
	return nil, fmt.Errorf("card reader: no virtual card named %q", name)
}

// Present taps, inserts or swipes a card (mode is exactly one interface).
func (r *CardReader) Present(name string, mode hal.CardMode) error {
	c, err := r.Card(name)
	if err != nil {
		return err
	}
	switch mode {
	case hal.CardContactless, hal.CardChip, hal.CardMagstripe:
	default:
		return fmt.Errorf("card reader: present needs one interface, got %v", mode)
	}
	if c.modes&mode == 0 {
		return fmt.Errorf("card reader: card %s has no %v interface", name, mode)
	}
	r.mu.Lock()
	armed := r.modes&mode != 0
	if armed {
		r.present = c
	}
	r.mu.Unlock()
	if !armed {
		return fmt.Errorf("card reader: %w: the current screen does not accept %v", hal.ErrDisabled, mode)
	}
	card := hal.Card{Mode: mode}
	switch mode {
	case hal.CardMagstripe:
		card.Track2 = c.Track2
	default:
		icc := &virtualICC{profile: c, reader: r}
		if chip := c.ChipCard(); chip != nil {
			icc.session = chip.PowerOn(mode == hal.CardContactless)
		}
		card.APDU = icc
	}
	r.in.push(card)
	return nil
}

// Remove takes the card out of the slot or the field.
func (r *CardReader) Remove() {
	r.mu.Lock()
	r.present = nil
	r.mu.Unlock()
}

func (r *CardReader) Enable(modes hal.CardMode) error {
	r.mu.Lock()
	r.modes = modes
	r.mu.Unlock()
	if modes == hal.CardNone {
		r.in.drop()
	}
	r.in.setEnabled(modes != hal.CardNone)
	return nil
}

// Armed is the set of interfaces the application is waiting on.
func (r *CardReader) Armed() hal.CardMode {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.modes
}

func (r *CardReader) Read(ctx context.Context) (hal.Card, error) { return r.in.pop(ctx) }

// Pending is the number of card events the application has not consumed.
func (r *CardReader) Pending() int { return r.in.pending() }

func (r *CardReader) SelfTest(ctx context.Context) hal.SelfTestResult {
	res := hal.SelfTestResult{Device: "card reader", Took: time.Millisecond}
	if len(r.cards) == 0 {
		res.Detail = "fake reader: no virtual cards loaded"
		return res
	}
	res.OK = true
	res.Detail = fmt.Sprintf("fake reader, %d virtual cards", len(r.cards))
	return res
}

// virtualICC is a card in the slot or the field. Its chip answers while
// the card is there; a card with no payment application on its chip
// answers SELECT "file not found", as such a card does.
type virtualICC struct {
	profile *CardProfile
	reader  *CardReader
	session *vcard.Session
}

var errCardGone = errors.New("card removed")

func (v *virtualICC) Exchange(ctx context.Context, cmd []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	v.reader.mu.Lock()
	here := v.reader.present == v.profile
	v.reader.mu.Unlock()
	if !here {
		return nil, fmt.Errorf("card reader: %w: %w", hal.ErrDisconnected, errCardGone)
	}
	v.reader.exchanges.Add(1)
	if v.session != nil {
		return v.session.Exchange(cmd), nil
	}
	if len(cmd) < 4 {
		return []byte{0x67, 0x00}, nil // wrong length
	}
	if cmd[1] == 0xA4 { // SELECT
		return []byte{0x6A, 0x82}, nil
	}
	return []byte{0x6D, 0x00}, nil
}
