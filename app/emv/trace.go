package emv

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/shoukuan/pos/hal"
)

// Trace is a card's recorded APDU exchange, the format `pos emv replay`
// reads and the terminal's recorder writes (docs/emv.md).
type Trace struct {
	Mode string `json:"mode"` // contactless or chip
	// What the terminal used, so a replay can sign and check the same
	// data (optional): amount in fen, date YYMMDD, unpredictable number.
	AmountFen     int64         `json:"amount,omitempty"`
	Date          string        `json:"date,omitempty"`
	Unpredictable string        `json:"unpredictable,omitempty"`
	Masked        bool          `json:"masked,omitempty"`
	Exchanges     []TraceAPDU   `json:"exchanges"`
	Host          *TraceHostICC `json:"host,omitempty"`
}

// TraceAPDU is one command and its response (with the status word), hex.
type TraceAPDU struct {
	C string `json:"c"`
	R string `json:"r"`
}

// TraceHostICC is the host's field 55 for the completion, if recorded.
type TraceHostICC struct {
	Approved bool   `json:"approved"`
	ICC      string `json:"icc"`
}

// ParseTrace reads a trace, checking every exchange is hex.
func ParseTrace(b []byte) (*Trace, error) {
	var t Trace
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	if t.Mode != "contactless" && t.Mode != "chip" {
		return nil, fmt.Errorf("trace: mode %q: want contactless or chip", t.Mode)
	}
	if len(t.Exchanges) == 0 || len(t.Exchanges) > 1000 {
		return nil, errors.New("trace: 1 to 1000 exchanges")
	}
	for i, e := range t.Exchanges {
		c, err1 := hex.DecodeString(e.C)
		r, err2 := hex.DecodeString(e.R)
		if err1 != nil || err2 != nil || len(c) < 4 || len(r) < 2 {
			return nil, fmt.Errorf("trace: exchange %d: c must be hex of 4 bytes or more, r of 2 or more", i+1)
		}
	}
	if t.Unpredictable != "" {
		if u, err := hex.DecodeString(t.Unpredictable); err != nil || len(u) != 4 {
			return nil, errors.New("trace: unpredictable must be 4 bytes of hex")
		}
	}
	return &t, nil
}

// KernelMode is the trace's interface.
func (t *Trace) KernelMode() Mode {
	if t.Mode == "contactless" {
		return Contactless
	}
	return Contact
}

// Card is a card that answers from the trace: a command is matched by
// its header (CLA INS P1 P2) and, for SELECT, its data; repeated
// commands take the recorded answers in turn; a command the trace lacks
// gets 6D00.
func (t *Trace) Card() apduCard {
	return &traceCard{t: t, used: map[int]bool{}}
}

type apduCard = hal.APDUExchanger

type traceCard struct {
	t    *Trace
	mu   sync.Mutex
	used map[int]bool
}

func matchKey(cmd []byte) string {
	k := hx(cmd[:4])
	if cmd[1] == 0xA4 && len(cmd) > 5 && int(cmd[4]) <= len(cmd)-5 {
		k += hx(cmd[5 : 5+int(cmd[4])])
	}
	return k
}

func (c *traceCard) Exchange(ctx context.Context, cmd []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(cmd) < 4 {
		return MustHex("6700"), nil
	}
	key := matchKey(cmd)
	c.mu.Lock()
	defer c.mu.Unlock()
	last := -1
	for i, e := range c.t.Exchanges {
		rc, _ := hex.DecodeString(e.C)
		if len(rc) < 4 || matchKey(rc) != key {
			continue
		}
		last = i
		if !c.used[i] {
			c.used[i] = true
			return hex.DecodeString(e.R)
		}
	}
	if last >= 0 {
		return hex.DecodeString(c.t.Exchanges[last].R)
	}
	return MustHex("6D00"), nil
}

// Recorder wraps a card and keeps its exchange as a trace. Unless
// Unmasked, card numbers, track data and the holder's name are masked in
// what it keeps (and the trace no longer passes offline authentication).
type Recorder struct {
	Card     apduCard
	Unmasked bool
	mu       sync.Mutex
	trace    Trace
}

