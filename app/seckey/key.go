// Package seckey is the terminal's key handling under China UnionPay (CUP)
// POS conventions: the terminal master key (TMK), the working keys delivered
// at sign-on in field 62 (PIK, MAK, optional TDK), the two MAC algorithms CUP
// hosts use (the CUP "ECB" MAC and ANSI X9.19), ISO 9564 format-0 PIN blocks,
// and sealing keys at rest under a per-device AES key.
//
// Clear key bytes, PINs and PANs never appear in error text, and Key and
// WorkingKeys print only their check values, so a key that reaches a log by
// accident does not leak.
package seckey

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// Key lengths in bytes.
const (
	SingleLen = 8  // single-length DES key
	DoubleLen = 16 // double-length 3DES key, used as K1 K2 K1
	KCVLen    = 4  // key check value as CUP sends it
)

var (
	// ErrKeyLength means a key is neither 8 nor 16 bytes.
	ErrKeyLength = errors.New("seckey: key must be 8 or 16 bytes")
	// ErrBlockLength means a DES block is not 8 bytes.
	ErrBlockLength = errors.New("seckey: block must be 8 bytes")
)

// Key is a clear DES key: 8 bytes (single DES) or 16 bytes (double-length
// 3DES with K3 = K1). Its formatted forms show only the check value.
type Key []byte

func validKeyLen(n int) bool { return n == SingleLen || n == DoubleLen }

func keyLenError(n int) error { return fmt.Errorf("%w, got %d", ErrKeyLength, n) }

// cipherBlock builds the DES or 3DES block cipher for k.
func (k Key) cipherBlock() (cipher.Block, error) {
	switch len(k) {
	case SingleLen:
		return des.NewCipher(k)
	case DoubleLen:
		// crypto/des wants all three keys; a double-length key reuses K1.
		var k3 [24]byte
		copy(k3[:16], k)
		copy(k3[16:], k[:8])
		b, err := des.NewTripleDESCipher(k3[:])
		clear(k3[:])
		return b, err
	}
	return nil, keyLenError(len(k))
}

// Encrypt ECB-encrypts one 8-byte block with k.
func (k Key) Encrypt(block8 []byte) ([]byte, error) {
	return k.crypt(block8, true)
}

// Decrypt ECB-decrypts one 8-byte block with k.
func (k Key) Decrypt(block8 []byte) ([]byte, error) {
	return k.crypt(block8, false)
}

func (k Key) crypt(in []byte, enc bool) ([]byte, error) {
	if len(in) != des.BlockSize {
		return nil, fmt.Errorf("%w, got %d", ErrBlockLength, len(in))
	}
	b, err := k.cipherBlock()
	if err != nil {
		return nil, err
	}
	out := make([]byte, des.BlockSize)
	if enc {
		b.Encrypt(out, in)
	} else {
		b.Decrypt(out, in)
	}
	return out, nil
}

// ecb applies k block by block to data, whose length must be a multiple of
// 8; working keys in field 62 are 8 or 16 bytes, so ECB is what CUP uses.
func (k Key) ecb(data []byte, enc bool) ([]byte, error) {
	if len(data)%des.BlockSize != 0 {
		return nil, fmt.Errorf("%w multiple, got %d", ErrBlockLength, len(data))
	}
	b, err := k.cipherBlock()
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(data))
	for i := 0; i < len(data); i += des.BlockSize {
		if enc {
			b.Encrypt(out[i:], data[i:])
		} else {
			b.Decrypt(out[i:], data[i:])
		}
	}
	return out, nil
}

// CheckValue returns the key check value: the first 4 bytes of encrypting 8
// zero bytes with k (DES or 3DES by key length). It returns nil if k has an
// invalid length.
func CheckValue(k Key) []byte {
	full, err := k.Encrypt(make([]byte, des.BlockSize))
	if err != nil {
		return nil
	}
	kcv := make([]byte, KCVLen)
	copy(kcv, full)
	return kcv
}

// Equal reports, in constant time, whether k and o are the same key.
func (k Key) Equal(o Key) bool {
	return subtle.ConstantTimeCompare(k, o) == 1
}

// Zero overwrites the key bytes so a discarded key does not linger in
// memory longer than needed (best effort: Go may have copied it).
func (k Key) Zero() { clear(k) }

// String returns "<key kcv=XXXXXXXX>", never the key itself.
func (k Key) String() string {
	switch {
	case len(k) == 0:
		return "<key none>"
	case !validKeyLen(len(k)):
		return fmt.Sprintf("<key invalid len=%d>", len(k))
	}
	return "<key kcv=" + upperHex(CheckValue(k)) + ">"
}

// Format makes every fmt verb (%x and %#v included) print the redacted
// form; without it, %x or %d on a []byte type would print the key.
func (k Key) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LogValue keeps log/slog handlers (the JSON one marshals []byte as base64)
// from printing the key.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }

// MarshalJSON refuses: a clear key written as JSON would end up in a file or
// a log in the clear. Persist keys with SealKey instead.
func (k Key) MarshalJSON() ([]byte, error) {
	return nil, errors.New("seckey: refusing to marshal a clear key to JSON; use SealKey")
}

// ParseKeyHex decodes a 16- or 32-hex-digit key (as in configuration or the
// simulator's fixed TMK). The input is not echoed in errors.
func ParseKeyHex(s string) (Key, error) {
	if len(s) != 2*SingleLen && len(s) != 2*DoubleLen {
		return nil, fmt.Errorf("seckey: key hex must be 16 or 32 digits, got %d", len(s))
	}
	k, err := hex.DecodeString(s)
	if err != nil {
		return nil, errors.New("seckey: key hex contains a non-hex character")
	}
	return Key(k), nil
}

// GenerateKey returns a random key of n bytes (8 or 16) with odd parity in
// every byte, as DES keys from an HSM have; the host simulator uses it for
// the working keys it sends at sign-on.
func GenerateKey(n int) (Key, error) {
	if !validKeyLen(n) {
		return nil, keyLenError(n)
	}
	k := make(Key, n)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	for i, b := range k {
		k[i] = oddParity(b)
	}
	return k, nil
}

// oddParity sets the low bit of b so that b has an odd number of ones.
func oddParity(b byte) byte {
	b &^= 1
	ones := 0
	for v := b; v != 0; v &= v - 1 {
		ones++
	}
	if ones%2 == 0 {
		b |= 1
	}
	return b
}

// simulatorTMK is a well-known test key, never a production value: the
// terminal in simulator mode and the host simulator must share a TMK, and a
// real one is injected at the factory instead.
const simulatorTMK = "0123456789ABCDEFFEDCBA9876543210"

// SimulatorTMK returns a fresh copy of the fixed test TMK used when the
// terminal talks to the host simulator.
func SimulatorTMK() Key {
	k, _ := ParseKeyHex(simulatorTMK)
	return k
}

const hexDigits = "0123456789ABCDEF"

// hexUpperTo writes the uppercase hex of src into dst (len 2*len(src)); the
// CUP ECB MAC works on these ASCII digits, so the case matters.
func hexUpperTo(dst, src []byte) {
	for i, b := range src {
		dst[2*i] = hexDigits[b>>4]
		dst[2*i+1] = hexDigits[b&0x0f]
	}
}

func upperHex(b []byte) string {
	out := make([]byte, 2*len(b))
	hexUpperTo(out, b)
	return string(out)
}
