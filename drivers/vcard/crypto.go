package vcard

import (
	"crypto/des"
	"errors"
)

// sessionKey is the common session key for the ATC now (EMV Book 2
// A1.3): the card's master key encrypts ATC‖F0‖00… and ATC‖0F‖00….
// The caller holds c.mu.
func (c *Card) sessionKey() []byte {
	mk, err := des.NewTripleDESCipher(append(append([]byte{}, c.p.mkac...), c.p.mkac[:8]...))
	if err != nil {
		panic(err) // a 16-byte key was checked in Validate
	}
	l := []byte{byte(c.atc >> 8), byte(c.atc), 0xF0, 0, 0, 0, 0, 0}
	r := []byte{byte(c.atc >> 8), byte(c.atc), 0x0F, 0, 0, 0, 0, 0}
	sk := make([]byte, 16)
	mk.Encrypt(sk[:8], l)
	mk.Encrypt(sk[8:], r)
	return sk
}

// cryptogramTags are the terminal data an application cryptogram covers,
// in order (EMV Book 2 8.1.1, the recommended minimum set).
var cryptogramTags = []struct {
	tag string
	n   int
}{{"9F02", 6}, {"9F03", 6}, {"9F1A", 2}, {"95", 5}, {"5F2A", 2}, {"9A", 3}, {"9C", 1}, {"9F37", 4}}

// cryptogram is the AC over the terminal data, AIP, ATC and the CVR, as
// ISO 9797-1 MAC algorithm 3 under the session key. The caller holds c.mu.
func (c *Card) cryptogram(terminal map[string][]byte, aip, iad []byte) []byte {
	var data []byte
	for _, t := range cryptogramTags {
		v := make([]byte, t.n)
		copy(v, terminal[t.tag])
		data = append(data, v...)
	}
	data = append(data, aip...)
	data = append(data, c.atcBytes()...)
	data = append(data, iad[3:7]...)
	return mac3(c.sessionKey(), data)
}

// mac3 is ISO 9797-1 MAC algorithm 3 with padding method 2: single DES
// CBC under the left key, then decrypt with the right and encrypt with
// the left on the last block.
func mac3(key, data []byte) []byte {
	kl, _ := des.NewCipher(key[:8])
	kr, _ := des.NewCipher(key[8:16])
	padded := append(append([]byte{}, data...), 0x80)
	for len(padded)%8 != 0 {
		padded = append(padded, 0)
	}
	iv := make([]byte, 8)
	for i := 0; i < len(padded); i += 8 {
		for j := 0; j < 8; j++ {
			iv[j] ^= padded[i+j]
		}
		kl.Encrypt(iv, iv)
	}
	kr.Decrypt(iv, iv)
	kl.Encrypt(iv, iv)
	return iv
}

// arpc is ARPC method 1: 3DES under the session key of ARQC XOR ARC‖00….
func arpc(sk, arqc, arc []byte) ([]byte, error) {
	if len(arqc) != 8 || len(arc) != 2 {
		return nil, errors.New("arpc: ARQC 8 bytes, ARC 2")
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
	return out, nil
}
