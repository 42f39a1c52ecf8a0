// Package journal is the terminal's embedded SQL database: one SQLite file
// under the data directory holding settings and operators now, and later
// transactions, batches, reversals and keys.
//
// The driver is modernc.org/sqlite (pure Go), so the same binary builds for
// ARM Linux/Android and the desktop without cgo.
package journal

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/shoukuan/pos/app/mutant"
)

var (
	// ErrTooNew means the file was written by a newer binary; opening it
	// with this one could misread or damage it, so it is left alone.
	ErrTooNew = errors.New("journal: database schema is newer than this program")
	// ErrCorrupt means the file is not a SQLite database or is damaged.
	ErrCorrupt = errors.New("journal: database file is corrupt or not a database")
)

// DB is the terminal's database handle. It is safe for concurrent use.
type DB struct {
	sql  *sql.DB
	path string
	// guard is the marker and lock of a terminal's data directory
	// (OpenTerminal); nil for a bare Open.
	guard *guard
}

// pragmas are applied by the driver to every new connection, so they hold
// whichever pooled connection a query lands on. busy_timeout is applied
// first by the driver.
var pragmas = []string{
	"busy_timeout(5000)",
	"foreign_keys(ON)",
	// WAL: readers never block the writer and a power cut mid-write
	// leaves the last committed state.
	"journal_mode(WAL)",
	// FULL: a committed payment record must survive a power cut; WAL with
	// NORMAL may lose the last commits.
	"synchronous(" + syncMode() + ")",
}

func syncMode() string {
	if mutant.On("synchronous-off") {
		return "OFF"
	}
	return "FULL"
}

// Open opens or creates the database at path, creating its directory, and
// brings the schema up to date. A file whose schema is newer than this
// binary knows is rejected with ErrTooNew and not modified; a file that is
// not a usable database is rejected with ErrCorrupt.
func Open(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("journal: empty database path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("journal: create data directory: %w", err)
	}
	// Checked before SQLite touches the file: setting WAL mode rewrites
	// the header, which must not happen to a file we are going to refuse.
	if err := checkHeader(path); err != nil {
		return nil, err
	}
	// Created private before SQLite opens it: SQLite gives the -wal and
	// -shm files the database file's permissions.
	if err := createPrivate(path); err != nil {
		return nil, fmt.Errorf("journal: create %s: %w", path, err)
	}
	dsn, err := dsnFor(path)
	if err != nil {
		return nil, err
	}
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("journal: open %s: %w", path, err)
	}
	// One connection: the terminal has a single writer, and with one
	// connection there is no SQLITE_BUSY between our own goroutines and
	// no per-connection state to keep in step. Callers must close Rows
	// and must not use the *sql.DB while holding a Tx.
	sdb.SetMaxOpenConns(1)
	sdb.SetMaxIdleConns(1)
	sdb.SetConnMaxLifetime(0)
	sdb.SetConnMaxIdleTime(0)
	d := &DB{sql: sdb, path: path}
	if err := d.migrate(); err != nil {
		sdb.Close()
		return nil, classify(path, err)
	}
	return d, nil
}

// dsnFor builds a file: URI. The path is escaped because SQLite decodes
// %XX and treats ? and # specially in URIs. _txlock=immediate takes the
// write lock at BEGIN so a transaction never fails halfway on upgrading
// a read lock to a write lock.
func dsnFor(path string) (string, error) {
	uri, err := fileURI(path)
	if err != nil {
		return "", err
	}
	q := url.Values{}
	for _, v := range pragmas {
		q.Add("_pragma", v)
	}
	q.Set("_txlock", "immediate")
	return uri + "?" + q.Encode(), nil
}

// fileURI is path as a file: URI without a query.
func fileURI(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("journal: database path: %w", err)
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // Windows drive letter: file:/C:/...
	}
	p = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
	return "file:" + p, nil
}

// sqliteMagic starts every SQLite 3 database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// checkHeader rejects a file that is not SQLite, or whose user_version
// (big-endian at offset 60 of the header) is newer than we know, without
// writing to it. A missing or empty file is a new database. The check in
// migrate stays authoritative: the newest version may still be in the WAL.
func checkHeader(path string) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal: open %s: %w", path, err)
	}
	defer f.Close()
	var h [100]byte
	n, err := io.ReadFull(f, h[:])
	if err == io.EOF { // zero bytes: SQLite treats it as a new database
		return nil
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("journal: read %s: %w", path, err)
	}
	if n < len(h) || !bytes.Equal(h[:len(sqliteMagic)], sqliteMagic) {
		return fmt.Errorf("%w: %s", ErrCorrupt, path)
	}
	if v := int(int32(binary.BigEndian.Uint32(h[60:64]))); v > len(migrations) {
		return newerReadable(path, v)
	}
	return nil
}

