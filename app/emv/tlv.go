// Package emv is the card kernel: PBOC 3.0 / EMV contact chip and qPBOC
// (UnionPay QuickPass) contactless, over the APDU exchange of
// hal.CardReader. It selects the application, reads the card, checks the
// card's offline data, decides the cardholder verification, asks the card
// for a cryptogram and, after the host's answer, completes with the card.
//
// Everything a card says is outside input: every parser here returns an
// error rather than panic, and each has a fuzz target.
package emv

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Tag is a BER-TLV tag, its bytes read as a big-endian number (9F26 is
// 0x9F26). Tags of up to three bytes are accepted, which covers EMV.
type Tag uint32

func (t Tag) String() string { return fmt.Sprintf("%X", uint32(t)) }

// Bytes is the tag as it is written.
func (t Tag) Bytes() []byte {
	switch {
	case t > 0xFFFF:
		return []byte{byte(t >> 16), byte(t >> 8), byte(t)}
	case t > 0xFF:
		return []byte{byte(t >> 8), byte(t)}
	}
	return []byte{byte(t)}
}

// Constructed reports whether the tag's value is itself TLVs.
func (t Tag) Constructed() bool { return t.Bytes()[0]&0x20 != 0 }

// TLV is one data object.
type TLV struct {
	Tag   Tag
	Value []byte
}

// ErrTLV is wrapped by every BER-TLV error.
var ErrTLV = errors.New("emv: malformed TLV")

// maxDepth bounds nested templates: a card cannot make the parser recurse
// without end.
const maxDepth = 8

// readTag reads a tag at b[0:], returning it and its length.
func readTag(b []byte) (Tag, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: tag missing", ErrTLV)
	}
	t := Tag(b[0])
	n := 1
	if b[0]&0x1F == 0x1F {
		for {
			if n >= len(b) {
				return 0, 0, fmt.Errorf("%w: tag %X truncated", ErrTLV, b[:n])
			}
			if n >= 3 {
				return 0, 0, fmt.Errorf("%w: tag %X longer than 3 bytes", ErrTLV, b[:n])
			}
			t = t<<8 | Tag(b[n])
			n++
			if b[n-1]&0x80 == 0 {
				break
			}
		}
	}
	return t, n, nil
}

// readLen reads a BER length at b[0:].
func readLen(b []byte) (int, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: length missing", ErrTLV)
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, nil
	}
	k := int(b[0] & 0x7F)
	if k == 0 || k > 2 {
		return 0, 0, fmt.Errorf("%w: length form %02X", ErrTLV, b[0])
	}
	if len(b) < 1+k {
		return 0, 0, fmt.Errorf("%w: length truncated", ErrTLV)
	}
	n := 0
	for _, c := range b[1 : 1+k] {
		n = n<<8 | int(c)
	}
	return n, 1 + k, nil
}

// Parse reads a sequence of TLVs at one level. Padding bytes 00 and FF
// between objects are skipped, as EMV allows.
func Parse(b []byte) ([]TLV, error) {
	var out []TLV
	for i := 0; i < len(b); {
		if b[i] == 0x00 || b[i] == 0xFF {
			i++
			continue
		}
		tag, tn, err := readTag(b[i:])
		if err != nil {
			return nil, err
		}
		n, ln, err := readLen(b[i+tn:])
		if err != nil {
			return nil, fmt.Errorf("tag %v: %w", tag, err)
		}
		start := i + tn + ln
		if n > len(b)-start {
			return nil, fmt.Errorf("%w: tag %v: length %d runs past the end", ErrTLV, tag, n)
		}
		out = append(out, TLV{Tag: tag, Value: b[start : start+n]})
		i = start + n
	}
	return out, nil
}

// Data is the kernel's store of data objects by tag.
type Data map[Tag][]byte

// Flatten parses b and every constructed object in it, recursively, into
// d. A tag seen again with another value is an error: a card that says
// two things about its own data is not trusted with money. (A qPBOC card
// may repeat its track data in the GPO answer and a record.)
func (d Data) Flatten(b []byte) error { return d.flatten(b, 0) }

func (d Data) flatten(b []byte, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: templates nested deeper than %d", ErrTLV, maxDepth)
	}
	list, err := Parse(b)
	if err != nil {
		return err
	}
	for _, o := range list {
		if o.Tag.Constructed() {
			if err := d.flatten(o.Value, depth+1); err != nil {
				return err
			}
			continue
		}
		if old, dup := d[o.Tag]; dup && string(old) != string(o.Value) {
			return fmt.Errorf("%w: tag %v twice", ErrTLV, o.Tag)
		}
		d[o.Tag] = o.Value
	}
	return nil
}

// Find returns the first object with tag in b, looking inside templates.
func Find(b []byte, tag Tag) ([]byte, bool) { return find(b, tag, 0) }

func find(b []byte, tag Tag, depth int) ([]byte, bool) {
	if depth > maxDepth {
		return nil, false
	}
	list, err := Parse(b)
	if err != nil {
		return nil, false
	}
	for _, o := range list {
		if o.Tag == tag {
			return o.Value, true
		}
		if o.Tag.Constructed() {
			if v, ok := find(o.Value, tag, depth+1); ok {
				return v, true
			}
		}
	}
	return nil, false
}

// Encode writes one TLV.
func Encode(tag Tag, value []byte) []byte {
	out := append([]byte{}, tag.Bytes()...)
	n := len(value)
	switch {
	case n < 0x80:
		out = append(out, byte(n))
	case n < 0x100:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	return append(out, value...)
}

// EncodeAll writes the tags in order, those present in d.
func (d Data) EncodeAll(tags ...Tag) []byte {
	var out []byte
	for _, t := range tags {
		if v, ok := d[t]; ok {
			out = append(out, Encode(t, v)...)
		}
	}
	return out
}

// Hex is a debugging form of the store, sorted by tag.
func (d Data) Hex() string {
	var b strings.Builder
	for _, t := range sortedTags(d) {
		fmt.Fprintf(&b, "%v=%X ", t, d[t])
	}
	return strings.TrimSpace(b.String())
}

func sortedTags(d Data) []Tag {
	tags := make([]Tag, 0, len(d))
	for t := range d {
		tags = append(tags, t)
	}
	for i := 1; i < len(tags); i++ {
		for j := i; j > 0 && tags[j] < tags[j-1]; j-- {
			tags[j], tags[j-1] = tags[j-1], tags[j]
		}
	}
	return tags
}

// MustHex decodes hex for constants in code; it panics on a typo, which
// tests catch.
func MustHex(s string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		panic(err)
	}
	return b
}
