package emv

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/shoukuan/pos/app/mutant"
)

// restrictions are the processing restrictions (Book 3 10.4): versions,
// usage control, dates. They set TVR bits; the action codes decide.
func (t *Transaction) restrictions() {
	d := t.data
	if v, ok := d[0x9F08]; ok && !bytes.Equal(v, t.cfg.AppVersion) {
		t.setTVR(2, 0x80)
	}
	if auc, ok := d[0x9F07]; ok && len(auc) == 2 {
		domestic := bytes.Equal(d[0x5F28], t.cfg.Country)
		goods := byte(0x10)
		if domestic {
			goods = 0x20
		}
		if auc[0]&0x01 == 0 || t.in.Type == TypePurchase && auc[0]&goods == 0 {
			t.setTVR(2, 0x10) // service not allowed
		}
	}
	today := d[0x9A]
	if eff, ok := d[0x5F25]; ok && len(eff) == 3 && bytes.Compare(eff, today) > 0 {
		t.setTVR(2, 0x20)
	}
	if exp := d[0x5F24]; len(exp) != 3 || bytes.Compare(exp, today) < 0 {
		t.setTVR(2, 0x40)
	}
}

// Expired reports the card's application expired (TVR byte 2 bit 7).
func (t *Transaction) Expired() bool { return t.tvr[1]&0x40 != 0 }

// ---- cardholder verification ----------------------------------------

type cvmRule struct{ code, cond byte }

// startCVM reads the CVM list (8E) and finds the first rule to perform.
func (t *Transaction) startCVM() error {
	aip := t.data[0x82]
	if aip[0]&0x10 == 0 {
		t.cvm = CVMNone
		t.data[0x9F34] = []byte{0x3F, 0x00, 0x00} // not performed
		return nil
	}
	list := t.data[0x8E]
	if len(list) < 10 || len(list)%2 != 0 {
		// No rules: ICC data missing, CVM not performed (Book 3 10.5);
		// the issuer sees it in the TVR.
		t.setTVR(1, 0x20)
		t.cvm = CVMNone
		t.data[0x9F34] = []byte{0x3F, 0x00, 0x00}
		return nil
	}
	t.cvmRules = nil
	for i := 8; i < len(list); i += 2 {
		t.cvmRules = append(t.cvmRules, cvmRule{list[i], list[i+1]})
	}
	t.cvmAt = -1
	t.nextCVM()
	return nil
}

// terminalSupports says whether this terminal can do a CVM (9F33 byte 2).
func (t *Transaction) terminalSupports(code byte) bool {
	caps := t.cfg.Capabilities[1]
	switch code & 0x3F {
	case 0x01:
		return caps&0x80 != 0
	case 0x02:
		return caps&0x40 != 0
	case 0x1E:
		return caps&0x20 != 0
	case 0x1F:
		return caps&0x08 != 0
	}
	return false
}

// conditionMet evaluates a CVM condition code (Book 3 Annex C3).
func (t *Transaction) conditionMet(r cvmRule) (met, known bool) {
	list := t.data[0x8E]
	x := int64(binary.BigEndian.Uint32(list[0:4]))
	y := int64(binary.BigEndian.Uint32(list[4:8]))
	sameCurrency := bytes.Equal(t.data[0x9F42], t.cfg.Currency)
	amt := t.in.AmountFen
	switch r.cond {
	case 0x00:
		return true, true
	case 0x01, 0x04, 0x05: // unattended cash, manual cash, cashback: never here
		return false, true
	case 0x02:
		return true, true
	case 0x03:
		return t.terminalSupports(r.code), true
	case 0x06:
		return sameCurrency && amt < x, true
	case 0x07:
		return sameCurrency && amt > x, true
	case 0x08:
		return sameCurrency && amt < y, true
	case 0x09:
		return sameCurrency && amt > y, true
	}
	return false, false
}

