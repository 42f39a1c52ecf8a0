package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/shoukuan/pos/app/journal"
)

const journalUsage = `usage: pos journal check [--data DIR] [--config F]
       pos journal reinit --confirm TERMINAL_ID [--from-trace N] [--data DIR] [--config F]

check  opens the journal as the terminal would and says whether it would
       start on it, and if not why (exit 0: it would; 1: it refuses).
reinit puts a journal the terminal refuses aside (nothing is deleted: the
       files move to DIR/lost-TIMESTAMP for the acquirer's reconciliation)
       and starts a new one that continues the trace numbers and opens the
       next batch. Operators start again from the default passwords. Only
       under supervision, after restoring from a backup has been ruled out:
       --confirm must repeat the terminal ID. When neither the marker nor
       the old journal says how far the trace numbers went, --from-trace
       gives the first free one (ask the acquirer).
`

func cmdJournal(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" && args[0] != "reinit" {
		fmt.Fprint(stderr, journalUsage)
		return flag.ErrHelp
	}
	verb := args[0]
	fs := newFlagSet("journal "+verb, stderr)
	var c common
	c.register(fs, "posdata")
	confirm := fs.String("confirm", "", "reinit: the terminal ID, typed again")
	fromTrace := fs.Int64("from-trace", 0, "reinit: trace numbers continue from at least this")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, _, err := c.load()
	if err != nil {
		return err
	}
	tid := cfg.Terminal.TerminalID
	switch verb {
	case "check":
		if _, err := os.Stat(filepath.Join(c.dataDir, journal.JournalFile)); errors.Is(err, os.ErrNotExist) {
			if m, _ := journal.ReadMarker(c.dataDir); m == nil {
				fmt.Fprintf(stdout, "no journal in %s yet: the terminal makes one at its first start\n", c.dataDir)
				return nil
			}
		}
		m, merr := journal.ReadMarker(c.dataDir)
		if m != nil {
			fmt.Fprintf(stdout, "marker: terminal %s, generation %s, trace numbers up to %d reserved, batch %s, closed cleanly %v\n",
				m.TerminalID, m.Generation, m.TraceCeiling, m.Batch, m.Clean)
		}
		if merr != nil {
			return merr
		}
		db, notes, err := journal.OpenTerminal(c.dataDir, tid)
		if err != nil {
			return err
		}
		defer db.Close()
		for _, n := range notes {
			fmt.Fprintln(stdout, "note:", n)
		}
		gen, _ := db.Generation()
		fmt.Fprintf(stdout, "journal %s: integrity ok, generation %s: the terminal starts on it\n", db.Path(), gen)
		return nil
	case "reinit":
		if *confirm != tid {
			return fmt.Errorf("journal reinit: --confirm must repeat the terminal ID %s", tid)
		}
		if db, _, err := journal.OpenTerminal(c.dataDir, tid); err == nil {
			db.Close()
			return errors.New("journal reinit: this journal is fine and the terminal starts on it; nothing to re-initialise")
		} else if !errors.Is(err, journal.ErrRefused) {
			return err
		}
		aside, err := journal.Reinit(c.dataDir, tid, time.Now(), *fromTrace)
		if err != nil {
			return fmt.Errorf("journal reinit: %w (old files in %s)", err, aside)
		}
		if log, f, err := openLog(c.dataDir); err == nil {
			log.Warn("journal re-initialised under supervision", "old_files", aside)
			f.Close()
		}
		fmt.Fprintf(stdout, "old journal moved to %s; a new one continues the trace numbers in the next batch\n", aside)
		fmt.Fprintln(stdout, "give the acquirer the old batch for reconciliation: the host may hold payments this terminal no longer knows")
		return nil
	}
	return nil
}
