package hostsim

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// The issuer keeps no clear PIN: the ledger holds an Argon2id hash of each
// card's PIN with its own salt, and a PIN block is checked by decoding it
// and hashing what it carries. The parameters are an issuer simulator's,
// light enough for campaigns of thousands of PIN sales.
const (
	pinHashPrefix = "$argon2id$"
	pinTime       = 1
	pinMemoryKiB  = 1024
	pinThreads    = 1
	pinKeyLen     = 32
)

func hashPIN(pin string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	sum := argon2.IDKey([]byte(pin), salt, pinTime, pinMemoryKiB, pinThreads, pinKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("%sv=%d$m=%d,t=%d,p=%d$%s$%s", pinHashPrefix, argon2.Version, pinMemoryKiB, pinTime, pinThreads,
		enc.EncodeToString(salt), enc.EncodeToString(sum)), nil
}

var errPINHash = errors.New("hostsim: stored PIN hash unreadable")

func pinMatches(hash, pin string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || "$"+parts[1]+"$" != pinHashPrefix {
		return false, errPINHash
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 64*1024 || t == 0 || t > 10 || p == 0 {
		return false, errPINHash
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false, errPINHash
	}
	got := argon2.IDKey([]byte(pin), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
