package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/journal"
)

// The technician's data commands: backup, restore and export of the
// transaction journal.

const backupUsage = `usage: pos backup [--data DIR] [--config F] DEST

Copies the journal into a new directory DEST/pos-backup-TERMINAL-TIME with
a manifest (backup.json) and SHA256SUMS (check it with sha256sum -c). It
works while the terminal runs: the copy is one consistent moment.
`

func cmdBackup(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, backupUsage); fs.PrintDefaults() }
	var c common
	c.register(fs, "posdata")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return flag.ErrHelp
	}
	info, err := journal.BackupDir(c.dataDir, fs.Arg(0), journal.BackupMeta{SoftwareVersion: version}, time.Now())
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	m := info.Manifest
	fmt.Fprintf(stdout, "backed up terminal %s: %d transactions, trace numbers to %d, batch %06d\n", m.TerminalID, m.Transactions, m.Traces, m.Batch)
	fmt.Fprintf(stdout, "%s (journal.db %d bytes, sha256 %s)\n", info.Dir, m.Size, m.SHA256)
	return nil
}

const restoreUsage = `usage: pos restore --confirm TERMINAL_ID [--from-trace N] [--data DIR] [--config F] BACKUP_DIR

Puts a backup's journal in place of the terminal's, under supervision: the
terminal must be stopped. The files it replaces move to DIR/replaced-TIME
(nothing is deleted). Trace numbers continue above every number the
replaced journal may have used and the next batch opens, because the host
holds the payments made after the backup. Refused: a backup of another
terminal, one made by newer software, a damaged one, and a journal that
still works and owes the host or the cashier something.
`

func cmdRestore(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("restore", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, restoreUsage); fs.PrintDefaults() }
	var c common
	c.register(fs, "posdata")
	confirm := fs.String("confirm", "", "the terminal ID, typed again")
	fromTrace := fs.Int64("from-trace", 0, "trace numbers continue from at least this (when nothing else says how far they went)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return flag.ErrHelp
	}
	cfg, _, err := c.load()
	if err != nil {
		return err
	}
	tid := cfg.Terminal.TerminalID
	if *confirm != tid {
		return fmt.Errorf("restore: --confirm must repeat the terminal ID %s", tid)
	}
	// A journal that works and still owes something would lose it.
	if db, _, err := journal.OpenTerminal(c.dataDir, tid); err == nil {
		o, oerr := engine.ReadOutstanding(db.SQL())
		db.Close()
		if oerr != nil {
			return oerr
		}
		if why := o.Blocking(true); why != "" {
			return fmt.Errorf("restore: the journal in %s works and still has %s; finish those on the terminal first", c.dataDir, why)
		}
	} else if errors.Is(err, journal.ErrLocked) {
		return fmt.Errorf("restore: %w", err)
	}
	info, err := journal.RestoreFrom(c.dataDir, fs.Arg(0), tid, time.Now(), *fromTrace)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if log, f, err := openLog(c.dataDir); err == nil {
		log.Warn("journal restored from a backup under supervision", "backup", fs.Arg(0), "replaced", info.Replaced)
		f.Close()
	}
	fmt.Fprintf(stdout, "restored the backup of %s (%d transactions); the replaced files are in %s\n",
		info.BackupCreated.Format("2006-01-02 15:04:05"), info.Transactions, info.Replaced)
	fmt.Fprintf(stdout, "trace numbers continue at %06d in batch %06d\n", info.FirstTrace, info.Batch)
	if info.Warning != "" {
		fmt.Fprintln(stdout, info.Warning)
	}
	return nil
}

const exportUsage = `usage: pos export --from YYYY-MM-DD --to YYYY-MM-DD [--format csv|json] [--out FILE] [--data DIR] [--config F]

Writes the transactions of those days (both included, terminal time):
card numbers masked, amounts in yuan. CSV is UTF-8 with a BOM, so a
Chinese spreadsheet opens it cleanly. It works while the terminal runs.
`

func cmdExport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("export", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, exportUsage); fs.PrintDefaults() }
	var c common
	c.register(fs, "posdata")
	fromS := fs.String("from", "", "first day, YYYY-MM-DD")
	toS := fs.String("to", "", "last day, YYYY-MM-DD (default: --from)")
	format := fs.String("format", "csv", "csv or json")
	out := fs.String("out", "", "file to write (default: standard output)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 || *fromS == "" {
		fs.Usage()
		return flag.ErrHelp
	}
	if *toS == "" {
		*toS = *fromS
	}
	from, err := time.ParseInLocation("2006-01-02", *fromS, time.Local)
	if err != nil {
		return fmt.Errorf("export --from %q: want YYYY-MM-DD", *fromS)
	}
	to, err := time.ParseInLocation("2006-01-02", *toS, time.Local)
	if err != nil {
		return fmt.Errorf("export --to %q: want YYYY-MM-DD", *toS)
	}
	if *format != "csv" && *format != "json" {
		return fmt.Errorf("export --format %q: csv or json", *format)
	}
	db, err := journal.OpenReadOnly(filepath.Join(c.dataDir, journal.JournalFile))
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer db.Close()
	w := stdout
	var f *os.File
	if *out != "" {
		if f, err = os.OpenFile(*out+".part", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600); err != nil {
			return err
		}
		defer os.Remove(f.Name())
		defer f.Close()
		w = f
	}
	n, err := db.Export(w, from, to, *format)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if f != nil {
		if err := f.Sync(); err != nil {
			return err
		}
		if err := os.Rename(f.Name(), *out); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%d transactions written to %s\n", n, *out)
	}
	return nil
}
