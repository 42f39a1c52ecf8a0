package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// A restored journal is older than the terminal's real history: the host
// may hold payments made after the backup, under trace numbers and in a
// batch the copy does not know. So a restore continues the trace numbers
// above everything the replaced journal may have handed out and opens
// the next batch, as Reinit does, and keeps whatever it replaces.

// RestoreRefusal is why a backup is not restored.
type RestoreRefusal int

const (
	RestoreDamaged RestoreRefusal = iota + 1
	RestoreOtherTerminal
	RestoreTooNew
	RestoreNoTraceHistory
)

// RestoreRefusedError is a backup Restore will not put in place. Nothing
// was changed.
type RestoreRefusedError struct {
	Reason RestoreRefusal
	Backup string
	Detail string
	err    error // ErrBackupDamaged or ErrTooNew, for errors.Is
}

// ErrRestoreRefused is what every RestoreRefusedError matches.
var ErrRestoreRefused = errors.New("restore refused")

func (e *RestoreRefusedError) Is(target error) bool { return target == ErrRestoreRefused }
func (e *RestoreRefusedError) Unwrap() error        { return e.err }

func (e *RestoreRefusedError) Error() string {
	what := map[RestoreRefusal]string{
		RestoreDamaged:        "the backup is damaged or incomplete",
		RestoreOtherTerminal:  "the backup is of another terminal ID",
		RestoreTooNew:         "the backup was made by a newer version of the software: update this terminal first",
		RestoreNoTraceHistory: "nothing in the data directory says how far the trace numbers went after the backup (no marker, no readable journal): give the first free trace number (--from-trace N, from the acquirer)",
	}[e.Reason]
	msg := fmt.Sprintf("journal restore: %s (%s)", what, e.Backup)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg + ". Nothing was changed."
}

// RestoreInfo says what a restore did.
type RestoreInfo struct {
	// Replaced is where the replaced journal files and marker went; ""
	// when there were none.
	Replaced      string
	BackupCreated time.Time
	Transactions  int64 // in the restored journal
	FirstTrace    int64 // the first trace number the terminal will use
	Batch         int64 // the batch the terminal continues in
	Warning       string
}

// restoreHook lets tests stop a restore between steps, as a crash would.
var restoreHook func(step string) error

func restoreStep(name string) error {
	if restoreHook != nil {
		return restoreHook(name)
	}
	return nil
}

// Restore puts a verified backup in place as the data directory's
// journal. See RestoreFrom.
func Restore(dataDir, backupDir, terminalID string, now time.Time) (RestoreInfo, error) {
	return RestoreFrom(dataDir, backupDir, terminalID, now, 0)
}

