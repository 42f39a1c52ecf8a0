package emv

import (
	"errors"
	"fmt"
)

// What can end a card read early. The terminal turns each into what the
// cashier must do next.
var (
	// ErrCardRemoved: the card left the field or the slot before the
	// kernel was done; nothing was sent to the host.
	ErrCardRemoved = errors.New("emv: card removed")
	// ErrNoApplication: the card has no application this terminal takes
	// (a foreign card with international AIDs off, a transit card).
	ErrNoApplication = errors.New("emv: no supported application on the card")
	// ErrAppBlocked: the card's only applications are blocked.
	ErrAppBlocked = errors.New("emv: application blocked")
	// ErrCard: the card answered something the kernel cannot use; three
	// in a row on a chip allow a magstripe fallback.
	ErrCard = errors.New("emv: card error")
	// ErrUseContact: the tap cannot go on (over the contactless limit, or
	// the card asks for its chip): insert the card.
	ErrUseContact = errors.New("emv: insert the card")
	// ErrDeclinedOffline: the card or the terminal declined before going
	// online (AAC at the first GENERATE AC).
	ErrDeclinedOffline = errors.New("emv: declined by the card")
	// ErrCardDeclined: the host approved but the card refused to complete
	// (AAC at the second GENERATE AC, or the card was gone): the
	// approval must be reversed.
	ErrCardDeclined = errors.New("emv: card declined after the host approved")
	// ErrPINBlocked: the offline PIN try limit is reached.
	ErrPINBlocked = errors.New("emv: PIN blocked")
	// ErrChoose: the card has several applications; the cardholder
	// chooses one of Candidates.
	ErrChoose = errors.New("emv: choose an application")
)

// WrongPINError is an offline PIN the card refused, with the tries left.
type WrongPINError struct{ Left int }

func (e *WrongPINError) Error() string { return fmt.Sprintf("emv: wrong PIN, %d tries left", e.Left) }

// StatusError is a status word the kernel did not expect.
type StatusError struct {
	Command string
	SW      uint16
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("emv: %s: card answered %04X", e.Command, e.SW)
}

func (e *StatusError) Unwrap() error { return ErrCard }
