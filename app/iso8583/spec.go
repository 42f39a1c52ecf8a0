package iso8583

import (
	"fmt"
	"sort"
)

// Kind is the character class of a field, which fixes its wire encoding.
type Kind uint8

const (
	// KindN: decimal digits, packed BCD (two digits a byte).
	KindN Kind = iota + 1
	// KindZ: track data, digits and '=' packed as BCD with '=' as nibble D (A-C, E, F
	// when encrypted under the TDK).
	KindZ
	// KindAN: letters, digits and space, one ASCII byte each. Space is
	// allowed because hosts pad an fields (e.g. auth code) with it.
	KindAN
	// KindANS: printable ASCII (0x20-0x7E), one byte each.
	KindANS
	// KindText: like KindANS but also bytes >= 0x80, because CUP hosts put
	// GBK-encoded Chinese (issuer names) in some ans fields. Length is bytes.
	KindText
	// KindB: raw bytes; length is in bytes.
	KindB
)

func (k Kind) String() string {
	switch k {
	case KindN:
		return "n"
	case KindZ:
		return "z"
	case KindAN:
		return "an"
	case KindANS:
		return "ans"
	case KindText:
		return "ans(gbk)"
	case KindB:
		return "b"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// unit names what a length counts, for error messages.
func (k Kind) unit() string {
	switch k {
	case KindN:
		return "digits"
	case KindZ, KindAN, KindANS:
		return "characters"
	}
	return "bytes"
}

// bcd reports whether the kind is packed two characters a byte.
func (k Kind) bcd() bool { return k == KindN || k == KindZ }

// LenType says how a field's length is known.
type LenType uint8

const (
	// Fixed: the length is FieldSpec.Max exactly; no prefix.
	Fixed LenType = iota + 1
	// LLVar: 1-byte BCD prefix (00-99) before the value.
	LLVar
	// LLLVar: 2-byte BCD prefix (0000-0999) before the value.
	LLLVar
)

func (l LenType) String() string {
	switch l {
	case Fixed:
		return "fixed"
	case LLVar:
		return "LLVAR"
	case LLLVar:
		return "LLLVAR"
	}
	return fmt.Sprintf("LenType(%d)", uint8(l))
}

// prefixBytes is the size of the length prefix on the wire.
func (l LenType) prefixBytes() int {
	switch l {
	case LLVar:
		return 1
	case LLLVar:
		return 2
	}
	return 0
}

// maxPrefix is the largest length the prefix can say.
func (l LenType) maxPrefix() int {
	switch l {
	case LLVar:
		return 99
	case LLLVar:
		return 999
	}
	return 0
}

// Align says where the pad nibble goes when a BCD value has an odd number
// of characters.
type Align uint8

const (
	// AlignRight: value right-aligned, pad nibble 0 first (ISO default).
	AlignRight Align = iota
	// AlignLeft: value left-aligned, pad nibble 0 last (CUP variable fields).
	AlignLeft
)

// FieldSpec is the format of one data element.
type FieldSpec struct {
	Name string
	Kind Kind
	Len  LenType
	// Max is the exact length of a Fixed field and the maximum of a
	// variable one, in digits (n), characters (z, an, ans) or bytes (b,
	// ans(gbk)).
	Max int
	// Align places the pad nibble of odd-length n and z values.
	Align Align
}

func (f FieldSpec) String() string {
	if f.Len == Fixed {
		return fmt.Sprintf("%s%d", f.Kind, f.Max)
	}
	return fmt.Sprintf("%s %s..%d", f.Len, f.Kind, f.Max)
}

// Spec is one acquirer dialect: which fields exist and how each is packed.
// Field numbers run 2..64; bit 1 (secondary bitmap) is not supported.
type Spec struct {
	Name   string
	Fields map[int]FieldSpec
}

// Validate checks that the table can be packed: field numbers in 2..64,
// known kinds and length types, and maxima the prefixes can express. A spec
// that fails here must not be used (Pack and Unpack return errors for it
// rather than panic, but the errors would be confusing).
func (s *Spec) Validate() error {
	if s == nil {
		return fmt.Errorf("iso8583: nil spec")
	}
	nums := make([]int, 0, len(s.Fields))
	for n := range s.Fields {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	for _, n := range nums {
		if n < 2 || n > 64 {
			return fmt.Errorf("iso8583: spec %s: field %d: only fields 2..64 are supported", s.Name, n)
		}
		if err := s.Fields[n].check(); err != nil {
			return fmt.Errorf("iso8583: spec %s: field %d: %w", s.Name, n, err)
		}
	}
	return nil
}

// check reports a field format the codec cannot pack.
func (f FieldSpec) check() error {
	switch {
	case f.Kind < KindN || f.Kind > KindB:
		return fmt.Errorf("bad kind %v", f.Kind)
	case f.Len < Fixed || f.Len > LLLVar:
		return fmt.Errorf("bad length type %v", f.Len)
	case f.Align > AlignLeft:
		return fmt.Errorf("bad alignment %d", f.Align)
	case f.Max < 1 || f.Max > 999:
		// 999 is the LLLVAR limit; no 8583 field is longer, and the cap
		// keeps size arithmetic far from int overflow on 32-bit ARM.
		return fmt.Errorf("max length %d outside 1..999", f.Max)
	case f.Len != Fixed && f.Max > f.Len.maxPrefix():
		return fmt.Errorf("max length %d does not fit a %v prefix", f.Max, f.Len)
	}
	return nil
}

// Shorthands for the table below.
func fixedN(name string, digits int) FieldSpec {
	return FieldSpec{Name: name, Kind: KindN, Len: Fixed, Max: digits}
}

func fixedAN(name string, k Kind, chars int) FieldSpec {
	return FieldSpec{Name: name, Kind: k, Len: Fixed, Max: chars}
}

// CUP is the China UnionPay POS terminal dialect (中国银联 POS 终端规范).
// Conventions chosen where editions or acquirers differ are noted per field;
// each is a one-line change here.
var CUP = &Spec{
	Name: "CUP",
	Fields: map[int]FieldSpec{
		// Variable n fields are left-aligned with a trailing 0 nibble.
		2:  {Name: "PAN", Kind: KindN, Len: LLVar, Max: 19, Align: AlignLeft},
		3:  fixedN("processing code", 6),
		4:  fixedN("amount (fen)", 12),
		11: fixedN("STAN", 6),
		12: fixedN("local time hhmmss", 6),
		13: fixedN("local date MMDD", 4),
		14: fixedN("expiry YYMM", 4),
		15: fixedN("settlement date MMDD", 4),
		// CUP packs 22 left-aligned: "021" is 02 10 on the wire.
		22: {Name: "POS entry mode", Kind: KindN, Len: Fixed, Max: 3, Align: AlignLeft},
		// 23 follows the ISO default, right-aligned: "001" is 00 01. Some
		// acquirers left-align it like 22; change Align if so.
		23: {Name: "card sequence number", Kind: KindN, Len: Fixed, Max: 3, Align: AlignRight},
		25: fixedN("POS condition code", 2),
		26: fixedN("PIN capture code", 2),
		32: {Name: "acquirer ID", Kind: KindN, Len: LLVar, Max: 11, Align: AlignLeft},
		// Track data pads with 0 (some terminals use F; CUP uses 0).
		35: {Name: "track 2", Kind: KindZ, Len: LLVar, Max: 37, Align: AlignLeft},
		36: {Name: "track 3", Kind: KindZ, Len: LLLVar, Max: 104, Align: AlignLeft},
		37: fixedAN("RRN", KindAN, 12),
		38: fixedAN("auth code", KindAN, 6),
		39: fixedAN("response code", KindAN, 2),
		41: fixedAN("terminal ID", KindANS, 8),
		42: fixedAN("merchant ID", KindANS, 15),
		44: {Name: "additional response data", Kind: KindANS, Len: LLVar, Max: 25},
		48: {Name: "additional data (settlement totals)", Kind: KindN, Len: LLLVar, Max: 322, Align: AlignLeft},
		49: fixedAN("currency code", KindAN, 3),
		52: {Name: "PIN block", Kind: KindB, Len: Fixed, Max: 8},
		53: fixedN("security control", 16),
		54: {Name: "balance amount", Kind: KindAN, Len: LLLVar, Max: 20},
		55: {Name: "ICC data", Kind: KindB, Len: LLLVar, Max: 255},
		// 59 carries scan-code (wallet) data as TLV, see ParseTLV.
		59: {Name: "wallet data (TLV)", Kind: KindText, Len: LLLVar, Max: 999},
		60: {Name: "reserved private 60", Kind: KindN, Len: LLLVar, Max: 17, Align: AlignLeft},
		61: {Name: "original message", Kind: KindN, Len: LLLVar, Max: 29, Align: AlignLeft},
		// 62 is key data in 0810 and ans elsewhere; bytes covers both.
		62: {Name: "reserved private 62", Kind: KindB, Len: LLLVar, Max: 512},
		// 63.2 in replies may carry the issuer name in GBK, hence KindText.
		63: {Name: "reserved private 63", Kind: KindText, Len: LLLVar, Max: 163},
		64: {Name: "MAC", Kind: KindB, Len: Fixed, Max: 8},
	},
}
