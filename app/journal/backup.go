package journal

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// A backup is a directory of its own, named for the terminal and the
// time, holding a standalone copy of the journal, a manifest and a
// checksum file a technician can check with sha256sum -c. It is written
// under a dot-name and renamed whole, so a pulled USB stick or a power
// cut never leaves a directory that looks like a complete backup.

// Files in a backup directory.
const (
	ManifestFile  = "backup.json"
	ChecksumsFile = "SHA256SUMS"
)

// BackupPrefix starts every backup directory's name.
const BackupPrefix = "pos-backup-"

const (
	backupFormat = 1
	stampLayout  = "20060102-150405"
	// The manifest and checksum file are a few hundred bytes; anything
	// much larger is not ours and is not read into memory.
	maxManifest  = 64 << 10
	maxChecksums = 4 << 10
)

// ErrBackupDamaged is what every error of a damaged or incomplete backup
// matches with errors.Is.
var ErrBackupDamaged = errors.New("journal: backup is damaged or incomplete")

// BackupMeta is what the caller knows that the journal does not.
type BackupMeta struct {
	SoftwareVersion string
}

// BackupManifest is backup.json.
type BackupManifest struct {
	Format          int    `json:"format"`
	TerminalID      string `json:"terminal_id"`
	Generation      string `json:"generation"`
	SchemaVersion   int    `json:"schema_version"`
	Created         string `json:"created"` // RFC 3339
	SoftwareVersion string `json:"software_version"`
	Traces          int64  `json:"traces"`       // the 'traces' counter
	Batch           int64  `json:"batch"`        // the 'batch' counter
	Transactions    int64  `json:"transactions"` // rows in txns
	Size            int64  `json:"size"`         // of journal.db
	SHA256          string `json:"sha256"`       // of journal.db

	// Dir is the backup directory (filled in when read, not stored).
	Dir string `json:"-"`
	// Problem says why ListBackups could not read the manifest; the
	// other fields are then empty but for Dir.
	Problem string `json:"-"`
}

// CreatedTime is Created parsed; zero if it does not parse.
func (m BackupManifest) CreatedTime() time.Time {
	t, _ := time.Parse(time.RFC3339, m.Created)
	return t
}

// BackupInfo is a backup just made.
type BackupInfo struct {
	Dir      string
	Manifest BackupManifest
}

// backupHook lets tests stop a backup between steps.
var backupHook func(step string) error

func backupStep(name string) error {
	if backupHook != nil {
		return backupHook(name)
	}
	return nil
}

// Backup writes a backup of the journal into a new directory under
// parent. VACUUM INTO reads in one transaction, so the copy is consistent
// while other writers go on (in this process they wait for the one
// connection), and it is a complete database without a write-ahead log.
func (d *DB) Backup(parent string, meta BackupMeta, now time.Time) (info BackupInfo, err error) {
	tid, ok, err := d.Setting(settingTerminalID)
	if err != nil {
		return info, err
	}
	if !ok || !validTerminalID(tid) {
		return info, fmt.Errorf("journal: backup: the journal has no usable terminal ID (%q): open it as a terminal first", tid)
	}
	name := BackupPrefix + tid + "-" + now.Format(stampLayout)
	final := filepath.Join(parent, name)
	if _, err := os.Lstat(final); err == nil {
		return info, fmt.Errorf("journal: backup %s already exists", final)
	}
	tmp, err := os.MkdirTemp(parent, "."+name+"-*.tmp")
	if err != nil {
		return info, fmt.Errorf("journal: backup: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp) // our own half-made directory
		}
	}()
	dmode, _ := modes()
	if err := os.Chmod(tmp, dmode); err != nil {
		return info, err
	}
	// Absolute: VACUUM INTO would take a name starting "file:" for a URI.
	copyPath, err := filepath.Abs(filepath.Join(tmp, JournalFile))
	if err != nil {
		return info, err
	}
	// Created private first: SQLite would make it world-readable, and
	// VACUUM INTO accepts an empty file.
	if err := createPrivate(copyPath); err != nil {
		return info, err
	}
	if _, err := d.sql.Exec(`VACUUM INTO ?`, copyPath); err != nil {
		return info, fmt.Errorf("journal: backup copy: %w", err)
	}
	if err := syncFile(copyPath); err != nil {
		return info, err
	}
	if err := backupStep("copied"); err != nil {
		return info, err
	}
	// The manifest describes the copy, not the live journal, which may
	// have moved on since.
	m, err := describeCopy(copyPath)
	if err != nil {
		return info, err
	}
	m.Format = backupFormat
	m.Created = now.Format(time.RFC3339)
	m.SoftwareVersion = meta.SoftwareVersion
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return info, err
	}
	mb = append(mb, '\n')
	if err := writeNew(filepath.Join(tmp, ManifestFile), mb); err != nil {
		return info, err
	}
	if err := backupStep("manifest"); err != nil {
		return info, err
	}
	sum := sha256.Sum256(mb)
	sums := fmt.Sprintf("%s  %s\n%s  %s\n", m.SHA256, JournalFile, hex.EncodeToString(sum[:]), ManifestFile)
	if err := writeNew(filepath.Join(tmp, ChecksumsFile), []byte(sums)); err != nil {
		return info, err
	}
	syncDir(tmp)
	if err := backupStep("sums"); err != nil {
		return info, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return info, fmt.Errorf("journal: backup: %w", err)
	}
	syncDir(parent)
	m.Dir = final
	return BackupInfo{Dir: final, Manifest: m}, nil
}

