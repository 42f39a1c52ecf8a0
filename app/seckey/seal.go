package seckey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// Keys at rest: the journal stores working keys sealed with AES-256-GCM
// under a device key, so a copied database file does not yield keys.
//
// Sealed format: version (1 byte) | nonce (12) | ciphertext | tag (16).
// The additional data is the version byte followed by the label, so a
// sealed MAK cannot be replayed as the PIK, and a future format change
// cannot be confused with this one.

const (
	// DeviceKeyLen is the AES-256 device key length.
	DeviceKeyLen = 32
	sealVersion  = 1
	gcmNonceLen  = 12
	gcmTagLen    = 16
)

// ErrSealed means a sealed key could not be opened: corrupted, tampered
// with, sealed under another label or another device key. GCM cannot tell
// these apart, and saying which would not help an attacker or the user.
var ErrSealed = errors.New("seckey: sealed key cannot be opened (corrupt, tampered, wrong label or wrong device key)")

func sealAEAD(deviceKey []byte) (cipher.AEAD, error) {
	if len(deviceKey) != DeviceKeyLen {
		return nil, fmt.Errorf("seckey: device key must be %d bytes, got %d", DeviceKeyLen, len(deviceKey))
	}
	b, err := aes.NewCipher(deviceKey)
	if err != nil {
		return nil, err
	}
	// The nonce is random and stored in front of the ciphertext; keys are
	// sealed at most a few times a day, far below GCM's random-nonce limit.
	return cipher.NewGCMWithRandomNonce(b)
}

func sealAD(label string) []byte {
	return append([]byte{sealVersion}, label...)
}

// SealKey encrypts k under deviceKey (AES-256-GCM, random nonce) bound to
// label, e.g. "MAK".
func SealKey(deviceKey []byte, k Key, label string) ([]byte, error) {
	if !validKeyLen(len(k)) {
		return nil, keyLenError(len(k))
	}
	aead, err := sealAEAD(deviceKey)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1, 1+gcmNonceLen+len(k)+gcmTagLen)
	out[0] = sealVersion
	return aead.Seal(out, nil, k, sealAD(label)), nil
}

// OpenKey reverses SealKey; it fails with ErrSealed on any tampering or a
// label or device key other than the one used to seal.
func OpenKey(deviceKey []byte, sealed []byte, label string) (Key, error) {
	aead, err := sealAEAD(deviceKey)
	if err != nil {
		return nil, err
	}
	if len(sealed) < 1+gcmNonceLen+SingleLen+gcmTagLen || sealed[0] != sealVersion {
		return nil, ErrSealed
	}
	k, err := aead.Open(nil, nil, sealed[1:], sealAD(label))
	if err != nil {
		return nil, ErrSealed
	}
	if !validKeyLen(len(k)) {
		clear(k)
		return nil, ErrSealed
	}
	return Key(k), nil
}

// Device key derivation. The salt fixes the purpose, the info binds the key
// to one terminal, so the same secret file copied to another terminal ID
// gives a different key.
const (
	deviceKeySalt = "github.com/shoukuan/pos/app/seckey device key salt v1"
	deviceKeyInfo = "journal key sealing v1|terminal="
	// MinDeviceSecretLen is the shortest secret DeriveDeviceKey accepts.
	MinDeviceSecretLen = 16
)

// DeriveDeviceKey derives the 32-byte sealing key from the device secret
// (secure storage on a terminal; a file in the data directory in the
// simulator) and the terminal ID, with HKDF-SHA256. It returns nil if the
// secret is shorter than MinDeviceSecretLen, so a missing secret makes
// SealKey and OpenKey fail instead of sealing under a guessable key.
func DeriveDeviceKey(secret []byte, terminalID string) []byte {
	if len(secret) < MinDeviceSecretLen {
		return nil
	}
	k, err := hkdf.Key(sha256.New, secret, []byte(deviceKeySalt), deviceKeyInfo+terminalID, DeviceKeyLen)
	if err != nil {
		return nil
	}
	return k
}

// NewDeviceSecret returns 32 random bytes for a new device secret file.
func NewDeviceSecret() ([]byte, error) {
	s := make([]byte, 32)
	if _, err := rand.Read(s); err != nil {
		return nil, err
	}
	return s, nil
}

// Zeroize overwrites b, for buffers that held key material.
func Zeroize(b []byte) { clear(b) }
