package engine

import (
	"fmt"
	"slices"

	"github.com/shoukuan/pos/app/mutant"
)

// Verdict is what a reply code says happened.
type Verdict int

const (
	// Approved: the host did it (00).
	Approved Verdict = iota + 1
	// Declined: definitely not done; nothing to undo.
	Declined
	// Unknown: the host may have done it (a system error, an issuer that
	// did not answer, "retry"). The terminal resolves it as if no reply
	// had come: a reversal for cards, query then cancel for a wallet
	// payment, the same refund again for a wallet refund.
	Unknown
)

func (v Verdict) String() string {
	switch v {
	case Approved:
		return "approved"
	case Declined:
		return "declined"
	case Unknown:
		return "unknown"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// ReplyCodes says which reply codes are definite declines, per message
// family; every code not listed (but 00) means the outcome is unknown.
// Only a code the acquirer documents as "not done" belongs here: a wrong
// entry turns a possible charge into a decline the cashier then repeats.
type ReplyCodes struct {
	Card         []string // sale, void, refund, balance
	WalletPay    []string // pay and precreate
	WalletRefund []string
}

// DefaultReplyCodes is CUP's list of codes that mean "not done"; 96 (system
// error), 98 (the issuer did not answer), 91, 68 and the rest stay unknown.
func DefaultReplyCodes() ReplyCodes {
	return ReplyCodes{
		Card: []string{"01", "03", "04", "05", "12", "13", "14", "15", "25", "30", "33", "40", "41", "43",
			"51", "54", "55", "57", "58", "61", "62", "65", "75", "A0"},
		WalletPay:    []string{"05", "12", "13", "14", "30", "51", "61", "64", "A0"},
		WalletRefund: []string{"05", "12", "13", "25", "30", "64", "A0"},
	}
}

// Family is a kind of host message as far as its reply codes go.
type Family int

const (
	FamilyCard Family = iota
	FamilyWalletPay
	FamilyWalletRefund
)

func (rc ReplyCodes) list(f Family) []string {
	switch f {
	case FamilyWalletPay:
		return rc.WalletPay
	case FamilyWalletRefund:
		return rc.WalletRefund
	}
	return rc.Card
}

// Verdict classifies a reply code of family f.
func (rc ReplyCodes) Verdict(f Family, code string) Verdict {
	switch {
	case code == "00":
		return Approved
	case mutant.On("unknown-is-declined"):
		return Declined
	case slices.Contains(rc.list(f), code):
		return Declined
	}
	return Unknown
}

// Check refuses lists a reply could not match: codes are 2 letters or
// digits, and 00 is never a decline.
func (rc ReplyCodes) Check() error {
	for _, l := range []struct {
		name  string
		codes []string
	}{{"card", rc.Card}, {"wallet_pay", rc.WalletPay}, {"wallet_refund", rc.WalletRefund}} {
		for _, c := range l.codes {
			if len(c) != 2 || !alnum(c) {
				return fmt.Errorf("%s: %q is not a 2-character response code", l.name, c)
			}
			if c == "00" {
				return fmt.Errorf("%s: 00 means approved, it cannot be a decline", l.name)
			}
			switch c {
			case CodeUserPaying, CodeRetry, CodeAlreadyPaid:
				return fmt.Errorf("%s: %s is a wallet protocol code, not a decline", l.name, c)
			}
		}
	}
	return nil
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// UnknownAnswerError is a reply whose code leaves the outcome unknown; the
// engine resolves it as if no reply had come, and wraps ErrNoReply.
type UnknownAnswerError struct{ Code string }

func (e *UnknownAnswerError) Error() string {
	return fmt.Sprintf("host answered %s: outcome unknown", e.Code)
}
