package journal

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var restoreNow = time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)

// history is a terminal that was backed up and then went on: 42 traces
// and 3 transactions in batch 7 at the backup, 250 traces and batch 8
// after. It returns the backup, the export of the journal as backed up,
// and the marker's high-water mark when the terminal stopped.
func history(t *testing.T, dataDir string, crash bool) (backupDir string, export []byte, ceiling int64) {
	t.Helper()
	d := openTerm(t, dataDir)
	takeTraces(t, d, 42)
	setCounter(t, d, "batch", 7)
	if err := d.NoteBatch(); err != nil {
		t.Fatal(err)
	}
	sale := insertTxn(t, d, txnRow{amount: 123456, stan: "000040", batch: "000007", pan: "622848******1234", created: backupNow.Unix() - 60})
	insertTxn(t, d, txnRow{kind: "void", stan: "000041", batch: "000007", amount: 123456, origID: sale, created: backupNow.Unix() - 30})
	insertTxn(t, d, txnRow{method: "alipay", stan: "000042", batch: "000007", amount: 1, order: "2026120222001", created: backupNow.Unix() - 10})
	backupDir = backupT(t, d, t.TempDir(), backupNow).Dir
	var buf bytes.Buffer
	if _, err := d.Export(&buf, backupNow, backupNow, "csv"); err != nil {
		t.Fatal(err)
	}
	takeTraces(t, d, 250-42)
	setCounter(t, d, "batch", 8)
	if err := d.NoteBatch(); err != nil { // as a settlement does
		t.Fatal(err)
	}
	insertTxn(t, d, txnRow{amount: 999, stan: "000250", batch: "000008"})
	if crash {
		d.Abandon()
	} else if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	m, err := ReadMarker(dataDir)
	if err != nil {
		t.Fatal(err)
	}
	return backupDir, buf.Bytes(), m.TraceCeiling
}

// snapshot is every file under dir but the lock, to show nothing changed.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	s := map[string]string{}
	filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && e.Name() != LockFile {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			s[rel] = string(b)
		}
		return nil
	})
	return s
}

func sameSnapshot(t *testing.T, dir string, before map[string]string) {
	t.Helper()
	after := snapshot(t, dir)
	if len(after) != len(before) {
		t.Fatalf("files changed: %d before, %d after", len(before), len(after))
	}
	for k, v := range before {
		if after[k] != v {
			t.Fatalf("%s changed", k)
		}
	}
}

// TestRestore: the restored journal is the backup's, its trace numbers
// continue above everything the replaced one may have given out, in the
// next batch; the replaced files are kept, and the terminal starts on
// it. Exporting it gives what exporting at the backup gave.
func TestRestore(t *testing.T) {
	for _, crash := range []bool{false, true} {
		t.Run(fmt.Sprint("crashed=", crash), func(t *testing.T) {
			dataDir := t.TempDir()
			bdir, before, ceiling := history(t, dataDir, crash)
			oldJournal, _ := os.ReadFile(filepath.Join(dataDir, JournalFile))
			oldMarker, _ := os.ReadFile(filepath.Join(dataDir, MarkerFile))
			info, err := Restore(dataDir, bdir, tid, restoreNow)
			if err != nil {
				t.Fatal(err)
			}
			if info.Replaced != filepath.Join(dataDir, "replaced-20261203-090000") {
				t.Fatalf("replaced files in %s", info.Replaced)
			}
			if b, _ := os.ReadFile(filepath.Join(info.Replaced, JournalFile)); !bytes.Equal(b, oldJournal) {
				t.Fatal("the replaced journal was not kept as it was")
			}
			if b, _ := os.ReadFile(filepath.Join(info.Replaced, MarkerFile)); !bytes.Equal(b, oldMarker) {
				t.Fatal("the replaced marker was not kept as it was")
			}
			if _, err := os.Stat(filepath.Join(info.Replaced, JournalFile+"-wal")); crash && err != nil {
				t.Fatal("the crashed journal's write-ahead log was not kept")
			}
			// The old journal counted 250, a block is added; the marker
			// reserved up to 300 (or 350 after a crash restart).
			wantTraces := max(ceiling, 250+traceBlock)
			if info.FirstTrace != wantTraces+1 || info.Batch != 9 || info.Transactions != 3 ||
				!info.BackupCreated.Equal(backupNow) || !strings.Contains(info.Warning, "only at the host") {
				t.Fatalf("info %+v (want first trace %d)", info, wantTraces+1)
			}
			d, notes, err := OpenTerminal(dataDir, tid)
			if err != nil {
				t.Fatalf("the terminal refuses the restored journal: %v", err)
			}
			defer d.Close()
			if len(notes) != 0 {
				t.Errorf("notes %v", notes)
			}
			traces, _ := d.counter("traces")
			stan, _ := d.counter("stan")
			batch, _ := d.counter("batch")
			if traces < ceiling || traces != wantTraces || stan%999999+1 != info.FirstTrace || batch != 9 {
				t.Fatalf("restored journal: traces %d stan %d batch %d; old ceiling %d", traces, stan, batch, ceiling)
			}
			if v, ok, _ := d.Setting("journal_restored"); !ok || v != "2026-12-03T09:00:00Z from "+filepath.Base(bdir) {
				t.Fatalf("journal_restored %q", v)
			}
			var after bytes.Buffer
			if _, err := d.Export(&after, backupNow, backupNow, "csv"); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(after.Bytes(), before) {
				t.Fatalf("export after restore differs:\n%s\nwant\n%s", after.Bytes(), before)
			}
		})
	}
}

