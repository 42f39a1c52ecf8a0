package update

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

type fixture struct {
	priv    ed25519.PrivateKey
	pub     ed25519.PublicKey
	program []byte
	bundle  []byte
	m       Manifest
}

// program is incompressible enough to give the payload some size.
func testProgram(n int) []byte {
	b := make([]byte, n)
	r := mrand.New(mrand.NewPCG(1, 2))
	for i := range b {
		if i%3 == 0 {
			b[i] = byte(r.Uint32())
		} else {
			b[i] = byte(i)
		}
	}
	return b
}

func baseManifest() Manifest {
	return Manifest{Product: "shoukuan-pos", Version: "1.2.0", Boards: []string{"sim", "rpi4-pos"},
		Arch: []string{"linux/amd64", "linux/arm"}, Created: "2026-12-01T08:00:00Z", Notes: "修复打印\n"}
}

func newFixture(t testing.TB, m Manifest) *fixture {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{priv: priv, pub: pub, program: testProgram(200 << 10)}
	f.bundle, f.m = f.make(t, m)
	return f
}

func (f *fixture) make(t testing.TB, m Manifest) ([]byte, Manifest) {
	t.Helper()
	var buf bytes.Buffer
	m, err := Create(&buf, m, bytes.NewReader(f.program), f.priv)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), m
}

func (f *fixture) policy() Policy {
	kr := NewKeyring()
	kr.Add("test", f.pub)
	return Policy{Product: "shoukuan-pos", Board: "sim", Arch: "linux/amd64",
		Running: mustVersion("1.1.0"), Floor: mustVersion("1.0.0"), Keyring: kr}
}

func mustVersion(s string) Version {
	v, err := ParseVersion(s)
	if err != nil {
		panic(err)
	}
	return v
}

// install is what a terminal does with an accepted bundle.
func install(b []byte, p Policy) ([]byte, Manifest, error) {
	bd, err := Open(bytes.NewReader(b), p)
	if err != nil {
		return nil, Manifest{}, err
	}
	out, err := io.ReadAll(bd.Payload())
	return out, bd.Manifest(), err
}

func TestRoundTrip(t *testing.T) {
	f := newFixture(t, baseManifest())
	got, m, err := install(f.bundle, f.policy())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, f.program) {
		t.Fatal("installed program differs from the one bundled")
	}
	sum := sha256.Sum256(f.program)
	if m.Payload.InstalledSHA256 != hex.EncodeToString(sum[:]) || m.Payload.InstalledSize != int64(len(f.program)) {
		t.Errorf("manifest payload %+v", m.Payload)
	}
	if m.KeyID != KeyID(f.pub) || m.Notes != "修复打印\n" || m.Format != Format {
		t.Errorf("manifest %+v", m)
	}
	if _, err := Verify(bytes.NewReader(f.bundle), f.policy()); err != nil {
		t.Fatal(err)
	}
	// The manifest comes first, readable without the payload.
	rm, sig, err := ReadManifest(bytes.NewReader(f.bundle[:4096]))
	if err != nil || rm.Version != "1.2.0" || len(sig) != ed25519.SignatureSize {
		t.Fatalf("ReadManifest of the first 4 KiB: %+v %v", rm, err)
	}
}

func TestReproducible(t *testing.T) {
	f := newFixture(t, baseManifest())
	again, _ := f.make(t, baseManifest())
	if !bytes.Equal(again, f.bundle) {
		t.Fatal("the same inputs gave different bundles")
	}
}

func refusedAs(t *testing.T, err error, want Reason) {
	t.Helper()
	var re *RefusedError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want a refusal for %s", err, want)
	}
	if re.Reason != want {
		t.Fatalf("refused for %s (%v), want %s", re.Reason, err, want)
	}
	if !errors.Is(err, ErrRefused) || re.Chinese() == "" || re.Reason.String() == "unknown" {
		t.Fatalf("refusal %v does not say why in every form", err)
	}
}

