package journal

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/shoukuan/pos/app/mutant"
)

// A terminal's journal is guarded by a marker kept beside it, outside the
// database file: it says that a journal existed (its generation, the
// terminal it belongs to) and how far its trace numbers went. A journal
// that went missing, was emptied, lost its write-ahead log, or is older
// than the marker knows is refused with a plain explanation, instead of
// starting as a new terminal with default passwords and reused trace
// numbers while the host still holds its payments.

// Files in a terminal's data directory.
const (
	JournalFile = "journal.db"
	MarkerFile  = "journal.marker"
)

// traceBlock is how many trace numbers a marker write reserves ahead: one
// small file write per this many transactions.
const traceBlock = 100

// Marker is the journal's marker file.
type Marker struct {
	Format     int    `json:"format"`
	TerminalID string `json:"terminal_id"`
	Generation string `json:"generation"`
	Created    string `json:"created"`
	// TraceFloor: the journal had committed at least this many trace
	// numbers when the marker was written.
	TraceFloor int64 `json:"trace_floor"`
	// TraceCeiling: trace numbers up to this may have been handed out.
	TraceCeiling int64  `json:"trace_ceiling"`
	Batch        string `json:"batch"`
	// Clean: the journal was closed normally; otherwise its write-ahead
	// log must be there.
	Clean   bool   `json:"clean"`
	Updated string `json:"updated"`
}

const markerFormat = 1

// Refusal is why a journal is not opened.
type Refusal int

const (
	RefuseMissing Refusal = iota + 1
	RefuseWALLost
	RefuseReplaced
	RefuseBehind
	RefuseDamaged
	RefuseOtherTerminal
	RefuseMarkerDamaged
)

// RefusedError is a journal the terminal will not run on. Nothing was
// created or changed.
type RefusedError struct {
	Reason Refusal
	Dir    string
	Detail string
}

// ErrRefused is what every RefusedError matches with errors.Is.
var ErrRefused = errors.New("journal refused")

func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

func (e *RefusedError) Error() string {
	what := map[Refusal]string{
		RefuseMissing:       "the transaction journal is missing or empty, but this terminal has had one",
		RefuseWALLost:       "the journal's write-ahead log (journal.db-wal) is missing after an unclean stop: the latest transactions are lost",
		RefuseReplaced:      "the journal is not the one this terminal was using (another generation)",
		RefuseBehind:        "the journal is older than the terminal's marker: transactions it recorded are missing",
		RefuseDamaged:       "the journal is damaged (integrity check failed)",
		RefuseOtherTerminal: "the journal belongs to another terminal ID",
		RefuseMarkerDamaged: "the journal's marker file (journal.marker) cannot be read",
	}[e.Reason]
	msg := fmt.Sprintf("%s (%s)", what, e.Dir)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg + ". Nothing was changed. Do not delete files: restore the journal from a backup, or re-initialise under supervision (pos journal reinit); the host may still hold payments from it."
}

type guard struct {
	dir  string
	lock *Lock

	mu sync.Mutex
	m  Marker
}

