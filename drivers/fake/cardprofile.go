package fake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/shoukuan/pos/drivers/vcard"
	"github.com/shoukuan/pos/hal"
)

// CardProfile describes a virtual card in testdata/cards/*.json. The PIN and
// balance are for the simulated issuer; the reader itself only hands the
// card's track or chip to the terminal.
type CardProfile struct {
	Name        string `json:"name"`  // file stem; how scenarios refer to the card
	Label       string `json:"label"` // shown in the simulator
	PAN         string `json:"pan"`
	Expiry      string `json:"expiry"`       // YYMM
	ServiceCode string `json:"service_code"` // 3 digits; 2xx means chip card
	Track2      string `json:"track2"`       // optional; built from PAN, expiry and service code when empty
	PIN         string `json:"pin"`          // issuer side, 4-12 digits
	// Interfaces the card answers on: "contactless", "chip", "magstripe".
	Interfaces []string `json:"interfaces"`
	// Chip is the personalisation of the card's chip (contact and
	// contactless); nil for a card whose chip carries no payment
	// application.
	Chip *vcard.Profile `json:"chip,omitempty"`
	// Issuer is free-form data for the simulated issuer (balance, status).
	IssuerJSON json.RawMessage `json:"issuer,omitempty"`

	modes  hal.CardMode
	issuer IssuerData
	chip   *vcard.Card
}

// IssuerData is what the simulated issuer holds for a card.
type IssuerData struct {
	BalanceFen     int64  `json:"balance_fen"`      // debit cards: money in the account
	CreditLimitFen int64  `json:"credit_limit_fen"` // credit cards: available credit
	DailyLimitFen  int64  `json:"daily_limit_fen"`  // 0: none
	Status         string `json:"status"`           // active, lost, blocked
}

// Issuer returns the card's issuer data (validated when parsed).
func (p *CardProfile) Issuer() IssuerData { return p.issuer }

// Modes is the set of interfaces the card answers on.
func (p *CardProfile) Modes() hal.CardMode { return p.modes }

// ParseCardProfile reads and validates one profile. name is the file stem.
func ParseCardProfile(name string, data []byte) (*CardProfile, error) {
	var p CardProfile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("card %s: %w", name, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("card %s: trailing data after the JSON object", name)
	}
	p.Name = name
	if err := p.validate(); err != nil {
		return nil, fmt.Errorf("card %s: %w", name, err)
	}
	return &p, nil
}

func (p *CardProfile) validate() error {
	if !allDigits(p.PAN) || len(p.PAN) < 13 || len(p.PAN) > 19 {
		return errors.New("pan must be 13 to 19 digits")
	}
	if !luhnValid(p.PAN) {
		return errors.New("pan fails the Luhn check")
	}
	if len(p.Expiry) != 4 || !allDigits(p.Expiry) || p.Expiry[2:] < "01" || p.Expiry[2:] > "12" {
		return errors.New("expiry must be YYMM")
	}
	if len(p.ServiceCode) != 3 || !allDigits(p.ServiceCode) {
		return errors.New("service_code must be 3 digits")
	}
	if p.PIN != "" && (!allDigits(p.PIN) || len(p.PIN) < 4 || len(p.PIN) > 12) {
		return errors.New("pin must be 4 to 12 digits")
	}
	if p.Track2 == "" {
		p.Track2 = p.PAN + "=" + p.Expiry + p.ServiceCode + "0000000000"
		p.Track2 = p.Track2[:min(len(p.Track2), 37)]
	}
	if err := checkTrack2(p.Track2, p.PAN); err != nil {
		return err
	}
	if len(p.Interfaces) == 0 {
		return errors.New("interfaces must list at least one of contactless, chip, magstripe")
	}
	for _, s := range p.Interfaces {
		switch s {
		case "contactless":
			p.modes |= hal.CardContactless
		case "chip":
			p.modes |= hal.CardChip
		case "magstripe":
			p.modes |= hal.CardMagstripe
		default:
			return fmt.Errorf("unknown interface %q (want contactless, chip or magstripe)", s)
		}
	}
	if len(p.IssuerJSON) > 0 {
		dec := json.NewDecoder(bytes.NewReader(p.IssuerJSON))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p.issuer); err != nil {
			return fmt.Errorf("issuer: %w", err)
		}
	}
	if p.issuer.Status == "" {
		p.issuer.Status = "active"
	}
	switch p.issuer.Status {
	case "active", "lost", "blocked":
	default:
		return fmt.Errorf("issuer.status %q: want active, lost or blocked", p.issuer.Status)
	}
	if p.issuer.BalanceFen < 0 || p.issuer.CreditLimitFen < 0 || p.issuer.DailyLimitFen < 0 {
		return errors.New("issuer: amounts must not be negative")
	}
	if p.Chip != nil {
		if p.modes&(hal.CardChip|hal.CardContactless) == 0 {
			return errors.New("chip: the card has neither a chip nor contactless interface")
		}
		c, err := vcard.New(p.Chip, p.PAN, p.Expiry, p.Track2, p.PIN, p.Label)
		if err != nil {
			return err
		}
		p.chip = c
	}
	return nil
}

// ChipCard is the card's chip, nil without one.
func (p *CardProfile) ChipCard() *vcard.Card { return p.chip }

// checkTrack2 validates ISO 7813 track 2 data without sentinels:
// PAN '=' YYMM service-code discretionary, at most 37 characters.
func checkTrack2(t2, pan string) error {
	if len(t2) > 37 {
		return errors.New("track2 longer than 37 characters")
	}
	sep := strings.IndexByte(t2, '=')
	if sep < 0 {
		return errors.New("track2 has no '=' separator")
	}
	if t2[:sep] != pan {
		return errors.New("track2 PAN differs from pan")
	}
	rest := t2[sep+1:]
	if len(rest) < 7 || !allDigits(rest) {
		return errors.New("track2 needs YYMM, service code and digits after '='")
	}
	return nil
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func luhnValid(pan string) bool {
	sum := 0
	double := false
	for i := len(pan) - 1; i >= 0; i-- {
		d := int(pan[i] - '0')
		if double {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}

// LoadCardProfiles reads every *.json in dir. A bad file is an error that
// names it: test data that silently vanishes hides broken tests.
func LoadCardProfiles(dir string) ([]*CardProfile, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []*CardProfile
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		p, err := ParseCardProfile(strings.TrimSuffix(filepath.Base(path), ".json"), data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, p)
	}
	return out, nil
}
