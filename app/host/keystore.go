package host

import (
	"bytes"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/app/seckey"
)

// KeyStore keeps the working keys in the journal, sealed under the device
// key, so a restart does not need a new sign-on and a copied journal file
// does not give the keys away.
type KeyStore struct {
	db        *journal.DB
	deviceKey []byte
}

// NewKeyStore uses the journal and a device key (seckey.DeriveDeviceKey).
func NewKeyStore(db *journal.DB, deviceKey []byte) (*KeyStore, error) {
	if len(deviceKey) != seckey.DeviceKeyLen {
		return nil, errors.New("host: device key missing or wrong length")
	}
	return &KeyStore{db: db, deviceKey: deviceKey}, nil
}

var keyNames = [...]string{"pik", "mak", "tdk"}

// Save replaces the working keys in one transaction.
func (s *KeyStore) Save(k seckey.WorkingKeys, now int64) error {
	tx, err := s.db.SQL().Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`DELETE FROM keys WHERE name IN ('pik', 'mak', 'tdk')`); err != nil {
		return err
	}
	for i, key := range []seckey.Key{k.PIK, k.MAK, k.TDK} {
		if key == nil {
			continue
		}
		sealed, err := seckey.SealKey(s.deviceKey, key, keyNames[i])
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`INSERT INTO keys(name, sealed, kcv, updated) VALUES(?, ?, ?, ?)`,
			keyNames[i], sealed, fmt.Sprintf("%X", seckey.CheckValue(key)), now); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Load reads the working keys; ok is false when there are none (never
// signed on).
func (s *KeyStore) Load() (k seckey.WorkingKeys, ok bool, err error) {
	rows, err := s.db.SQL().Query(`SELECT name, sealed FROM keys WHERE name IN ('pik', 'mak', 'tdk')`)
	if err != nil {
		return k, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var sealed []byte
		if err := rows.Scan(&name, &sealed); err != nil {
			return k, false, err
		}
		key, err := seckey.OpenKey(s.deviceKey, sealed, name)
		if err != nil {
			return k, false, fmt.Errorf("host: stored %s key: %w", name, err)
		}
		switch name {
		case "pik":
			k.PIK = key
		case "mak":
			k.MAK = key
		case "tdk":
			k.TDK = key
		}
	}
	if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return k, false, err
	}
	return k, k.PIK != nil && k.MAK != nil, nil
}

// tmkName is the master key's row; it is replaced only by pos keys load.
const tmkName = "tmk"

// SaveTMK seals the terminal master key into the journal, replacing the
// one before, and returns its check value.
func (s *KeyStore) SaveTMK(k seckey.Key, now int64) (string, error) {
	sealed, err := seckey.SealKey(s.deviceKey, k, tmkName)
	if err != nil {
		return "", err
	}
	kcv := fmt.Sprintf("%X", seckey.CheckValue(k))
	_, err = s.db.SQL().Exec(`INSERT INTO keys(name, sealed, kcv, updated) VALUES(?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET sealed = excluded.sealed, kcv = excluded.kcv, updated = excluded.updated`, tmkName, sealed, kcv, now)
	return kcv, err
}

// LoadTMK opens the sealed master key; ok is false when none was loaded.
func (s *KeyStore) LoadTMK() (k seckey.Key, ok bool, err error) {
	var sealed []byte
	err = s.db.SQL().QueryRow(`SELECT sealed FROM keys WHERE name = ?`, tmkName).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	k, err = seckey.OpenKey(s.deviceKey, sealed, tmkName)
	if err != nil {
		return nil, false, fmt.Errorf("host: stored master key: %w (was the device secret replaced? load the master key again)", err)
	}
	return k, true, nil
}

// TMKCheckValue is the stored master key's check value, "" when none.
func (s *KeyStore) TMKCheckValue() (string, error) {
	var kcv string
	err := s.db.SQL().QueryRow(`SELECT kcv FROM keys WHERE name = ?`, tmkName).Scan(&kcv)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return kcv, err
}

// SecretFile is the device secret's name in its directory.
const SecretFile = "device.secret"

// DeviceSecret reads the device secret from dir, creating it on first use.
// dir is the board's secure storage, never the data directory: a copied
// journal must not come with the means to open its keys. A secret an
// earlier version left in dataDir is moved to dir.
func DeviceSecret(dir, dataDir string) ([]byte, error) {
	if dir == "" {
		return nil, errors.New("host: no directory for the device secret (the board's secrets setting)")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("host: device secret directory: %w", err)
	}
	path := filepath.Join(dir, SecretFile)
	old := filepath.Join(dataDir, SecretFile)
	if filepath.Clean(old) == filepath.Clean(path) {
		return nil, errors.New("host: the device secret must not live in the data directory")
	}
	// An earlier version kept it beside the journal: move it out. It is
	// removed only once the secrets directory holds the same bytes: a
	// different secret there would orphan whatever this journal sealed.
	if prev, err := os.ReadFile(old); err == nil {
		if err := createSecret(path, prev); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		if now, err := os.ReadFile(path); err != nil || !bytes.Equal(now, prev) {
			return nil, fmt.Errorf("host: %s holds a device secret from an earlier version and %s another one: keys in this journal were sealed under one of them; keep that one in %s and remove the other", old, path, dir)
		}
		if err := syncDir(dir); err != nil {
			return nil, err
		}
		if err := os.Remove(old); err != nil {
			return nil, fmt.Errorf("host: removing the old device secret: %w", err)
		}
	}
	b, err := os.ReadFile(path)
	if err == nil {
		if len(b) < seckey.MinDeviceSecretLen {
			return nil, fmt.Errorf("host: %s is too short", path)
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := createSecret(path, b); err != nil {
		if !errors.Is(err, os.ErrExist) {
			return nil, err
		}
		// Another process made it first: use that one.
		return os.ReadFile(path)
	}
	return b, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	d.Sync() // not every filesystem syncs a directory; the link stands
	return nil
}

// createSecret writes a new secret file only if none exists: the data goes
// to a private temporary file that is then linked into place, so two
// processes starting together agree on one secret.
func createSecret(path string, b []byte) error {
	tmp, err := journal.WriteTemp(filepath.Dir(path), ".secret-*", b)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	return os.Link(tmp, path)
}