// NewRecorder records the exchange with card.
func NewRecorder(card apduCard, mode Mode, unmasked bool) *Recorder {
	return &Recorder{Card: card, Unmasked: unmasked, trace: Trace{Mode: mode.String(), Masked: !unmasked}}
}

func (r *Recorder) Exchange(ctx context.Context, cmd []byte) ([]byte, error) {
	resp, err := r.Card.Exchange(ctx, cmd)
	if err != nil {
		return resp, err
	}
	kept := append([]byte{}, resp...)
	c := append([]byte{}, cmd...)
	// A PIN never reaches a trace, masked or not: VERIFY, CHANGE and
	// UNBLOCK PIN carry it in their data.
	if len(c) > 5 && (c[1] == 0x20 || c[1] == 0x24 || c[1] == 0x2C) {
		for i := 5; i < len(c); i++ {
			c[i] = 0xFF
		}
	}
	if !r.Unmasked && len(kept) > 2 {
		body := kept[:len(kept)-2]
		if !maskCardData(body, 0) {
			// What does not parse cannot be masked: keep only the status.
			kept = kept[len(kept)-2:]
		}
	}
	r.mu.Lock()
	r.trace.Exchanges = append(r.trace.Exchanges, TraceAPDU{C: hx(c), R: hx(kept)})
	r.mu.Unlock()
	return resp, nil
}

// Trace is what was recorded, with the transaction's terminal data.
func (r *Recorder) Trace(t *Transaction) Trace {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.trace
	out.Exchanges = append([]TraceAPDU(nil), r.trace.Exchanges...)
	if t != nil {
		out.AmountFen = t.in.AmountFen
		out.Date = hx(t.data[0x9A])
		out.Unpredictable = hx(t.data[0x9F37])
	}
	return out
}

// maskCardData overwrites, in place, the middle digits of the PAN in 5A
// and 9F6B, the track 2 equivalent after its PAN, the holder's name
// (5F20, 9F0B) and track 1 data, and every certificate and signature
// (90, 92, 93, 9F46, 9F48, 9F4B): the ICC certificate opens with the
// CA's public key and holds the whole PAN. It reports whether b parsed.
func maskCardData(b []byte, depth int) bool {
	if depth > maxDepth {
		return false
	}
	list, err := Parse(b)
	if err != nil {
		return false
	}
	ok := true
	for _, o := range list {
		switch {
		case o.Tag == 0x5A || o.Tag == 0x9F6B:
			maskDigits(o.Value, false)
		case o.Tag == 0x57:
			maskDigits(o.Value, true)
		case o.Tag == 0x5F20 || o.Tag == 0x9F0B || o.Tag == 0x56 || o.Tag == 0x9F1F:
			for i := range o.Value {
				o.Value[i] = 'X'
			}
		case o.Tag == 0x90 || o.Tag == 0x92 || o.Tag == 0x93 || o.Tag == 0x9F46 || o.Tag == 0x9F48 || o.Tag == 0x9F4B:
			clear(o.Value)
		case o.Tag.Constructed():
			ok = maskCardData(o.Value, depth+1) && ok
		}
	}
	return ok
}

// maskDigits keeps the first 6 and last 4 digits of the PAN at the start
// of BCD data and zeroes the rest of the PAN; with track, the digits after
// the separator's expiry and service code too.
func maskDigits(v []byte, track bool) {
	s := []byte(strings.ToUpper(hex.EncodeToString(v)))
	end := bytes.IndexAny(s, "DF")
	if end < 0 {
		end = len(s)
	}
	for i := 6; i < end-4; i++ {
		s[i] = '0'
	}
	if track && end < len(s) && s[end] == 'D' {
		for i := end + 8; i < len(s); i++ {
			if s[i] != 'F' {
				s[i] = '0'
			}
		}
	}
	copy(v, MustHex(string(s)))
}