// TestRestoreRefusals: a backup of another terminal, of a newer
// program, a damaged one, or a running terminal: refused, typed, and
// nothing in the data directory changed.
func TestRestoreRefusals(t *testing.T) {
	dataDir := t.TempDir()
	bdir, _, _ := history(t, dataDir, false)
	copyBackup := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), filepath.Base(bdir))
		os.Mkdir(dir, 0o700)
		for _, f := range []string{JournalFile, ManifestFile, ChecksumsFile} {
			b, _ := os.ReadFile(filepath.Join(bdir, f))
			os.WriteFile(filepath.Join(dir, f), b, 0o600)
		}
		return dir
	}
	before := snapshot(t, dataDir)

	_, err := Restore(dataDir, bdir, "10000002", restoreNow)
	var re *RestoreRefusedError
	if !errors.As(err, &re) || re.Reason != RestoreOtherTerminal || !errors.Is(err, ErrRestoreRefused) || !strings.Contains(err.Error(), "Nothing was changed") {
		t.Fatalf("another terminal: %v", err)
	}
	sameSnapshot(t, dataDir, before)

	newer := copyBackup(t)
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(newer, JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	reseal(t, newer, func(m *BackupManifest) { m.SchemaVersion = len(migrations) + 1 })
	_, err = Restore(dataDir, newer, tid, restoreNow)
	if !errors.As(err, &re) || re.Reason != RestoreTooNew || !errors.Is(err, ErrTooNew) || !strings.Contains(err.Error(), "made by a newer version of the software") {
		t.Fatalf("newer schema: %v", err)
	}
	sameSnapshot(t, dataDir, before)

	bad := copyBackup(t)
	b, _ := os.ReadFile(filepath.Join(bad, JournalFile))
	b[len(b)-10] ^= 0xff
	os.WriteFile(filepath.Join(bad, JournalFile), b, 0o600)
	_, err = Restore(dataDir, bad, tid, restoreNow)
	if !errors.As(err, &re) || re.Reason != RestoreDamaged || !errors.Is(err, ErrBackupDamaged) || !strings.Contains(err.Error(), "the copy is damaged") {
		t.Fatalf("damaged backup: %v", err)
	}
	sameSnapshot(t, dataDir, before)

	// The journal's own terminal setting is checked too, not only the
	// manifest's word.
	other := copyBackup(t)
	raw, _ = sql.Open("sqlite", "file:"+filepath.Join(other, JournalFile))
	raw.Exec(`UPDATE settings SET value = '10000002' WHERE key = 'journal_terminal_id'`)
	raw.Close()
	reseal(t, other, nil)
	if _, err = Restore(dataDir, other, tid, restoreNow); !errors.Is(err, ErrRestoreRefused) || !strings.Contains(err.Error(), "terminal ID 10000002") {
		t.Fatalf("journal of another terminal under this one's manifest: %v", err)
	}
	sameSnapshot(t, dataDir, before)

	d := openTerm(t, dataDir)
	running := snapshot(t, dataDir)
	_, err = Restore(dataDir, bdir, tid, restoreNow)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "stop it first") {
		t.Fatalf("terminal running: %v", err)
	}
	sameSnapshot(t, dataDir, running)
	d.Close()
}

