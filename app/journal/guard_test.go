package journal

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const tid = "10000001"

func openTerm(t *testing.T, dir string) *DB {
	t.Helper()
	d, _, err := OpenTerminal(dir, tid)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// takeTraces moves the trace count on as the engine does, reservation
// included.
func takeTraces(t *testing.T, d *DB, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		total, err := d.counter("traces")
		if err != nil {
			t.Fatal(err)
		}
		if err := d.ReserveTraces(total + 1); err != nil {
			t.Fatal(err)
		}
		if _, err := d.sql.Exec(`INSERT INTO counters(name, value) VALUES('traces', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`, total+1); err != nil {
			t.Fatal(err)
		}
		if _, err := d.sql.Exec(`INSERT INTO counters(name, value) VALUES('stan', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`, (total+1-1)%999999+1); err != nil {
			t.Fatal(err)
		}
	}
}

func refusal(t *testing.T, dir string, want Refusal) *RefusedError {
	t.Helper()
	d, _, err := OpenTerminal(dir, tid)
	if err == nil {
		d.Close()
		t.Fatalf("opened; want refusal %d", want)
	}
	var re *RefusedError
	if !errors.As(err, &re) || re.Reason != want || !errors.Is(err, ErrRefused) {
		t.Fatalf("err = %v, want refusal %d", err, want)
	}
	if !strings.Contains(err.Error(), "Nothing was changed") {
		t.Errorf("the refusal does not say what to do: %v", err)
	}
	return re
}

func TestMarkerFollowsTheJournal(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	d := openTerm(t, dir)
	m, err := ReadMarker(dir)
	if err != nil || m == nil || m.Clean || m.TerminalID != tid || m.TraceCeiling != traceBlock {
		t.Fatalf("marker of an open journal: %+v, %v", m, err)
	}
	gen, _ := d.Generation()
	if m.Generation != gen || len(gen) != 32 {
		t.Fatalf("marker generation %q, journal %q", m.Generation, gen)
	}
	takeTraces(t, d, traceBlock+5)
	if m, _ = ReadMarker(dir); m.TraceFloor != traceBlock || m.TraceCeiling != 2*traceBlock {
		t.Fatalf("after %d traces: floor %d ceiling %d", traceBlock+5, m.TraceFloor, m.TraceCeiling)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if m, _ = ReadMarker(dir); !m.Clean || m.TraceFloor != traceBlock+5 {
		t.Fatalf("after a clean close: %+v", m)
	}
	d = openTerm(t, dir)
	defer d.Close()
	if n, _ := d.counter("traces"); n != traceBlock+5 {
		t.Fatalf("a clean restart moved the traces to %d", n)
	}
}

// TestOneTerminalPerDirectory: a second open is refused at once, naming
// this process, until the first lets go.
func TestOneTerminalPerDirectory(t *testing.T) {
	dir := t.TempDir()
	d := openTerm(t, dir)
	_, _, err := OpenTerminal(dir, tid)
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) || le.PID != os.Getpid() || !strings.Contains(err.Error(), "pos process "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second open: %v", err)
	}
	d.Close()
	openTerm(t, dir).Close()
}

func TestMissingOrEmptiedJournalRefused(t *testing.T) {
	dir := t.TempDir()
	openTerm(t, dir).Close()
	path := filepath.Join(dir, JournalFile)
	os.Remove(path)
	refusal(t, dir, RefuseMissing)
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("the refusal created a journal (and with it default passwords)")
	}
	os.WriteFile(path, nil, 0o600)
	refusal(t, dir, RefuseMissing)
	if st, _ := os.Stat(path); st.Size() != 0 {
		t.Fatal("the refusal wrote into the emptied journal")
	}
}