// nextCVM moves to the next rule that applies and sets t.cvm.
func (t *Transaction) nextCVM() {
	for t.cvmAt++; t.cvmAt < len(t.cvmRules); t.cvmAt++ {
		r := t.cvmRules[t.cvmAt]
		met, known := t.conditionMet(r)
		if !known || !met {
			continue
		}
		code := r.code & 0x3F
		switch code {
		case 0x01, 0x02, 0x1E, 0x1F:
		case 0x00: // "fail CVM processing"
			if r.code&0x40 == 0 {
				t.fail()
				return
			}
			continue
		case 0x03, 0x04, 0x05:
			// Known methods this terminal does not do: offline PIN with
			// signature, enciphered offline PIN.
			if r.code&0x40 == 0 {
				t.fail()
				return
			}
			continue
		default:
			t.setTVR(3, 0x40) // unrecognised CVM
			if r.code&0x40 == 0 {
				t.fail()
				return
			}
			continue
		}
		if !t.terminalSupports(code) {
			if code == 0x01 || code == 0x02 {
				t.setTVR(3, 0x10) // PIN required but no PIN pad
			}
			if r.code&0x40 == 0 {
				t.fail()
				return
			}
			continue
		}
		t.data[0x9F34] = []byte{r.code, r.cond, 0x00}
		switch code {
		case 0x01:
			t.cvm = CVMOfflinePIN
		case 0x02:
			t.cvm = CVMOnlinePIN
		case 0x1E:
			t.cvm = CVMSignature
		case 0x1F:
			t.cvm = CVMNone
			t.data[0x9F34][2] = 0x02
		}
		t.setTSI(0x40)
		return
	}
	t.fail()
}

// fail records that no CVM succeeded.
func (t *Transaction) fail() {
	t.cvm = CVMFailed
	t.setTVR(3, 0x80)
	t.data[0x9F34] = []byte{0x3F, 0x00, 0x01}
	t.setTSI(0x40)
}

// CVM is the verification the terminal must do now.
func (t *Transaction) CVM() CVM { return t.cvm }

// NoCVMLimit reports a tap at or under the CVM limit: 免密免签.
func (t *Transaction) NoCVMLimit() bool { return t.noCVMLimit }

// PINTries asks the card its offline PIN try counter (GET DATA 9F17);
// -1 when the card does not say.
func (t *Transaction) PINTries(ctx context.Context) int {
	r, sw, err := t.exchange(ctx, "GET DATA", apdu(0x80, 0xCA, 0x9F, 0x17, nil, true))
	if err != nil || sw != 0x9000 {
		return -1
	}
	v, ok := Find(r, 0x9F17)
	if !ok || len(v) != 1 {
		return -1
	}
	t.pinTries = int(v[0])
	return t.pinTries
}

// VerifyOfflinePIN gives the PIN to the card in a plaintext PIN block.
// A wrong PIN is a *WrongPINError while tries are left; at the limit
// the rule fails and CVM moves on (ErrPINBlocked is returned once).
func (t *Transaction) VerifyOfflinePIN(ctx context.Context, pin string) error {
	if t.cvm != CVMOfflinePIN {
		return errors.New("emv: no offline PIN asked")
	}
	if len(pin) < 4 || len(pin) > 12 || strings.Trim(pin, "0123456789") != "" {
		return errors.New("emv: a PIN is 4 to 12 digits")
	}
	block := make([]byte, 8)
	digits := pin + strings.Repeat("F", 14-len(pin))
	block[0] = 0x20 | byte(len(pin))
	for i := 0; i < 7; i++ {
		block[1+i] = nibble(digits[2*i])<<4 | nibble(digits[2*i+1])
	}
	_, sw, err := t.exchange(ctx, "VERIFY", apdu(0x00, 0x20, 0x00, 0x80, block, false))
	clear(block)
	if err != nil {
		return err
	}
	switch {
	case sw == 0x9000:
		t.data[0x9F34][2] = 0x02
		return nil
	case sw&0xFFF0 == 0x63C0 && sw&0x0F > 0:
		return &WrongPINError{Left: int(sw & 0x0F)}
	case sw&0xFFF0 == 0x63C0 || sw == 0x6983 || sw == 0x6984:
		t.setTVR(3, 0x20) // PIN try limit exceeded
		t.failRule()
		return ErrPINBlocked
	}
	return &StatusError{"VERIFY", sw}
}

