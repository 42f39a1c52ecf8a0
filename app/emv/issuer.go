package emv

import (
	"crypto/des"
	"errors"
	"fmt"
	"strings"
)

// The issuer's side of the application cryptogram, for the simulated
// issuer: it derives each card's key from the issuer master key, checks
// the ARQC and answers with an ARPC. Written from EMV Book 2 Annex A1,
// apart from the virtual cards' own code.

// DeriveICCMasterKey is EMV Book 2 A1.4.1 option A: the rightmost 16
// digits of PAN‖PSN, enciphered under the issuer master key, and again
// inverted, make the card's 16-byte master key.
func DeriveICCMasterKey(imk []byte, pan, psn string) ([]byte, error) {
	if len(imk) != 16 {
		return nil, errors.New("emv: issuer master key must be 16 bytes")
	}
	if psn == "" {
		psn = "00"
	}
	digits := pan + psn
	if strings.Trim(digits, "0123456789") != "" || len(pan) < 12 {
		return nil, fmt.Errorf("emv: PAN and PSN must be digits, the PAN 12 or more")
	}
	if len(digits) < 16 {
		digits = strings.Repeat("0", 16-len(digits)) + digits // padded on the left
	}
	y := bcd(digits[len(digits)-16:])
	blk, err := des.NewTripleDESCipher(append(append([]byte{}, imk...), imk[:8]...))
	if err != nil {
		return nil, err
	}
	mk := make([]byte, 16)
	blk.Encrypt(mk[:8], y)
	inv := make([]byte, 8)
	for i := range y {
		inv[i] = y[i] ^ 0xFF
	}
	blk.Encrypt(mk[8:], inv)
	return mk, nil
}

// SessionKey is the common session key derivation (Book 2 A1.3) for an ATC.
func SessionKey(mk []byte, atc uint16) ([]byte, error) {
	blk, err := des.NewTripleDESCipher(append(append([]byte{}, mk...), mk[:8]...))
	if err != nil {
		return nil, err
	}
	sk := make([]byte, 16)
	blk.Encrypt(sk[:8], []byte{byte(atc >> 8), byte(atc), 0xF0, 0, 0, 0, 0, 0})
	blk.Encrypt(sk[8:], []byte{byte(atc >> 8), byte(atc), 0x0F, 0, 0, 0, 0, 0})
	return sk, nil
}

// MAC3 is ISO/IEC 9797-1 MAC algorithm 3 with padding method 2, the MAC
// of EMV application cryptograms.
func MAC3(key, data []byte) ([]byte, error) {
	if len(key) != 16 {
		return nil, errors.New("emv: MAC key must be 16 bytes")
	}
	k1, _ := des.NewCipher(key[:8])
	k2, _ := des.NewCipher(key[8:])
	msg := append(append([]byte{}, data...), 0x80)
	for len(msg)%8 != 0 {
		msg = append(msg, 0x00)
	}
	chain := make([]byte, 8)
	for off := 0; off < len(msg); off += 8 {
		for i := range chain {
			chain[i] ^= msg[off+i]
		}
		k1.Encrypt(chain, chain)
	}
	k2.Decrypt(chain, chain)
	k1.Encrypt(chain, chain)
	return chain, nil
}

// CryptogramData is what an ARQC covers: amount, other amount, country,
// TVR, currency, date, type, unpredictable number (from the ICC data the
// terminal sent), then the AIP, the ATC and the card verification results
// of the issuer application data.
func CryptogramData(icc Data) ([]byte, error) {
	var out []byte
	for _, f := range []struct {
		tag Tag
		n   int
	}{{0x9F02, 6}, {0x9F03, 6}, {0x9F1A, 2}, {0x95, 5}, {0x5F2A, 2}, {0x9A, 3}, {0x9C, 1}, {0x9F37, 4}, {0x82, 2}, {0x9F36, 2}} {
		v, ok := icc[f.tag]
		if !ok && f.tag != 0x9F03 {
			return nil, fmt.Errorf("emv: cryptogram data: %v missing", f.tag)
		}
		if ok && len(v) != f.n {
			return nil, fmt.Errorf("emv: cryptogram data: %v of %d bytes", f.tag, len(v))
		}
		if !ok {
			v = make([]byte, f.n)
		}
		out = append(out, v...)
	}
	iad := icc[0x9F10]
	if len(iad) < 7 {
		return nil, errors.New("emv: issuer application data too short for the CVR")
	}
	return append(out, iad[3:7]...), nil
}

// VerifyARQC recomputes the ARQC of field 55 with the card's master key.
func VerifyARQC(mk []byte, icc Data) (bool, error) {
	atc := icc[0x9F36]
	if len(atc) != 2 || len(icc[0x9F26]) != 8 {
		return false, errors.New("emv: no ATC or cryptogram")
	}
	sk, err := SessionKey(mk, uint16(atc[0])<<8|uint16(atc[1]))
	if err != nil {
		return false, err
	}
	data, err := CryptogramData(icc)
	if err != nil {
		return false, err
	}
	mac, err := MAC3(sk, data)
	if err != nil {
		return false, err
	}
	return string(mac) == string(icc[0x9F26]), nil
}

// ARPC is ARPC method 1 for the response code arc (2 characters): the
// 91 the issuer sends back is ARPC‖ARC.
func ARPC(mk []byte, atc uint16, arqc, arc []byte) ([]byte, error) {
	if len(arqc) != 8 || len(arc) != 2 {
		return nil, errors.New("emv: ARPC needs an 8-byte ARQC and a 2-byte response code")
	}
	sk, err := SessionKey(mk, atc)
	if err != nil {
		return nil, err
	}
	blk, err := des.NewTripleDESCipher(append(append([]byte{}, sk...), sk[:8]...))
	if err != nil {
		return nil, err
	}
	x := append([]byte{}, arqc...)
	x[0] ^= arc[0]
	x[1] ^= arc[1]
	out := make([]byte, 8)
	blk.Encrypt(out, x)
	return append(out, arc...), nil
}