// TestRestoreAfterJournalLoss: the supervised way back when the terminal
// refused a missing or damaged journal; the marker alone gives the
// numbers.
func TestRestoreAfterJournalLoss(t *testing.T) {
	for _, loss := range []string{"missing", "damaged", "wal lost"} {
		t.Run(loss, func(t *testing.T) {
			dataDir := t.TempDir()
			bdir, _, ceiling := history(t, dataDir, loss == "wal lost")
			path := filepath.Join(dataDir, JournalFile)
			switch loss {
			case "missing":
				os.Remove(path)
				refusal(t, dataDir, RefuseMissing)
			case "damaged":
				b, _ := os.ReadFile(path)
				for i := 4096 + 100; i < len(b); i += 7 {
					b[i] ^= 0x5a
				}
				os.WriteFile(path, b, 0o600)
				refusal(t, dataDir, RefuseDamaged)
			case "wal lost":
				os.Remove(path + "-wal")
				refusal(t, dataDir, RefuseWALLost)
			}
			info, err := Restore(dataDir, bdir, tid, restoreNow)
			if err != nil {
				t.Fatal(err)
			}
			d := openTerm(t, dataDir)
			defer d.Close()
			if traces, _ := d.counter("traces"); traces < ceiling || info.FirstTrace <= ceiling {
				t.Fatalf("traces %d, first %d, marker ceiling %d", traces, info.FirstTrace, ceiling)
			}
			if b, _ := d.counter("batch"); b != 9 {
				t.Fatalf("batch %d, want 9 (the marker's 8, next)", b)
			}
		})
	}
}

// TestRestoreWithoutHistory: with neither marker nor journal nothing says
// which numbers went out after the backup; the acquirer's word must.
func TestRestoreWithoutHistory(t *testing.T) {
	bdir, _, _ := history(t, t.TempDir(), false)
	empty := filepath.Join(t.TempDir(), "new-device")
	_, err := Restore(empty, bdir, tid, restoreNow)
	var re *RestoreRefusedError
	if !errors.As(err, &re) || re.Reason != RestoreNoTraceHistory || !strings.Contains(err.Error(), "--from-trace") {
		t.Fatalf("no history: %v", err)
	}
	if _, err := os.Stat(filepath.Join(empty, JournalFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("a journal was put in place")
	}
	info, err := RestoreFrom(empty, bdir, tid, restoreNow, 5000)
	if err != nil {
		t.Fatal(err)
	}
	if info.Replaced != "" || info.FirstTrace != 5001 {
		t.Fatalf("info %+v", info)
	}
	d := openTerm(t, empty)
	defer d.Close()
	if n, _ := d.counter("traces"); n != 5000 {
		t.Fatalf("traces %d", n)
	}
}

// TestRestoreMigratesAnOlderBackup: a backup made by an older program
// gets the current schema, its data kept.
func TestRestoreMigratesAnOlderBackup(t *testing.T) {
	src := filepath.Join(t.TempDir(), "old.db")
	raw, err := sql.Open("sqlite", "file:"+src)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range append(migrations[:4:4], "PRAGMA user_version = 4",
		`INSERT INTO settings VALUES('journal_generation', '0123456789abcdef0123456789abcdef'), ('journal_terminal_id', '`+tid+`')`,
		`INSERT INTO counters VALUES('stan', 77), ('batch', 3)`,
		`INSERT INTO txns(kind, method, amount_fen, stan, batch, status, operator, created, updated) VALUES('sale', 'swipe', 500, '000077', '000003', 'approved', '01', 1, 1)`) {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(q, err)
		}
	}
	raw.Close()
	old, err := openReadOnly(src, false)
	if err != nil {
		t.Fatal(err)
	}
	info := backupT(t, old, t.TempDir(), backupNow)
	old.sql.Close()
	if info.Manifest.SchemaVersion != 4 || info.Manifest.Traces != 0 {
		t.Fatalf("manifest %+v", info.Manifest)
	}
	dataDir := t.TempDir()
	if _, err := RestoreFrom(dataDir, info.Dir, tid, restoreNow, 100); err != nil {
		t.Fatal(err)
	}
	d := openTerm(t, dataDir)
	defer d.Close()
	var v, n, chip int
	d.sql.QueryRow(`PRAGMA user_version`).Scan(&v)
	err = d.sql.QueryRow(`SELECT count(*), sum(length(chip)) FROM txns`).Scan(&n, &chip) // chip: migration 6
	if err != nil || v != len(migrations) || n != 1 {
		t.Fatalf("schema %d, %d transactions, %v", v, n, err)
	}
}