// SkipPIN: the cardholder could not or would not enter the PIN (bypass).
func (t *Transaction) SkipPIN() {
	t.setTVR(3, 0x08)
	t.failRule()
}

// OnlinePINEntered records that the PIN the kernel asked for was entered
// and goes to the issuer in a PIN block.
func (t *Transaction) OnlinePINEntered() {
	if t.cvm == CVMOnlinePIN {
		t.setTVR(3, 0x04)
	}
}

// failRule fails the current CVM rule and goes on if the rule says so.
func (t *Transaction) failRule() {
	if t.cvmAt >= 0 && t.cvmAt < len(t.cvmRules) && t.cvmRules[t.cvmAt].code&0x40 != 0 {
		t.nextCVM()
		return
	}
	t.fail()
}

func nibble(c byte) byte {
	if c >= '0' && c <= '9' {
		return c - '0'
	}
	return 0x0F
}

// contactlessCVM decides verification on a tap (qPBOC): none at or under
// the CVM limit; above it what the card qualifiers (9F6C) ask: the
// phone's own verification, online PIN, or signature.
func (t *Transaction) contactlessCVM() error {
	if t.in.AmountFen <= t.cfg.CVMLimit || mutant.On("cvm-limit-ignored") {
		t.cvm, t.noCVMLimit = CVMNone, true
		t.data[0x9F34] = []byte{0x1F, 0x00, 0x02}
		return nil
	}
	ctq := t.data[0x9F6C]
	ttq := t.data[0x9F66]
	switch {
	case len(ctq) == 2 && ctq[1]&0x80 != 0:
		t.cvm = CVMDevice
		t.data[0x9F34] = []byte{0x1F, 0x00, 0x02}
	case len(ctq) == 2 && ctq[0]&0x80 != 0 && ttq[0]&0x04 != 0:
		t.cvm = CVMOnlinePIN
		t.data[0x9F34] = []byte{0x02, 0x00, 0x00}
	case len(ctq) == 2 && ctq[0]&0x40 != 0 && ttq[0]&0x02 != 0:
		t.cvm = CVMSignature
		t.data[0x9F34] = []byte{0x1E, 0x00, 0x00}
	case ttq[0]&0x04 != 0:
		// The card asks for nothing it can have: the reader's own CVM,
		// as qPBOC readers do. Over the limit there is always one.
		t.cvm = CVMOnlinePIN
		t.data[0x9F34] = []byte{0x02, 0x00, 0x00}
	case ttq[0]&0x02 != 0:
		t.cvm = CVMSignature
		t.data[0x9F34] = []byte{0x1E, 0x00, 0x00}
	default:
		t.fail()
	}
	return nil
}

// ---- risk, action analysis, cryptograms ----------------------------

// terminalRisk is terminal risk management: this terminal is online only
// and its floor limit is 0, so every transaction exceeds it.
func (t *Transaction) terminalRisk() {
	if t.in.AmountFen >= t.cfg.FloorLimit {
		t.setTVR(4, 0x80)
	}
	t.setTSI(0x08)
}

// actionAnalysis is terminal action analysis: AAC if the TVR meets the
// denial codes, ARQC otherwise (the terminal cannot approve offline).
func (t *Transaction) actionAnalysis() byte {
	iacDenial := t.data[0x9F0E]
	for i := 0; i < 5; i++ {
		var iac byte
		if len(iacDenial) == 5 {
			iac = iacDenial[i]
		}
		if t.tvr[i]&(t.cfg.TACDenial[i]|iac) != 0 {
			return 0x00
		}
	}
	return 0x80
}

