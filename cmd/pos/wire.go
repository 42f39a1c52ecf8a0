package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/shoukuan/pos/app/config"
	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/host"
	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/app/iso8583"
	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/app/mutant"
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
	demo   bool            // not a payment: the in-process simulator or the public test key
}

func (s *stack) close() {
	if s.sim != nil {
		s.sim.Close()
	}
	if s.db != nil {
		s.db.Close()
	}
}

// place is where a terminal's files are: the data directory (journal,
// receipts, log), the secrets directory (the device secret, never beside
// the journal) and the assets relative board paths resolve against.
type place struct {
	data, secrets, assets string
}

// placeFor resolves the secrets directory: the flag, else the board's.
func placeFor(desc *board.Desc, dataDir, secrets, assets string) (place, error) {
	p := place{data: dataDir, secrets: secrets, assets: assets}
	if p.secrets == "" {
		dir, err := desc.SecretsDir()
		if err != nil {
			return p, err
		}
		p.secrets = dir
	}
	return p, nil
}

// demoMode says whether this terminal runs as a demonstration, and refuses
// a configuration that would take real cards on a test key or a simulated
// host without saying so.
func demoMode(cfg config.Config, desc *board.Desc) (bool, error) {
	demo := cfg.Demo || cfg.Host.InProcess && (desc.Name == "sim" || strings.HasPrefix(desc.Name, "sim-"))
	if cfg.Host.InProcess && !demo {
		return false, fmt.Errorf("host.in_process: the in-process host simulator takes no real payments; on board %s it needs \"demo\": true in the configuration", desc.Name)
	}
	if cfg.Host.TMK == "simulator" && !demo && !mutant.On("builtin-tmk") {
		return false, fmt.Errorf("host.tmk simulator: the public test master key is for demo mode only; load the acquirer's key with pos keys load and set host.tmk to loaded")
	}
	return demo, nil
}

// openStack opens the journal and connects the engine to the host named
// by the configuration; with host.in_process it first starts the host
// simulator on a loopback port, its ledger beside the journal.
func openStack(cfg config.Config, desc *board.Desc, at place, now func() time.Time, log *slog.Logger) (*stack, error) {
	demo, err := demoMode(cfg, desc)
	if err != nil {
		return nil, err
	}
	db, notes, err := journal.OpenTerminal(at.data, cfg.Terminal.TerminalID)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		log.Warn("journal", "note", n)
	}
	s := &stack{db: db, demo: demo}
	fail := func(err error) (*stack, error) { s.close(); return nil, err }

	mac, err := seckey.ParseMACAlgorithm(cfg.Host.MAC)
	if err != nil {
		return fail(err)
	}
	mode, err := seckey.ParseKeyModeName(cfg.Host.KeyMode)
	if err != nil {
		return fail(err)
	}
	var tmk seckey.Key // "loaded": the key store's, read by the client
	if cfg.Host.TMK == "simulator" {
		tmk = seckey.SimulatorTMK()
	}
	addr := cfg.Host.Address
	if cfg.Host.InProcess {
		accounts, err := simAccounts(desc, at.assets)
		if err != nil {
			return fail(err)
		}
		wallets, err := simWallets(at.assets)
		if err != nil {
			return fail(err)
		}
		simTMK := tmk
		if simTMK == nil {
			simTMK = seckey.SimulatorTMK()
		}
		s.sim, err = hostsim.New(hostsim.Options{
			DBPath: filepath.Join(at.data, "hostsim.db"), Accounts: accounts, Wallets: wallets, HuabeiRatesBP: huabeiRates(cfg),
			TMK: simTMK, KeyMode: mode, MAC: mac, Now: now, Log: log.With("side", "hostsim"),
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
	store, err := keyStore(db, cfg, at)
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

// keyStore seals keys in the journal under the device key, whose secret
// lives in the secrets directory.
func keyStore(db *journal.DB, cfg config.Config, at place) (*host.KeyStore, error) {
	secret, err := host.DeviceSecret(at.secrets, at.data)
	if err != nil {
		return nil, err
	}
	return host.NewKeyStore(db, seckey.DeriveDeviceKey(secret, cfg.Terminal.TerminalID))
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
	ec.Codes = engine.ReplyCodes{Card: cfg.ReplyCodes.Card, WalletPay: cfg.ReplyCodes.WalletPay, WalletRefund: cfg.ReplyCodes.WalletRefund}
	ec.ReceiptCopies = cfg.Receipt.Copies
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
