package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shoukuan/pos/app/config"
	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/app/terminal"
	"github.com/shoukuan/pos/board"
	"github.com/shoukuan/pos/hal"
)

// cmdSelfTest is the technician's self-test from a shell: every device of
// the board, the host link, the storage, the clock and the software
// slots, one line each (or JSON), non-zero exit when any fails. The
// results are kept in the journal.
func cmdSelfTest(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("selftest", stderr)
	var c common
	c.register(fs, "")
	keys := fs.Bool("keys", false, "press every key of the terminal's keypad first (Cancel 3 times to stop)")
	keysFor := fs.Duration("keys-timeout", 2*time.Minute, "how long --keys waits for the keys")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	last := fs.Bool("last", false, "print the last recorded self-test instead of running one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, desc, err := c.load()
	if err != nil {
		return err
	}
	dataDir := c.dataDir
	if dataDir == "" {
		if *last {
			return errors.New("selftest --last: name the terminal's data directory with --data")
		}
		if dataDir, err = os.MkdirTemp("", "pos-selftest-"); err != nil {
			return err
		}
		defer os.RemoveAll(dataDir)
		c.dataDir = dataDir
	}
	if *last {
		return printLastSelfTest(cfg, dataDir, *asJSON, stdout)
	}
	// The payment side first: its host link, journal and clock are
	// checks. A terminal already running holds the journal; then those
	// are not tested, and its devices are likely busy too.
	var st *stack
	var stackErr error
	if err := journal.SecureDir(dataDir); err != nil {
		return err
	}
	if at, err := c.place(desc); err != nil {
		stackErr = err
	} else {
		log, logFile, err := openLog(dataDir)
		if err != nil {
			return err
		}
		defer logFile.Close()
		st, stackErr = openStack(cfg, desc, at, time.Now, log)
		if st != nil {
			defer st.close()
		}
	}
	// Headless: the technician's shell keeps its terminal. KeepGoing: a
	// device that will not open is that device's failure, and the others
	// are still tested.
	b, err := board.Open(desc, board.Env{DataDir: dataDir, Assets: c.assets, Headless: true, KeepGoing: true})
	if err != nil {
		return err
	}
	defer b.Close()
	var keyResult *hal.SelfTestResult
	if *keys && b.Devices.Keypad != nil {
		if b.Fakes.Keypad != nil {
			return fmt.Errorf("selftest --keys: board %s has no keypad of its own (its keys are the desktop's keyboard)", desc.Name)
		}
		r := pressEveryKey(b.Devices.Keypad, *keysFor, stdout)
		keyResult = &r
	}
	checks := stackChecks(st, stackErr, dataDir)
	checks = append(checks, slotsCheck(desc, dataDir))
	start := time.Now()
	results := terminal.SelfTest(context.Background(), b.Devices, checks...)
	took := time.Since(start)
	if keyResult != nil {
		results = terminal.WithKeyCheck(results, *keyResult)
	}
	for _, u := range b.Unopened {
		for i := range results {
			if results[i].Device == u.Device {
				results[i] = hal.SelfTestResult{Device: u.Device, Detail: "cannot open: " + u.Err.Error()}
			}
		}
	}
	recorded := ""
	if st != nil {
		if err := terminal.RecordSelfTest(st.db, start, version, results); err != nil {
			recorded = "not recorded in the journal: " + err.Error()
		}
	}
	_, failed, _ := terminal.Tally(results)
	if *asJSON {
		err = writeSelfTestJSON(stdout, desc.Name, start, took, results)
	} else {
		printSelfTest(stdout, results)
		if recorded != "" {
			fmt.Fprintln(stdout, recorded)
		}
	}
	if err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("selftest: %d check(s) failed", failed)
	}
	return nil
}

// stackChecks are the host link, storage and clock checks, or what says
// why they could not run.
func stackChecks(st *stack, err error, dataDir string) []terminal.Check {
	if st != nil {
		return []terminal.Check{terminal.HostLinkCheck(st.eng), terminal.StorageCheck(st.db, dataDir), terminal.ClockCheck(st.eng)}
	}
	fixed := func(r hal.SelfTestResult) terminal.Check {
		return terminal.Check{Name: r.Device, Run: func(context.Context) hal.SelfTestResult { return r }}
	}
	skipped := func(name, why string) terminal.Check {
		return fixed(hal.SelfTestResult{Device: name, Skipped: true, Detail: "not tested: " + why})
	}
	switch {
	case errors.Is(err, journal.ErrLocked):
		// The terminal itself holds its journal while it runs: nothing
		// is wrong, it just cannot be tested from here.
		why := "the terminal is running (its data directory is locked); stop it first"
		return []terminal.Check{skipped("host link", why), skipped("storage", why), skipped("clock", why)}
	case errors.Is(err, journal.ErrRefused), errors.Is(err, journal.ErrCorrupt), errors.Is(err, journal.ErrTooNew):
		return []terminal.Check{skipped("host link", "the journal did not open"),
			fixed(hal.SelfTestResult{Device: "storage", Detail: "journal: " + err.Error()}), skipped("clock", "the journal did not open")}
	}
	// The configuration or the link: the host cannot be reached.
	return []terminal.Check{fixed(hal.SelfTestResult{Device: "host link", Detail: err.Error()}),
		skipped("storage", "the payment side did not start"), skipped("clock", "the payment side did not start")}
}