// newerReadable accepts a journal a newer version migrated if that
// version says this one can still use it (schema_readable_by): after a
// software rollback the old version must start on the journal the new one
// upgraded, or the rollback would stop the shop. Read without writing.
func newerReadable(path string, v int) error {
	ro, err := openReadOnly(path, false)
	if err != nil {
		return tooNew(path, v)
	}
	defer ro.Close()
	if !ro.readableHere() {
		return tooNew(path, v)
	}
	return nil
}

// readableHere says whether a journal of a newer schema declares this
// binary's schema able to use it.
func (d *DB) readableHere() bool {
	s, ok, err := d.Setting(settingReadableBy)
	if err != nil || !ok {
		return false
	}
	n, err := strconv.Atoi(s)
	return err == nil && n >= compatFloor && n <= len(migrations)
}

func tooNew(path string, v int) error {
	return fmt.Errorf("%w: %s has schema version %d, this program knows up to %d",
		ErrTooNew, path, v, len(migrations))
}

// classify turns SQLite's "not a database"/"corrupt" codes into ErrCorrupt
// so callers can tell a damaged file from, say, a full disk.
func classify(path string, err error) error {
	if errors.Is(err, ErrTooNew) || errors.Is(err, ErrCorrupt) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
			return fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
		}
	}
	return fmt.Errorf("journal: open %s: %w", path, err)
}

// Close closes the database. With WAL, closing the last connection
// checkpoints and removes the -wal file. A terminal's journal first marks
// its marker clean, then lets go of the data directory.
func (d *DB) Close() error {
	if d.guard == nil {
		return d.sql.Close()
	}
	merr := d.guard.closing(d)
	err := d.sql.Close()
	d.guard.release()
	return errors.Join(merr, err)
}

// Abandon lets go of the data directory as a killed process does: the
// lock is released, but nothing is closed, checkpointed or marked clean,
// so the write-ahead log and the dirty marker stay as a power cut leaves
// them. The scenario rig's power cut uses it; the handle is dead after.
func (d *DB) Abandon() {
	if d.guard != nil {
		d.guard.release()
	}
}

// ExecLazy runs one write without waiting for the disk (synchronous =
// NORMAL in WAL mode): for marks whose loss in a power cut costs a
// receipt printed twice, not money. The next ordinary commit's sync makes
// it durable too, since the WAL is synced as a whole.
func (d *DB) ExecLazy(query string, args ...any) error {
	ctx := context.Background()
	c, err := d.sql.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		return err
	}
	_, err = c.ExecContext(ctx, query, args...)
	// Always back to the journal's own mode, whatever the write did; a
	// connection that cannot go back is thrown away, not left lax.
	if _, rerr := c.ExecContext(ctx, "PRAGMA synchronous = "+syncMode()); rerr != nil {
		c.Raw(func(any) error { return driver.ErrBadConn })
		return errors.Join(err, rerr)
	}
	return err
}

// Synchronous reports the connection's PRAGMA synchronous (2 = FULL).
func (d *DB) Synchronous() (int, error) {
	var v int
	err := d.sql.QueryRow("PRAGMA synchronous").Scan(&v)
	return v, err
}

// ReserveTraces is called with the running count of trace numbers before
// the count is committed; a terminal's journal moves its marker's
// high-water mark ahead when the count reaches it.
func (d *DB) ReserveTraces(total int64) error {
	if d.guard == nil {
		return nil
	}
	return d.guard.reserve(total)
}

// NoteBatch brings the marker's batch number up to date after a
// settlement opened a new batch (outside any transaction).
func (d *DB) NoteBatch() error {
	if d.guard == nil {
		return nil
	}
	batch, err := d.counter("batch") // before the lock: see closing
	if err != nil {
		return err
	}
	d.guard.mu.Lock()
	defer d.guard.mu.Unlock()
	return d.guard.writeMarker(d.guard.m.TraceFloor, d.guard.m.TraceCeiling, fmt.Sprintf("%06d", max(batch, 1)), false)
}

// Path is the database file.
func (d *DB) Path() string { return d.path }

// SQL is the underlying handle for sibling packages in app/. There is only
// one connection: close Rows promptly and do not use it inside a Tx.
func (d *DB) SQL() *sql.DB { return d.sql }

// SchemaVersion is the number of migrations applied (PRAGMA user_version).
func (d *DB) SchemaVersion() (int, error) {
	var v int
	if err := d.sql.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("journal: schema version: %w", err)
	}
	return v, nil
}

// Setting returns the value stored under key; ok is false if there is none.
func (d *DB) Setting(key string) (value string, ok bool, err error) {
	err = d.sql.QueryRow("SELECT value FROM settings WHERE key = ?", key).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("journal: setting %q: %w", key, err)
	}
	return value, true, nil
}

// SetSetting stores value under key, replacing any previous value.
func (d *DB) SetSetting(key, value string) error {
	_, err := d.sql.Exec(`INSERT INTO settings(key, value) VALUES(?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	if err != nil {
		return fmt.Errorf("journal: set setting %q: %w", key, err)
	}
	return nil
}
