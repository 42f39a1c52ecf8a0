package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var backupNow = time.Date(2026, 12, 2, 18, 30, 5, 0, time.FixedZone("CST", 8*3600))

type txnRow struct {
	kind, method, status, stan, batch, pan, order, operator, rrn, auth string
	amount, refunded, fee, created                                     int64
	origID                                                             int64 // 0: none
	voided                                                             bool
}

// insertTxn writes a transaction with the real schema's NOT NULL columns.
func insertTxn(t testing.TB, d *DB, x txnRow) int64 {
	t.Helper()
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&x.kind, "sale")
	def(&x.method, "chip")
	def(&x.status, "approved")
	def(&x.stan, "000001")
	def(&x.batch, "000001")
	def(&x.operator, "01")
	if x.created == 0 {
		x.created = backupNow.Unix()
	}
	var orig any
	if x.origID != 0 {
		orig = x.origID
	}
	res, err := d.sql.Exec(`INSERT INTO txns(kind, method, amount_fen, stan, batch, status, rrn, auth_code, masked_pan, order_no,
		operator, orig_id, voided, refunded_fen, fee_fen, created, updated) VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		x.kind, x.method, x.amount, x.stan, x.batch, x.status, x.rrn, x.auth, x.pan, x.order,
		x.operator, orig, x.voided, x.refunded, x.fee, x.created, x.created)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := res.LastInsertId()
	return id
}

func setCounter(t testing.TB, d *DB, name string, v int64) {
	t.Helper()
	if _, err := d.sql.Exec(`INSERT INTO counters(name, value) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`, name, v); err != nil {
		t.Fatal(err)
	}
}

func backupT(t *testing.T, d *DB, parent string, now time.Time) BackupInfo {
	t.Helper()
	info, err := d.Backup(parent, BackupMeta{SoftwareVersion: "1.2.3"}, now)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// reseal rewrites a backup's manifest and checksums to match its
// journal.db after edit: a forger's or a bug's backup, not a damaged one.
func reseal(t *testing.T, dir string, edit func(*BackupManifest)) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	var m BackupManifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m.Size, m.SHA256, err = hashFile(filepath.Join(dir, JournalFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&m)
	}
	mb, _ := json.MarshalIndent(m, "", "  ")
	writeSums(t, dir, mb, m.SHA256)
}

func writeSums(t *testing.T, dir string, manifest []byte, dbSum string) {
	t.Helper()
	os.WriteFile(filepath.Join(dir, ManifestFile), manifest, 0o600)
	s := sha256.Sum256(manifest)
	sums := fmt.Sprintf("%s  journal.db\n%s  backup.json\n", dbSum, hex.EncodeToString(s[:]))
	os.WriteFile(filepath.Join(dir, ChecksumsFile), []byte(sums), 0o600)
}

// TestBackupContents: the directory, its files and modes, the manifest's
// facts, and a copy that is a standalone database passing verification.
func TestBackupContents(t *testing.T) {
	dataDir, parent := t.TempDir(), t.TempDir()
	d := openTerm(t, dataDir)
	defer d.Close()
	takeTraces(t, d, 42)
	setCounter(t, d, "batch", 7)
	for i := 0; i < 3; i++ {
		insertTxn(t, d, txnRow{amount: int64(100 * (i + 1)), stan: fmt.Sprintf("%06d", i+1)})
	}
	info := backupT(t, d, parent, backupNow)
	if want := filepath.Join(parent, "pos-backup-10000001-20261202-183005"); info.Dir != want {
		t.Fatalf("backup dir %s, want %s", info.Dir, want)
	}
	m := info.Manifest
	gen, _ := d.Generation()
	if m.Format != 1 || m.TerminalID != tid || m.Generation != gen || m.SchemaVersion != len(migrations) ||
		m.Created != "2026-12-02T18:30:05+08:00" || m.SoftwareVersion != "1.2.3" || m.Traces != 42 || m.Batch != 7 || m.Transactions != 3 {
		t.Fatalf("manifest %+v", m)
	}
	st, err := os.Stat(info.Dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("backup dir: %v %v", st, err)
	}
	for _, f := range []string{JournalFile, ManifestFile, ChecksumsFile} {
		st, err := os.Stat(filepath.Join(info.Dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v", f, st, err)
		}
	}
	entries, _ := os.ReadDir(info.Dir)
	if len(entries) != 3 {
		t.Errorf("backup holds %d files, want 3 (no -wal, -shm)", len(entries))
	}
	if left, _ := filepath.Glob(filepath.Join(parent, ".*")); len(left) > 0 {
		t.Errorf("temporary left behind: %v", left)
	}
	b, _ := os.ReadFile(filepath.Join(info.Dir, JournalFile))
	if b[18] != 1 || b[19] != 1 {
		t.Errorf("copy is in WAL mode (header %d/%d)", b[18], b[19])
	}
	if int64(len(b)) != m.Size {
		t.Errorf("size %d, manifest %d", len(b), m.Size)
	}
	vm, err := VerifyBackup(info.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if vm.Dir != info.Dir || vm.SHA256 != m.SHA256 {
		t.Fatalf("verified manifest %+v", vm)
	}
	// The same second again is refused, not overwritten.
	if _, err := d.Backup(parent, BackupMeta{}, backupNow); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second backup in the same second: %v", err)
	}
}

// TestBackupToAnOddlyNamedStick: characters a URI treats specially in
// the stick's path do not send the copy elsewhere.
func TestBackupToAnOddlyNamedStick(t *testing.T) {
	d := openTerm(t, t.TempDir())
	defer d.Close()
	parent := filepath.Join(t.TempDir(), "U盘 ?#%20x")
	os.Mkdir(parent, 0o700)
	info := backupT(t, d, parent, backupNow)
	if _, err := VerifyBackup(info.Dir); err != nil {
		t.Fatal(err)
	}
	if list, err := ListBackups(parent); err != nil || len(list) != 1 || list[0].Dir != info.Dir {
		t.Fatalf("list %+v, %v", list, err)
	}
}

// TestChecksumsPassSha256sum: a technician's sha256sum -c accepts the
// file, and notices a damaged copy.
func TestChecksumsPassSha256sum(t *testing.T) {
	bin, err := exec.LookPath("sha256sum")
	if err != nil {
		t.Skip("no sha256sum on PATH")
	}
	d := openTerm(t, t.TempDir())
	defer d.Close()
	info := backupT(t, d, t.TempDir(), backupNow)
	cmd := exec.Command(bin, "-c", ChecksumsFile)
	cmd.Dir = info.Dir
	if out, err := cmd.CombinedOutput(); err != nil || strings.Count(string(out), ": OK") != 2 {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
	f, _ := os.OpenFile(filepath.Join(info.Dir, JournalFile), os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte{0})
	f.Close()
	cmd = exec.Command(bin, "-c", ChecksumsFile)
	cmd.Dir = info.Dir
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "journal.db: FAILED") {
		t.Fatalf("sha256sum -c on a damaged copy: %v\n%s", err, out)
	}
}

// TestBackupDirWhileTerminalWrites: the CLI backs up through its own
// read-only connection while the terminal's *DB keeps committing; every
// copy is one consistent moment (each insert moves the trace count in
// the same transaction) and passes verification, and the writer never
// fails.
func TestBackupDirWhileTerminalWrites(t *testing.T) {
	dataDir, parent := t.TempDir(), t.TempDir()
	d := openTerm(t, dataDir)
	defer d.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var werr error
	var inserted int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			tx, err := d.sql.Begin()
			if err == nil {
				_, err = tx.Exec(`INSERT INTO txns(kind, method, amount_fen, stan, batch, status, operator, created, updated)
					VALUES('sale', 'tap', ?, ?, '000001', 'approved', '01', ?, ?)`, i, fmt.Sprintf("%06d", i%999999+1), i, i)
			}
			if err == nil {
				_, err = tx.Exec(`INSERT INTO counters(name, value) VALUES('traces', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`, i)
			}
			if err == nil {
				err = tx.Commit()
			} else if tx != nil {
				tx.Rollback()
			}
			if err != nil {
				werr = err
				return
			}
			inserted = i
		}
	}()
	var counts []int64
	for i := 0; i < 5; i++ {
		info, err := BackupDir(dataDir, parent, BackupMeta{}, backupNow.Add(time.Duration(i)*time.Second))
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatal(err)
		}
		m, err := VerifyBackup(info.Dir)
		if err != nil {
			t.Error(err)
		}
		if m.Transactions != m.Traces {
			t.Errorf("backup %d is not one moment: %d transactions, trace count %d", i, m.Transactions, m.Traces)
		}
		counts = append(counts, m.Transactions)
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if werr != nil {
		t.Fatalf("the terminal's writes failed during the backups: %v", werr)
	}
	if inserted == 0 || counts[len(counts)-1] == counts[0] {
		t.Fatalf("the writer did not run alongside: %d inserts, backup counts %v", inserted, counts)
	}
	t.Logf("%d inserts alongside, backups at %v", inserted, counts)
}

// TestBackupDirOfStoppedTerminal: with the terminal stopped cleanly, or
// crashed with its commits still in the write-ahead log, the backup has
// them all and the terminal starts afterwards as before.
func TestBackupDirOfStoppedTerminal(t *testing.T) {
	for _, crashed := range []bool{false, true} {
		t.Run(fmt.Sprint("crashed=", crashed), func(t *testing.T) {
			dataDir, parent := t.TempDir(), t.TempDir()
			d := openTerm(t, dataDir)
			takeTraces(t, d, 5)
			insertTxn(t, d, txnRow{amount: 1})
			if crashed {
				d.Abandon()
			} else {
				d.Close()
			}
			marker, _ := os.ReadFile(filepath.Join(dataDir, MarkerFile))
			info, err := BackupDir(dataDir, parent, BackupMeta{}, backupNow)
			if err != nil {
				t.Fatal(err)
			}
			if info.Manifest.Traces != 5 || info.Manifest.Transactions != 1 {
				t.Fatalf("backup missed commits: %+v", info.Manifest)
			}
			if after, _ := os.ReadFile(filepath.Join(dataDir, MarkerFile)); string(after) != string(marker) {
				t.Fatal("the backup changed the marker")
			}
			d, notes, err := OpenTerminal(dataDir, tid)
			if err != nil {
				t.Fatalf("the terminal does not start after a backup: %v", err)
			}
			defer d.Close()
			if n, _ := d.counter("traces"); n < 5 {
				t.Fatalf("traces %d", n)
			}
			t.Log(notes)
		})
	}
}

// TestReadOnlyOpenWritesNothing: a missing journal is not created, and
// the read-only handle cannot write.
func TestReadOnlyOpenWritesNothing(t *testing.T) {
	dataDir := t.TempDir()
	if _, err := BackupDir(dataDir, t.TempDir(), BackupMeta{}, backupNow); err == nil {
		t.Fatal("backup of a missing journal")
	}
	if entries, _ := os.ReadDir(dataDir); len(entries) != 0 {
		t.Fatalf("the backup made files: %v", entries)
	}
	d := openTerm(t, dataDir)
	defer d.Close()
	ro, err := openReadOnly(filepath.Join(dataDir, JournalFile), false)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.sql.Close()
	if err := ro.SetSetting("x", "y"); err == nil {
		t.Fatal("a read-only handle wrote")
	}
	if _, err := ro.sql.Exec(`PRAGMA user_version = 99`); err == nil {
		t.Fatal("a read-only handle changed the schema version")
	}
}

// TestBackupNeverLeavesAPartialDirectory: a backup stopped at any step
// leaves no backup-looking directory; one a crash left half-written is
// not listed.
func TestBackupNeverLeavesAPartialDirectory(t *testing.T) {
	d := openTerm(t, t.TempDir())
	defer d.Close()
	parent := t.TempDir()
	for _, step := range []string{"copied", "manifest", "sums"} {
		backupHook = func(s string) error {
			if s == step {
				return errors.New("stop")
			}
			return nil
		}
		_, err := d.Backup(parent, BackupMeta{}, backupNow)
		backupHook = nil
		if err == nil {
			t.Fatalf("%s: no error", step)
		}
		if entries, _ := os.ReadDir(parent); len(entries) != 0 {
			t.Fatalf("stopped at %s, left %v", step, entries)
		}
	}
	// What a power cut leaves: the dot directory, half full.
	half := filepath.Join(parent, ".pos-backup-10000001-20261202-183005-123.tmp")
	os.Mkdir(half, 0o700)
	os.WriteFile(filepath.Join(half, JournalFile), []byte("SQLite format 3\x00"), 0o600)
	list, err := ListBackups(parent)
	if err != nil || len(list) != 0 {
		t.Fatalf("half-written backup listed: %+v, %v", list, err)
	}
	backupT(t, d, parent, backupNow)
	if list, _ = ListBackups(parent); len(list) != 1 || list[0].Problem != "" {
		t.Fatalf("list %+v", list)
	}
}

// TestVerifyBackupFindsDamage: each way a backup can be wrong is caught,
// with a message that says which.
func TestVerifyBackupFindsDamage(t *testing.T) {
	d := openTerm(t, t.TempDir())
	defer d.Close()
	for i := 0; i < 300; i++ {
		insertTxn(t, d, txnRow{amount: int64(i), order: strings.Repeat("o", 50)})
	}
	src := backupT(t, d, t.TempDir(), backupNow).Dir
	fresh := func(t *testing.T) string {
		dir := filepath.Join(t.TempDir(), filepath.Base(src))
		os.Mkdir(dir, 0o700)
		for _, f := range []string{JournalFile, ManifestFile, ChecksumsFile} {
			b, _ := os.ReadFile(filepath.Join(src, f))
			os.WriteFile(filepath.Join(dir, f), b, 0o600)
		}
		return dir
	}
	edit := func(dir, file string, f func([]byte) []byte) {
		b, _ := os.ReadFile(filepath.Join(dir, file))
		os.WriteFile(filepath.Join(dir, file), f(b), 0o600)
	}
	corrupt := func(b []byte) []byte {
		for i := 4096 + 100; i < len(b) && i < 4096*8; i += 7 {
			b[i] ^= 0x5a
		}
		return b
	}
	for _, c := range []struct {
		name, want string
		damage     func(dir string)
	}{
		{"flipped byte", "backup journal.db does not match its checksum: the copy is damaged", func(dir string) {
			edit(dir, JournalFile, func(b []byte) []byte { b[len(b)/2] ^= 1; return b })
		}},
		{"truncated copy", "does not match its checksum", func(dir string) {
			edit(dir, JournalFile, func(b []byte) []byte { return b[:len(b)-4096] })
		}},
		{"missing copy", "journal.db is missing", func(dir string) { os.Remove(filepath.Join(dir, JournalFile)) }},
		{"manifest edited", "backup.json does not match its checksum", func(dir string) {
			edit(dir, ManifestFile, func(b []byte) []byte {
				return []byte(strings.Replace(string(b), `"transactions": 300`, `"transactions": 299`, 1))
			})
		}},
		{"no checksums", "SHA256SUMS", func(dir string) { os.Remove(filepath.Join(dir, ChecksumsFile)) }},
		{"extra line in checksums", "unexpected line", func(dir string) {
			edit(dir, ChecksumsFile, func(b []byte) []byte { return append(b, "x\n"...) })
		}},
		{"no manifest", "backup.json", func(dir string) { os.Remove(filepath.Join(dir, ManifestFile)) }},
		{"unknown field", "unknown field", func(dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, ManifestFile))
			s := strings.Replace(string(b), "{", `{"dir": "/etc",`, 1)
			writeSums(t, dir, []byte(s), sha(t, filepath.Join(dir, JournalFile)))
		}},
		{"manifest lies about the copy", "transaction count 300, backup.json says 7", func(dir string) {
			reseal(t, dir, func(m *BackupManifest) { m.Transactions = 7 })
		}},
		{"manifest of another terminal", "terminal ID 10000001, backup.json says 10000002", func(dir string) {
			reseal(t, dir, func(m *BackupManifest) { m.TerminalID = "10000002" })
		}},
		{"damaged inside, checksums made to match", "fails its integrity check", func(dir string) {
			edit(dir, JournalFile, corrupt)
			reseal(t, dir, nil)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := fresh(t)
			if _, err := VerifyBackup(dir); err != nil {
				t.Fatalf("fresh copy: %v", err)
			}
			c.damage(dir)
			_, err := VerifyBackup(dir)
			if !errors.Is(err, ErrBackupDamaged) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			t.Log(err)
		})
	}
}

func sha(t *testing.T, path string) string {
	_, s, err := hashFile(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestListBackupsNewestFirst: the menu's order, with an unreadable
// backup shown (not hidden) in its place.
func TestListBackupsNewestFirst(t *testing.T) {
	d := openTerm(t, t.TempDir())
	defer d.Close()
	parent := t.TempDir()
	var dirs []string
	for _, h := range []int{2, 0, 1} {
		// Local, as the terminal names them: an unreadable one is placed
		// by the time in its name.
		dirs = append(dirs, backupT(t, d, parent, backupNow.Add(time.Duration(h)*time.Hour).In(time.Local)).Dir)
	}
	os.WriteFile(filepath.Join(dirs[2], ManifestFile), []byte("{"), 0o600) // the 1-hour one
	os.WriteFile(filepath.Join(parent, "pos-backup-notes.txt"), nil, 0o600)
	os.Mkdir(filepath.Join(parent, "other"), 0o700)
	list, err := ListBackups(parent)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("listed %d: %+v", len(list), list)
	}
	if list[0].Dir != dirs[0] || list[1].Dir != dirs[2] || list[2].Dir != dirs[1] {
		t.Fatalf("order %s, %s, %s", list[0].Dir, list[1].Dir, list[2].Dir)
	}
	if list[1].Problem == "" || list[0].Problem != "" || list[0].TerminalID != tid || list[0].Transactions != 0 {
		t.Fatalf("entries %+v", list)
	}
}

func FuzzReadBackupManifest(f *testing.F) {
	f.Add([]byte(`{"format":1,"terminal_id":"10000001","generation":"0123456789abcdef0123456789abcdef","schema_version":6,` +
		`"created":"2026-12-02T18:30:05+08:00","software_version":"1.2.3","traces":42,"batch":7,"transactions":3,"size":102400,` +
		`"sha256":"` + strings.Repeat("ab", 32) + `"}`))
	f.Add([]byte(`{"format":1} {}`))
	f.Add([]byte(`{"format":2,"terminal_id":"../../etc"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadBackupManifest(b)
		if err != nil {
			return
		}
		// What it accepts is safe to use in a path and stable.
		if !validTerminalID(m.TerminalID) || strings.ContainsAny(m.TerminalID, `/\.`) || m.Size <= 0 || m.Format != backupFormat {
			t.Fatalf("accepted %+v", m)
		}
		again, _ := json.Marshal(m)
		m2, err := ReadBackupManifest(again)
		if err != nil || m2 != m {
			t.Fatalf("round trip: %+v, %v", m2, err)
		}
	})
}
