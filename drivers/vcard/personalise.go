package vcard

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Personalisation is what the bureau needs besides the card's own data:
// the CA that certifies the issuer, the issuer's key, and the CA index
// terminals know the CA by.
type Personalisation struct {
	CA      *Key
	CAIndex string
	Issuer  *Key
	// ICCBits is the size of the card's own key (1024 when 0).
	ICCBits int
}

// KeyOf is a Go RSA key as a Key.
func KeyOf(k *rsa.PrivateKey) *Key {
	return &Key{N: fmt.Sprintf("%X", k.N), E: fmt.Sprintf("%X", k.E), D: fmt.Sprintf("%X", k.D)}
}

// Personalise makes a new ICC key and the certificates of p (issuer
// certificate signed by the CA, ICC certificate by the issuer, over the
// card's static data), as a bureau loads them.
func Personalise(p *Profile, pan, expiry string, b Personalisation) error {
	if err := p.validate(false); err != nil {
		return err
	}
	bits := b.ICCBits
	if bits == 0 {
		bits = 1024
	}
	iccKey, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return err
	}
	caN, _, caD, err := b.CA.ints()
	if err != nil {
		return fmt.Errorf("CA key: %w", err)
	}
	isN, isE, isD, err := b.Issuer.ints()
	if err != nil {
		return fmt.Errorf("issuer key: %w", err)
	}
	mmyy := expiry[2:] + expiry[:2]
	panLeft := pan
	if len(panLeft) > 8 {
		panLeft = panLeft[:6]
	}
	issuerID := h(pad(panLeft, 8))
	cert, rem, err := certificate(caN, caD, 0x02, issuerID, h(mmyy), isN, isE, nil)
	if err != nil {
		return fmt.Errorf("issuer certificate: %w", err)
	}
	p.CAIndex, p.IssuerCert, p.IssuerRem, p.IssuerExp = b.CAIndex, hx(cert), hx(rem), hx(isE.Bytes())

	card, err := newCard(p, pan, expiry, pan+"="+expiry+"220", "", "")
	if err != nil {
		return err
	}
	static := append(card.staticRecord(false), p.aip()...)
	iccE := big.NewInt(int64(iccKey.E))
	cert, rem, err = certificate(isN, isD, 0x04, h(pad(pan, 20)), h(mmyy), iccKey.N, iccE, static)
	if err != nil {
		return fmt.Errorf("ICC certificate: %w", err)
	}
	p.ICCCert, p.ICCRem, p.ICCExp = hx(cert), hx(rem), hx(iccE.Bytes())
	p.ICCKey = KeyOf(iccKey)
	p.SSAD = ""
	if p.Has("sda-only") {
		// Signed static application data (Book 2 5.4): format 03, the
		// data authentication code, padding, the hash over the same
		// static data, under the issuer's key.
		size := (isN.BitLen() + 7) / 8
		signed := cat([]byte{0x03, 0x01, 0xDA, 0xC1}, bytes.Repeat([]byte{0xBB}, size-26))
		sum := sha1.Sum(cat(signed, static))
		p.SSAD = hx(rawRSA(cat([]byte{0x6A}, signed, sum[:], []byte{0xBC}), isD, isN, size))
	}
	return p.Validate()
}

func pad(digits string, n int) string { return digits + strings.Repeat("F", n-len(digits)) }

func hx(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// certificate signs a public key certificate (EMV Book 2 5.3 and 6.3):
// format 02 (issuer) or 04 (ICC). It returns the certificate and the part
// of the modulus that did not fit (the remainder).
func certificate(signerN, signerD *big.Int, format byte, id, mmyy []byte, n, e *big.Int, static []byte) (cert, rem []byte, err error) {
	size := (signerN.BitLen() + 7) / 8
	mod := n.FillBytes(make([]byte, (n.BitLen()+7)/8))
	exp := e.Bytes()
	fit := size - 36
	if format == 0x04 {
		fit = size - 42
	}
	if fit <= 0 || len(mod) > 248 {
		return nil, nil, errors.New("key sizes do not fit")
	}
	part := mod
	if len(mod) > fit {
		part, rem = mod[:fit], mod[fit:]
	} else {
		part = append(append([]byte{}, mod...), make([]byte, fit-len(mod))...)
		for i := len(mod); i < fit; i++ {
			part[i] = 0xBB
		}
	}
	head := cat([]byte{format}, id, mmyy, []byte{0x00, 0x00, 0x01, 0x01, 0x01, byte(len(mod)), byte(len(exp))})
	sum := sha1.Sum(cat(head, part, rem, exp, static))
	msg := cat([]byte{0x6A}, head, part, sum[:], []byte{0xBC})
	return rawRSA(msg, signerD, signerN, size), rem, nil
}

// PublicKey is a CA's public key as a terminal's configuration lists it.
type PublicKey struct {
	ModulusHex, ExponentHex string
	n, e                    *big.Int
}

// Public is the public half of k.
func (k *Key) Public() (PublicKey, error) {
	n, e, _, err := k.ints()
	if err != nil {
		return PublicKey{}, err
	}
	return PublicKey{ModulusHex: hx(n.Bytes()), ExponentHex: hx(e.Bytes()), n: n, e: e}, nil
}

// ChecksumHex is the key's SHA-1 checksum over RID, index, modulus and
// exponent, as published with CA keys.
func (p PublicKey) ChecksumHex(rid, index string) string {
	sum := sha1.Sum(cat(h(rid), h(index), p.n.Bytes(), p.e.Bytes()))
	return hx(sum[:])
}