// OpenTerminal opens the journal of a terminal's data directory: it takes
// the directory's lock (a second process is refused), checks the marker
// against the files before SQLite touches them, opens the journal, checks
// its integrity, generation, terminal and trace count, and moves the
// marker on. Notes says what it repaired, for the log.
func OpenTerminal(dir, terminalID string) (db *DB, notes []string, err error) {
	if err := SecureDir(dir); err != nil {
		return nil, nil, fmt.Errorf("data directory: %w", err)
	}
	lock, err := LockDir(dir)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err != nil {
			lock.Release()
		}
	}()
	path := filepath.Join(dir, JournalFile)
	m, err := readMarker(dir)
	if err != nil {
		return nil, nil, err
	}
	check := m != nil && !mutant.On("no-marker-check")
	if check {
		if err := checkFiles(dir, path, m); err != nil {
			return nil, nil, err
		}
	}
	d, err := Open(path)
	if err != nil {
		if errors.Is(err, ErrCorrupt) && m != nil {
			return nil, nil, &RefusedError{Reason: RefuseDamaged, Dir: dir, Detail: err.Error()}
		}
		return nil, nil, err
	}
	defer func() {
		if err == nil {
			return
		}
		// Closing folds the write-ahead log into the journal and removes
		// it. For this terminal's own journal (refused for its terminal
		// ID, its age, damage) the marker then says so, or the next start
		// would take the missing log for a lost one.
		gen, _ := d.Generation()
		if d.sql.Close() == nil && m != nil && gen == m.Generation {
			g := &guard{dir: dir, m: *m}
			g.writeMarker(m.TraceFloor, m.TraceCeiling, m.Batch, true)
		}
	}()
	if err := d.quickCheck(); err != nil {
		return nil, nil, &RefusedError{Reason: RefuseDamaged, Dir: dir, Detail: err.Error()}
	}
	gen, hasGen, err := d.Setting(settingGeneration)
	if err != nil {
		return nil, nil, err
	}
	tid, _, err := d.Setting(settingTerminalID)
	if err != nil {
		return nil, nil, err
	}
	traces, err := d.counter("traces")
	if err != nil {
		return nil, nil, err
	}
	switch {
	case !hasGen && check:
		return nil, nil, &RefusedError{Reason: RefuseReplaced, Dir: dir, Detail: "this journal has no generation; the marker says " + m.Generation}
	case !hasGen:
		if gen, err = newGeneration(); err != nil {
			return nil, nil, err
		}
		if err := d.setIdentity(gen, terminalID); err != nil {
			return nil, nil, err
		}
		tid = terminalID
	case check && gen != m.Generation:
		return nil, nil, &RefusedError{Reason: RefuseReplaced, Dir: dir, Detail: fmt.Sprintf("journal generation %s, marker %s", gen, m.Generation)}
	}
	if tid != terminalID && !mutant.On("no-marker-check") {
		return nil, nil, &RefusedError{Reason: RefuseOtherTerminal, Dir: dir,
			Detail: fmt.Sprintf("journal of terminal %s, configured as %s; settle and re-initialise before changing the terminal ID", tid, terminalID)}
	}
	if check && traces < m.TraceFloor {
		return nil, nil, &RefusedError{Reason: RefuseBehind, Dir: dir,
			Detail: fmt.Sprintf("it has taken %d trace numbers, the marker saw %d", traces, m.TraceFloor)}
	}
	if m == nil && hasGen {
		notes = append(notes, "journal marker was missing; made again from the journal")
	}
	created := time.Now().Format(time.RFC3339)
	if m != nil && m.Generation == gen {
		created = m.Created
	}
	if m != nil && !m.Clean && traces < m.TraceCeiling {
		// After a crash the last reserved numbers may have gone out with
		// commits the disk lost: skip them all, never give one out twice.
		if err := d.skipTraces(m.TraceCeiling - traces); err != nil {
			return nil, nil, err
		}
		notes = append(notes, fmt.Sprintf("after an unclean stop, %d reserved trace numbers skipped", m.TraceCeiling-traces))
		traces = m.TraceCeiling
	}
	g := &guard{dir: dir, lock: lock, m: Marker{Format: markerFormat, TerminalID: terminalID, Generation: gen, Created: created}}
	if err := g.write(d, traces, traces+traceBlock, false); err != nil {
		return nil, nil, fmt.Errorf("journal marker: %w", err)
	}
	d.guard = g
	return d, notes, nil
}

// checkFiles compares the journal files with what the marker says before
// SQLite opens (and so changes) anything.
func checkFiles(dir, path string, m *Marker) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &RefusedError{Reason: RefuseMissing, Dir: dir, Detail: JournalFile + " does not exist"}
	case err != nil:
		return err
	}
	_, walErr := os.Stat(path + "-wal")
	walMissing := errors.Is(walErr, fs.ErrNotExist)
	if st.Size() == 0 && (walMissing || m.Clean) {
		return &RefusedError{Reason: RefuseMissing, Dir: dir, Detail: JournalFile + " is empty"}
	}
	if !m.Clean && walMissing {
		return &RefusedError{Reason: RefuseWALLost, Dir: dir}
	}
	return nil
}

