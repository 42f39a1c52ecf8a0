package hal

import (
	"context"
	"strings"
)

// CardMode is a set of card interfaces.
type CardMode uint8

const (
	CardNone        CardMode = 0
	CardContactless CardMode = 1 << iota // QuickPass tap: card or phone
	CardChip                             // ICC insert
	CardMagstripe                        // swipe
	CardAny         = CardContactless | CardChip | CardMagstripe
)

func (m CardMode) String() string {
	if m == CardNone {
		return "none"
	}
	var parts []string
	for _, p := range []struct {
		m CardMode
		s string
	}{{CardContactless, "contactless"}, {CardChip, "chip"}, {CardMagstripe, "magstripe"}} {
		if m&p.m != 0 {
			parts = append(parts, p.s)
		}
	}
	return strings.Join(parts, "+")
}

// Card is a card presented to the reader through one interface.
//
// For a swipe, Track2 (and Track1 when read) hold the raw track data and
// APDU is nil. For chip and contactless, APDU exchanges commands with the
// card (or phone) until the card leaves the field or is removed; the EMV
// kernel in the application builds on it.
type Card struct {
	Mode   CardMode
	Track1 string
	Track2 string // PAN=YYMMSSS... as read, without sentinels
	APDU   APDUExchanger
}

// APDUExchanger sends one command APDU to a card and returns the response
// including the two status bytes.
type APDUExchanger interface {
	Exchange(ctx context.Context, command []byte) ([]byte, error)
}