// TestLostWALRefused: after an unclean stop the write-ahead log holds the
// latest commits; a journal without it is refused, not reopened as older.
func TestLostWALRefused(t *testing.T) {
	dir := t.TempDir()
	d := openTerm(t, dir)
	takeTraces(t, d, 3)
	d.Abandon() // a crash: no checkpoint, marker left dirty
	if err := os.Remove(filepath.Join(dir, JournalFile+"-wal")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, MarkerFile))
	refusal(t, dir, RefuseWALLost)
	if after, _ := os.ReadFile(filepath.Join(dir, MarkerFile)); string(after) != string(before) {
		t.Fatal("the refusal rewrote the marker")
	}
}

// TestDirtyRestartSkipsReservedTraces: after a crash the numbers reserved
// ahead are skipped, so none that may have gone out is given again.
func TestDirtyRestartSkipsReservedTraces(t *testing.T) {
	dir := t.TempDir()
	d := openTerm(t, dir)
	takeTraces(t, d, 7)
	d.Abandon()
	d2, notes, err := OpenTerminal(dir, tid)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if n, _ := d2.counter("traces"); n != traceBlock {
		t.Fatalf("traces after a dirty restart: %d, want %d", n, traceBlock)
	}
	if stan, _ := d2.counter("stan"); stan != traceBlock {
		t.Fatalf("stan after a dirty restart: %d", stan)
	}
	if len(notes) == 0 {
		t.Error("the skip was not noted for the log")
	}
}

func TestReplacedOrOlderJournalRefused(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	openTerm(t, other).Close()
	d := openTerm(t, dir)
	takeTraces(t, d, 5)
	d.Close()
	old, _ := os.ReadFile(filepath.Join(dir, JournalFile))
	d = openTerm(t, dir)
	takeTraces(t, d, 3*traceBlock)
	d.Close()

	// An older copy of the same journal: transactions are missing.
	os.WriteFile(filepath.Join(dir, JournalFile), old, 0o600)
	refusal(t, dir, RefuseBehind)
	// Another terminal's journal copied in.
	b, _ := os.ReadFile(filepath.Join(other, JournalFile))
	os.WriteFile(filepath.Join(dir, JournalFile), b, 0o600)
	refusal(t, dir, RefuseReplaced)
}

func TestDamagedJournalRefused(t *testing.T) {
	dir := t.TempDir()
	d := openTerm(t, dir)
	for i := 0; i < 200; i++ {
		d.SetSetting("k"+strconv.Itoa(i), strings.Repeat("x", 200))
	}
	d.Close()
	path := filepath.Join(dir, JournalFile)
	b, _ := os.ReadFile(path)
	for i := 4096 + 100; i < len(b) && i < 4096*6; i += 7 {
		b[i] ^= 0x5a
	}
	os.WriteFile(path, b, 0o600)
	refusal(t, dir, RefuseDamaged)
}

// TestRefusalKeepsTheJournalUsable: a journal refused after an unclean
// stop (here: started with the wrong terminal ID) is not then taken for
// one that lost its log once the mistake is put right.
func TestRefusalKeepsTheJournalUsable(t *testing.T) {
	dir := t.TempDir()
	d := openTerm(t, dir)
	takeTraces(t, d, 4)
	d.Abandon()
	if _, _, err := OpenTerminal(dir, "10000009"); !errors.Is(err, ErrRefused) {
		t.Fatalf("wrong terminal ID: %v", err)
	}
	d = openTerm(t, dir)
	defer d.Close()
	if n, _ := d.counter("traces"); n < 4 {
		t.Fatalf("traces %d after the refusal and a right start", n)
	}
}

