package operator

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argonParams are the argon2id cost parameters of one hash.
type argonParams struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	keyLen  uint32
}

// productionParams are the OWASP minimum for argon2id (19 MiB, 2 passes,
// 1 lane): affordable on a terminal's ARM core, and a 4-digit PIN is only
// worth protecting against offline guessing at all because of the cost.
var productionParams = argonParams{memory: 19456, time: 2, threads: 1, keyLen: 32}

// hashParams are used for new hashes and for the dummy verify. Tests
// lower them; stored hashes carry their own parameters, so existing
// hashes keep verifying when these change.
var hashParams = productionParams

// idKey is argon2.IDKey; a variable so tests can count hash computations.
var idKey = argon2.IDKey

const saltLen = 16

// Bounds on parameters read back from the database, so a tampered hash
// cannot make us allocate gigabytes or panic inside argon2.
const (
	maxMemory  = 256 * 1024 // KiB
	maxTime    = 32
	maxThreads = 16
	minSalt    = 8
	maxSalt    = 64
	minKey     = 16
	maxKey     = 64
)

// ErrBadHash means the stored hash is not a well-formed argon2id string.
// The password cannot be checked; the supervisor can reset it.
var ErrBadHash = errors.New("operator: stored password hash is malformed")

var b64 = base64.RawStdEncoding.Strict()

// hashPassword returns pw hashed with hashParams and a fresh salt in PHC
// form: $argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>.
func hashPassword(pw string) string {
	p := hashParams
	salt := make([]byte, saltLen)
	rand.Read(salt) // never fails: since Go 1.24 it crashes instead
	key := idKey([]byte(pw), salt, p.time, p.memory, p.threads, p.keyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.memory, p.time, p.threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// verifyPassword reports whether pw matches encoded, using the parameters
// recorded in encoded.
func verifyPassword(pw, encoded string) (bool, error) {
	p, salt, key, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	got := idKey([]byte(pw), salt, p.time, p.memory, p.threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// dummySalt feeds dummyVerify; its value does not matter.
var dummySalt = make([]byte, saltLen)

// dummyVerify costs what verifying against a current hash costs, so an
// unknown operator number answers no faster than a known one.
func dummyVerify(pw string) {
	p := hashParams
	got := idKey([]byte(pw), dummySalt, p.time, p.memory, p.threads, p.keyLen)
	subtle.ConstantTimeCompare(got, make([]byte, len(got)))
}

func parseHash(s string) (p argonParams, salt, key []byte, err error) {
	bad := func(why string) (argonParams, []byte, []byte, error) {
		return argonParams{}, nil, nil, fmt.Errorf("%w: %s", ErrBadHash, why)
	}
	f := strings.Split(s, "$")
	if len(f) != 6 || f[0] != "" {
		return bad("wrong number of fields")
	}
	if f[1] != "argon2id" {
		return bad("not argon2id")
	}
	if f[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version")
	}
	kv := strings.Split(f[3], ",")
	if len(kv) != 3 {
		return bad("wrong parameter list")
	}
	num := func(field, name string, max uint64) (uint64, bool) {
		v, ok := strings.CutPrefix(field, name+"=")
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseUint(v, 10, 32)
		return n, err == nil && n >= 1 && n <= max
	}
	m, okM := num(kv[0], "m", maxMemory)
	t, okT := num(kv[1], "t", maxTime)
	th, okP := num(kv[2], "p", maxThreads)
	if !okM || !okT || !okP {
		return bad("parameter out of range")
	}
	if m < 8*th { // argon2 needs 8 KiB per lane
		return bad("memory too small for lanes")
	}
	salt, err = b64.DecodeString(f[4])
	if err != nil || len(salt) < minSalt || len(salt) > maxSalt {
		return bad("bad salt")
	}
	key, err = b64.DecodeString(f[5])
	if err != nil || len(key) < minKey || len(key) > maxKey {
		return bad("bad hash")
	}
	return argonParams{memory: uint32(m), time: uint32(t), threads: uint8(th), keyLen: uint32(len(key))}, salt, key, nil
}

// WeakReason says why a new password was refused.
type WeakReason int

const (
	WeakLength    WeakReason = iota + 1 // not PasswordLength(role) characters
	WeakNotDigits                       // contains something other than 0-9
	WeakSameAsOld                       // equals the current password
	WeakDefault                         // equals the role's factory default
	WeakRepeated                        // one digit repeated, like 000000
	WeakSequence                        // a straight run, like 123456 or 654321
)

func (r WeakReason) String() string {
	switch r {
	case WeakLength:
		return "wrong length"
	case WeakNotDigits:
		return "not all digits"
	case WeakSameAsOld:
		return "same as the old password"
	case WeakDefault:
		return "equals the default password"
	case WeakRepeated:
		return "all the same digit"
	case WeakSequence:
		return "a straight run of digits"
	}
	return "WeakReason(" + strconv.Itoa(int(r)) + ")"
}

// WeakPasswordError is returned for a new password that is refused;
// errors.Is(err, ErrWeakPassword) holds and Reason says why, so the UI can
// word the message in its own language.
type WeakPasswordError struct{ Reason WeakReason }

func (e *WeakPasswordError) Error() string {
	return ErrWeakPassword.Error() + ": " + e.Reason.String()
}

func (e *WeakPasswordError) Is(target error) bool { return target == ErrWeakPassword }

// checkNewPassword applies the rules for a new password. It looks only at
// its arguments, so it can run before the old password is verified.
func checkNewPassword(r Role, oldPw, newPw string) error {
	weak := func(why WeakReason) error { return &WeakPasswordError{Reason: why} }
	if len(newPw) != PasswordLength(r) {
		return weak(WeakLength)
	}
	for i := 0; i < len(newPw); i++ {
		if newPw[i] < '0' || newPw[i] > '9' {
			return weak(WeakNotDigits)
		}
	}
	if newPw == oldPw {
		return weak(WeakSameAsOld)
	}
	if newPw == defaultPassword(r) {
		return weak(WeakDefault)
	}
	same, up, down := true, true, true
	for i := 1; i < len(newPw); i++ {
		d := int(newPw[i]) - int(newPw[i-1])
		same = same && d == 0
		up = up && d == 1
		down = down && d == -1
	}
	switch {
	case same:
		return weak(WeakRepeated)
	case up || down: // no wrap-around: 890123 is allowed
		return weak(WeakSequence)
	}
	return nil
}
