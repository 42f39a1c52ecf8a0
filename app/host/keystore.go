package host

import (
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
	if _, err := tx.Exec(`DELETE FROM keys`); err != nil {
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
	rows, err := s.db.SQL().Query(`SELECT name, sealed FROM keys`)
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

// DeviceSecret reads the device secret from dir, creating it on first use.
// On a terminal the secret would live in the secure element; the
// simulator keeps it in a 0600 file beside the journal.
func DeviceSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, "device.secret")
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
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return b, nil
}
