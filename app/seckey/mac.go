package seckey

import (
	"crypto/des"
	"crypto/subtle"
	"fmt"
	"strings"
)

// MACAlgorithm selects how field 64 is computed.
type MACAlgorithm int

const (
	// MACCUPECB is the CUP POS "ECB" MAC (银联 ECB 算法); see MACECB.
	MACCUPECB MACAlgorithm = iota
	// MACANSIX919 is ANSI X9.19 retail MAC; see MACX919. (The constant
	// cannot share the function's name.)
	MACANSIX919
)

func (a MACAlgorithm) String() string {
	switch a {
	case MACCUPECB:
		return "ecb"
	case MACANSIX919:
		return "x9.19"
	}
	return fmt.Sprintf("MACAlgorithm(%d)", int(a))
}

// ParseMACAlgorithm accepts "ecb" and "x9.19" (case-insensitive; "cup-ecb"
// and "x919" too), the spellings String returns.
func ParseMACAlgorithm(s string) (MACAlgorithm, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "ecb", "cup-ecb":
		return MACCUPECB, nil
	case "x9.19", "x919":
		return MACANSIX919, nil
	}
	return 0, fmt.Errorf("seckey: unknown MAC algorithm %q (want ecb or x9.19)", s)
}

// ComputeMAC computes the 8-byte MAC of data with alg.
func ComputeMAC(alg MACAlgorithm, mak Key, data []byte) ([]byte, error) {
	switch alg {
	case MACCUPECB:
		return MACECB(mak, data)
	case MACANSIX919:
		return MACX919(mak, data)
	}
	return nil, fmt.Errorf("seckey: unknown MAC algorithm %d", int(alg))
}

// VerifyMAC recomputes the MAC and compares it with mac in constant time.
// It returns false on any error (bad key, unknown algorithm) and when mac is
// not the full 8 bytes.
func VerifyMAC(alg MACAlgorithm, mak Key, data, mac []byte) bool {
	want, err := ComputeMAC(alg, mak, data)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(want, mac) == 1
}

// MACECB computes the CUP POS "ECB" MAC over data (the MAB: message type
// through field 63). It returns 8 ASCII hex digits, which is what goes into
// field 64. Steps, as described in public write-ups of the CUP POS spec
// (blog.51cto.com/xiaohaiwa/5379715, "银联标准MAC算法"):
//
//  1. Pad data with 0x00 to a multiple of 8 bytes.
//  2. XOR all 8-byte blocks together into one block R.
//  3. Hex-encode R in uppercase: 16 ASCII bytes H = H1 (first 8) | H2 (last 8).
//  4. E = encrypt(MAK, H1).
//  5. E = encrypt(MAK, E XOR H2).
//  6. Hex-encode E in uppercase; the MAC is its first 8 ASCII bytes.
//
// The spec's MAK is single-length (plain DES); a 16-byte MAK encrypts with
// 3DES (K1 K2 K1), as Key.Encrypt does, which is what acquirers that send a
// double-length MAK with this algorithm expect.
func MACECB(mak Key, data []byte) ([]byte, error) {
	b, err := mak.cipherBlock()
	if err != nil {
		return nil, fmt.Errorf("seckey: MAK: %w", err)
	}
	// Steps 1-2: XOR-fold; bytes past the end count as the zero padding.
	var r [8]byte
	for i, c := range data {
		r[i%8] ^= c
	}
	// Step 3.
	var h [16]byte
	hexUpperTo(h[:], r[:])
	// Steps 4-5.
	var e [8]byte
	b.Encrypt(e[:], h[:8])
	subtle.XORBytes(e[:], e[:], h[8:])
	b.Encrypt(e[:], e[:])
	// Step 6.
	var out [16]byte
	hexUpperTo(out[:], e[:])
	mac := make([]byte, 8)
	copy(mac, out[:8])
	return mac, nil
}

// MACX919 computes the ANSI X9.19 retail MAC (ISO 9797-1 MAC algorithm 3,
// padding method 1) and returns the full 8-byte result:
//
//  1. Pad data with 0x00 to a multiple of 8 bytes (empty data is one zero
//     block).
//  2. CBC-encrypt all blocks with single DES under K1 (left half of the MAK),
//     IV = 0; keep the last output block.
//  3. Decrypt that block with K2 (right half), then encrypt with K1.
//
// With an 8-byte MAK step 3 is skipped, which is X9.9 plain CBC-DES MAC.
// Published steps: iter01.com/132574.html ("ANSI X9.19 MAC算法"); the test
// also checks a published vector.
func MACX919(mak Key, data []byte) ([]byte, error) {
	if !validKeyLen(len(mak)) {
		return nil, fmt.Errorf("seckey: MAK: %w", keyLenError(len(mak)))
	}
	k1, err := des.NewCipher(mak[:8])
	if err != nil {
		return nil, err
	}
	var v [8]byte
	blocks := max((len(data)+7)/8, 1)
	for i := range blocks {
		chunk := data[min(i*8, len(data)):min(i*8+8, len(data))]
		subtle.XORBytes(v[:], v[:], chunk) // XORs len(chunk) bytes; the rest is zero padding
		k1.Encrypt(v[:], v[:])
	}
	if len(mak) == DoubleLen {
		k2, err := des.NewCipher(mak[8:])
		if err != nil {
			return nil, err
		}
		k2.Decrypt(v[:], v[:])
		k1.Encrypt(v[:], v[:])
	}
	mac := make([]byte, 8)
	copy(mac, v[:])
	return mac, nil
}