// BackupDir backs up the journal of a data directory that a running
// terminal may hold: the journal is opened read-only, without the lock,
// without migrating, so the terminal goes on undisturbed.
func BackupDir(dataDir, parent string, meta BackupMeta, now time.Time) (BackupInfo, error) {
	d, err := openReadOnly(filepath.Join(dataDir, JournalFile), false)
	if err != nil {
		return BackupInfo{}, err
	}
	defer d.sql.Close()
	return d.Backup(parent, meta, now)
}

// describeCopy reads a copy's identity and counts, and its size and hash.
func describeCopy(path string) (BackupManifest, error) {
	var m BackupManifest
	c, err := openReadOnly(path, true)
	if err != nil {
		return m, err
	}
	f, err := c.facts()
	c.sql.Close()
	if err != nil {
		return m, fmt.Errorf("journal: backup copy: %w", err)
	}
	m.TerminalID, m.Generation, m.SchemaVersion = f.terminalID, f.generation, f.schema
	m.Traces, m.Batch, m.Transactions = f.traces, f.batch, f.txns
	m.Size, m.SHA256, err = hashFile(path, nil)
	return m, err
}

// openReadOnly opens a journal file for reading only: no lock, no
// migration, no pragma that writes. A live journal in WAL mode needs its
// -wal and -shm, which SQLite creates if they are missing; immutable is
// for files nothing writes (a backup copy, a journal under our lock with
// no -wal): then SQLite touches no other file at all.
func openReadOnly(path string, immutable bool) (*DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	uri, err := fileURI(path)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Set("mode", "ro")
	if immutable {
		q.Set("immutable", "1")
	}
	// Not query_only: it refuses VACUUM INTO, though that writes only
	// the copy; mode=ro is what keeps the journal untouched.
	q.Add("_pragma", "busy_timeout(5000)")
	sdb, err := sql.Open("sqlite", uri+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("journal: open %s: %w", path, err)
	}
	sdb.SetMaxOpenConns(1)
	sdb.SetMaxIdleConns(1)
	d := &DB{sql: sdb, path: path}
	// Reading the schema makes a file that is not a database fail here.
	if _, err := d.SchemaVersion(); err != nil {
		sdb.Close()
		return nil, classify(path, err)
	}
	var n int
	if err := sdb.QueryRow(`SELECT count(*) FROM sqlite_master`).Scan(&n); err != nil {
		sdb.Close()
		return nil, classify(path, err)
	}
	return d, nil
}

// journalFacts is what a backup or a restore needs to know of a journal.
// A journal of an early schema lacks some tables: their facts are zero.
type journalFacts struct {
	schema                 int
	generation, terminalID string
	traces, batch, txns    int64
}

func (d *DB) facts() (journalFacts, error) {
	var f journalFacts
	var err error
	if f.schema, err = d.SchemaVersion(); err != nil {
		return f, err
	}
	tables := map[string]bool{}
	rows, err := d.sql.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		return f, err
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return f, err
		}
		tables[n] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return f, err
	}
	if tables["settings"] {
		if f.generation, _, err = d.Setting(settingGeneration); err != nil {
			return f, err
		}
		if f.terminalID, _, err = d.Setting(settingTerminalID); err != nil {
			return f, err
		}
	}
	if tables["counters"] {
		if f.traces, err = d.counter("traces"); err != nil {
			return f, err
		}
		if f.batch, err = d.counter("batch"); err != nil {
			return f, err
		}
	}
	if tables["txns"] {
		if err := d.sql.QueryRow(`SELECT count(*) FROM txns`).Scan(&f.txns); err != nil {
			return f, err
		}
	}
	return f, nil
}

