package iso8583

import (
	"errors"
	"fmt"
)

const (
	mtiBytes    = 2
	bitmapBytes = 8
	bodyStart   = mtiBytes + bitmapBytes
)

// checkChars returns the index of the first byte of v that kind k does not
// allow, or -1.
func checkChars(k Kind, v []byte) int {
	for i, c := range v {
		var ok bool
		switch k {
		case KindN:
			ok = '0' <= c && c <= '9'
		case KindZ:
			// Digits and '=' (nibble D); A-C, E, F only appear in track
			// data encrypted under the TDK.
			ok = '0' <= c && c <= '9' || c == '=' || 'A' <= c && c <= 'C' || c == 'E' || c == 'F'
		case KindAN:
			ok = '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == ' '
		case KindANS:
			ok = 0x20 <= c && c <= 0x7E
		case KindText:
			ok = 0x20 <= c && c <= 0x7E || c >= 0x80
		case KindB:
			ok = true
		}
		if !ok {
			return i
		}
	}
	return -1
}

func charRule(k Kind) string {
	switch k {
	case KindN:
		return "not a digit"
	case KindZ:
		return "not track data (a digit, '=' or A-C, E, F)"
	case KindAN:
		return "not a letter, digit or space"
	case KindANS:
		return "not printable ASCII"
	}
	return "a control character"
}

// nibble maps a checked character to its BCD nibble ('=' is D in track
// data, and encrypted track data uses the other hex letters).
func nibble(c byte) byte {
	switch {
	case c == '=':
		return 0xD
	case c >= 'A':
		return c - 'A' + 0xA
	}
	return c - '0'
}

// appendBCD packs checked characters two a byte. An odd count gets a 0 pad
// nibble in front (AlignRight) or behind (AlignLeft).
func appendBCD(dst, v []byte, a Align) []byte {
	pad := len(v)%2 == 1
	var hi byte
	half := false // hi holds a pending high nibble
	if pad && a == AlignRight {
		hi, half = 0, true
	}
	for _, c := range v {
		if half {
			dst = append(dst, hi<<4|nibble(c))
			half = false
		} else {
			hi, half = nibble(c), true
		}
	}
	if half { // only when pad && AlignLeft
		dst = append(dst, hi<<4)
	}
	return dst
}

// decodeBCD unpacks count characters from src, which holds exactly
// (count+1)/2 bytes. The pad nibble must be 0 and every other nibble a digit
// (or D, as '=', when z is set), so that only canonical encodings decode and
// Pack(Unpack(b)) == b. On failure it returns the index of the bad byte.
func decodeBCD(src []byte, count int, a Align, z bool) ([]byte, int, error) {
	out := make([]byte, 0, count)
	total := 2 * len(src)
	padAt := -1
	if count%2 == 1 {
		padAt = total - 1
		if a == AlignRight {
			padAt = 0
		}
	}
	for i := 0; i < total; i++ {
		nb := src[i/2] >> 4
		if i%2 == 1 {
			nb = src[i/2] & 0x0F
		}
		switch {
		case i == padAt:
			if nb != 0 {
				return nil, i / 2, detailf(ErrBadNibble, "pad nibble is 0x%X, want 0", nb)
			}
		case nb <= 9:
			out = append(out, '0'+nb)
		case z && nb == 0xD:
			out = append(out, '=')
		case z:
			out = append(out, 'A'+nb-0xA)
		default:
			return nil, i / 2, detailf(ErrBadNibble, "nibble 0x%X is not a digit", nb)
		}
	}
	return out, 0, nil
}

// decodeDigits reads a BCD length prefix; every nibble must be a digit.
// On failure it returns the index of the bad byte.
func decodeDigits(src []byte) (int, int, error) {
	v := 0
	for i, c := range src {
		hi, lo := c>>4, c&0x0F
		if hi > 9 || lo > 9 {
			return 0, i, detailf(ErrBadNibble, "length prefix byte 0x%02X is not BCD", c)
		}
		v = v*100 + int(hi)*10 + int(lo)
	}
	return v, 0, nil
}

// wireBytes is how many bytes a value of l units takes.
func wireBytes(f FieldSpec, l int) int {
	if f.Kind.bcd() {
		return l/2 + l%2
	}
	return l
}

