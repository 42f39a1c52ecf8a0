package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/shoukuan/pos/app/emv"
)

// EMV is the card kernel's configuration: the applications the terminal
// accepts, the CA keys for offline data authentication, and the reader's
// limits (docs/emv.md gives the sources of the defaults).
type EMV struct {
	AIDs   []EMVAID   `json:"aids"`
	CAKeys []EMVCAKey `json:"ca_keys"`
	// ContactlessLimitFen: at or above it a tap is refused, "请插卡".
	ContactlessLimitFen int64 `json:"contactless_limit_fen"`
	// CVMLimitFen: a tap at or under it needs no PIN and no signature
	// (免密免签).
	CVMLimitFen int64 `json:"cvm_limit_fen"`
	// FloorLimitFen: 0, every card transaction goes online.
	FloorLimitFen int64  `json:"floor_limit_fen"`
	TTQ           string `json:"ttq"`
	TACDenial     string `json:"tac_denial"`
	TACOnline     string `json:"tac_online"`
	TACDefault    string `json:"tac_default"`
	// FallbackAfterFailures is how many chip reads must fail in a row
	// before a swipe of a chip card is taken (as a fallback).
	FallbackAfterFailures int `json:"fallback_after_failures"`
	// RecordTraces is a directory where a technician has the terminal
	// record each card's APDU exchange ("" off); RecordUnmasked keeps
	// card numbers and track data in those traces.
	RecordTraces   string `json:"record_traces"`
	RecordUnmasked bool   `json:"record_unmasked"`
}

// EMVAID is an application the terminal may accept.
type EMVAID struct {
	AID     string `json:"aid"`
	Label   string `json:"label"`
	Partial bool   `json:"partial"`
	Enabled bool   `json:"enabled"`
}

// EMVCAKey is a CA public key with its published checksum.
type EMVCAKey struct {
	RID      string `json:"rid"`
	Index    string `json:"index"`
	Modulus  string `json:"modulus"`
	Exponent string `json:"exponent"`
	SHA1     string `json:"sha1"`
	Expiry   string `json:"expiry"` // YYYYMMDD
	// Test marks a test CA (the project's, or a scheme's certification
	// keys): trusted only when the terminal runs in demonstration mode.
	Test bool `json:"test"`
}

func (e EMV) validate() error {
	_, err := e.Kernel(true, time.Time{})
	return err
}

// Kernel makes the kernel's configuration. A test CA key is left out
// unless demo; an expired key is left out on the day it expires (now
// zero: none is).
func (e EMV) Kernel(demo bool, now time.Time) (*emv.Config, error) {
	cfg := emv.DefaultConfig()
	cfg.AIDs = nil
	for i, a := range e.AIDs {
		b, err := hex.DecodeString(a.AID)
		if err != nil || len(b) < 5 || len(b) > 16 {
			return nil, fmt.Errorf("emv.aids[%d] %q: an AID is 5 to 16 bytes of hex", i, a.AID)
		}
		if a.Enabled {
			cfg.AIDs = append(cfg.AIDs, emv.AID{AID: b, Label: a.Label, Partial: a.Partial})
		}
	}
	if len(cfg.AIDs) == 0 {
		return nil, errors.New("emv.aids: no application enabled")
	}
	for _, k := range e.CAKeys {
		key, err := emv.ParseCAKey(k.RID, k.Index, k.Modulus, k.Exponent, k.SHA1)
		if err != nil {
			return nil, fmt.Errorf("emv.ca_keys: %w", err)
		}
		if k.Expiry != "" {
			if _, err := time.Parse("20060102", k.Expiry); err != nil {
				return nil, fmt.Errorf("emv.ca_keys %s/%s: expiry %q is not YYYYMMDD", k.RID, k.Index, k.Expiry)
			}
		}
		key.Expiry, key.Test = k.Expiry, k.Test
		if k.Test && !demo || !now.IsZero() && k.Expiry != "" && k.Expiry < now.Format("20060102") {
			continue
		}
		cfg.CAKeys = append(cfg.CAKeys, key)
	}
	if e.ContactlessLimitFen < 1 || e.ContactlessLimitFen > MaxAmountFen+1 {
		return nil, fmt.Errorf("emv.contactless_limit_fen %d: must be 1-%d", e.ContactlessLimitFen, int64(MaxAmountFen)+1)
	}
	if e.CVMLimitFen < 0 || e.CVMLimitFen >= e.ContactlessLimitFen {
		return nil, fmt.Errorf("emv.cvm_limit_fen %d: must be 0 or more and below the contactless limit", e.CVMLimitFen)
	}
	if e.FloorLimitFen != 0 {
		return nil, errors.New("emv.floor_limit_fen: this terminal is online only; the floor limit must be 0")
	}
	cfg.ContactlessLimit, cfg.CVMLimit, cfg.FloorLimit = e.ContactlessLimitFen, e.CVMLimitFen, e.FloorLimitFen
	for _, f := range []struct {
		name string
		s    string
		n    int
		dst  *[]byte
	}{{"ttq", e.TTQ, 4, &cfg.TTQ}, {"tac_denial", e.TACDenial, 5, &cfg.TACDenial}, {"tac_online", e.TACOnline, 5, &cfg.TACOnline},
		{"tac_default", e.TACDefault, 5, &cfg.TACDefault}} {
		b, err := hex.DecodeString(f.s)
		if err != nil || len(b) != f.n {
			return nil, fmt.Errorf("emv.%s %q: must be %d bytes of hex", f.name, f.s, f.n)
		}
		*f.dst = b
	}
	if e.FallbackAfterFailures < 1 || e.FallbackAfterFailures > 9 {
		return nil, fmt.Errorf("emv.fallback_after_failures %d: must be 1-9", e.FallbackAfterFailures)
	}
	return &cfg, nil
}