// TestReinitFindsTheNumbersWithoutAMarker: with no marker the old
// journal's own count decides; with neither, the technician must say.
func TestReinitFindsTheNumbersWithoutAMarker(t *testing.T) {
	dir := t.TempDir()
	d := openTerm(t, dir)
	takeTraces(t, d, 250)
	d.Close()
	os.Remove(filepath.Join(dir, MarkerFile))
	if _, err := Reinit(dir, tid, time.Now(), 0); err != nil {
		t.Fatal(err)
	}
	d = openTerm(t, dir)
	if n, _ := d.counter("traces"); n != 250+traceBlock {
		t.Fatalf("new journal starts at %d", n)
	}
	d.Close()

	empty := t.TempDir()
	if _, err := Reinit(empty, tid, time.Now(), 0); err == nil || !strings.Contains(err.Error(), "--from-trace") {
		t.Fatalf("nothing to go by: %v", err)
	}
	if _, err := Reinit(empty, tid, time.Now(), 5000); err != nil {
		t.Fatal(err)
	}
	d = openTerm(t, empty)
	defer d.Close()
	if n, _ := d.counter("traces"); n != 5000 {
		t.Fatalf("from the technician's number: %d", n)
	}
}

func TestJournalOfAnotherTerminalRefused(t *testing.T) {
	dir := t.TempDir()
	openTerm(t, dir).Close()
	if _, _, err := OpenTerminal(dir, "10000002"); !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "terminal 10000001") {
		t.Fatalf("another terminal ID: %v", err)
	}
	os.WriteFile(filepath.Join(dir, MarkerFile), []byte("{not json"), 0o600)
	refusal(t, dir, RefuseMarkerDamaged)
}

// TestReinit: a refused journal goes aside whole; the new one continues
// the trace numbers above the high-water mark, in the next batch.
func TestReinit(t *testing.T) {
	dir := t.TempDir()
	d := openTerm(t, dir)
	takeTraces(t, d, 42)
	d.SetSetting("x", "y")
	if _, err := d.sql.Exec(`INSERT INTO counters(name, value) VALUES('batch', 7)`); err != nil {
		t.Fatal(err)
	}
	if err := d.NoteBatch(); err != nil { // as a settlement does
		t.Fatal(err)
	}
	d.Abandon()
	os.Remove(filepath.Join(dir, JournalFile+"-wal"))
	refusal(t, dir, RefuseWALLost)
	aside, err := Reinit(dir, tid, time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(aside, JournalFile)); err != nil {
		t.Fatalf("old journal not kept: %v", err)
	}
	d = openTerm(t, dir)
	defer d.Close()
	if n, _ := d.counter("traces"); n != traceBlock {
		t.Fatalf("new journal starts at trace %d, want above %d", n, traceBlock)
	}
	if b, _ := d.counter("batch"); b != 8 {
		t.Fatalf("new journal batch %d, want 8", b)
	}
	if _, ok, _ := d.Setting("x"); ok {
		t.Fatal("the new journal carries the old one's data")
	}
}

// TestFilesArePrivate: the data directory is the terminal user's only,
// even one made earlier with a permissive umask.
func TestFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	os.MkdirAll(filepath.Join(dir, "receipts"), 0o755)
	os.WriteFile(filepath.Join(dir, "receipts", "000001-sale.txt"), []byte("x"), 0o644)
	d := openTerm(t, dir)
	d.SetSetting("a", "b")
	defer d.Close()
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, _ := e.Info()
		want := fs.FileMode(0o600)
		if e.IsDir() {
			want = 0o700
		}
		if info.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", p, info.Mode().Perm(), want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{JournalFile, JournalFile + "-wal", MarkerFile, LockFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestCommitsWaitForTheDisk: the journal runs synchronous = FULL, and a
// lazy write does not leave it otherwise.
func TestCommitsWaitForTheDisk(t *testing.T) {
	d := openTerm(t, t.TempDir())
	defer d.Close()
	if v, err := d.Synchronous(); err != nil || v != 2 {
		t.Fatalf("synchronous = %d, %v; want 2 (FULL)", v, err)
	}
	if err := d.ExecLazy(`INSERT INTO settings(key, value) VALUES('lazy', '1')`); err != nil {
		t.Fatal(err)
	}
	if v, _ := d.Synchronous(); v != 2 {
		t.Fatalf("synchronous = %d after a lazy write", v)
	}
	if v, ok, _ := d.Setting("lazy"); !ok || v != "1" {
		t.Fatal("the lazy write is not there")
	}
}