func readMarker(dir string) (*Marker, error) {
	path := filepath.Join(dir, MarkerFile)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	if err != nil {
		return nil, err
	}
	var m Marker
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil || m.Format != markerFormat || m.Generation == "" || m.TraceFloor < 0 || m.TraceCeiling < m.TraceFloor {
		detail := "unknown format"
		if err != nil {
			detail = err.Error()
		}
		return nil, &RefusedError{Reason: RefuseMarkerDamaged, Dir: dir, Detail: detail}
	}
	return &m, nil
}

// ReadMarker returns the data directory's marker, nil when there is none.
func ReadMarker(dir string) (*Marker, error) { return readMarker(dir) }

// write rewrites the marker with the journal's batch number. It reads
// the journal, so it must not be called inside a transaction or with g.mu
// held against one (reserve).
func (g *guard) write(d *DB, floor, ceiling int64, clean bool) error {
	batch, err := d.counter("batch")
	if err != nil {
		return err
	}
	return g.writeMarker(floor, ceiling, fmt.Sprintf("%06d", max(batch, 1)), clean)
}

func (g *guard) writeMarker(floor, ceiling int64, batch string, clean bool) error {
	m := g.m
	m.TraceFloor, m.TraceCeiling, m.Clean = floor, ceiling, clean
	m.Batch = batch
	m.Updated = time.Now().Format(time.RFC3339)
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(filepath.Join(g.dir, MarkerFile), append(b, '\n')); err != nil {
		return err
	}
	g.m = m
	return nil
}

// reserve moves the high-water mark ahead when total reaches it. It runs
// inside the transaction that takes the number, so it must not touch the journal.
func (g *guard) reserve(total int64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if total <= g.m.TraceCeiling {
		return nil
	}
	if err := g.writeMarker(total-1, total-1+traceBlock, g.m.Batch, false); err != nil {
		return fmt.Errorf("journal marker: %w", err)
	}
	return nil
}

// closing folds the write-ahead log into the journal, then marks the
// marker clean while the journal is still open: every commit is in the
// main file before the marker says no log is needed. The counters are
// read before the marker's lock is taken: a transaction holding the one
// connection may be waiting for that lock in reserve.
func (g *guard) closing(d *DB) error {
	if _, err := d.sql.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return err
	}
	traces, err := d.counter("traces")
	if err != nil {
		return err
	}
	batch, err := d.counter("batch")
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.writeMarker(traces, max(traces, g.m.TraceCeiling), fmt.Sprintf("%06d", max(batch, 1)), true)
}

func (g *guard) release() { g.lock.Release() }

const (
	settingGeneration = "journal_generation"
	settingTerminalID = "journal_terminal_id"
)

func newGeneration() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

