package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	"github.com/shoukuan/pos/app/config"
	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/host"
	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/app/iso8583"
	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/app/seckey"
	"github.com/shoukuan/pos/board"
	"github.com/shoukuan/pos/drivers/fake"
)

// stack is the payment side of the terminal: journal, host link (and the
// in-process host simulator on the desktop), engine.
type stack struct {
	db     *journal.DB
	client *host.Client
	eng    *engine.Engine
	sim    *hostsim.Server // nil when the host is a real acquirer or a separate hostsim
}

func (s *stack) close() {
	if s.sim != nil {
		s.sim.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
}

// openStack opens the journal and connects the engine to the host named
// by the configuration; with host.in_process it first starts the host
// simulator on a loopback port, its ledger beside the journal.
func openStack(cfg config.Config, desc *board.Desc, dataDir, assets string, now func() time.Time, log *slog.Logger) (*stack, error) {
	db, err := openJournal(dataDir)
	if err != nil {
		return nil, err
	}
	s := &stack{db: db}
	fail := func(err error) (*stack, error) { s.close(); return nil, err }

	mac, err := seckey.ParseMACAlgorithm(cfg.Host.MAC)
	if err != nil {
		return fail(err)
	}
	mode, err := seckey.ParseKeyModeName(cfg.Host.KeyMode)
	if err != nil {
		return fail(err)
	}
	tmk := seckey.SimulatorTMK() // config allows only "simulator" until key injection exists
	addr := cfg.Host.Address
	if cfg.Host.InProcess {
		accounts, err := simAccounts(desc, assets)
		if err != nil {
			return fail(err)
		}
		wallets, err := simWallets(assets)
		if err != nil {
			return fail(err)
		}
		s.sim, err = hostsim.New(hostsim.Options{
			DBPath: filepath.Join(dataDir, "hostsim.db"), Accounts: accounts, Wallets: wallets, HuabeiRatesBP: huabeiRates(cfg),
			TMK: tmk, KeyMode: mode, MAC: mac, Now: now, Log: log.With("side", "hostsim"),
		})
		if err != nil {
			return fail(fmt.Errorf("host simulator: %w", err))
		}
		a, err := s.sim.ListenAndServe("127.0.0.1:0")
		if err != nil {
			return fail(fmt.Errorf("host simulator: %w", err))
		}
		addr = a.String()
	}
	secret, err := host.DeviceSecret(dataDir)
	if err != nil {
		return fail(err)
	}
	store, err := host.NewKeyStore(db, seckey.DeriveDeviceKey(secret, cfg.Terminal.TerminalID))
	if err != nil {
		return fail(err)
	}
	s.client, err = host.NewClient(host.Config{
		Address: addr, TLS: cfg.Host.TLS, CAFile: cfg.Host.CAFile, Timeout: cfg.Host.Timeout(),
		TerminalID: cfg.Terminal.TerminalID, MerchantID: cfg.Terminal.MerchantID,
		MAC: mac, KeyMode: mode, TMK: tmk,
		TPDU: iso8583.TPDU{ID: iso8583.TPDUID, Dest: uint16(cfg.Host.NII)},
		Now:  now, Log: log.With("side", "host"),
	}, store)
	if err != nil {
		return fail(err)
	}
	s.eng = engine.New(db, s.client, now, engineConfig(cfg), log.With("side", "engine"))
	return s, nil
}

func engineConfig(cfg config.Config) engine.Config {
	ec := engine.Config{
		Default:         engine.Limit{PerTxnFen: cfg.Limits.PerTransactionFen, DailyFen: cfg.Limits.DailyFen},
		Limits:          map[string]engine.Limit{},
		FeeBP:           cfg.FeesBP,
		ReversalRetries: cfg.Risk.ReversalRetries,
		RiskDeclines:    cfg.Risk.ConsecutiveDeclines,
		RiskSameCard:    time.Duration(cfg.Risk.SameCardSeconds) * time.Second,
	}
	for class, l := range cfg.Limits.Methods {
		ec.Limits[class] = engine.Limit{PerTxnFen: l.PerTransactionFen, DailyFen: l.DailyFen}
	}
	ec.TerminalID = cfg.Terminal.TerminalID
	w := cfg.Wallet
	ec.Wallet = engine.WalletConfig{PollEvery: time.Duration(w.PollSeconds) * time.Second, Wait: time.Duration(w.WaitSeconds) * time.Second,
		MerchantQRFor: time.Duration(w.MerchantQRSeconds) * time.Second, CancelRetries: w.CancelRetries}
	ec.Huabei = engine.HuabeiConfig{Enabled: cfg.Huabei.Enabled, MinFen: cfg.Huabei.MinFen, LimitFen: cfg.Huabei.LimitFen, RatesBP: huabeiRates(cfg)}
	return ec
}

func huabeiRates(cfg config.Config) map[int]int64 {
	out := map[int]int64{}
	for k, bp := range cfg.Huabei.RatesBP {
		n, _ := strconv.Atoi(k) // config.Validate allows only 3, 6, 12
		out[n] = bp
	}
	return out
}

// walletsFile holds the simulated wallet customers: one per payment code
// image under testdata/codes.
const walletsFile = "testdata/wallets.json"

func simWallets(assets string) ([]hostsim.WalletAccount, error) {
	path := walletsFile
	if assets != "" {
		path = filepath.Join(assets, path)
	}
	return hostsim.LoadWalletAccounts(path)
}

// simAccounts are the simulated issuer's accounts: one per virtual card
// of the board's card reader.
func simAccounts(desc *board.Desc, assets string) ([]hostsim.Account, error) {
	if desc.CardReader.Driver != "fake" {
		return nil, nil
	}
	dir := desc.CardReader.Cards
	if assets != "" && !filepath.IsAbs(dir) {
		dir = filepath.Join(assets, dir)
	}
	profiles, err := fake.LoadCardProfiles(dir)
	if err != nil {
		return nil, err
	}
	var out []hostsim.Account
	for _, p := range profiles {
		iss := p.Issuer()
		bal := iss.BalanceFen
		if iss.CreditLimitFen > 0 {
			bal = iss.CreditLimitFen
		}
		out = append(out, hostsim.Account{PAN: p.PAN, Expiry: p.Expiry, PIN: p.PIN, BalanceFen: bal, Status: iss.Status, DailyLimitFen: iss.DailyLimitFen})
	}
	return out, nil
}
