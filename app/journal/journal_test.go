package journal

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func openT(t *testing.T, path string) *DB {
	t.Helper()
	d, err := Open(path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return d
}

func TestOpenCreatesDirAndSetsPragmas(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "sub", "pos.db")
	d := openT(t, path)
	defer d.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("database file not created: %v", err)
	}

	// Widen the pool for the test only, to show every new connection gets
	// the pragmas from the DSN and not just the first one.
	d.SQL().SetMaxOpenConns(3)
	ctx := context.Background()
	var conns []*sql.Conn
	for range 3 {
		c, err := d.SQL().Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		for _, p := range []struct {
			pragma, want string
		}{
			{"journal_mode", "wal"},
			{"synchronous", "2"}, // FULL
			{"foreign_keys", "1"},
			{"busy_timeout", "5000"},
		} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+p.pragma).Scan(&got); err != nil {
				t.Fatalf("conn %d PRAGMA %s: %v", i, p.pragma, err)
			}
			if got != p.want {
				t.Errorf("conn %d PRAGMA %s = %q, want %q", i, p.pragma, got, p.want)
			}
		}
		c.Close()
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pos.db")
	d := openT(t, path)
	if err := d.SetSetting("terminal_id", "12345678"); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = openT(t, path)
	defer d.Close()
	v, ok, err := d.Setting("terminal_id")
	if err != nil || !ok || v != "12345678" {
		t.Fatalf("after reopen Setting = %q, %v, %v; want 12345678, true, nil", v, ok, err)
	}
}

func TestMigrationIdempotent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pos.db")
	d := openT(t, path)
	if v, err := d.SchemaVersion(); err != nil || v != len(migrations) {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(migrations))
	}
	// Running again on an up-to-date schema must not fail on CREATE TABLE.
	if err := d.migrate(); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	d.Close()
	for range 2 {
		d = openT(t, path)
		if v, err := d.SchemaVersion(); err != nil || v != len(migrations) {
			t.Fatalf("after reopen SchemaVersion = %d, %v; want %d", v, err, len(migrations))
		}
		d.Close()
	}
}

func TestMigrationUpgradeKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pos.db")
	d := openT(t, path)
	if err := d.SetSetting("k", "v"); err != nil {
		t.Fatal(err)
	}
	d.Close()

	saved := migrations
	t.Cleanup(func() { migrations = saved })
	migrations = append(append([]string(nil), saved...), `CREATE TABLE extra (id INTEGER PRIMARY KEY)`)

	d = openT(t, path)
	defer d.Close()
	if v, _ := d.SchemaVersion(); v != len(saved)+1 {
		t.Fatalf("SchemaVersion = %d, want %d", v, len(saved)+1)
	}
	if _, err := d.SQL().Exec("INSERT INTO extra(id) VALUES (1)"); err != nil {
		t.Fatalf("new table missing: %v", err)
	}
	if v, ok, _ := d.Setting("k"); !ok || v != "v" {
		t.Fatalf("setting lost in upgrade: %q %v", v, ok)
	}
}

func TestFailedMigrationRollsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pos.db")
	d := openT(t, path)
	d.Close()

	saved := migrations
	t.Cleanup(func() { migrations = saved })
	migrations = append(append([]string(nil), saved...),
		`CREATE TABLE half (id INTEGER); THIS IS NOT SQL`)
	if _, err := Open(path); err == nil {
		t.Fatal("Open with a broken migration succeeded")
	}
	migrations = saved

	d = openT(t, path)
	defer d.Close()
	if v, _ := d.SchemaVersion(); v != len(saved) {
		t.Fatalf("SchemaVersion = %d after failed migration, want %d", v, len(saved))
	}
	var n int
	d.SQL().QueryRow("SELECT count(*) FROM sqlite_master WHERE name = 'half'").Scan(&n)
	if n != 0 {
		t.Fatal("table from the failed migration was left behind")
	}
}

func TestFutureSchemaRejected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pos.db")
	d := openT(t, path)
	if err := d.SetSetting("k", "v"); err != nil {
		t.Fatal(err)
	}
	future := len(migrations) + 3
	// Newer software whose migrations this one cannot use says so.
	if err := d.SetSetting(settingReadableBy, strconv.Itoa(future)); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SQL().Exec("PRAGMA user_version = " + strconv.Itoa(future)); err != nil {
		t.Fatal(err)
	}
	d.Close()

	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(path)
	if !errors.Is(err, ErrTooNew) {
		t.Fatalf("Open = %v, want ErrTooNew", err)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(future)) {
		t.Errorf("error %q does not name the file's version", err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("rejected database file was modified")
	}
}

