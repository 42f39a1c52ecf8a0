package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/shoukuan/pos/app/terminal"
	"github.com/shoukuan/pos/board"
)

// cmdSelfTest is the technician's self-test from a shell: every device of
// the board, one line each, non-zero exit when any fails.
func cmdSelfTest(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("selftest", stderr)
	var c common
	c.register(fs, "")
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
	// Headless: the technician's shell keeps its terminal.
	b, err := board.Open(desc, board.Env{DataDir: dataDir, Assets: c.assets, Headless: true})
	if err != nil {
		return err
	}
	defer b.Close()
	results := terminal.SelfTest(context.Background(), b.Devices)
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
