package seckey

import (
	"crypto/subtle"
	"errors"
	"fmt"
)

// ISO 9564-1 format 0 (ANSI X9.8) PIN block, the format CUP POS uses for
// field 52:
//
//	PIN field: 0 | L | L PIN digits | F fill          (16 nibbles)
//	PAN field: 0000 | rightmost 12 PAN digits excluding the check digit
//	clear block = PIN field XOR PAN field; field 52 = encrypt(PIK, clear block)

var (
	// ErrPINFormat means the PIN is not 4 to 12 decimal digits.
	ErrPINFormat = errors.New("seckey: PIN must be 4 to 12 decimal digits")
	// ErrPANFormat means the PAN is not 13 to 19 decimal digits.
	ErrPANFormat = errors.New("seckey: PAN must be 13 to 19 decimal digits")
	// ErrPINBlock means a PIN block does not decode to a valid format-0
	// block: a wrong PIK, a wrong PAN or a corrupted field 52. It is
	// deliberately unspecific so it cannot serve as a format oracle.
	ErrPINBlock = errors.New("seckey: PIN block is not a valid format-0 block")
)

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// panField builds the PAN field. Errors give the length only: the PAN is
// cardholder data and stays out of logs.
func panField(pan string) ([8]byte, error) {
	var f [8]byte
	if len(pan) < 13 || len(pan) > 19 || !allDigits(pan) {
		return f, fmt.Errorf("%w, got %d characters", ErrPANFormat, len(pan))
	}
	d := pan[len(pan)-13 : len(pan)-1] // 12 digits before the check digit
	for i := 0; i < 12; i += 2 {
		f[2+i/2] = (d[i]-'0')<<4 | (d[i+1] - '0')
	}
	return f, nil
}

// pinField builds the PIN field. Errors never mention the PIN.
func pinField(pin string) ([8]byte, error) {
	var f [8]byte
	if len(pin) < 4 || len(pin) > 12 || !allDigits(pin) {
		return f, ErrPINFormat
	}
	var nib [16]byte
	nib[0] = 0x0
	nib[1] = byte(len(pin))
	for i := 2; i < 16; i++ {
		nib[i] = 0xF
	}
	for i := 0; i < len(pin); i++ {
		nib[2+i] = pin[i] - '0'
	}
	for i := range f {
		f[i] = nib[2*i]<<4 | nib[2*i+1]
	}
	clear(nib[:])
	return f, nil
}

// PINBlock returns the encrypted ISO 9564 format-0 PIN block for field 52.
func PINBlock(pik Key, pin, pan string) ([]byte, error) {
	if !validKeyLen(len(pik)) {
		return nil, fmt.Errorf("seckey: PIK: %w", keyLenError(len(pik)))
	}
	pf, err := pinField(pin)
	if err != nil {
		return nil, err
	}
	af, err := panField(pan)
	if err != nil {
		clear(pf[:])
		return nil, err
	}
	var clr [8]byte
	subtle.XORBytes(clr[:], pf[:], af[:])
	clear(pf[:])
	out, err := pik.Encrypt(clr[:])
	clear(clr[:])
	return out, err
}

// clearPINField decrypts block and removes the PAN field, leaving the clear
// PIN field.
func clearPINField(pik Key, block []byte, pan string) ([8]byte, error) {
	var pf [8]byte
	if !validKeyLen(len(pik)) {
		return pf, fmt.Errorf("seckey: PIK: %w", keyLenError(len(pik)))
	}
	if len(block) != 8 {
		return pf, fmt.Errorf("%w: need 8 bytes, got %d", ErrPINBlock, len(block))
	}
	af, err := panField(pan)
	if err != nil {
		return pf, err
	}
	clr, err := pik.Decrypt(block)
	if err != nil {
		return pf, err
	}
	subtle.XORBytes(pf[:], clr, af[:])
	clear(clr)
	return pf, nil
}

// DecodePINBlock is the host simulator's side: it decrypts a format-0 PIN
// block, removes the PAN field, validates the format (control nibble 0,
// length 4-12, decimal digits, F fill) and returns the PIN.
func DecodePINBlock(pik Key, block []byte, pan string) (string, error) {
	pf, err := clearPINField(pik, block, pan)
	defer clear(pf[:])
	if err != nil {
		return "", err
	}
	return parsePINField(&pf)
}

// parsePINField validates a clear format-0 PIN field and returns the PIN.
func parsePINField(pf *[8]byte) (string, error) {
	nib := func(i int) byte { return (pf[i/2] >> (4 * (1 - i%2))) & 0x0f }
	n := int(nib(1))
	if nib(0) != 0 || n < 4 || n > 12 {
		return "", ErrPINBlock
	}
	pin := make([]byte, n)
	for i := range n {
		d := nib(2 + i)
		if d > 9 {
			return "", ErrPINBlock
		}
		pin[i] = '0' + d
	}
	for i := 2 + n; i < 16; i++ {
		if nib(i) != 0xF {
			return "", ErrPINBlock
		}
	}
	return string(pin), nil
}

// VerifyPINBlock reports whether block carries expected, comparing the clear
// PIN fields in constant time. An error means the block itself is bad
// (ErrPINBlock: wrong key, wrong PAN or corruption) or an argument is
// invalid, so the host can answer "PIN format error" rather than "wrong PIN".
func VerifyPINBlock(pik Key, block []byte, pan, expected string) (bool, error) {
	got, err := clearPINField(pik, block, pan)
	defer clear(got[:])
	if err != nil {
		return false, err
	}
	if _, err := parsePINField(&got); err != nil {
		return false, err
	}
	want, err := pinField(expected)
	defer clear(want[:])
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1, nil
}
