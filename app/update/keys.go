package update

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"embed"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path"
	"sort"
	"strings"
)

// KeyID names a public key in manifests: the first 8 bytes of the SHA-256
// of its 32 raw bytes, in hex.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// GenerateKeyFiles makes an Ed25519 key pair: the private key as PKCS#8
// PEM (0600), the public key as PKIX PEM, both readable by openssl. It
// never overwrites a file: a release key replaced by accident is gone.
func GenerateKeyFiles(privPath, pubPath string) (string, error) {
	for _, p := range []string{privPath, pubPath} {
		if _, err := os.Stat(p); err == nil {
			return "", fmt.Errorf("%s exists: not overwriting a key", p)
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", err
	}
	privDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	if err := writeNew(privPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER}), 0o600); err != nil {
		return "", err
	}
	if err := writeNew(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		os.Remove(privPath)
		return "", err
	}
	return KeyID(pub), nil
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
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
	if err != nil {
		os.Remove(path)
	}
	return err
}

// LoadPrivateKey reads a PKCS#8 PEM Ed25519 private key.
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: not a PEM file", path)
	}
	if blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: a %q block, want PRIVATE KEY (PKCS#8)", path, blk.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an Ed25519 key", path)
	}
	return priv, nil
}

// LoadPublicKey reads a PKIX PEM Ed25519 public key.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pub, err := ParsePublicKeyPEM(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pub, nil
}

// ParsePublicKeyPEM reads one "PUBLIC KEY" block holding an Ed25519 key.
func ParsePublicKeyPEM(b []byte) (ed25519.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("not a PEM file")
	}
	if blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("a %q block, want PUBLIC KEY", blk.Type)
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("not an Ed25519 key")
	}
	return pub, nil
}

// Keyring is the set of public keys a terminal trusts to sign bundles.
// Rotation: a new release key is added to the keyring of a release signed
// with the old one; later releases are signed with the new key.
type Keyring struct {
	keys map[string]namedKey
}

type namedKey struct {
	name string
	pub  ed25519.PublicKey
}

// KeyInfo is one key of a keyring.
type KeyInfo struct{ Name, ID string }

func NewKeyring() *Keyring { return &Keyring{keys: map[string]namedKey{}} }

func (k *Keyring) Add(name string, pub ed25519.PublicKey) {
	k.keys[KeyID(pub)] = namedKey{name, append(ed25519.PublicKey(nil), pub...)}
}

func (k *Keyring) AddPEM(name string, b []byte) error {
	pub, err := ParsePublicKeyPEM(b)
	if err != nil {
		return err
	}
	k.Add(name, pub)
	return nil
}

func (k *Keyring) Lookup(id string) (string, ed25519.PublicKey, bool) {
	nk, ok := k.keys[id]
	return nk.name, nk.pub, ok
}

func (k *Keyring) Keys() []KeyInfo {
	var out []KeyInfo
	for id, nk := range k.keys {
		out = append(out, KeyInfo{nk.name, id})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

//go:embed releasekeys/*.pub
var releaseKeys embed.FS

// ReleaseKeyring is the release keys built into the binary.
func ReleaseKeyring() (*Keyring, error) {
	k := NewKeyring()
	ents, err := releaseKeys.ReadDir("releasekeys")
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		b, err := releaseKeys.ReadFile(path.Join("releasekeys", e.Name()))
		if err != nil {
			return nil, err
		}
		if err := k.AddPEM(strings.TrimSuffix(e.Name(), ".pub"), b); err != nil {
			return nil, fmt.Errorf("release key %s: %w", e.Name(), err)
		}
	}
	return k, nil
}
