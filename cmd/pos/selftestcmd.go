package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/shoukuan/pos/app/terminal"
	"github.com/shoukuan/pos/board"
	"github.com/shoukuan/pos/hal"
)

// cmdSelfTest is the technician's self-test from a shell: every device of
// the board, one line each, non-zero exit when any fails.
func cmdSelfTest(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("selftest", stderr)
	var c common
	c.register(fs, "")
	keys := fs.Bool("keys", false, "press every key of the terminal's keypad first (Cancel 3 times to stop)")
	keysFor := fs.Duration("keys-timeout", 2*time.Minute, "how long --keys waits for the keys")
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, desc, err := c.load()
	if err != nil {
		return err
	}
	dataDir := c.dataDir
	if dataDir == "" {
		if dataDir, err = os.MkdirTemp("", "pos-selftest-"); err != nil {
			return err
		}
		defer os.RemoveAll(dataDir)
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
	results := terminal.SelfTest(context.Background(), b.Devices)
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
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	failed := 0
	for _, r := range results {
		if !r.OK && !r.Skipped {
			failed++
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%v\n", r.Device, r.Verdict(), r.Detail, r.Took.Round(1000))
	}
	w.Flush()
	if failed > 0 {
		return fmt.Errorf("selftest: %d device(s) failed", failed)
	}
	return nil
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