// Online is what goes to the host.
type Online struct {
	Field55  []byte
	Declined bool // the card or the terminal declined offline (AAC)
}

// RequestOnline asks the card for its cryptogram (contact: GENERATE AC
// for an ARQC; contactless: the cryptogram of the tap) and builds field 55.
func (t *Transaction) RequestOnline(ctx context.Context) (Online, error) {
	if t.app == nil {
		return Online{}, errors.New("emv: no card read")
	}
	if t.cvm == CVMFailed {
		// The card and the terminal share no way to verify the holder:
		// the action codes decide, and a terminal without a way to check
		// the cardholder goes online with the failure in the TVR.
		t.setTVR(3, 0x80)
	}
	if t.in.Mode == Contactless {
		t.terminalRisk()
		if t.cvm == CVMFailed {
			// Over the CVM limit with no way to verify the holder: the
			// tap cannot go on; the host would never see why.
			return Online{Declined: true}, fmt.Errorf("%w: no cardholder verification possible over the CVM limit", ErrDeclinedOffline)
		}
		if t.actionAnalysis() == 0x00 || t.cid != 0x80 {
			return Online{Declined: true}, fmt.Errorf("%w: %s", ErrDeclinedOffline, t.declineReason())
		}
		return Online{Field55: t.Field55()}, nil
	}
	t.terminalRisk()
	p1 := t.actionAnalysis()
	cid, err := t.generateAC(ctx, p1, 0x8C)
	if err != nil {
		return Online{}, err
	}
	t.cid = cid
	if cid != 0x80 {
		return Online{Declined: true}, fmt.Errorf("%w: %s", ErrDeclinedOffline, t.declineReason())
	}
	return Online{Field55: t.Field55()}, nil
}

