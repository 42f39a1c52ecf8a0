package emv

import (
	"bytes"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/shoukuan/pos/app/mutant"
)

// Offline data authentication (EMV Book 2): the CA's key recovers the
// issuer's, the issuer's recovers the card's, and the card's signs either
// its static data (SDA) or a challenge (DDA, fDDA on a tap). A failure
// is not a decline by itself: it sets a TVR bit, and the terminal action
// codes decide (this terminal declines on it by default, TACDenial).
func (t *Transaction) authenticate(ctx context.Context) error {
	aip := t.data[0x82]
	caps := t.cfg.Capabilities[2]
	var err error
	switch {
	case t.in.Mode == Contactless && aip[0]&0x20 != 0 && len(t.data[0x9F4B]) > 0:
		t.oda = "fDDA"
		err = t.fdda()
	case t.in.Mode == Contact && aip[0]&0x20 != 0 && caps&0x40 != 0:
		t.oda = "DDA"
		err = t.dda(ctx)
	case aip[0]&0x40 != 0 && caps&0x80 != 0:
		t.oda = "SDA"
		t.setTVR(1, 0x02) // SDA selected
		err = t.sda()
	default:
		t.setTVR(1, 0x80) // not performed
		return nil
	}
	t.setTSI(0x80)
	if errors.Is(err, ErrCardRemoved) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if err != nil && !mutant.On("oda-ignored") {
		t.odaErr = err
		switch t.oda {
		case "SDA":
			t.setTVR(1, 0x40)
		default:
			t.setTVR(1, 0x08)
		}
	}
	return nil
}

var errODA = errors.New("emv: offline data authentication failed")

// rsaRecover is the public-key operation of a certificate or signature:
// the data must be as long as the modulus and start 6A, end BC.
func rsaRecover(sig []byte, n, e *big.Int) ([]byte, error) {
	size := (n.BitLen() + 7) / 8
	if size < 64 {
		// No EMV key is this short; the formats below need the room.
		return nil, fmt.Errorf("%w: a %d-byte key", errODA, size)
	}
	if len(sig) != size {
		return nil, fmt.Errorf("%w: %d bytes signed under a %d-byte key", errODA, len(sig), size)
	}
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(n) >= 0 {
		return nil, fmt.Errorf("%w: signature not below the modulus", errODA)
	}
	m := new(big.Int).Exp(s, e, n).FillBytes(make([]byte, size))
	if m[0] != 0x6A || m[size-1] != 0xBC {
		return nil, fmt.Errorf("%w: recovered data has header %02X trailer %02X", errODA, m[0], m[size-1])
	}
	return m, nil
}

func hashOK(recovered []byte, extra ...[]byte) bool {
	n := len(recovered)
	h := sha1.New()
	h.Write(recovered[1 : n-21])
	for _, x := range extra {
		h.Write(x)
	}
	return bytes.Equal(h.Sum(nil), recovered[n-21:n-1])
}

// bcdDate reads MMYY of a certificate as a comparable YYMM.
func certExpired(mmyy []byte, today []byte) bool {
	if len(mmyy) != 2 || len(today) != 3 {
		return true
	}
	exp := int(mmyy[1])<<8 | int(mmyy[0])
	now := int(today[0])<<8 | int(today[1])
	return exp < now
}

// publicExponent accepts only what EMV allows, 3 and 2^16+1: a card must
// not make the terminal raise to an exponent of its choosing.
func publicExponent(b []byte) (*big.Int, error) {
	if bytes.Equal(b, []byte{3}) || bytes.Equal(b, []byte{1, 0, 1}) {
		return new(big.Int).SetBytes(b), nil
	}
	return nil, fmt.Errorf("%w: public key exponent %X (3 or 010001 only)", errODA, b)
}