// TestRestoreCrashAtEachStep: stopped at any step, the data directory
// is one the terminal refuses or one whose trace numbers are still above
// everything given out; Restore again completes it.
func TestRestoreCrashAtEachStep(t *testing.T) {
	errCrash := errors.New("power cut")
	for _, c := range []struct {
		step     string
		noMarker bool
	}{
		{"kept", false}, {"raised", false}, {"copied", false}, {"aside", false}, {"placed", false},
		// Without a marker the old journal alone knows its numbers: once
		// it has gone aside, the marker Restore wrote must tell them.
		{"aside", true}, {"placed", true},
	} {
		step := c.step
		t.Run(fmt.Sprintf("%s/no-marker=%v", step, c.noMarker), func(t *testing.T) {
			dataDir := t.TempDir()
			bdir, _, ceiling := history(t, dataDir, true)
			if c.noMarker {
				os.Remove(filepath.Join(dataDir, MarkerFile))
				ceiling = 250 // what the journal counted
			}
			restoreHook = func(s string) error {
				if s == step {
					return errCrash
				}
				return nil
			}
			_, err := Restore(dataDir, bdir, tid, restoreNow)
			restoreHook = nil
			if !errors.Is(err, errCrash) {
				t.Fatalf("did not stop at %s: %v", step, err)
			}
			d, _, err := OpenTerminal(dataDir, tid)
			switch {
			case err == nil:
				traces, _ := d.counter("traces")
				t.Logf("after a crash at %s the terminal starts with traces %d", step, traces)
				if traces < ceiling {
					t.Fatalf("after a crash at %s the terminal would reuse trace numbers: %d < %d", step, traces, ceiling)
				}
				d.Close()
			case errors.Is(err, ErrRefused):
				t.Logf("after a crash at %s: %v", step, err)
			default:
				t.Fatal(err)
			}
			info, err := Restore(dataDir, bdir, tid, restoreNow.Add(time.Minute))
			if err != nil {
				t.Fatalf("Restore again: %v", err)
			}
			d = openTerm(t, dataDir)
			defer d.Close()
			traces, _ := d.counter("traces")
			var n int64
			d.sql.QueryRow(`SELECT count(*) FROM txns`).Scan(&n)
			if traces < ceiling || info.FirstTrace <= ceiling || n != 3 || info.Batch < 9 {
				t.Fatalf("after the second run: traces %d, first trace %d, ceiling %d, %d transactions, batch %d", traces, info.FirstTrace, ceiling, n, info.Batch)
			}
			if left, _ := filepath.Glob(filepath.Join(dataDir, restoreTemp+"*")); len(left) != 0 {
				t.Fatalf("temporaries left: %v", left)
			}
		})
	}
}
