package emv

import (
	"bytes"
	"context"
	"sort"
)

var (
	namePPSE = []byte("2PAY.SYS.DDF01")
	namePSE  = []byte("1PAY.SYS.DDF01")
)

// buildCandidates makes the candidate list (Book 1 12.3): from the PPSE
// for a tap, from the PSE directory for an insert, and from the
// terminal's AID list when the card has no directory.
func (t *Transaction) buildCandidates(ctx context.Context) error {
	var entries []Candidate
	var err error
	if t.in.Mode == Contactless {
		if entries, err = t.ppse(ctx); err != nil {
			return err
		}
	} else {
		found, err := t.pse(ctx)
		if err != nil {
			return err
		}
		// A directory with nothing this terminal takes still leaves the
		// terminal's own AID list to try (Book 1 12.3.3).
		if entries = t.match(found); len(entries) > 0 {
			t.Candidates = entries
			return nil
		}
		if entries, err = t.aidList(ctx); err != nil {
			return err
		}
	}
	t.Candidates = t.match(entries)
	return nil
}

// directoryEntries reads the 61 entries of a directory (PPSE FCI or a
// PSE record).
func directoryEntries(b []byte) []Candidate {
	var out []Candidate
	collect(b, 0, &out)
	return out
}

func collect(b []byte, depth int, out *[]Candidate) {
	if depth > maxDepth {
		return
	}
	list, err := Parse(b)
	if err != nil {
		return
	}
	for _, o := range list {
		if o.Tag == 0x61 {
			var c Candidate
			inner, err := Parse(o.Value)
			if err != nil {
				continue
			}
			for _, f := range inner {
				switch f.Tag {
				case 0x4F:
					c.AID = f.Value
				case 0x50:
					c.Label = printable(f.Value)
				case 0x87:
					if len(f.Value) == 1 {
						c.Priority = int(f.Value[0] & 0x0F)
						c.Confirm = f.Value[0]&0x80 != 0
					}
				}
			}
			if len(c.AID) >= 5 && len(c.AID) <= 16 {
				*out = append(*out, c)
			}
			continue
		}
		if o.Tag.Constructed() {
			collect(o.Value, depth+1, out)
		}
	}
}

// printable keeps a card's label safe to show and print.
func printable(b []byte) string {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c >= 0x20 && c < 0x7F {
			out = append(out, c)
		}
	}
	return string(out)
}

func (t *Transaction) ppse(ctx context.Context) ([]Candidate, error) {
	r, sw, err := t.exchange(ctx, "SELECT PPSE", apdu(0x00, 0xA4, 0x04, 0x00, namePPSE, true))
	if err != nil {
		return nil, err
	}
	if sw != 0x9000 {
		// No PPSE: not a QuickPass card (a transit or access card).
		return nil, ErrNoApplication
	}
	return directoryEntries(r), nil
}

// pse reads the contact directory; nil without error means the card has
// none and the AID list is next.
func (t *Transaction) pse(ctx context.Context) ([]Candidate, error) {
	r, sw, err := t.exchange(ctx, "SELECT PSE", apdu(0x00, 0xA4, 0x04, 0x00, namePSE, true))
	if err != nil {
		return nil, err
	}
	if sw != 0x9000 {
		return nil, nil
	}
	sfiB, ok := Find(r, 0x88)
	if !ok || len(sfiB) != 1 || sfiB[0] == 0 || sfiB[0] > 30 {
		return nil, nil
	}
	var out []Candidate
	for rec := 1; rec <= 16; rec++ {
		body, sw, err := t.exchange(ctx, "READ RECORD (PSE)", apdu(0x00, 0xB2, byte(rec), sfiB[0]<<3|4, nil, true))
		if err != nil {
			return nil, err
		}
		if sw == 0x6A83 {
			break
		}
		if sw != 0x9000 {
			return nil, nil // a broken directory: the AID list still works
		}
		out = append(out, directoryEntries(body)...)
	}
	if out == nil {
		out = []Candidate{}
	}
	return out, nil
}

// aidList tries each terminal AID by SELECT, with partial selection for
// the card's further applications under the same prefix.
func (t *Transaction) aidList(ctx context.Context) ([]Candidate, error) {
	var out []Candidate
	var broken uint16 // a status word that is not an answer about the AID
	for _, a := range t.cfg.AIDs {
		p2 := byte(0x00)
		for n := 0; n < 8; n++ {
			r, sw, err := t.exchange(ctx, "SELECT", apdu(0x00, 0xA4, 0x04, p2, a.AID, true))
			if err != nil {
				return nil, err
			}
			if sw != 0x9000 && sw != 0x6283 {
				if hi := sw >> 8; hi == 0x6F || hi == 0x64 || hi == 0x65 {
					broken = sw // a technical fault, not an answer about the AID
				}
				break
			}
			df, ok := Find(r, 0x84)
			if !ok {
				break
			}
			if sw == 0x6283 {
				// Blocked: not a candidate (Book 1 12.3.3), but the
				// cashier is told so if nothing else is left.
				t.blockedSeen = true
				if !a.Partial {
					break
				}
				p2 = 0x02
				continue
			}
			c := Candidate{AID: append([]byte{}, df...)}
			if l, ok := Find(r, 0x50); ok {
				c.Label = printable(l)
			}
			if p, ok := Find(r, 0x87); ok && len(p) == 1 {
				c.Priority, c.Confirm = int(p[0]&0x0F), p[0]&0x80 != 0
			}
			dup := false
			for _, o := range out {
				dup = dup || bytes.Equal(o.AID, c.AID)
			}
			if !dup {
				out = append(out, c)
			}
			if !a.Partial {
				break
			}
			p2 = 0x02 // next occurrence
		}
	}
	if len(out) == 0 && broken != 0 {
		// Not "no such application" but a chip that does not work: the
		// terminal may count it towards a magstripe fallback.
		return nil, &StatusError{"SELECT", broken}
	}
	return out, nil
}

// match keeps the card's applications the terminal accepts, highest
// priority first (a missing priority is last), card order otherwise.
func (t *Transaction) match(entries []Candidate) []Candidate {
	var out []Candidate
	for _, e := range entries {
		for _, a := range t.cfg.AIDs {
			if bytes.Equal(e.AID, a.AID) || a.Partial && bytes.HasPrefix(e.AID, a.AID) {
				if e.Label == "" {
					e.Label = a.Label
				}
				out = append(out, e)
				break
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		pi, pj := out[i].Priority, out[j].Priority
		if pi == 0 {
			pi = 16
		}
		if pj == 0 {
			pj = 16
		}
		return pi < pj
	})
	return out
}
