package main

import (
	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/drivers/fake"
)

// AccountsFromProfiles turns virtual card profiles into issuer accounts.
// A credit card (credit_limit_fen set) gets its limit as the available
// balance. The profile parser has already validated the issuer block.
func AccountsFromProfiles(ps []*fake.CardProfile) ([]hostsim.Account, error) {
	out := make([]hostsim.Account, 0, len(ps))
	for _, p := range ps {
		iss := p.Issuer()
		bal := iss.BalanceFen
		if iss.CreditLimitFen > 0 {
			bal = iss.CreditLimitFen
		}
		status := iss.Status
		if status == "" {
			status = hostsim.StatusActive
		}
		out = append(out, hostsim.Account{PAN: p.PAN, Expiry: p.Expiry, PIN: p.PIN, BalanceFen: bal,
			Status: status, DailyLimitFen: iss.DailyLimitFen})
	}
	return out, nil
}