// VerifyBackup checks a backup directory through and through: the
// manifest, both checksums, the copy's integrity, and that the copy is
// the journal the manifest describes. Any failure matches
// ErrBackupDamaged.
func VerifyBackup(dir string) (BackupManifest, error) {
	m, mb, err := readManifestFile(dir)
	if err != nil {
		return m, err
	}
	sums, err := readChecksums(dir)
	if err != nil {
		return m, err
	}
	msum := sha256.Sum256(mb)
	if sums[ManifestFile] != hex.EncodeToString(msum[:]) {
		return m, damaged(dir, "backup.json does not match its checksum in SHA256SUMS: the manifest was changed or damaged")
	}
	if sums[JournalFile] != m.SHA256 {
		return m, damaged(dir, "SHA256SUMS and backup.json disagree about journal.db")
	}
	copyPath := filepath.Join(dir, JournalFile)
	var head [100]byte
	size, sum, err := hashFile(copyPath, head[:])
	if errors.Is(err, fs.ErrNotExist) {
		return m, damaged(dir, "journal.db is missing")
	}
	if err != nil {
		return m, damaged(dir, "journal.db cannot be read: "+err.Error())
	}
	if size != m.Size || sum != m.SHA256 {
		detail := "backup journal.db does not match its checksum: the copy is damaged"
		if size != m.Size {
			detail += fmt.Sprintf(" (%d bytes, backup.json says %d)", size, m.Size)
		}
		return m, damaged(dir, detail)
	}
	// A copy in WAL mode would need files beside it that a backup does
	// not have; VACUUM INTO never makes one.
	if !bytes.Equal(head[:len(sqliteMagic)], sqliteMagic) || head[18] != 1 || head[19] != 1 {
		return m, damaged(dir, "journal.db is not a standalone SQLite database")
	}
	c, err := openReadOnly(copyPath, true)
	if err != nil {
		return m, damaged(dir, err.Error())
	}
	defer c.sql.Close()
	if err := c.quickCheck(); err != nil {
		return m, damaged(dir, "journal.db fails its integrity check: "+firstLines(err.Error(), 3))
	}
	f, err := c.facts()
	if err != nil {
		return m, damaged(dir, "journal.db cannot be read: "+err.Error())
	}
	for _, x := range []struct {
		what      string
		got, want any
	}{
		{"schema version", f.schema, m.SchemaVersion},
		{"terminal ID", f.terminalID, m.TerminalID},
		{"generation", f.generation, m.Generation},
		{"trace count", f.traces, m.Traces},
		{"batch", f.batch, m.Batch},
		{"transaction count", f.txns, m.Transactions},
	} {
		if x.got != x.want {
			return m, damaged(dir, fmt.Sprintf("journal.db has %s %v, backup.json says %v", x.what, x.got, x.want))
		}
	}
	return m, nil
}

// firstLines keeps a message to n lines: SQLite lists every bad cell.
func firstLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) <= n {
		return s
	}
	return strings.Join(lines[:n], "; ") + fmt.Sprintf("; and %d more", len(lines)-n)
}

func damaged(dir, detail string) error {
	return fmt.Errorf("%w (%s): %s", ErrBackupDamaged, dir, detail)
}

