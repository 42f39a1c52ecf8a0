package seckey

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Field 62 of the sign-on reply (0810) carries the new working keys, each
// encrypted (ECB) under the TMK and followed by its 4-byte check value
// computed over the clear key. Layouts, by key mode:
//
//	Single        (24 bytes): PIK 8 | KCV 4 | MAK 8 | KCV 4
//	Double        (40 bytes): PIK 16 | KCV 4 | MAK 16 | KCV 4
//	DoubleWithTDK (60 bytes): PIK 16 | KCV 4 | MAK 16 | KCV 4 | TDK 16 | KCV 4
//
// In the double modes the 16-byte MAK slot normally holds a single-length
// MAK: 8 bytes of ciphertext then 8 zero bytes of filler, with a single-DES
// check value. A published CUP example decodes exactly this way (code456.com
// "POS终端密事之工作密钥解密": a 40-byte field 62 with TMK
// CA5D92598DCA48CE8A4C76361A9269E9; our test uses it). If the second half of
// the slot is not all zeros, the slot is read as a double-length MAK (needed
// for X9.19). A real double-length ciphertext ending in 8 zero bytes has
// probability 2^-64, and BuildField62 refuses to produce one.
//
// CUP's POS specification lists field 62 lengths 24, 40, 56, 60 and 84
// (e-com-net.com "62域…终端密钥"); 56 and 84 are acquirer variants (e.g.
// triple-length keys) that this terminal does not use, so they are rejected.
// The mode is agreed beforehand through field 60.3 of the sign-on request
// (ParseKeyMode), and the length must match it.

// KeyMode is the working-key layout negotiated at sign-on.
type KeyMode int

const (
	// Single: single-length PIK and MAK (60.3 = "001").
	Single KeyMode = iota
	// Double: double-length PIK, MAK single or double (60.3 = "003").
	Double
	// DoubleWithTDK: as Double plus a double-length track data key (60.3 = "004").
	DoubleWithTDK
)

func (m KeyMode) String() string {
	switch m {
	case Single:
		return "single"
	case Double:
		return "double"
	case DoubleWithTDK:
		return "double+TDK"
	}
	return fmt.Sprintf("KeyMode(%d)", int(m))
}

// Code60_3 returns the network management code sent in field 60.3 of the
// sign-on request to ask for this mode.
func (m KeyMode) Code60_3() string {
	switch m {
	case Single:
		return "001"
	case Double:
		return "003"
	case DoubleWithTDK:
		return "004"
	}
	return ""
}

// ParseKeyMode maps a field 60.3 network management code to a KeyMode.
func ParseKeyMode(code string) (KeyMode, error) {
	switch code {
	case "001":
		return Single, nil
	case "003":
		return Double, nil
	case "004":
		return DoubleWithTDK, nil
	}
	return 0, fmt.Errorf("seckey: unknown key mode code %q in field 60.3", code)
}

// KeyModeForLength returns the mode whose field 62 layout has n bytes, for
// hosts that do not echo 60.3.
func KeyModeForLength(n int) (KeyMode, error) {
	for _, m := range []KeyMode{Single, Double, DoubleWithTDK} {
		if layoutFor(m).size() == n {
			return m, nil
		}
	}
	return 0, fmt.Errorf("%w: no key mode has %d bytes (want 24, 40 or 60)", ErrField62Length, n)
}

var (
	// ErrField62Length means field 62 is not the size the key mode requires.
	ErrField62Length = errors.New("seckey: field 62 has the wrong length")
	// ErrCheckValue means a decrypted working key does not match its check
	// value: usually a wrong TMK or a corrupted message.
	ErrCheckValue = errors.New("seckey: key check value mismatch")
	// ErrKeyMode means an unknown KeyMode value.
	ErrKeyMode = errors.New("seckey: unknown key mode")
)

// keyRole names a working key; it is the only thing errors say about a key.
type keyRole int

const (
	rolePIK keyRole = iota
	roleMAK
	roleTDK
)

func (r keyRole) String() string { return [...]string{"PIK", "MAK", "TDK"}[r] }

// slot is one key's place in field 62.
type slot struct {
	role  keyRole
	width int // bytes of ciphertext space, before the KCV
	// filler: the slot may hold a single-length key followed by 8 zero bytes.
	filler bool
}

type layout []slot

func (l layout) size() int {
	n := 0
	for _, s := range l {
		n += s.width + KCVLen
	}
	return n
}

// layoutFor returns the field 62 layout of m, or nil for an unknown mode.
func layoutFor(m KeyMode) layout {
	switch m {
	case Single:
		return layout{{rolePIK, 8, false}, {roleMAK, 8, false}}
	case Double:
		return layout{{rolePIK, 16, false}, {roleMAK, 16, true}}
	case DoubleWithTDK:
		return layout{{rolePIK, 16, false}, {roleMAK, 16, true}, {roleTDK, 16, false}}
	}
	return nil
}

// WorkingKeys are the clear session keys from sign-on. TDK may be nil.
type WorkingKeys struct {
	PIK, MAK, TDK Key
}

