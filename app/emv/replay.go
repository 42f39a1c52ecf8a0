package emv

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Report is the outcome of running the kernel against a card, as
// `pos emv replay --json` prints it.
type Report struct {
	Outcome        string `json:"outcome"` // online, approved, declined, card-declined, use-contact, error
	AID            string `json:"aid"`
	Label          string `json:"label"`
	PAN            string `json:"pan"` // masked
	Expiry         string `json:"expiry"`
	CVM            string `json:"cvm"`
	ODA            string `json:"oda"`
	CryptogramType string `json:"cryptogram_type"`
	TVR            string `json:"tvr"`
	Field55        string `json:"field55"`
	Error          string `json:"error"`
	APDUs          int    `json:"apdus"`
}

// Replay runs the kernel against the trace's card: read, the CVM the
// card asks for (an offline PIN is answered by the trace), the first
// cryptogram, and the completion when the trace recorded the host's
// answer. amount overrides the trace's (0 keeps it).
func Replay(ctx context.Context, cfg *Config, tr *Trace, amount int64, now time.Time) Report {
	in := Input{Mode: tr.KernelMode(), AmountFen: tr.AmountFen, Type: TypePurchase, Now: now}
	if amount > 0 {
		in.AmountFen = amount
	}
	if d, err := time.ParseInLocation("060102", tr.Date, time.Local); err == nil {
		in.Now = d.Add(12 * time.Hour)
	}
	if tr.Unpredictable != "" {
		in.Unpredictable, _ = hex.DecodeString(tr.Unpredictable)
	}
	var rep Report
	tx, err := New(cfg, tr.Card(), in)
	if err != nil {
		rep.Outcome, rep.Error = "error", err.Error()
		return rep
	}
	err = tx.Read(ctx, -1)
	if errors.Is(err, ErrChoose) {
		err = tx.Read(ctx, 0) // the first (highest priority) application
	}
	if err == nil && tx.CVM() == CVMOfflinePIN {
		// The trace holds the card's answer to VERIFY; the PIN sent is
		// not the cardholder's (a recorder never keeps it).
		if perr := tx.VerifyOfflinePIN(ctx, "0000"); perr != nil && !errors.Is(perr, ErrPINBlocked) {
			var wrong *WrongPINError
			if !errors.As(perr, &wrong) {
				err = perr
			}
		}
	}
	var online Online
	if err == nil {
		online, err = tx.RequestOnline(ctx)
	}
	rep.Outcome = "online"
	if err == nil && tr.Host != nil && tx.Mode() == Contact {
		icc, herr := hex.DecodeString(tr.Host.ICC)
		if herr != nil {
			err = fmt.Errorf("trace: host icc: %w", herr)
		} else {
			var c Completion
			c, err = tx.Complete(ctx, tr.Host.Approved, icc)
			if err == nil && c.Cryptogram == "TC" {
				rep.Outcome = "approved"
			} else if err == nil {
				rep.Outcome = "declined"
			}
		}
	}
	s := tx.Summary()
	rep.AID, rep.Label, rep.PAN, rep.Expiry, rep.CVM, rep.ODA, rep.CryptogramType, rep.TVR =
		s.AID, s.Label, s.MaskedPAN, s.Expiry, s.CVM, s.ODA+" "+s.ODAResult, s.ACType, s.TVR
	if s.ODA == "" {
		rep.ODA = s.ODAResult
	}
	rep.APDUs = tx.APDUs()
	if len(online.Field55) > 0 {
		rep.Field55 = hx(online.Field55)
	}
	if err != nil {
		rep.Error = err.Error()
		switch {
		case errors.Is(err, ErrDeclinedOffline):
			rep.Outcome = "declined"
		case errors.Is(err, ErrCardDeclined):
			rep.Outcome = "card-declined"
		case errors.Is(err, ErrUseContact):
			rep.Outcome = "use-contact"
		default:
			rep.Outcome = "error"
		}
	}
	return rep
}
