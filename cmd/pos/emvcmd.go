package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/shoukuan/pos/app/config"
	"github.com/shoukuan/pos/app/emv"
)

const emvUsage = `usage: pos emv replay [--json] [--config FILE] [--amount FEN] [--mode contactless|chip] [--test-keys] TRACE.json

replay runs the card kernel against a card that answers from a recorded
APDU exchange (docs/emv.md gives the format; the terminal records one per
card when emv.record_traces names a directory) and prints the outcome: a
summary, or with --json one object with outcome, aid, label, pan (masked),
expiry, cvm, oda, cryptogram_type, tvr, field55 (hex) and error. The CA
keys are the configuration's; --test-keys trusts its test CA keys too, as
a demonstration terminal does. Exit 0 when the kernel ran (whatever the
card's outcome), 1 when the trace or the configuration cannot be used.
`

func cmdEMV(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "replay" {
		fmt.Fprint(stderr, emvUsage)
		return flag.ErrHelp
	}
	fs := newFlagSet("emv replay", stderr)
	asJSON := fs.Bool("json", false, "print the outcome as JSON")
	cfgPath := fs.String("config", "", "configuration file (default: embedded defaults)")
	amount := fs.Int64("amount", 0, "amount in fen (default: the trace's, else 1)")
	mode := fs.String("mode", "", "contactless or chip (default: the trace's)")
	testKeys := fs.Bool("test-keys", false, "trust the configuration's test CA keys")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fmt.Fprint(stderr, emvUsage)
		return flag.ErrHelp
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	data, err := config.ReadLimited(fs.Arg(0), 4<<20)
	if err != nil {
		return fmt.Errorf("emv replay: %w", err)
	}
	tr, err := emv.ParseTrace(data)
	if err != nil {
		return fmt.Errorf("emv replay: %s: %w", fs.Arg(0), err)
	}
	switch *mode {
	case "":
	case "contactless", "chip":
		tr.Mode = *mode
	default:
		return fmt.Errorf("emv replay: --mode %q: contactless or chip", *mode)
	}
	if *amount < 0 {
		return fmt.Errorf("emv replay: --amount must not be negative")
	}
	if *amount == 0 && tr.AmountFen == 0 {
		*amount = 1
	}
	now := time.Now()
	kcfg, err := cfg.EMV.Kernel(*testKeys || cfg.Demo, now)
	if err != nil {
		return err
	}
	rep := emv.Replay(context.Background(), kcfg, tr, *amount, now)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(stdout, "outcome:    %s\n", rep.Outcome)
	if rep.Error != "" {
		fmt.Fprintf(stdout, "error:      %s\n", rep.Error)
	}
	fmt.Fprintf(stdout, "application %s %s\ncard:       %s expires %s\ncvm:        %s\noda:        %s\ncryptogram: %s\ntvr:        %s\napdus:      %d\n",
		rep.AID, rep.Label, rep.PAN, rep.Expiry, rep.CVM, rep.ODA, rep.CryptogramType, rep.TVR, rep.APDUs)
	if rep.Field55 != "" {
		fmt.Fprintf(stdout, "field 55:   %s\n", rep.Field55)
	}
	return nil
}
