package update

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"io"
	"testing"
)

// FuzzOpen: whatever the bytes, a bundle is refused with a reason or
// gives exactly the signed program; it never panics or gives other bytes.
func FuzzOpen(f *testing.F) {
	seed := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	fx := &fixture{priv: seed, pub: seed.Public().(ed25519.PublicKey), program: testProgram(3000)}
	good, _ := fx.make(f, baseManifest())
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(good[:1536])
	f.Add([]byte{})
	f.Add([]byte("manifest.json"))
	p := fx.policy()
	f.Fuzz(func(t *testing.T, b []byte) {
		bd, err := Open(bytes.NewReader(b), p)
		if err != nil {
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("Open: %v is not a refusal", err)
			}
			return
		}
		out, err := io.ReadAll(bd.Payload())
		if err != nil {
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("payload: %v is not a refusal", err)
			}
			return
		}
		if !bytes.Equal(out, fx.program) {
			t.Fatal("accepted a program that was not signed")
		}
	})
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"1.2.3", "v0.0.0-dev+abc123", "1.0.0-rc.1", "01.2.3", "1.2", "1.2.3-", "1.2.3+a..b", "18446744073709551615.0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err != nil {
			return
		}
		w, err := ParseVersion(v.String())
		if err != nil {
			t.Fatalf("%q parsed to %q, which does not parse: %v", s, v, err)
		}
		if Compare(v, w) != 0 || v.String() != w.String() {
			t.Fatalf("%q: %q then %q", s, v, w)
		}
	})
}

// FuzzContentRange: a server's Content-Range never gives a negative size
// or a start past it.
func FuzzContentRange(f *testing.F) {
	for _, s := range []string{"bytes 0-99/100", "bytes */100", "bytes 50-99/100", "bytes 5-/9", "bytes -1-2/3", "items 0-1/2", "bytes 1-2/-3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		start, size, ok := contentRange(s)
		if ok && (size < 0 || start < -1) {
			t.Fatalf("%q: start %d size %d", s, start, size)
		}
	})
}