// RestoreFrom restores a backup of this terminal into dataDir under the
// directory's lock (so never while the terminal runs). The journal files
// and marker it replaces move to dataDir/replaced-TIMESTAMP; the restored
// journal's trace numbers continue above the old marker's high-water
// mark, the old journal's own count and fromTrace (the acquirer's word,
// needed only when neither marker nor journal is left), in the next
// batch. It is also the way back after the terminal refused a missing or
// damaged journal.
//
// The old marker stays in force until the restored journal is complete
// and in place; a crash at any step leaves either the old journal, no
// journal, or a finished one the old marker still guards, and running
// Restore again completes it.
func RestoreFrom(dataDir, backupDir, terminalID string, now time.Time, fromTrace int64) (info RestoreInfo, err error) {
	m, err := VerifyBackup(backupDir)
	if err != nil {
		return info, &RestoreRefusedError{Reason: RestoreDamaged, Backup: backupDir, Detail: err.Error(), err: err}
	}
	if m.TerminalID != terminalID {
		// VerifyBackup saw the journal's own setting agree with the manifest.
		return info, &RestoreRefusedError{Reason: RestoreOtherTerminal, Backup: backupDir,
			Detail: fmt.Sprintf("backup of terminal %s, this terminal is %s", m.TerminalID, terminalID)}
	}
	if m.SchemaVersion > len(migrations) {
		return info, &RestoreRefusedError{Reason: RestoreTooNew, Backup: backupDir,
			Detail: fmt.Sprintf("schema version %d, this program knows up to %d", m.SchemaVersion, len(migrations)), err: ErrTooNew}
	}
	dmode, _ := modes()
	if err := os.MkdirAll(dataDir, dmode); err != nil {
		return info, err
	}
	lock, err := LockDir(dataDir)
	if err != nil {
		return info, err
	}
	defer lock.Release()
	removeRestoreTemps(dataDir)

	path := filepath.Join(dataDir, JournalFile)
	old, err := readMarker(dataDir)
	var re *RefusedError
	if errors.As(err, &re) && re.Reason == RefuseMarkerDamaged {
		old, err = nil, nil // kept aside below, and written anew
	}
	if err != nil {
		return info, err
	}
	_, walErr := os.Stat(path + "-wal")
	oj := readOldJournal(path, walErr == nil)

	// Every number that may have gone out: the backup's own, the
	// marker's high-water mark, the old journal's count and a block
	// beyond it (it may have reserved more than the marker saw).
	ceiling, batch, known := max(fromTrace, m.Traces), max(m.Batch, 1), fromTrace > 0
	if old != nil {
		ceiling, known = max(ceiling, old.TraceCeiling), true
		if b, err := strconv.ParseInt(old.Batch, 10, 64); err == nil {
			batch = max(batch, b)
		}
	}
	if oj != nil {
		ceiling, batch, known = max(ceiling, oj.traces+traceBlock), max(batch, oj.batch), true
	}
	if !known {
		return info, &RestoreRefusedError{Reason: RestoreNoTraceHistory, Backup: backupDir}
	}
	newBatch := batch%999999 + 1

	var kept []string
	for _, name := range []string{JournalFile, JournalFile + "-wal", JournalFile + "-shm", MarkerFile} {
		if _, err := os.Lstat(filepath.Join(dataDir, name)); err == nil {
			kept = append(kept, name)
		}
	}
	if len(kept) > 0 {
		if info.Replaced, err = makeReplacedDir(dataDir, now); err != nil {
			return info, err
		}
	}
	// The marker is copied, not moved: it stays in force until the end.
	if b, err := os.ReadFile(filepath.Join(dataDir, MarkerFile)); err == nil {
		if err := WriteFileAtomic(filepath.Join(info.Replaced, MarkerFile), b); err != nil {
			return info, err
		}
	}
	if err := restoreStep("kept"); err != nil {
		return info, err
	}
	// The numbers found go into the marker before the old journal moves
	// aside, so a second run after a crash still finds them.
	if err := raiseMarker(dataDir, old, oj, ceiling, batch, walErr == nil, terminalID, now); err != nil {
		return info, fmt.Errorf("journal marker: %w", err)
	}
	if err := restoreStep("raised"); err != nil {
		return info, err
	}

	// The copy is made complete beside the journal, under a temporary
	// name, before anything is replaced.
	tmp, err := copyVerified(filepath.Join(backupDir, JournalFile), dataDir, m.SHA256)
	if err != nil {
		return info, err
	}
	traces, stan, err := prepareRestored(tmp, ceiling, newBatch, now.Format(time.RFC3339)+" from "+filepath.Base(backupDir))
	if err != nil {
		return info, fmt.Errorf("journal restore: preparing the copy: %w", err)
	}
	if err := restoreStep("copied"); err != nil {
		return info, err
	}

	if info.Replaced != "" {
		for _, name := range []string{JournalFile, JournalFile + "-wal", JournalFile + "-shm"} {
			err := os.Rename(filepath.Join(dataDir, name), filepath.Join(info.Replaced, name))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return info, err
			}
		}
		syncDir(info.Replaced)
		syncDir(dataDir)
	}
	if err := restoreStep("aside"); err != nil {
		return info, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return info, err
	}
	syncDir(dataDir)
	if err := restoreStep("placed"); err != nil {
		return info, err
	}

	// Last: the new marker accepts the restored journal in one rename.
	g := &guard{dir: dataDir, m: Marker{Format: markerFormat, TerminalID: terminalID, Generation: m.Generation, Created: now.Format(time.RFC3339)}}
	if err := g.writeMarker(traces, traces, fmt.Sprintf("%06d", newBatch), true); err != nil {
		return info, fmt.Errorf("journal marker: %w", err)
	}
	info.BackupCreated = m.CreatedTime()
	info.Transactions = m.Transactions
	info.FirstTrace = stan%999999 + 1
	info.Batch = newBatch
	info.Warning = fmt.Sprintf("the journal is restored as it was at %s: payments made after that are recorded only at the host; "+
		"ask the acquirer to reconcile them (batches up to %06d). The terminal continues in batch %06d from trace %06d.",
		m.Created, batch, newBatch, info.FirstTrace)
	return info, nil
}