// Pack encodes MTI, bitmap and fields. Every value is checked against its
// format first; errors name the field, e.g. "field 4: want 12 digits, got 13".
func (s *Spec) Pack(m *Message) ([]byte, error) {
	if s == nil {
		return nil, errors.New("iso8583: nil spec")
	}
	if m == nil {
		return nil, packErr(PosMessage, errors.New("nil message"))
	}
	mti := []byte(m.MTI)
	if len(mti) != 4 {
		return nil, packErr(PosMTI, detailf(ErrLength, "want 4 digits, got %d", len(mti)))
	}
	if i := checkChars(KindN, mti); i >= 0 {
		return nil, packErr(PosMTI, detailf(ErrBadChar, "character %d is not a digit", i+1))
	}

	nums := m.Numbers()
	var bitmap [bitmapBytes]byte
	size := bodyStart
	for _, n := range nums {
		if n == 1 {
			return nil, packErr(PosBitmap, detailf(ErrSecondaryBitmap, "field 1 set: secondary bitmap not supported in spec %s", s.Name))
		}
		if n < 2 || n > 64 {
			return nil, packErr(n, detailf(ErrUndefinedField, "field number outside 2..64"))
		}
		f, ok := s.Fields[n]
		if !ok {
			return nil, packErr(n, detailf(ErrUndefinedField, "not defined in spec %s", s.Name))
		}
		if err := s.checkValue(n, f, m.Fields[n]); err != nil {
			return nil, err
		}
		bitmap[(n-1)/8] |= 0x80 >> ((n - 1) % 8)
		size += f.Len.prefixBytes() + wireBytes(f, len(m.Fields[n]))
	}

	out := make([]byte, 0, size)
	out = appendBCD(out, mti, AlignRight)
	out = append(out, bitmap[:]...)
	for _, n := range nums {
		f, v := s.Fields[n], m.Fields[n]
		l := len(v)
		switch f.Len {
		case LLVar:
			out = append(out, byte(l/10)<<4|byte(l%10))
		case LLLVar:
			out = append(out, byte(l/100), byte(l/10%10)<<4|byte(l%10))
		}
		if f.Kind.bcd() {
			out = appendBCD(out, v, f.Align)
		} else {
			out = append(out, v...)
		}
	}
	return out, nil
}

// checkValue validates one value against its format before anything is
// written. Messages give positions, never the value.
func (s *Spec) checkValue(n int, f FieldSpec, v []byte) error {
	if err := f.check(); err != nil {
		return packErr(n, fmt.Errorf("spec %s: %w", s.Name, err))
	}
	u := f.Kind.unit()
	switch {
	case f.Len == Fixed && len(v) != f.Max:
		return packErr(n, detailf(ErrLength, "want %d %s, got %d", f.Max, u, len(v)))
	case f.Len != Fixed && len(v) > f.Max:
		return packErr(n, detailf(ErrTooLong, "want at most %d %s, got %d", f.Max, u, len(v)))
	}
	if i := checkChars(f.Kind, v); i >= 0 {
		return packErr(n, detailf(ErrBadChar, "character %d is %s", i+1, charRule(f.Kind)))
	}
	return nil
}

// Unpack decodes a packed message (MTI onwards). It never panics; errors
// name the field and the byte offset from the MTI. It rejects truncated
// fields, trailing bytes, non-BCD or non-zero pad nibbles, lengths over the
// maximum, bytes a text field does not allow, fields the spec lacks and a
// set bit 1 (secondary bitmap).
func (s *Spec) Unpack(b []byte) (*Message, error) {
	m, _, err := s.unpack(b)
	return m, err
}