func TestRefusals(t *testing.T) {
	f := newFixture(t, baseManifest())
	other := newFixture(t, baseManifest())
	evil := &fixture{priv: f.priv, pub: f.pub, program: bytes.Clone(f.program)}
	evil.program[1000] ^= 0xff
	evilBundle, _ := evil.make(t, baseManifest())
	sign := func(m Manifest) []byte { b, _ := f.make(t, m); return b }
	withM := func(edit func(*Manifest)) []byte { m := baseManifest(); edit(&m); return sign(m) }
	pol := f.policy()
	cases := []struct {
		name   string
		bundle []byte
		policy func(*Policy)
		want   Reason
	}{
		{"unknown key", other.bundle, nil, UnknownKey},
		{"no keys at all", f.bundle, func(p *Policy) { p.Keyring = NewKeyring() }, UnknownKey},
		{"another product", withM(func(m *Manifest) { m.Product = "other-pos" }), nil, WrongProduct},
		{"another board", withM(func(m *Manifest) { m.Boards = []string{"rpi4-pos"} }), nil, WrongBoard},
		{"another architecture", withM(func(m *Manifest) { m.Arch = []string{"linux/arm"} }), nil, WrongArch},
		{"below the floor", withM(func(m *Manifest) { m.Version = "0.9.9" }), nil, Downgrade},
		{"pre-release of the floor", withM(func(m *Manifest) { m.Version = "1.0.0-rc.1" }), nil, Downgrade},
		{"the running version", withM(func(m *Manifest) { m.Version = "1.1.0" }), nil, SameVersion},
		{"needs a newer running version", withM(func(m *Manifest) { m.MinVersion = "1.1.5" }), nil, TooNewForRunning},
		{"not a tar", []byte("#!/bin/sh\necho hello\n"), nil, NotABundle},
		{"empty", nil, nil, NotABundle},
		{"truncated in the payload", f.bundle[:len(f.bundle)/2], nil, Truncated},
		{"truncated in the manifest", f.bundle[:600], nil, Truncated},
		{"manifest only", tarOf(t, map[string][]byte{ManifestName: []byte("{}")}), nil, NoSignature},
		{"signature of the wrong size", tarOf(t, map[string][]byte{ManifestName: []byte("{}"), SignatureName: []byte("x")}), nil, BadSignature},
		{"tampered manifest", tamperManifest(t, f.bundle, func(m *Manifest) { m.Boards = append(m.Boards, "evil") }), nil, BadSignature},
		{"payload swapped", swapPayload(t, f.bundle, evilBundle), nil, Corrupt},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := pol
			if c.policy != nil {
				c.policy(&p)
			}
			_, _, err := install(c.bundle, p)
			refusedAs(t, err, c.want)
			_, err = Verify(bytes.NewReader(c.bundle), p)
			refusedAs(t, err, c.want)
		})
	}
	// An older version above the floor is allowed: the floor is the
	// anti-downgrade line, not the running version.
	if _, _, err := install(withM(func(m *Manifest) { m.Version = "1.0.5" }), pol); err != nil {
		t.Errorf("1.0.5 above floor 1.0.0: %v", err)
	}
}

// tarOf writes members in a fixed order: manifest, signature, payload.
func tarOf(t *testing.T, members map[string][]byte) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range []string{ManifestName, SignatureName, PayloadName} {
		data, ok := members[name]
		if !ok {
			continue
		}
		tw.WriteHeader(&tar.Header{Name: name, Size: int64(len(data)), Mode: 0o644, Typeflag: tar.TypeReg})
		tw.Write(data)
	}
	tw.Close()
	return buf.Bytes()
}

func members(t *testing.T, b []byte) map[string][]byte {
	out := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name], _ = io.ReadAll(tr)
	}
}

func tamperManifest(t *testing.T, b []byte, edit func(*Manifest)) []byte {
	ms := members(t, b)
	var m Manifest
	json.Unmarshal(ms[ManifestName], &m)
	edit(&m)
	ms[ManifestName], _ = json.MarshalIndent(m, "", "  ")
	return tarOf(t, ms)
}

// swapPayload keeps a's signed manifest with b's payload (same size).
func swapPayload(t *testing.T, a, b []byte) []byte {
	ma, mb := members(t, a), members(t, b)
	p := mb[PayloadName]
	if len(p) != len(ma[PayloadName]) {
		p = p[:min(len(p), len(ma[PayloadName]))]
		for len(p) < len(ma[PayloadName]) {
			p = append(p, 0)
		}
	}
	ma[PayloadName] = p
	return tarOf(t, ma)
}

// TestCorruptionAnywhere flips bytes at every region of a bundle: every
// damaged copy is refused, or (in tar padding and header fields the
// format ignores) installs exactly the signed program. Nothing else.
func TestCorruptionAnywhere(t *testing.T) {
	f := newFixture(t, baseManifest())
	f.program = testProgram(6 << 10)
	f.bundle, f.m = f.make(t, baseManifest())
	p := f.policy()
	step := 1
	if testing.Short() {
		step = 7
	}
	refused, harmless := 0, 0
	r := mrand.New(mrand.NewPCG(3, 4))
	for i := 0; i < len(f.bundle); i += step {
		bad := bytes.Clone(f.bundle)
		bad[i] ^= byte(1 + r.IntN(255))
		got, _, err := install(bad, p)
		switch {
		case err != nil:
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("byte %d: %v is not a refusal", i, err)
			}
			refused++
		case bytes.Equal(got, f.program):
			harmless++
		default:
			t.Fatalf("byte %d corrupted: a different program was accepted", i)
		}
	}
	// Random multi-byte damage and truncation at random lengths.
	for n := 0; n < 300; n++ {
		bad := bytes.Clone(f.bundle)
		for k := 0; k <= r.IntN(8); k++ {
			bad[r.IntN(len(bad))] = byte(r.Uint32())
		}
		if n%3 == 0 {
			bad = bad[:r.IntN(len(bad))]
		}
		got, _, err := install(bad, p)
		if err == nil && !bytes.Equal(got, f.program) {
			t.Fatalf("random damage %d: a different program was accepted", n)
		}
		if err != nil && !errors.Is(err, ErrRefused) {
			t.Fatalf("random damage %d: %v is not a refusal", n, err)
		}
	}
	t.Logf("%d-byte bundle: %d corrupted copies refused, %d harmless (padding/ignored header bytes)", len(f.bundle), refused, harmless)
	if refused == 0 {
		t.Fatal("nothing refused")
	}
}