// readOldJournal reads the counts of the journal being replaced, nil if
// there is none or it cannot be read (damaged). We hold the lock, so
// without a -wal nothing can change it and it is read without creating
// files beside it, which would muddle what is kept.
func readOldJournal(path string, hasWAL bool) *journalFacts {
	d, err := openReadOnly(path, !hasWAL)
	if err != nil {
		return nil
	}
	defer d.sql.Close()
	f, err := d.facts()
	if err != nil {
		return nil
	}
	return &f
}

// raiseMarker writes the numbers Restore found into the marker, keeping
// its generation, so the marker alone still tells them once the old
// journal has gone aside. Without a marker, one is made for the old
// journal as OpenTerminal would have.
func raiseMarker(dir string, old *Marker, oj *journalFacts, ceiling, batch int64, hasWAL bool, terminalID string, now time.Time) error {
	switch {
	case old != nil:
		b, _ := strconv.ParseInt(old.Batch, 10, 64)
		if old.TraceCeiling >= ceiling && b >= batch {
			return nil
		}
		g := &guard{dir: dir, m: *old}
		return g.writeMarker(old.TraceFloor, max(old.TraceCeiling, ceiling), fmt.Sprintf("%06d", max(b, batch)), old.Clean)
	case oj != nil && oj.generation != "":
		tid := oj.terminalID
		if tid == "" {
			tid = terminalID
		}
		g := &guard{dir: dir, m: Marker{Format: markerFormat, TerminalID: tid, Generation: oj.generation, Created: now.Format(time.RFC3339)}}
		return g.writeMarker(oj.traces, ceiling, fmt.Sprintf("%06d", batch), !hasWAL)
	}
	return nil // nothing to name the marker for; a second run needs --from-trace
}

const restoreTemp = ".journal.db.restore-"

// removeRestoreTemps removes copies a crashed restore left (ours alone:
// nothing else is named so).
func removeRestoreTemps(dir string) {
	names, _ := filepath.Glob(filepath.Join(dir, restoreTemp+"*"))
	for _, n := range names {
		os.Remove(n)
	}
}

func makeReplacedDir(dataDir string, now time.Time) (string, error) {
	dmode, _ := modes()
	base := filepath.Join(dataDir, "replaced-"+now.Format(stampLayout))
	for i := 1; ; i++ {
		dir := base
		if i > 1 {
			dir = fmt.Sprintf("%s-%d", base, i)
		}
		err := os.Mkdir(dir, dmode)
		if err == nil || !errors.Is(err, fs.ErrExist) || i >= 100 {
			return dir, err
		}
	}
}

// copyVerified copies the backup's journal to a private temporary file
// in dir, synced, checking it is still the content that was verified (a
// failing stick can read differently twice).
func copyVerified(src, dir, wantSHA string) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	_, fmode := modes()
	out, err := os.CreateTemp(dir, restoreTemp+"*")
	if err != nil {
		return "", err
	}
	h := sha256.New()
	err = out.Chmod(fmode)
	if err == nil {
		_, err = io.Copy(io.MultiWriter(out, h), in)
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && hex.EncodeToString(h.Sum(nil)) != wantSHA {
		err = fmt.Errorf("%w: journal.db read differently from when it was verified: the backup medium is failing", ErrBackupDamaged)
	}
	if err != nil {
		os.Remove(out.Name())
		return "", err
	}
	return out.Name(), nil
}

// prepareRestored brings the copy's schema up to date, moves its trace
// numbers up to ceiling, opens batch and notes the restore. It returns
// the trace count and the last trace number given out.
func prepareRestored(path string, ceiling, batch int64, note string) (traces, stan int64, err error) {
	d, err := Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		if cerr := d.sql.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = syncFile(path)
		}
	}()
	if traces, err = d.counter("traces"); err != nil {
		return 0, 0, err
	}
	if ceiling > traces {
		if err := d.skipTraces(ceiling - traces); err != nil {
			return 0, 0, err
		}
		traces = ceiling
	}
	if _, err := d.sql.Exec(`INSERT INTO counters(name, value) VALUES('batch', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`, batch); err != nil {
		return 0, 0, err
	}
	if err := d.SetSetting("journal_restored", note); err != nil {
		return 0, 0, err
	}
	if stan, err = d.counter("stan"); err != nil {
		return 0, 0, err
	}
	// Out of WAL mode: the file is then complete by itself and can be
	// renamed into place without a log beside it.
	var mode string
	if err := d.sql.QueryRow(`PRAGMA journal_mode = DELETE`).Scan(&mode); err != nil {
		return 0, 0, err
	}
	if mode != "delete" {
		return 0, 0, fmt.Errorf("journal mode %s, want delete", mode)
	}
	return traces, stan, nil
}