func (t *Transaction) declineReason() string {
	switch {
	case t.tvr[0]&0x4C != 0:
		return "offline data authentication failed: " + errString(t.odaErr)
	case t.tvr[1]&0x10 != 0:
		return "service not allowed for this card"
	}
	return "the card declined"
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// ODAFailed reports a failed offline data authentication.
func (t *Transaction) ODAFailed() bool { return t.tvr[0]&0x4C != 0 }

// generateAC sends GENERATE AC with the data of the card's CDOL (8C or
// 8D) and keeps the answer.
func (t *Transaction) generateAC(ctx context.Context, p1 byte, dolTag Tag) (byte, error) {
	dol, err := ParseDOL(t.data[dolTag])
	if err != nil {
		return 0, fmt.Errorf("%w: %v: %w", ErrCard, dolTag, err)
	}
	data, err := dolData(dol, t.data)
	if err != nil {
		return 0, err
	}
	r, sw, err := t.exchange(ctx, "GENERATE AC", apdu(0x80, 0xAE, p1, 0x00, data, true))
	if err != nil {
		return 0, err
	}
	if sw != 0x9000 {
		return 0, &StatusError{"GENERATE AC", sw}
	}
	list, err := Parse(r)
	if err != nil || len(list) != 1 {
		return 0, fmt.Errorf("%w: GENERATE AC answer", ErrCard)
	}
	for _, tag := range []Tag{0x9F27, 0x9F36, 0x9F26, 0x9F10} {
		delete(t.data, tag)
	}
	switch list[0].Tag {
	case 0x80:
		v := list[0].Value
		if len(v) < 11 {
			return 0, fmt.Errorf("%w: GENERATE AC format 1 of %d bytes", ErrCard, len(v))
		}
		t.data[0x9F27], t.data[0x9F36], t.data[0x9F26] = v[:1], v[1:3], v[3:11]
		if len(v) > 11 {
			t.data[0x9F10] = v[11:]
		}
	case 0x77:
		if err := t.data.Flatten(list[0].Value); err != nil {
			return 0, fmt.Errorf("%w: %w", ErrCard, err)
		}
	default:
		return 0, fmt.Errorf("%w: GENERATE AC answer tag %v", ErrCard, list[0].Tag)
	}
	if len(t.data[0x9F27]) != 1 || len(t.data[0x9F26]) != 8 || len(t.data[0x9F36]) != 2 {
		return 0, fmt.Errorf("%w: GENERATE AC without cryptogram", ErrCard)
	}
	t.setTSI(0x20)
	cid := t.data[0x9F27][0] & 0xC0
	if cid == 0xC0 {
		return 0, fmt.Errorf("%w: GENERATE AC: reserved cryptogram type", ErrCard)
	}
	return cid, nil
}

// Completion is how the card ended a transaction the host answered.
type Completion struct {
	Cryptogram string // TC or AAC
	Scripts    int    // issuer script commands delivered
}

// Complete finishes with the card after the host's answer: issuer
// authentication with the ARPC (91), the issuer's scripts (71 before and
// 72 after), and the second GENERATE AC. approved is the host's verdict.
// ErrCardDeclined means the host approved and the card did not: the
// terminal reverses the approval at once.
func (t *Transaction) Complete(ctx context.Context, approved bool, hostICC []byte) (Completion, error) {
	var c Completion
	if t.in.Mode == Contactless {
		c.Cryptogram = "ARQC"
		return c, nil // the card has left; the issuer's word is final
	}
	reply, err := ParseHostICC(hostICC)
	if err != nil && approved {
		// A garbled reply from the host cannot complete the card.
		return c, fmt.Errorf("%w: %w", ErrCardDeclined, err)
	}
	if arc := reply.ARC; len(arc) == 2 {
		t.data[0x8A] = arc
	} else if approved {
		t.data[0x8A] = []byte("00")
	} else {
		t.data[0x8A] = []byte("05")
	}
	if ar := reply.ARPC; len(ar) > 0 {
		t.data[0x91] = ar // a CDOL2 may ask for it
	}
	if ar := reply.ARPC; len(ar) > 0 && t.data[0x82][0]&0x04 != 0 {
		_, sw, err := t.exchange(ctx, "EXTERNAL AUTHENTICATE", apdu(0x00, 0x82, 0x00, 0x00, ar, false))
		if err != nil {
			return c, t.cardGone(err, approved)
		}
		t.setTSI(0x10)
		if sw != 0x9000 {
			t.setTVR(5, 0x40)
		}
	}
	c.Scripts += t.runScripts(ctx, reply.Scripts71, 0x20)
	p1 := byte(0x00)
	if approved {
		p1 = 0x40
	}
	cid, err := t.generateAC(ctx, p1, 0x8D)
	if err != nil {
		return c, t.cardGone(err, approved)
	}
	t.cid = cid
	c.Scripts += t.runScripts(ctx, reply.Scripts72, 0x10)
	t.scripts = c.Scripts
	if cid == 0x40 {
		c.Cryptogram = "TC"
		return c, nil
	}
	c.Cryptogram = "AAC"
	if approved {
		return c, fmt.Errorf("%w: AAC at the second GENERATE AC", ErrCardDeclined)
	}
	return c, nil
}

func (t *Transaction) cardGone(err error, approved bool) error {
	if approved {
		return fmt.Errorf("%w: %w", ErrCardDeclined, err)
	}
	return err
}

// runScripts sends the issuer script commands (86) of the 71 or 72
// templates; failBit is the TVR byte 5 bit for a failed script.
func (t *Transaction) runScripts(ctx context.Context, scripts [][]byte, failBit byte) int {
	n := 0
	for _, s := range scripts {
		list, err := Parse(s)
		if err != nil {
			t.setTVR(5, failBit)
			continue
		}
		for _, o := range list {
			if o.Tag != 0x86 || len(o.Value) < 4 {
				continue
			}
			_, sw, err := t.exchange(ctx, "issuer script", o.Value)
			t.setTSI(0x04)
			if err != nil || sw>>8 != 0x90 && sw>>8 != 0x62 && sw>>8 != 0x63 {
				t.setTVR(5, failBit)
				break
			}
			n++
		}
	}
	return n
}