// issuerKey recovers the issuer's public key from its certificate.
func (t *Transaction) issuerKey() (*big.Int, *big.Int, error) {
	idx, ok := t.data[0x8F]
	if !ok || len(idx) != 1 {
		t.setTVR(1, 0x20)
		return nil, nil, fmt.Errorf("%w: no CA index (8F)", errODA)
	}
	rid := t.app.AID[:5]
	ca, ok := t.cfg.caKey(rid, idx[0])
	if !ok {
		return nil, nil, fmt.Errorf("%w: no CA key %X/%02X in the configuration", errODA, rid, idx[0])
	}
	cert, ok := t.data[0x90]
	exp := t.data[0x9F32]
	if !ok || len(exp) == 0 {
		t.setTVR(1, 0x20)
		return nil, nil, fmt.Errorf("%w: no issuer certificate", errODA)
	}
	m, err := rsaRecover(cert, ca.Modulus, ca.Exponent)
	if err != nil {
		return nil, nil, fmt.Errorf("issuer certificate: %w", err)
	}
	if m[1] != 0x02 || m[11] != 0x01 || m[12] != 0x01 {
		return nil, nil, fmt.Errorf("%w: issuer certificate format %02X", errODA, m[1])
	}
	nI, nCA := int(m[13]), len(m)
	if nI < 64 {
		return nil, nil, fmt.Errorf("%w: issuer key of %d bytes", errODA, nI)
	}
	rem := t.data[0x92]
	if !hashOK(m, rem, exp) {
		return nil, nil, fmt.Errorf("%w: issuer certificate hash", errODA)
	}
	pan := strings.ToUpper(fmt.Sprintf("%X", t.data[0x5A]))
	id := strings.TrimRight(fmt.Sprintf("%X", m[2:6]), "F")
	if len(id) < 3 || !strings.HasPrefix(pan, id) {
		return nil, nil, fmt.Errorf("%w: issuer identifier %s does not match the card", errODA, id)
	}
	if certExpired(m[6:8], t.data[0x9A]) {
		return nil, nil, fmt.Errorf("%w: issuer certificate expired", errODA)
	}
	return certifiedKey("issuer", m[15:nCA-21], nI, rem, exp)
}

// iccKey recovers the card's public key, checking the static data.
func (t *Transaction) iccKey() (*big.Int, *big.Int, error) {
	in, ie, err := t.issuerKey()
	if err != nil {
		return nil, nil, err
	}
	cert, ok := t.data[0x9F46]
	exp := t.data[0x9F47]
	if !ok || len(exp) == 0 {
		t.setTVR(1, 0x20)
		return nil, nil, fmt.Errorf("%w: no ICC certificate", errODA)
	}
	m, err := rsaRecover(cert, in, ie)
	if err != nil {
		return nil, nil, fmt.Errorf("ICC certificate: %w", err)
	}
	if m[1] != 0x04 || m[17] != 0x01 || m[18] != 0x01 {
		return nil, nil, fmt.Errorf("%w: ICC certificate format %02X", errODA, m[1])
	}
	nIC, nI := int(m[19]), len(m)
	if nIC < 64 {
		return nil, nil, fmt.Errorf("%w: ICC key of %d bytes", errODA, nIC)
	}
	rem := t.data[0x9F48]
	static, err := t.staticData()
	if err != nil {
		return nil, nil, err
	}
	if !hashOK(m, rem, exp, static) {
		return nil, nil, fmt.Errorf("%w: ICC certificate hash: the card's data is not what the issuer signed", errODA)
	}
	pan := strings.TrimRight(fmt.Sprintf("%X", m[2:12]), "F")
	if card := strings.TrimRight(fmt.Sprintf("%X", t.data[0x5A]), "F"); pan != card {
		return nil, nil, fmt.Errorf("%w: ICC certificate is for another card", errODA)
	}
	if certExpired(m[12:14], t.data[0x9A]) {
		return nil, nil, fmt.Errorf("%w: ICC certificate expired", errODA)
	}
	return certifiedKey("ICC", m[21:nI-21], nIC, rem, exp)
}

// certifiedKey is the public key a certificate carries: the leftmost
// bytes of the modulus in the certificate (padded with BB when the key is
// shorter), the rest in the remainder, and the exponent.
func certifiedKey(what string, part []byte, n int, rem, exp []byte) (*big.Int, *big.Int, error) {
	var mod []byte
	if fit := len(part); n > fit {
		if len(rem) != n-fit {
			return nil, nil, fmt.Errorf("%w: %s remainder of %d bytes, want %d", errODA, what, len(rem), n-fit)
		}
		mod = append(append([]byte{}, part...), rem...)
	} else {
		mod = part[:n]
	}
	e, err := publicExponent(exp)
	return new(big.Int).SetBytes(mod), e, err
}