// unpack also returns where each field's value starts (0 = absent), which
// the MAC helpers need.
func (s *Spec) unpack(b []byte) (*Message, [65]int, error) {
	var at [65]int
	if s == nil {
		return nil, at, errors.New("iso8583: nil spec")
	}
	if len(b) < mtiBytes {
		return nil, at, unpackErr(PosMTI, 0, detailf(ErrTruncated, "need %d bytes, have %d", mtiBytes, len(b)))
	}
	mti, i, err := decodeBCD(b[:mtiBytes], 4, AlignRight, false)
	if err != nil {
		return nil, at, unpackErr(PosMTI, i, err)
	}
	if len(b) < bodyStart {
		return nil, at, unpackErr(PosBitmap, mtiBytes, detailf(ErrTruncated, "need %d bytes, have %d", bitmapBytes, len(b)-mtiBytes))
	}
	bitmap := b[mtiBytes:bodyStart]
	if bitmap[0]&0x80 != 0 {
		return nil, at, unpackErr(PosBitmap, mtiBytes, detailf(ErrSecondaryBitmap, "bit 1 set: secondary bitmap not supported in spec %s", s.Name))
	}

	m := &Message{MTI: string(mti), Fields: make(map[int][]byte)}
	pos := bodyStart
	for n := 2; n <= 64; n++ {
		if bitmap[(n-1)/8]&(0x80>>((n-1)%8)) == 0 {
			continue
		}
		f, ok := s.Fields[n]
		if !ok {
			return nil, at, unpackErr(n, pos, detailf(ErrUndefinedField, "bit set but field not defined in spec %s", s.Name))
		}
		if err := f.check(); err != nil {
			return nil, at, unpackErr(n, pos, fmt.Errorf("spec %s: %w", s.Name, err))
		}
		l := f.Max
		if pb := f.Len.prefixBytes(); pb > 0 {
			if len(b)-pos < pb {
				return nil, at, unpackErr(n, pos, detailf(ErrTruncated, "length prefix needs %d bytes, have %d", pb, len(b)-pos))
			}
			v, i, err := decodeDigits(b[pos : pos+pb])
			if err != nil {
				return nil, at, unpackErr(n, pos+i, err)
			}
			if v > f.Max {
				return nil, at, unpackErr(n, pos, detailf(ErrTooLong, "length %d exceeds max %d %s", v, f.Max, f.Kind.unit()))
			}
			l = v
			pos += pb
		}
		nb := wireBytes(f, l)
		if len(b)-pos < nb {
			return nil, at, unpackErr(n, pos, detailf(ErrTruncated, "need %d bytes, have %d", nb, len(b)-pos))
		}
		raw := b[pos : pos+nb]
		var val []byte
		if f.Kind.bcd() {
			v, i, err := decodeBCD(raw, l, f.Align, f.Kind == KindZ)
			if err != nil {
				return nil, at, unpackErr(n, pos+i, err)
			}
			val = v
		} else {
			if i := checkChars(f.Kind, raw); i >= 0 {
				return nil, at, unpackErr(n, pos+i, detailf(ErrBadChar, "byte 0x%02X is %s", raw[i], charRule(f.Kind)))
			}
			val = append([]byte{}, raw...) // never alias the caller's buffer
		}
		m.Fields[n] = val
		at[n] = pos
		pos += nb
	}
	if pos != len(b) {
		return nil, at, unpackErr(PosMessage, pos, detailf(ErrTrailingBytes, "%d bytes after the last field", len(b)-pos))
	}
	return m, at, nil
}

// macField returns the width of the spec's MAC field (64, fixed binary).
func (s *Spec) macField() (int, error) {
	f, ok := s.Fields[64]
	if !ok || f.Kind != KindB || f.Len != Fixed || f.check() != nil {
		return 0, detailf(ErrNoMAC, "spec %s has no fixed binary field 64", s.Name)
	}
	return f.Max, nil
}

// MACData returns the bytes the MAC covers: from the MTI up to the end of
// field 63, i.e. everything before field 64's value. packed must be a valid
// message with bit 64 set (pack it with 8 placeholder bytes in field 64).
// The result aliases packed; its capacity is clipped so appending to it
// cannot overwrite the MAC.
func (s *Spec) MACData(packed []byte) ([]byte, error) {
	if s == nil {
		return nil, errors.New("iso8583: nil spec")
	}
	if _, err := s.macField(); err != nil {
		return nil, packErr(64, err)
	}
	_, at, err := s.unpack(packed)
	if err != nil {
		return nil, err
	}
	if at[64] == 0 {
		return nil, packErr(64, detailf(ErrNoMAC, "bit 64 not set"))
	}
	return packed[:at[64]:at[64]], nil
}

// PatchMAC writes mac into field 64 of a packed message in place.
func (s *Spec) PatchMAC(packed, mac []byte) error {
	if s == nil {
		return errors.New("iso8583: nil spec")
	}
	w, err := s.macField()
	if err != nil {
		return packErr(64, err)
	}
	if len(mac) != w {
		return packErr(64, detailf(ErrLength, "want %d bytes, got %d", w, len(mac)))
	}
	_, at, err := s.unpack(packed)
	if err != nil {
		return err
	}
	if at[64] == 0 {
		return packErr(64, detailf(ErrNoMAC, "bit 64 not set"))
	}
	copy(packed[at[64]:], mac)
	return nil
}

// PackWithMAC packs m with field 64 set, computing the MAC with mac over
// MACData. m itself is not modified.
func (s *Spec) PackWithMAC(m *Message, mac func(data []byte) ([]byte, error)) ([]byte, error) {
	if s == nil {
		return nil, errors.New("iso8583: nil spec")
	}
	if m == nil {
		return nil, packErr(PosMessage, errors.New("nil message"))
	}
	w, err := s.macField()
	if err != nil {
		return nil, packErr(64, err)
	}
	c := m.Clone()
	c.SetBytes(64, make([]byte, w))
	packed, err := s.Pack(c)
	if err != nil {
		return nil, err
	}
	data, err := s.MACData(packed)
	if err != nil {
		return nil, err
	}
	sum, err := mac(data)
	if err != nil {
		return nil, fmt.Errorf("iso8583: computing MAC: %w", err)
	}
	if err := s.PatchMAC(packed, sum); err != nil {
		return nil, err
	}
	return packed, nil
}
