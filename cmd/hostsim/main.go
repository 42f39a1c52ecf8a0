// Command hostsim runs the acquirer/issuer host simulator on a TCP port:
//
//	hostsim --listen 127.0.0.1:5800 --db hostsim.db --cards testdata/cards --mac ecb|x9.19
//	        [--key-mode double] [--tmk HEX] [--fault-rate 0.1 --faults drop-after,delay --fault-seed 1 --fault-delay 2s]
//	        [--updates DIR --updates-listen 127.0.0.1:5880 [--tls-cert F --tls-key F]]
//
// With --updates it is also the acquirer's update server: the terminals'
// sign-on replies carry "TMS download" while DIR holds a newer bundle.
//
// It stops cleanly on SIGINT or SIGTERM; the ledger stays in --db.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/app/seckey"
	"github.com/shoukuan/pos/drivers/fake"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostsim:", err)
		os.Exit(2)
	}
}

type config struct {
	listen, db, cards, wallets string
	mac                        seckey.MACAlgorithm
	keyMode                    seckey.KeyMode
	tmk                        seckey.Key
	faultRate                  float64
	faults                     []hostsim.Fault
	faultSeed                  int64
	faultDelay                 time.Duration
	verbose                    bool
	updates, updatesListen     string
	tlsCert, tlsKey            string
}

// parseFlags reads the command line; errors name the flag at fault.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("hostsim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.listen, "listen", "127.0.0.1:5800", "TCP address to listen on")
	fs.StringVar(&c.db, "db", "hostsim.db", "ledger SQLite file (kept across runs)")
	fs.StringVar(&c.cards, "cards", "testdata/cards", "directory of virtual card profiles (*.json)")
	fs.StringVar(&c.wallets, "wallets", "testdata/wallets.json", "wallet customers by payment code (JSON array; empty: none)")
	mac := fs.String("mac", "ecb", "MAC algorithm: ecb or x9.19")
	mode := fs.String("key-mode", "double", "working keys when the sign-on does not say: single, double or double+tdk")
	tmk := fs.String("tmk", "", "terminal master key, 32 hex digits, as loaded into the terminal with pos keys load (default: the public simulator key)")
	fs.Float64Var(&c.faultRate, "fault-rate", 0, "probability (0..1) that a request meets a random fault")
	faults := fs.String("faults", "", "comma-separated faults for --fault-rate (delay, drop-before, drop-after, disconnect, garbage, bad-mac, duplicate, late, signon-again, decline:NN, answer:NN)")
	fs.Int64Var(&c.faultSeed, "fault-seed", 1, "seed of the random faults, for reproducible campaigns")
	fs.DurationVar(&c.faultDelay, "fault-delay", hostsim.FaultDelay, "how long the delay fault holds a reply")
	fs.BoolVar(&c.verbose, "v", false, "log every message (masked)")
	fs.StringVar(&c.updates, "updates", "", "directory of update bundles to serve (*.bundle); empty: no update server")
	fs.StringVar(&c.updatesListen, "updates-listen", "127.0.0.1:5880", "address of the update server")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "update server certificate (PEM); with --tls-key it serves https")
	fs.StringVar(&c.tlsKey, "tls-key", "", "update server private key (PEM)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	var err error
	if c.mac, err = seckey.ParseMACAlgorithm(*mac); err != nil {
		return c, fmt.Errorf("--mac: %w", err)
	}
	if c.keyMode, err = seckey.ParseKeyModeName(*mode); err != nil {
		return c, fmt.Errorf("--key-mode: %w", err)
	}
	if *tmk != "" {
		if c.tmk, err = seckey.ParseKeyHex(*tmk); err != nil {
			return c, fmt.Errorf("--tmk: %w", err)
		}
	}
	if c.faultRate < 0 || c.faultRate > 1 {
		return c, fmt.Errorf("--fault-rate must be between 0 and 1, got %g", c.faultRate)
	}
	if c.faultDelay < 0 {
		return c, errors.New("--fault-delay must not be negative")
	}
	for _, s := range strings.Split(*faults, ",") {
		if strings.TrimSpace(s) == "" {
			continue
		}
		f, err := hostsim.ParseFault(s)
		if err != nil {
			return c, fmt.Errorf("--faults: %w", err)
		}
		c.faults = append(c.faults, f)
	}
	if c.faultRate > 0 && len(c.faults) == 0 {
		return c, errors.New("--fault-rate needs --faults")
	}
	if c.db == "" {
		return c, errors.New("--db must name a file")
	}
	if (c.tlsCert == "") != (c.tlsKey == "") {
		return c, errors.New("--tls-cert and --tls-key go together")
	}
	return c, nil
}

// run serves until ctx is done, then closes the server and the ledger.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	profiles, err := fake.LoadCardProfiles(c.cards)
	if err != nil {
		return fmt.Errorf("--cards: %w", err)
	}
	if len(profiles) == 0 {
		return fmt.Errorf("--cards: no *.json card profiles in %s", c.cards)
	}
	accts, err := AccountsFromProfiles(profiles)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if c.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	// Read by SetRandomFaults below.
	hostsim.FaultDelay = c.faultDelay
	var wallets []hostsim.WalletAccount
	if c.wallets != "" {
		if wallets, err = hostsim.LoadWalletAccounts(c.wallets); err != nil {
			return fmt.Errorf("--wallets: %w", err)
		}
	}
	opts := hostsim.Options{DBPath: c.db, Accounts: accts, Wallets: wallets, KeyMode: c.keyMode, MAC: c.mac, TMK: c.tmk, Log: log}
	var updates *http.Server
	if c.updates != "" {
		us := hostsim.NewUpdateServer(c.updates)
		opts.TMSDownload = us.TMSDownload
		ln, err := net.Listen("tcp", c.updatesListen)
		if err != nil {
			return fmt.Errorf("--updates-listen: %w", err)
		}
		updates = &http.Server{Handler: us, ReadHeaderTimeout: 10 * time.Second}
		scheme := "http"
		if c.tlsCert != "" {
			scheme = "https"
			go updates.ServeTLS(ln, c.tlsCert, c.tlsKey)
		} else {
			go updates.Serve(ln)
		}
		defer updates.Close()
		fmt.Fprintf(stdout, "update server on %s://%s serving %s\n", scheme, ln.Addr(), c.updates)
	}
	srv, err := hostsim.New(opts)
	if err != nil {
		return err
	}
	if c.faultRate > 0 {
		if err := srv.SetRandomFaults(c.faultRate, c.faults, c.faultSeed); err != nil {
			srv.Close()
			return err
		}
	}
	addr, err := srv.ListenAndServe(c.listen)
	if err != nil {
		srv.Close()
		return err
	}
	fmt.Fprintf(stdout, "hostsim listening on %s (%d cards, MAC %s, ledger %s)\n", addr, len(accts), c.mac, c.db)
	<-ctx.Done()
	fmt.Fprintln(stdout, "hostsim shutting down")
	return srv.Close()
}
