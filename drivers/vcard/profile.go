// Package vcard is the chip of the virtual cards: a PBOC 3.0 debit/credit
// application for contact and qPBOC (QuickPass) contactless, with the keys
// and certificates a personalisation bureau would load. It answers APDUs
// the way such a card does, computes real cryptograms (ARQC with session
// keys derived from the card's master key) and real RSA signatures, and
// keeps an application transaction counter and a PIN try counter.
//
// The fake reader and the PN532 emulator carry the same card model. It is
// written apart from the terminal's kernel (app/emv) and the simulated
// issuer, on purpose: the three meet only at the published formats, so a
// mistake on one side shows as a failed transaction, not as two matching
// bugs.
package vcard

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// Profile is a card's chip personalisation, the "chip" object of a card
// file in testdata/cards.
type Profile struct {
	Apps []App `json:"applications"`
	// PSN is the PAN sequence number (5F34), two digits.
	PSN string `json:"psn"`
	// MKAC is the card's master key for application cryptograms, derived
	// from the issuer's master key (EMV Book 2 A1.4 option A) when the
	// card was personalised; hex, 16 bytes.
	MKAC string `json:"mk_ac"`
	// Effective is the application effective date, YYMMDD.
	Effective string `json:"effective"`
	// CVM is the card's preferred cardholder verification: online-pin,
	// offline-pin, signature or none. It becomes the CVM list (8E).
	CVM string `json:"cvm"`
	// PINTries is the offline PIN try limit (3 when 0).
	PINTries int `json:"pin_tries,omitempty"`
	// Behaviours for the hard cases: device-cvm (a phone that verified
	// its holder), aac-after-online (declines at the second GENERATE AC
	// whatever the issuer said), tampered (record data changed after it
	// was signed), no-pse (no directory; the terminal must try its AID
	// list), dead-chip (the chip answers 6F00 to everything, so the
	// terminal must allow a magstripe fallback), sda-only (an older card:
	// static data authentication only, no DDA).
	Behaviours []string `json:"behaviours,omitempty"`
	// Offline data authentication, as personalised (Personalise fills
	// these): CA index (8F), issuer certificate (90, 9F32, 92), ICC
	// certificate (9F46, 9F47, 9F48) and the ICC's private key.
	CAIndex    string `json:"ca_index"`
	IssuerCert string `json:"issuer_cert"`
	IssuerExp  string `json:"issuer_exp"`
	IssuerRem  string `json:"issuer_rem,omitempty"`
	ICCCert    string `json:"icc_cert"`
	ICCExp     string `json:"icc_exp"`
	ICCRem     string `json:"icc_rem,omitempty"`
	ICCKey     *Key   `json:"icc_key"`
	// SSAD is the signed static application data (93) of an SDA card.
	SSAD string `json:"ssad,omitempty"`

	mkac                                   []byte
	issuerCert, issuerExp, issuerRem       []byte
	iccCert, iccExp, iccRem, caIndex, psn5 []byte
	ssad                                   []byte
	effective                              []byte
}

// App is one payment application on the chip.
type App struct {
	AID      string `json:"aid"`
	Label    string `json:"label"`
	Priority int    `json:"priority,omitempty"` // 1 highest; 0 none
	Blocked  bool   `json:"blocked,omitempty"`
	aid      []byte
}

// Key is an RSA private key as hex numbers (modulus, public and private
// exponent): the card signs with it, in raw RSA as EMV does.
type Key struct {
	N string `json:"n"`
	E string `json:"e"`
	D string `json:"d"`
}

func (k *Key) ints() (n, e, d *big.Int, err error) {
	n, ok1 := new(big.Int).SetString(k.N, 16)
	e, ok2 := new(big.Int).SetString(k.E, 16)
	d, ok3 := new(big.Int).SetString(k.D, 16)
	if !ok1 || !ok2 || !ok3 || n.Sign() <= 0 || e.Sign() <= 0 || d.Sign() <= 0 {
		return nil, nil, nil, errors.New("icc_key: n, e and d must be hex numbers")
	}
	return n, e, d, nil
}

// Has reports whether the card has a behaviour.
func (p *Profile) Has(b string) bool {
	for _, x := range p.Behaviours {
		if x == b {
			return true
		}
	}
	return false
}

var behaviours = map[string]bool{"device-cvm": true, "aac-after-online": true, "tampered": true, "no-pse": true, "dead-chip": true, "sda-only": true}

// Validate checks a profile and decodes its hex once.
func (p *Profile) Validate() error { return p.validate(true) }

func (p *Profile) validate(personalised bool) error {
	if len(p.Apps) == 0 {
		return errors.New("chip: at least one application")
	}
	for i := range p.Apps {
		a := &p.Apps[i]
		b, err := hex.DecodeString(a.AID)
		if err != nil || len(b) < 5 || len(b) > 16 {
			return fmt.Errorf("chip: application %q: AID must be 5 to 16 bytes of hex", a.AID)
		}
		a.aid = b
		if a.Label == "" || len(a.Label) > 16 {
			return fmt.Errorf("chip: application %s: label of 1 to 16 characters", a.AID)
		}
		if a.Priority < 0 || a.Priority > 15 {
			return fmt.Errorf("chip: application %s: priority 0 to 15", a.AID)
		}
	}
	if len(p.PSN) != 2 || strings.Trim(p.PSN, "0123456789") != "" {
		return errors.New("chip: psn must be two digits")
	}
	p.psn5, _ = hex.DecodeString(p.PSN)
	var err error
	if p.mkac, err = hex.DecodeString(p.MKAC); err != nil || len(p.mkac) != 16 {
		return errors.New("chip: mk_ac must be 16 bytes of hex")
	}
	if p.effective, err = hex.DecodeString(p.Effective); err != nil || len(p.effective) != 3 {
		return errors.New("chip: effective must be YYMMDD")
	}
	switch p.CVM {
	case "online-pin", "offline-pin", "signature", "none":
	default:
		return fmt.Errorf("chip: cvm %q: want online-pin, offline-pin, signature or none", p.CVM)
	}
	if p.PINTries == 0 {
		p.PINTries = 3
	}
	if p.PINTries < 1 || p.PINTries > 15 {
		return errors.New("chip: pin_tries 1 to 15")
	}
	for _, b := range p.Behaviours {
		if !behaviours[b] {
			return fmt.Errorf("chip: unknown behaviour %q", b)
		}
	}
	fields := []struct {
		name string
		s    string
		dst  *[]byte
		need bool
	}{
		{"ca_index", p.CAIndex, &p.caIndex, true},
		{"issuer_cert", p.IssuerCert, &p.issuerCert, true},
		{"issuer_exp", p.IssuerExp, &p.issuerExp, true},
		{"issuer_rem", p.IssuerRem, &p.issuerRem, false},
		{"icc_cert", p.ICCCert, &p.iccCert, true},
		{"icc_exp", p.ICCExp, &p.iccExp, true},
		{"icc_rem", p.ICCRem, &p.iccRem, false},
		{"ssad", p.SSAD, &p.ssad, p.Has("sda-only")},
	}
	for _, f := range fields {
		b, err := hex.DecodeString(f.s)
		if err != nil || (personalised && f.need && len(b) == 0) {
			return fmt.Errorf("chip: %s must be hex (personalise the card)", f.name)
		}
		*f.dst = b
	}
	if !personalised {
		return nil
	}
	if p.ICCKey == nil {
		return errors.New("chip: icc_key missing (personalise the card)")
	}
	if _, _, _, err := p.ICCKey.ints(); err != nil {
		return fmt.Errorf("chip: %w", err)
	}
	return nil
}