// The header can lag behind the WAL; the check inside the migration
// transaction must still catch a newer version.
func TestFutureSchemaOnlyInWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pos.db")
	d := openT(t, path)
	d.Close()

	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetMaxOpenConns(1)
	// Holding this connection open keeps the change in the WAL.
	if _, err := raw.Exec(`UPDATE settings SET value = ? WHERE key = ?`, strconv.Itoa(len(migrations)+1), settingReadableBy); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("PRAGMA user_version = " + strconv.Itoa(len(migrations)+1)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path); !errors.Is(err, ErrTooNew) {
		t.Fatalf("Open = %v, want ErrTooNew", err)
	}
}

func TestCorruptFileRejected(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
	// A valid header followed by garbage gets past the magic check and
	// must be caught by SQLite itself.
	headerThenGarbage := append([]byte("SQLite format 3\x00"), random(8192)...)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"random", random(8192)},
		{"short", []byte("hello")},
		{"header then garbage", headerThenGarbage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "pos.db")
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			d, err := Open(path)
			if err == nil {
				d.Close()
				t.Fatal("Open of a corrupt file succeeded")
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestEmptyFileIsNewDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pos.db")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d := openT(t, path)
	defer d.Close()
	if v, _ := d.SchemaVersion(); v != len(migrations) {
		t.Fatalf("SchemaVersion = %d, want %d", v, len(migrations))
	}
}

func TestPathNeedingEscape(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a?b#c%20d.db")
	d := openT(t, path)
	d.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("file not created under its literal name: %v", err)
	}
}

func TestSettings(t *testing.T) {
	d := openT(t, filepath.Join(t.TempDir(), "pos.db"))
	defer d.Close()

	if v, ok, err := d.Setting("missing"); err != nil || ok || v != "" {
		t.Fatalf("missing key: %q, %v, %v", v, ok, err)
	}
	for _, tc := range []struct{ key, value string }{
		{"language", "zh-CN"},
		{"merchant_name", "测试商户"},
		{"empty", ""},
		{"language", "en"}, // overwrite
	} {
		if err := d.SetSetting(tc.key, tc.value); err != nil {
			t.Fatalf("SetSetting(%q): %v", tc.key, err)
		}
		v, ok, err := d.Setting(tc.key)
		if err != nil || !ok || v != tc.value {
			t.Fatalf("Setting(%q) = %q, %v, %v; want %q", tc.key, v, ok, err, tc.value)
		}
	}
	var n int
	d.SQL().QueryRow("SELECT count(*) FROM settings WHERE key = 'language'").Scan(&n)
	if n != 1 {
		t.Fatalf("overwrite left %d rows", n)
	}
}

func TestOperatorsTableConstraints(t *testing.T) {
	d := openT(t, filepath.Join(t.TempDir(), "pos.db"))
	defer d.Close()
	ins := "INSERT INTO operators(no, role, pw_hash, must_change, created, changed) VALUES(?, ?, 'h', 1, 0, 0)"
	if _, err := d.SQL().Exec(ins, "01", "cashier"); err != nil {
		t.Fatalf("valid row rejected: %v", err)
	}
	for _, bad := range [][2]string{{"1", "cashier"}, {"001", "cashier"}, {"02", "admin"}} {
		if _, err := d.SQL().Exec(ins, bad[0], bad[1]); err == nil {
			t.Errorf("row %v accepted", bad)
		}
	}
}

// A journal written at schema 2 carries its approved sales into the daily
// totals, or the daily limit would reset on upgrade.
func TestDailyTotalsBackfilled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pos.db")
	saved := migrations
	migrations = saved[:2]
	d := openT(t, path)
	migrations = saved
	t.Cleanup(func() { migrations = saved })
	day := time.Date(2026, 3, 2, 10, 0, 0, 0, time.Local).Unix()
	for _, row := range []struct {
		kind, method, status string
		fen                  int64
		voided               int
	}{
		{"sale", "swipe", "approved", 1000, 0},
		{"sale", "chip", "approved", 250, 0},
		{"sale", "tap", "approved", 99, 1},     // voided: not counted
		{"sale", "alipay", "declined", 500, 0}, // declined: not counted
		{"sale", "alipay", "approved", 700, 0},
		{"refund", "swipe", "approved", 100, 0}, // refunds do not free the limit
	} {
		if _, err := d.SQL().Exec(`INSERT INTO txns(kind, method, amount_fen, stan, batch, status, voided, operator, created, updated)
			VALUES(?, ?, ?, '000001', '000001', ?, ?, '01', ?, ?)`, row.kind, row.method, row.fen, row.status, row.voided, day, day); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()

	d = openT(t, path)
	defer d.Close()
	got := map[string]int64{}
	rows, err := d.SQL().Query(`SELECT class, fen FROM daily_totals WHERE day = '2026-03-02'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var c string
		var f int64
		if err := rows.Scan(&c, &f); err != nil {
			t.Fatal(err)
		}
		got[c] = f
	}
	if got["card"] != 1250 || got["alipay"] != 700 || len(got) != 2 {
		t.Fatalf("daily totals = %v, want card 1250, alipay 700", got)
	}
}
