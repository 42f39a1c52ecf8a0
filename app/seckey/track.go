package seckey

import (
	"errors"
	"fmt"
)

// Track data encryption under the TDK, as UnionPay terminals do it when
// sign-on delivered a track key (60.3 = 004): track 2 is taken as its BCD
// bytes ('=' is the nibble D; an odd length ends in a 0 pad nibble), and
// the 8 bytes that end one byte before the last are 3DES-encrypted in
// place. The block holds the issuer's discretionary data (the card
// verification value), the part an eavesdropper must not get. The length
// is unchanged; encrypted nibbles A, B, C, E and F appear as those
// letters and D as '=', which is how field 35 carries them.

// ErrTrack means track data that cannot be encrypted or decrypted.
var ErrTrack = errors.New("seckey: track data unusable")

const trackBlockBytes = 8

func trackNibble(c byte, cipher bool) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c == '=':
		return 0xD, true
	case cipher && (c >= 'A' && c <= 'C' || c == 'E' || c == 'F'):
		return c - 'A' + 0xA, true
	}
	return 0, false
}

func trackChar(n byte) byte {
	switch {
	case n <= 9:
		return '0' + n
	case n == 0xD:
		return '='
	}
	return 'A' + n - 0xA
}

func cryptTrack(tdk Key, track string, enc bool) (string, error) {
	if len(tdk) != DoubleLen {
		return "", fmt.Errorf("%w: the track key must be double length", ErrTrack)
	}
	n := len(track)
	nbytes := (n + 1) / 2
	if nbytes < trackBlockBytes+1 || n > 104 {
		return "", fmt.Errorf("%w: %d characters", ErrTrack, n)
	}
	b := make([]byte, nbytes)
	for i := 0; i < n; i++ {
		v, ok := trackNibble(track[i], !enc)
		if !ok {
			return "", fmt.Errorf("%w: character %d is not track data", ErrTrack, i+1)
		}
		if i%2 == 0 {
			b[i/2] = v << 4
		} else {
			b[i/2] |= v
		}
	}
	defer clear(b)
	start := nbytes - 1 - trackBlockBytes
	out, err := tdk.crypt(b[start:start+trackBlockBytes], enc)
	if err != nil {
		return "", err
	}
	copy(b[start:], out)
	clear(out)
	s := make([]byte, n)
	for i := 0; i < n; i++ {
		v := b[i/2] >> 4
		if i%2 == 1 {
			v = b[i/2] & 0x0F
		}
		s[i] = trackChar(v)
	}
	return string(s), nil
}

// EncryptTrack encrypts clear track 2 (digits and '=') under the TDK.
func EncryptTrack(tdk Key, track string) (string, error) { return cryptTrack(tdk, track, true) }

// DecryptTrack is the host's side of EncryptTrack.
func DecryptTrack(tdk Key, track string) (string, error) { return cryptTrack(tdk, track, false) }