// TestStockToolsVerify checks the format against independent tools: tar
// lists it, openssl verifies the signature with the PEM public key, and
// sha256sum of the decompressed payload is the signed installed hash.
func TestStockToolsVerify(t *testing.T) {
	for _, tool := range []string{"openssl", "tar", "xz"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	dir := t.TempDir()
	priv, pub := filepath.Join(dir, "release.pem"), filepath.Join(dir, "release.pub")
	id, err := GenerateKeyFiles(priv, pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateKeyFiles(priv, pub); err == nil {
		t.Fatal("keygen overwrote an existing key")
	}
	if st, _ := os.Stat(priv); st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v", st.Mode().Perm())
	}
	key, err := LoadPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	m, err := Create(&buf, baseManifest(), bytes.NewReader(testProgram(50<<10)), key)
	if err != nil {
		t.Fatal(err)
	}
	if m.KeyID != id {
		t.Errorf("key id %s, keygen said %s", m.KeyID, id)
	}
	bundle := filepath.Join(dir, "pos.bundle")
	os.WriteFile(bundle, buf.Bytes(), 0o644)
	run := func(name string, args ...string) string {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	if got := run("tar", "tf", "pos.bundle"); got != "manifest.json\nmanifest.sig\npayload.xz\n" {
		t.Fatalf("tar tf: %q", got)
	}
	run("tar", "xf", "pos.bundle")
	out := run("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "release.pub", "-rawin", "-in", "manifest.json", "-sigfile", "manifest.sig")
	if !strings.Contains(out, "Signature Verified Successfully") {
		t.Fatalf("openssl: %s", out)
	}
	// openssl also signs with the PEM private key: the same signature,
	// Ed25519 being deterministic.
	run("openssl", "pkeyutl", "-sign", "-inkey", "release.pem", "-rawin", "-in", "manifest.json", "-out", "openssl.sig")
	a, _ := os.ReadFile(filepath.Join(dir, "manifest.sig"))
	b, _ := os.ReadFile(filepath.Join(dir, "openssl.sig"))
	if !bytes.Equal(a, b) {
		t.Error("openssl's signature of the manifest differs from ours")
	}
	os.WriteFile(filepath.Join(dir, "manifest.json"), append([]byte(" "), mustRead(t, filepath.Join(dir, "manifest.json"))...), 0o644)
	cmd := exec.Command("openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "release.pub", "-rawin", "-in", "manifest.json", "-sigfile", "manifest.sig")
	cmd.Dir = dir
	if err := cmd.Run(); err == nil {
		t.Error("openssl verified a changed manifest")
	}
	sum := strings.Fields(run("sh", "-c", "xz -dc payload.xz | sha256sum"))[0]
	if sum != m.Payload.InstalledSHA256 {
		t.Errorf("sha256sum of the program %s, manifest %s", sum, m.Payload.InstalledSHA256)
	}
	if sum := strings.Fields(run("sha256sum", "payload.xz"))[0]; sum != m.Payload.SHA256 {
		t.Errorf("sha256sum of payload.xz %s, manifest %s", sum, m.Payload.SHA256)
	}
	// A key openssl made is one we read.
	run("openssl", "genpkey", "-algorithm", "ed25519", "-out", "ossl.pem")
	run("openssl", "pkey", "-in", "ossl.pem", "-pubout", "-out", "ossl.pub")
	if _, err := LoadPrivateKey(filepath.Join(dir, "ossl.pem")); err != nil {
		t.Error(err)
	}
	if _, err := LoadPublicKey(filepath.Join(dir, "ossl.pub")); err != nil {
		t.Error(err)
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReleaseKeyring(t *testing.T) {
	kr, err := ReleaseKeyring()
	if err != nil {
		t.Fatal(err)
	}
	if len(kr.Keys()) == 0 {
		t.Fatal("no release keys built in")
	}
}

func TestFormatProgress(t *testing.T) {
	got := FormatProgress(Progress{Done: 512 << 10, Total: 1 << 20, BytesPerSec: 256 << 10, Left: 2e9}, 10)
	if got != "[#####-----]  50%  256 kB/s  0:02 left" {
		t.Errorf("%q", got)
	}
	if got := FormatProgress(Progress{Done: 3 << 20}, 10); got != "3.0 MB" {
		t.Errorf("%q", got)
	}
}

func BenchmarkVerify(b *testing.B) {
	f := newFixture(b, baseManifest())
	f.program = testProgram(4 << 20)
	f.bundle, _ = f.make(b, baseManifest())
	p := f.policy()
	b.SetBytes(int64(len(f.program)))
	for b.Loop() {
		if _, err := Verify(bytes.NewReader(f.bundle), p); err != nil {
			b.Fatal(err)
		}
	}
}