// ReadBackupManifest parses backup.json strictly: nothing unknown,
// nothing missing, nothing after it.
func ReadBackupManifest(b []byte) (BackupManifest, error) {
	var m BackupManifest
	if len(b) > maxManifest {
		return m, fmt.Errorf("backup.json is larger than %d bytes", maxManifest)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return BackupManifest{}, fmt.Errorf("backup.json: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return BackupManifest{}, errors.New("backup.json: data after the manifest")
	}
	var problems []string
	if m.Format != backupFormat {
		problems = append(problems, fmt.Sprintf("format %d is not known to this program (a newer version may read it)", m.Format))
	}
	if !validTerminalID(m.TerminalID) {
		problems = append(problems, fmt.Sprintf("terminal_id %q", m.TerminalID))
	}
	if !isHex(m.Generation, 32) {
		problems = append(problems, fmt.Sprintf("generation %q", m.Generation))
	}
	if m.SchemaVersion < 1 {
		problems = append(problems, fmt.Sprintf("schema_version %d", m.SchemaVersion))
	}
	if _, err := time.Parse(time.RFC3339, m.Created); err != nil {
		problems = append(problems, fmt.Sprintf("created %q", m.Created))
	}
	if len(m.SoftwareVersion) > 200 {
		problems = append(problems, "software_version too long")
	}
	if m.Traces < 0 || m.Batch < 0 || m.Batch > 999999 || m.Transactions < 0 {
		problems = append(problems, fmt.Sprintf("counts traces %d, batch %d, transactions %d", m.Traces, m.Batch, m.Transactions))
	}
	if m.Size < int64(len(sqliteMagic)) {
		problems = append(problems, fmt.Sprintf("size %d", m.Size))
	}
	if !isHex(m.SHA256, 64) {
		problems = append(problems, fmt.Sprintf("sha256 %q", m.SHA256))
	}
	if len(problems) > 0 {
		return BackupManifest{}, errors.New("backup.json: bad " + strings.Join(problems, ", "))
	}
	return m, nil
}

func readManifestFile(dir string) (BackupManifest, []byte, error) {
	b, err := readLimited(filepath.Join(dir, ManifestFile), maxManifest)
	if err != nil {
		return BackupManifest{Dir: dir}, nil, damaged(dir, err.Error())
	}
	m, err := ReadBackupManifest(b)
	m.Dir = dir
	if err != nil {
		return m, nil, damaged(dir, err.Error())
	}
	return m, b, nil
}

// readChecksums reads SHA256SUMS as sha256sum writes it: "<hex>  name"
// per line, exactly our two files.
func readChecksums(dir string) (map[string]string, error) {
	b, err := readLimited(filepath.Join(dir, ChecksumsFile), maxChecksums)
	if err != nil {
		return nil, damaged(dir, err.Error())
	}
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		h, name, ok := strings.Cut(line, "  ")
		if !ok || !isHex(h, 64) || (name != JournalFile && name != ManifestFile) || sums[name] != "" {
			return nil, damaged(dir, fmt.Sprintf("SHA256SUMS: unexpected line %q", line))
		}
		sums[name] = h
	}
	if len(sums) != 2 {
		return nil, damaged(dir, "SHA256SUMS does not list journal.db and backup.json")
	}
	return sums, nil
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", filepath.Base(path), limit)
	}
	return b, nil
}

// ListBackups lists the backups in parent, newest first, from their
// manifests only (VerifyBackup reads them through). A backup whose
// manifest cannot be read is listed with Problem set, so a menu can show
// it as damaged rather than hide it. Half-written (dot) directories are
// not backups.
func ListBackups(parent string) ([]BackupManifest, error) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil, err
	}
	var list []BackupManifest
	when := map[string]time.Time{}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), BackupPrefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		m, _, err := readManifestFile(dir)
		t := m.CreatedTime()
		if err != nil {
			m = BackupManifest{Dir: dir, Problem: err.Error()}
			t = stampOf(e.Name())
		}
		when[dir] = t
		list = append(list, m)
	}
	sort.SliceStable(list, func(i, j int) bool {
		a, b := when[list[i].Dir], when[list[j].Dir]
		if !a.Equal(b) {
			return a.After(b)
		}
		return list[i].Dir > list[j].Dir
	})
	return list, nil
}

// stampOf is the time in a backup directory's name (local time, as
// Backup writes it); zero if it has none.
func stampOf(name string) time.Time {
	if len(name) < len(stampLayout) {
		return time.Time{}
	}
	t, _ := time.ParseInLocation(stampLayout, name[len(name)-len(stampLayout):], time.Local)
	return t
}

// validTerminalID: the ID goes into directory names, so only letters and
// digits (config requires 8 of them).
func validTerminalID(s string) bool {
	if s == "" || len(s) > 16 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// hashFile returns a file's size and SHA-256, and its first len(head)
// bytes into head.
func hashFile(path string, head []byte) (int64, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, io.TeeReader(f, &prefix{buf: head}))
	if err != nil {
		return 0, "", err
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// prefix keeps the first bytes written to it.
type prefix struct {
	buf []byte
	n   int
}

func (p *prefix) Write(b []byte) (int, error) {
	p.n += copy(p.buf[p.n:], b)
	return len(b), nil
}

// writeNew creates path (it must not exist), private, and syncs it.
func writeNew(path string, data []byte) error {
	_, fmode := modes()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fmode)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
