package emv

import "fmt"

// DOLEntry is one tag and length of a data object list (PDOL, CDOL1,
// CDOL2, DDOL): what the card wants the terminal to send, and how long.
type DOLEntry struct {
	Tag Tag
	Len int
}

// ParseDOL reads a data object list.
func ParseDOL(b []byte) ([]DOLEntry, error) {
	var out []DOLEntry
	for i := 0; i < len(b); {
		tag, tn, err := readTag(b[i:])
		if err != nil {
			return nil, fmt.Errorf("DOL: %w", err)
		}
		i += tn
		if i >= len(b) {
			return nil, fmt.Errorf("%w: DOL: tag %v has no length", ErrTLV, tag)
		}
		n := int(b[i])
		if n >= 0x80 {
			return nil, fmt.Errorf("%w: DOL: tag %v length %02X", ErrTLV, tag, b[i])
		}
		i++
		out = append(out, DOLEntry{Tag: tag, Len: n})
	}
	if len(out) > 64 {
		return nil, fmt.Errorf("%w: DOL of %d entries", ErrTLV, len(out))
	}
	return out, nil
}

// numericTags are format n: padded and cut on the left (EMV Book 3 5.4).
var numericTags = map[Tag]bool{
	0x9F02: true, 0x9F03: true, 0x5F2A: true, 0x9A: true, 0x9C: true, 0x9F1A: true,
	0x9F21: true, 0x9F41: true, 0x5F36: true, 0x9F15: true, 0x9F3C: true, 0x9F35: true,
	0x9F39: true, 0x5F34: true,
}

// compressedTags are format cn: padded with F on the right.
var compressedTags = map[Tag]bool{0x5A: true}

// maxDOLData is the most DOL data one command carries: a short APDU's
// 255 bytes less the template a GPO wraps it in.
const maxDOLData = 252

// dolData fills a card's DOL, refusing one that asks for more than a
// command can carry.
func dolData(dol []DOLEntry, d Data) ([]byte, error) {
	n := 0
	for _, e := range dol {
		n += e.Len
	}
	if n > maxDOLData {
		return nil, fmt.Errorf("%w: the card asks for %d bytes of DOL data, a command carries %d", ErrCard, n, maxDOLData)
	}
	return BuildDOL(dol, d), nil
}

// BuildDOL fills a DOL from d. A tag the terminal does not have is sent
// as zeros of the asked length; a value of another length is fitted as
// Book 3 says (numbers on the left, everything else on the right).
func BuildDOL(dol []DOLEntry, d Data) []byte {
	var out []byte
	for _, e := range dol {
		v := d[e.Tag]
		if e.Tag.Constructed() {
			v = nil // a template in a DOL is answered with zeros
		}
		field := make([]byte, e.Len)
		switch {
		case len(v) == e.Len:
			copy(field, v)
		case numericTags[e.Tag] && len(v) > e.Len:
			copy(field, v[len(v)-e.Len:])
		case numericTags[e.Tag]:
			copy(field[e.Len-len(v):], v)
		case compressedTags[e.Tag] && len(v) < e.Len:
			copy(field, v)
			for i := len(v); i < e.Len; i++ {
				field[i] = 0xFF
			}
		default:
			copy(field, v) // cut or zero-padded on the right
		}
		out = append(out, field...)
	}
	return out
}

// SplitDOL cuts DOL data back into values by the list: the card side and
// the tests read what the terminal sent.
func SplitDOL(dol []DOLEntry, data []byte) (Data, error) {
	d := Data{}
	for _, e := range dol {
		if len(data) < e.Len {
			return nil, fmt.Errorf("%w: DOL data short at tag %v", ErrTLV, e.Tag)
		}
		d[e.Tag] = data[:e.Len]
		data = data[e.Len:]
	}
	if len(data) != 0 {
		return nil, fmt.Errorf("%w: %d bytes of DOL data left over", ErrTLV, len(data))
	}
	return d, nil
}