// staticData is what the issuer signed: the records marked for offline
// authentication, then the AIP when the static data tag list (9F4A) asks
// for it — the only tag it may name.
func (t *Transaction) staticData() ([]byte, error) {
	static := append([]byte{}, t.static...)
	if list, ok := t.data[0x9F4A]; ok {
		if !bytes.Equal(list, []byte{0x82}) {
			return nil, fmt.Errorf("%w: static data tag list %X (only 82 is allowed)", errODA, list)
		}
		static = append(static, t.data[0x82]...)
	}
	return static, nil
}

// sda checks the signed static application data (93).
func (t *Transaction) sda() error {
	in, ie, err := t.issuerKey()
	if err != nil {
		return err
	}
	ssad, ok := t.data[0x93]
	if !ok {
		t.setTVR(1, 0x20)
		return fmt.Errorf("%w: no signed static data (93)", errODA)
	}
	m, err := rsaRecover(ssad, in, ie)
	if err != nil {
		return fmt.Errorf("signed static data: %w", err)
	}
	static, err := t.staticData()
	if err != nil {
		return err
	}
	if m[1] != 0x03 || m[2] != 0x01 || !hashOK(m, static) {
		return fmt.Errorf("%w: signed static data hash", errODA)
	}
	t.data[0x9F45] = m[3:5] // data authentication code
	return nil
}

// checkSDAD verifies signed dynamic application data with the card's key
// over the terminal's data, and keeps the ICC dynamic number.
func (t *Transaction) checkSDAD(sdad []byte, terminal []byte) error {
	n, e, err := t.iccKey()
	if err != nil {
		return err
	}
	m, err := rsaRecover(sdad, n, e)
	if err != nil {
		return fmt.Errorf("dynamic signature: %w", err)
	}
	if m[1] != 0x05 || m[2] != 0x01 {
		return fmt.Errorf("%w: dynamic signature format %02X", errODA, m[1])
	}
	if !hashOK(m, terminal) {
		return fmt.Errorf("%w: dynamic signature hash", errODA)
	}
	l := int(m[3])
	if l < 1 || 4+l > len(m)-21 || int(m[4]) > l-1 {
		return fmt.Errorf("%w: dynamic data length", errODA)
	}
	t.data[0x9F4C] = m[5 : 5+int(m[4])]
	return nil
}

func (t *Transaction) dda(ctx context.Context) error {
	ddolB, ok := t.data[0x9F49]
	if !ok {
		ddolB = []byte{0x9F, 0x37, 0x04} // the default DDOL
	}
	ddol, err := ParseDOL(ddolB)
	if err != nil {
		return fmt.Errorf("%w: DDOL: %w", errODA, err)
	}
	un := false
	for _, e := range ddol {
		un = un || e.Tag == 0x9F37 && e.Len >= 4
	}
	if !un {
		// A signature over nothing of the terminal's could be replayed.
		return fmt.Errorf("%w: the DDOL does not ask for the unpredictable number", errODA)
	}
	data, err := dolData(ddol, t.data)
	if err != nil {
		return err
	}
	r, sw, err := t.exchange(ctx, "INTERNAL AUTHENTICATE", apdu(0x00, 0x88, 0x00, 0x00, data, true))
	if err != nil {
		return err
	}
	if sw != 0x9000 {
		return fmt.Errorf("%w: INTERNAL AUTHENTICATE answered %04X", errODA, sw)
	}
	sdad, ok := Find(r, 0x9F4B)
	if !ok {
		if list, err := Parse(r); err == nil && len(list) == 1 && list[0].Tag == 0x80 {
			sdad, ok = list[0].Value, true
		}
	}
	if !ok {
		return fmt.Errorf("%w: INTERNAL AUTHENTICATE gave no signature", errODA)
	}
	return t.checkSDAD(sdad, data)
}

// fdda checks the signature a qPBOC card made at GET PROCESSING OPTIONS
// over the unpredictable number, amount, currency and its own 9F69.
func (t *Transaction) fdda() error {
	if cad := t.data[0x9F69]; len(cad) < 5 || cad[0] != 0x01 {
		return fmt.Errorf("%w: card authentication related data (9F69) missing or not version 01", errODA)
	}
	terminal := append(append(append(append([]byte{}, t.data[0x9F37]...), t.data[0x9F02]...), t.data[0x5F2A]...), t.data[0x9F69]...)
	return t.checkSDAD(t.data[0x9F4B], terminal)
}
