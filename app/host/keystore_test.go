package host

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/app/seckey"
)

func TestDeviceSecret(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	s1, err := DeviceSecret(dir, data)
	if err != nil {
		t.Fatal(err)
	}
	if len(s1) < seckey.MinDeviceSecretLen {
		t.Fatalf("secret of %d bytes", len(s1))
	}
	path := filepath.Join(dir, "device.secret")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600: the secret unseals the working keys", fi.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".secret-*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
	if _, err := os.Stat(filepath.Join(data, "device.secret")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a secret beside the journal: %v", err)
	}
	s2, err := DeviceSecret(dir, data)
	if err != nil || !bytes.Equal(s1, s2) {
		t.Fatalf("second call: %v, same bytes %v", err, bytes.Equal(s1, s2))
	}
	// Another secrets directory is another device.
	s3, err := DeviceSecret(t.TempDir(), data)
	if err != nil || bytes.Equal(s1, s3) {
		t.Errorf("another directory: %v, same secret %v", err, bytes.Equal(s1, s3))
	}
	// Never in the data directory itself.
	if _, err := DeviceSecret(data, data); err == nil {
		t.Error("a secret in the data directory accepted")
	}

	// A truncated secret would derive no key: refuse it rather than
	// replace it (which would orphan the sealed keys silently).
	short := t.TempDir()
	sp := filepath.Join(short, "device.secret")
	if err := os.WriteFile(sp, make([]byte, seckey.MinDeviceSecretLen-1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := DeviceSecret(short, data); err == nil {
		t.Error("too-short secret accepted")
	}
	if b, _ := os.ReadFile(sp); len(b) != seckey.MinDeviceSecretLen-1 {
		t.Error("too-short secret was overwritten")
	}
	// Exactly the minimum is fine.
	if err := os.WriteFile(sp, bytes.Repeat([]byte{7}, seckey.MinDeviceSecretLen), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := DeviceSecret(short, data); err != nil || len(b) != seckey.MinDeviceSecretLen {
		t.Errorf("minimum-length secret: %v", err)
	}
	// A directory that cannot be made: an error, not a secret only in memory.
	blocker := filepath.Join(t.TempDir(), "file")
	os.WriteFile(blocker, nil, 0o600)
	if _, err := DeviceSecret(filepath.Join(blocker, "dir"), data); err == nil {
		t.Error("secret under a file: no error")
	}
}

// TestDeviceSecretMovesOutOfTheDataDirectory: a secret an older version
// kept beside the journal moves to the secrets directory, so keys sealed
// under it still open, and none stays behind.
func TestDeviceSecretMovesOutOfTheDataDirectory(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	old := bytes.Repeat([]byte{0x5a}, 32)
	if err := os.WriteFile(filepath.Join(data, "device.secret"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := DeviceSecret(dir, data)
	if err != nil || !bytes.Equal(got, old) {
		t.Fatalf("moved secret: %v, same %v", err, bytes.Equal(got, old))
	}
	if _, err := os.Stat(filepath.Join(data, "device.secret")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old secret is still beside the journal: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "device.secret")); !bytes.Equal(b, old) {
		t.Error("the secrets directory does not hold the moved secret")
	}
}

// TestDeviceSecretConflictRefused: an old secret beside the journal that
// differs from the one in the secrets directory is left alone and named.
func TestDeviceSecretConflictRefused(t *testing.T) {
	dir, data := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(dir, "device.secret"), bytes.Repeat([]byte{1}, 32), 0o600)
	os.WriteFile(filepath.Join(data, "device.secret"), bytes.Repeat([]byte{2}, 32), 0o600)
	if _, err := DeviceSecret(dir, data); err == nil || !strings.Contains(err.Error(), "earlier version") {
		t.Fatalf("two different secrets: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "device.secret")); err != nil {
		t.Fatal("the old secret was removed")
	}
}

// TestDeviceSecretRace: two terminals starting together agree on one
// secret (a lost race must not seal keys under a secret nobody keeps).
func TestDeviceSecretRace(t *testing.T) {
	for i := 0; i < 20; i++ {
		dir, data := t.TempDir(), t.TempDir()
		got := make([][]byte, 4)
		errs := make([]error, 4)
		var wg sync.WaitGroup
		for g := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[g], errs[g] = DeviceSecret(dir, data)
			}()
		}
		wg.Wait()
		for g := range got {
			if errs[g] != nil || !bytes.Equal(got[g], got[0]) {
				t.Fatalf("round %d: goroutine %d: %v, same %v", i, g, errs[g], bytes.Equal(got[g], got[0]))
			}
		}
	}
}

func TestKeyStore(t *testing.T) {
	db, err := journal.Open(filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for name, dk := range map[string][]byte{"nil": nil, "short": make([]byte, seckey.DeviceKeyLen-1),
		"from a short secret": seckey.DeriveDeviceKey(make([]byte, 8), testTID)} {
		if _, err := NewKeyStore(db, dk); err == nil {
			t.Errorf("%s device key accepted", name)
		}
	}
	secret, _ := seckey.NewDeviceSecret()
	s, err := NewKeyStore(db, seckey.DeriveDeviceKey(secret, testTID))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Load(); ok || err != nil {
		t.Fatalf("empty journal: ok %v, %v", ok, err)
	}
	mk := func(n int) seckey.Key {
		k, err := seckey.GenerateKey(n)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	first := seckey.WorkingKeys{PIK: mk(16), MAK: mk(16), TDK: mk(16)}
	if err := s.Save(first, 100); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Load()
	if err != nil || !ok || !got.PIK.Equal(first.PIK) || !got.MAK.Equal(first.MAK) || !got.TDK.Equal(first.TDK) {
		t.Fatalf("load: ok %v, %v", ok, err)
	}
	// A new sign-on without a TDK replaces everything: no stale TDK.
	second := seckey.WorkingKeys{PIK: mk(8), MAK: mk(8)}
	if err := s.Save(second, 200); err != nil {
		t.Fatal(err)
	}
	got, ok, err = s.Load()
	if err != nil || !ok || !got.PIK.Equal(second.PIK) || !got.MAK.Equal(second.MAK) || got.TDK != nil {
		t.Fatalf("after re-save: ok %v TDK %v, %v", ok, got.TDK != nil, err)
	}
	var n int
	var updated int64
	if err := db.SQL().QueryRow(`SELECT count(*), max(updated) FROM keys`).Scan(&n, &updated); err != nil || n != 2 || updated != 200 {
		t.Errorf("rows %d updated %d, %v", n, updated, err)
	}

	// A sealed key moved to another name must not open: the label binds it.
	for _, q := range []string{`UPDATE keys SET name = 'x' WHERE name = 'pik'`,
		`UPDATE keys SET name = 'pik' WHERE name = 'mak'`, `UPDATE keys SET name = 'mak' WHERE name = 'x'`} {
		if _, err := db.SQL().Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.Load(); !errors.Is(err, seckey.ErrSealed) {
		t.Errorf("swapped PIK/MAK rows: %v, want ErrSealed", err)
	}
	// A PIK alone is not a usable set.
	if _, err := db.SQL().Exec(`DELETE FROM keys`); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(seckey.WorkingKeys{PIK: mk(16)}, 300); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Load(); ok || err != nil {
		t.Errorf("PIK only: ok %v, %v", ok, err)
	}
	// A key of a bad length is refused before anything is replaced.
	if err := s.Save(seckey.WorkingKeys{PIK: mk(16), MAK: seckey.Key{1, 2, 3}}, 400); err == nil {
		t.Error("3-byte MAK saved")
	}
	if got, _, _ := s.Load(); got.PIK == nil {
		t.Error("failed save lost the keys already stored")
	}
}