func (w *WorkingKeys) key(r keyRole) *Key {
	switch r {
	case rolePIK:
		return &w.PIK
	case roleMAK:
		return &w.MAK
	}
	return &w.TDK
}

// Zero overwrites all three keys.
func (w *WorkingKeys) Zero() {
	w.PIK.Zero()
	w.MAK.Zero()
	w.TDK.Zero()
}

// String shows only check values.
func (w WorkingKeys) String() string {
	return fmt.Sprintf("<working keys PIK=%s MAK=%s TDK=%s>", w.PIK, w.MAK, w.TDK)
}

// Format redacts under every verb, as Key does.
func (w WorkingKeys) Format(f fmt.State, _ rune) { io.WriteString(f, w.String()) }

// LogValue redacts for log/slog.
func (w WorkingKeys) LogValue() slog.Value { return slog.StringValue(w.String()) }

// ParseField62 decrypts the working keys in a sign-on reply's field 62 under
// tmk and checks each against its check value (in constant time). Errors
// name the key at fault but never carry key bytes.
func ParseField62(tmk Key, data []byte, mode KeyMode) (WorkingKeys, error) {
	lay := layoutFor(mode)
	if lay == nil {
		return WorkingKeys{}, fmt.Errorf("%w %d", ErrKeyMode, int(mode))
	}
	if !validKeyLen(len(tmk)) {
		return WorkingKeys{}, fmt.Errorf("seckey: TMK: %w", keyLenError(len(tmk)))
	}
	if len(data) != lay.size() {
		msg := fmt.Sprintf("%s mode expects %d bytes, got %d", mode, lay.size(), len(data))
		if other, err := KeyModeForLength(len(data)); err == nil {
			msg += fmt.Sprintf(" (that is the %s layout)", other)
		}
		return WorkingKeys{}, fmt.Errorf("%w: %s", ErrField62Length, msg)
	}

	var wk WorkingKeys
	off := 0
	for _, s := range lay {
		ct := data[off : off+s.width]
		kcv := data[off+s.width : off+s.width+KCVLen]
		off += s.width + KCVLen
		if s.filler && allZero(ct[SingleLen:]) {
			ct = ct[:SingleLen]
		}
		clearKey, err := tmk.ecb(ct, false)
		if err != nil {
			wk.Zero()
			return WorkingKeys{}, fmt.Errorf("seckey: decrypting %s: %w", s.role, err)
		}
		if subtle.ConstantTimeCompare(CheckValue(clearKey), kcv) != 1 {
			clear(clearKey)
			wk.Zero()
			return WorkingKeys{}, fmt.Errorf("%w for %s", ErrCheckValue, s.role)
		}
		*wk.key(s.role) = clearKey
	}
	return wk, nil
}

// BuildField62 is the host simulator's side: it encrypts keys under tmk in
// the layout of mode. ParseField62 of the result returns the same keys.
func BuildField62(tmk Key, keys WorkingKeys, mode KeyMode) ([]byte, error) {
	lay := layoutFor(mode)
	if lay == nil {
		return nil, fmt.Errorf("%w %d", ErrKeyMode, int(mode))
	}
	if !validKeyLen(len(tmk)) {
		return nil, fmt.Errorf("seckey: TMK: %w", keyLenError(len(tmk)))
	}
	if mode != DoubleWithTDK && keys.TDK != nil {
		// Dropping it silently would leave the host and terminal disagreeing.
		return nil, fmt.Errorf("seckey: TDK given but %s mode carries none", mode)
	}

	out := make([]byte, 0, lay.size())
	for _, s := range lay {
		k := *keys.key(s.role)
		fits := len(k) == s.width || (s.filler && len(k) == SingleLen)
		if !fits {
			want := fmt.Sprint(s.width)
			if s.filler {
				want = "8 or 16"
			}
			return nil, fmt.Errorf("seckey: %s must be %s bytes in %s mode, got %d", s.role, want, mode, len(k))
		}
		ct, err := tmk.ecb(k, true)
		if err != nil {
			return nil, fmt.Errorf("seckey: encrypting %s: %w", s.role, err)
		}
		if s.filler && len(k) == DoubleLen && allZero(ct[SingleLen:]) {
			return nil, fmt.Errorf("seckey: %s ciphertext would read as single-length; generate another key", s.role)
		}
		out = append(out, ct...)
		for range s.width - len(ct) {
			out = append(out, 0)
		}
		out = append(out, CheckValue(k)...)
	}
	return out, nil
}

func allZero(b []byte) bool {
	var acc byte
	for _, c := range b {
		acc |= c
	}
	return acc == 0
}

// ParseKeyModeName accepts the configuration spellings "single", "double"
// and "double+tdk" (case-insensitive) as well as the 60.3 codes.
func ParseKeyModeName(s string) (KeyMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "single", "001":
		return Single, nil
	case "double", "003":
		return Double, nil
	case "double+tdk", "doublewithtdk", "004":
		return DoubleWithTDK, nil
	}
	return 0, fmt.Errorf("seckey: unknown key mode %q (want single, double or double+tdk)", s)
}