func (d *DB) setIdentity(gen, terminalID string) error {
	tx, err := d.sql.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for k, v := range map[string]string{settingGeneration: gen, settingTerminalID: terminalID} {
		if _, err := tx.Exec(`INSERT INTO settings(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`, k, v); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Generation is the journal's identity, made when it was created.
func (d *DB) Generation() (string, error) {
	g, _, err := d.Setting(settingGeneration)
	return g, err
}

func (d *DB) counter(name string) (int64, error) {
	var v int64
	err := d.sql.QueryRow(`SELECT value FROM counters WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// skipTraces moves the trace number on by n, as if n had been taken.
func (d *DB) skipTraces(n int64) error {
	tx, err := d.sql.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var stan, total int64
	if err := tx.QueryRow(`SELECT coalesce((SELECT value FROM counters WHERE name = 'stan'), 0)`).Scan(&stan); err != nil {
		return err
	}
	if err := tx.QueryRow(`SELECT coalesce((SELECT value FROM counters WHERE name = 'traces'), 0)`).Scan(&total); err != nil {
		return err
	}
	stan = (stan+n-1)%999999 + 1
	for name, v := range map[string]int64{"stan": stan, "traces": total + n} {
		if _, err := tx.Exec(`INSERT INTO counters(name, value) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`, name, v); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (d *DB) quickCheck() error {
	rows, err := d.sql.Query(`PRAGMA quick_check`)
	if err != nil {
		return err
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(problems) > 0 {
		if len(problems) > 3 {
			problems = append(problems[:3], fmt.Sprintf("and %d more", len(problems)-3))
		}
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// Reinit puts a refused journal aside and starts a new one under
// supervision: the old files move to a lost-TIMESTAMP directory (nothing
// is deleted), the new journal continues the trace numbers above every
// number the old one may have given out (the marker's high-water mark,
// what the old journal itself counted, and fromTrace, the technician's
// word) and opens the next batch, so nothing the host holds is ever
// numbered again. The old marker stays in force until the new journal is
// complete: a crash half-way leaves a journal the terminal still refuses
// and a second Reinit that finds the same numbers. It returns where the
// old files went.
func Reinit(dir, terminalID string, now time.Time, fromTrace int64) (string, error) {
	lock, err := LockDir(dir)
	if err != nil {
		return "", err
	}
	defer lock.Release()
	m, err := readMarker(dir)
	var re *RefusedError
	if errors.As(err, &re) && re.Reason == RefuseMarkerDamaged {
		m, err = nil, nil // a damaged marker is put aside too
	}
	if err != nil {
		return "", err
	}
	ceiling, batch := fromTrace, int64(0)
	if m != nil {
		ceiling = max(ceiling, m.TraceCeiling)
		fmt.Sscanf(m.Batch, "%d", &batch)
	}
	// What the old journal counted itself, when there is one to read
	// (opening a missing one would make it).
	oldPath := filepath.Join(dir, JournalFile)
	if _, err := os.Stat(oldPath); err == nil {
		if old, err := Open(oldPath); err == nil {
			if t, err := old.counter("traces"); err == nil {
				ceiling = max(ceiling, t+traceBlock)
			}
			if b, err := old.counter("batch"); err == nil {
				batch = max(batch, b)
			}
			old.sql.Close()
		}
	}
	if m == nil && ceiling == 0 {
		return "", errors.New("journal: nothing says how far the old journal's trace numbers went (no marker, no readable journal): give the first free trace number (pos journal reinit --from-trace N, from the acquirer)")
	}
	aside := filepath.Join(dir, "lost-"+now.Format("20060102-150405"))
	dmode, _ := modes()
	if err := os.Mkdir(aside, dmode); err != nil {
		return "", err
	}
	for _, name := range []string{JournalFile, JournalFile + "-wal", JournalFile + "-shm"} {
		err := os.Rename(filepath.Join(dir, name), filepath.Join(aside, name))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return aside, err
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, MarkerFile)); err == nil {
		if err := WriteFileAtomic(filepath.Join(aside, MarkerFile), b); err != nil {
			return aside, err
		}
	}
	d, err := Open(filepath.Join(dir, JournalFile))
	if err != nil {
		return aside, err
	}
	gen, err := newGeneration()
	if err != nil {
		d.sql.Close()
		return aside, err
	}
	err = d.setIdentity(gen, terminalID)
	if err == nil && ceiling > 0 {
		err = d.skipTraces(ceiling)
	}
	if err == nil {
		_, err = d.sql.Exec(`INSERT INTO counters(name, value) VALUES('batch', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`, batch%999999+1)
	}
	if err == nil {
		err = d.SetSetting("journal_reinit", now.Format(time.RFC3339)+" after "+filepath.Base(aside))
	}
	if err == nil {
		_, err = d.sql.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	}
	if cerr := d.sql.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return aside, err
	}
	// Last: the new marker replaces the old in one rename.
	g := &guard{dir: dir, m: Marker{Format: markerFormat, TerminalID: terminalID, Generation: gen, Created: now.Format(time.RFC3339)}}
	return aside, g.writeMarker(ceiling, ceiling, fmt.Sprintf("%06d", batch%999999+1), true)
}