func printSelfTest(w io.Writer, results []hal.SelfTestResult) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", r.Device, r.Verdict(), r.Detail, r.Took.Round(1000))
	}
	tw.Flush()
	passed, failed, skipped := terminal.Tally(results)
	fmt.Fprintf(w, "%d ok, %d FAIL, %d not tested\n", passed, failed, skipped)
}

// selfTestReport is `pos selftest --json`.
type selfTestReport struct {
	Version string                `json:"version"`
	Board   string                `json:"board"`
	At      string                `json:"at"`
	TookMS  float64               `json:"took_ms"`
	Passed  int                   `json:"passed"`
	Failed  int                   `json:"failed"`
	Skipped int                   `json:"skipped"`
	OK      bool                  `json:"ok"`
	Results []terminal.ResultJSON `json:"results"`
}

func writeSelfTestJSON(w io.Writer, boardName string, at time.Time, took time.Duration, results []hal.SelfTestResult) error {
	passed, failed, skipped := terminal.Tally(results)
	rep := selfTestReport{Version: version, Board: boardName, At: at.Format(time.RFC3339), TookMS: float64(took.Microseconds()) / 1000,
		Passed: passed, Failed: failed, Skipped: skipped, OK: failed == 0, Results: terminal.ResultsJSON(results)}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// printLastSelfTest shows the last recorded self-test. It reads the
// journal without its lock, so it works while the terminal runs.
func printLastSelfTest(cfg config.Config, dataDir string, asJSON bool, w io.Writer) error {
	db, err := journal.OpenReadOnly(filepath.Join(dataDir, journal.JournalFile))
	if err != nil {
		return err
	}
	defer db.Close()
	rec, ok, err := terminal.LastSelfTest(db)
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintln(w, "no self-test recorded in this journal yet")
		return nil
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			At      string                `json:"at"`
			Version string                `json:"version"`
			Passed  int                   `json:"passed"`
			Failed  int                   `json:"failed"`
			Skipped int                   `json:"skipped"`
			Results []terminal.ResultJSON `json:"results"`
		}{rec.At.Format(time.RFC3339), rec.Version, rec.Passed, rec.Failed, rec.Skipped, rec.Results})
	}
	fmt.Fprintf(w, "last self-test %s by version %s: %d ok, %d FAIL, %d not tested\n", rec.At.Format("2006-01-02 15:04:05"), rec.Version, rec.Passed, rec.Failed, rec.Skipped)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rec.Results {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Device, r.Verdict, r.Detail)
	}
	return tw.Flush()
}

// pressEveryKey runs the press-every-key check on the terminal's keypad
// from a technician's shell, one line per key.
func pressEveryKey(kp hal.Keypad, timeout time.Duration, out io.Writer) hal.SelfTestResult {
	check := terminal.NewKeyCheck(kp)
	var names []string
	for _, k := range check.Keys() {
		names = append(names, k.String())
	}
	fmt.Fprintf(out, "press every key (Cancel 3 times to stop): %s\n", strings.Join(names, " "))
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		ev, err := kp.ReadKey(ctx)
		if err != nil {
			r := check.Stop()
			switch {
			case r.OK:
			case errors.Is(err, context.DeadlineExceeded):
				r.Detail = fmt.Sprintf("%s (waited %v)", r.Detail, timeout)
			default:
				r.Detail = "reading keys: " + err.Error() + "; " + r.Detail
			}
			return r
		}
		r, done := check.Press(ev.Key)
		n, of := check.Count()
		fmt.Fprintf(out, "  %-6s %d/%d\n", ev.Key, n, of)
		if done {
			return r
		}
	}
}

func cmdBoard(args []string, stdout, stderr io.Writer) error {
	if len(args) == 1 && args[0] == "list" {
		for _, n := range board.Names() {
			d, err := board.Load(n)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%-10s %s\n", n, d.Description)
		}
		return nil
	}
	if len(args) != 2 || args[0] != "check" {
		return fmt.Errorf("usage: pos board list | pos board check FILE")
	}
	d, err := board.Load(args[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: board %q is valid\n", args[1], d.Name)
	return nil
}
