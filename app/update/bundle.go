package update

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ulikunitz/xz"

	"github.com/shoukuan/pos/app/mutant"
)

// Format is the bundle format this code writes and reads.
const Format = 1

// The payload is xz, not gzip: a linux/arm pos of 16 MB is 6.7 MB with
// gzip -9 and 5.9 MB with this xz, what a terminal on a slow mobile link
// downloads. The dictionary is what the decoder holds in memory; beyond
// 4 MiB it gains nothing on pos.
const (
	maxDict = 4 << 20
	minDict = 4096
	// MaxPayload bounds the compressed payload, which is held in memory
	// until its hash is checked.
	MaxPayload = 64 << 20
)

// Names and limits of the bundle's members, in the order they must come.
const (
	ManifestName  = "manifest.json"
	SignatureName = "manifest.sig"
	PayloadName   = "payload.xz"

	maxManifest = 64 << 10
	// MaxInstalled bounds what a payload may expand to, whatever its
	// manifest says: a terminal's data partition is small.
	MaxInstalled = 256 << 20
)

// Manifest describes a bundle; it is signed, and everything in it is
// known before the payload streams in.
type Manifest struct {
	Format     int      `json:"format"`
	Product    string   `json:"product"`
	Version    string   `json:"version"`
	MinVersion string   `json:"min_version,omitempty"` // oldest running version it may replace
	Floor      string   `json:"floor,omitempty"`       // version floor adopted once it is good
	Boards     []string `json:"boards"`
	Arch       []string `json:"arch"` // GOOS/GOARCH
	KeyID      string   `json:"key_id"`
	Created    string   `json:"created"` // RFC 3339
	Notes      string   `json:"notes,omitempty"`
	Payload    Payload  `json:"payload"`
}

// Payload is the compressed program: its size and hash as stored in the
// bundle, and once decompressed, as installed.
type Payload struct {
	Name            string `json:"name"`
	Size            int64  `json:"size"`
	SHA256          string `json:"sha256"`
	InstalledSize   int64  `json:"installed_size"`
	InstalledSHA256 string `json:"installed_sha256"`
}

// Create writes a bundle of payload signed with key. It fills in the
// payload's sizes and hashes and the key ID, and returns the manifest as
// signed. The same inputs give the same bytes: tar times are Created,
// xz carries no name or time.
func Create(w io.Writer, m Manifest, payload io.Reader, key ed25519.PrivateKey) (Manifest, error) {
	if m.Format == 0 {
		m.Format = Format
	}
	if m.Payload.Name == "" {
		m.Payload.Name = "pos"
	}
	created, err := time.Parse(time.RFC3339, m.Created)
	if err != nil {
		return m, fmt.Errorf("created %q: %w", m.Created, err)
	}
	if _, err := ParseVersion(m.Version); err != nil {
		return m, err
	}
	raw, err := io.ReadAll(io.LimitReader(payload, MaxInstalled+1))
	if err != nil {
		return m, err
	}
	if len(raw) > MaxInstalled {
		return m, fmt.Errorf("payload larger than %d bytes", MaxInstalled)
	}
	var gz bytes.Buffer
	zw, err := xz.WriterConfig{DictCap: min(max(len(raw), minDict), maxDict)}.NewWriter(&gz)
	if err != nil {
		return m, err
	}
	zw.Write(raw)
	if err := zw.Close(); err != nil {
		return m, err
	}
	inst := sha256.Sum256(raw)
	comp := sha256.Sum256(gz.Bytes())
	m.Payload.InstalledSize, m.Payload.InstalledSHA256 = int64(len(raw)), hex.EncodeToString(inst[:])
	m.Payload.Size, m.Payload.SHA256 = int64(gz.Len()), hex.EncodeToString(comp[:])
	m.KeyID = KeyID(key.Public().(ed25519.PublicKey))
	if err := m.check(); err != nil {
		return m, err
	}
	mj, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	mj = append(mj, '\n')
	if len(mj) > maxManifest {
		return m, fmt.Errorf("manifest of %d bytes: at most %d (shorten the notes)", len(mj), maxManifest)
	}
	sig := ed25519.Sign(key, mj)
	tw := tar.NewWriter(w)
	for _, e := range []struct {
		name string
		data []byte
	}{{ManifestName, mj}, {SignatureName, sig}, {PayloadName, gz.Bytes()}} {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: e.name, Size: int64(len(e.data)), Mode: 0o644,
			ModTime: created, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			return m, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return m, err
		}
	}
	return m, tw.Close()
}

// check is what any well-formed manifest satisfies, whoever reads it.
func (m *Manifest) check() error {
	bad := func(f string, a ...any) error { return refuse(BadManifest, fmt.Sprintf(f, a...)) }
	switch {
	case m.Format != Format:
		return bad("format %d, this terminal reads format %d", m.Format, Format)
	case m.Product == "":
		return bad("no product")
	case len(m.Boards) == 0:
		return bad("no boards")
	case len(m.Arch) == 0:
		return bad("no architectures")
	case m.Payload.Name != "pos":
		return bad("payload %q, want pos", m.Payload.Name)
	case m.Payload.Size <= 0 || m.Payload.Size > MaxPayload || m.Payload.InstalledSize <= 0 || m.Payload.InstalledSize > MaxInstalled:
		return bad("payload sizes %d/%d", m.Payload.Size, m.Payload.InstalledSize)
	case !isHash(m.Payload.SHA256) || !isHash(m.Payload.InstalledSHA256):
		return bad("payload hashes are not SHA-256 hex")
	}
	if _, err := time.Parse(time.RFC3339, m.Created); err != nil {
		return bad("created %q is not RFC 3339", m.Created)
	}
	for name, v := range map[string]string{"version": m.Version, "min_version": m.MinVersion, "floor": m.Floor} {
		if v == "" && name != "version" {
			continue
		}
		if _, err := ParseVersion(v); err != nil {
			return bad("%s: %v", name, err)
		}
	}
	return nil
}

func isHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && s == strings.ToLower(s)
}

// Policy is what a terminal accepts: its product, board and platform,
// the version it runs, its version floor, and the keys it trusts.
type Policy struct {
	Product, Board, Arch string
	Running, Floor       Version
	Keyring              *Keyring
}

// Bundle is a bundle whose manifest is verified and accepted; its payload
// is checked as it is read.
type Bundle struct {
	m  Manifest
	tr *tar.Reader
	pr *payloadReader
}

func (b *Bundle) Manifest() Manifest { return b.m }

// Payload is the decompressed program. It fails rather than give the
// last bytes when the payload is not exactly what the manifest signs.
func (b *Bundle) Payload() io.Reader { return b.pr }

// ReadManifest reads a bundle's manifest and signature without checking
// them: for showing what a bundle claims to be.
func ReadManifest(r io.Reader) (Manifest, []byte, error) {
	var m Manifest
	_, mj, sig, err := readHead(r)
	if err != nil {
		return m, nil, err
	}
	if err := json.Unmarshal(mj, &m); err != nil {
		return m, nil, refuse(BadManifest, err.Error())
	}
	return m, sig, nil
}

func readHead(r io.Reader) (*tar.Reader, []byte, []byte, error) {
	tr := tar.NewReader(r)
	hdr, err := tr.Next()
	if err != nil || hdr.Name != ManifestName || hdr.Typeflag != tar.TypeReg {
		return nil, nil, nil, refuse(NotABundle, "it does not begin with "+ManifestName)
	}
	if hdr.Size > maxManifest {
		return nil, nil, nil, refuse(BadManifest, fmt.Sprintf("manifest of %d bytes", hdr.Size))
	}
	mj, err := io.ReadAll(tr)
	if err != nil {
		return nil, nil, nil, truncated(err, "manifest")
	}
	hdr, err = tr.Next()
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, nil, nil, truncated(err, "signature")
	}
	if err != nil || hdr.Name != SignatureName || hdr.Typeflag != tar.TypeReg {
		return nil, nil, nil, refuse(NoSignature, "no "+SignatureName+" after the manifest")
	}
	if hdr.Size != ed25519.SignatureSize {
		return nil, nil, nil, refuse(BadSignature, fmt.Sprintf("signature of %d bytes, want %d", hdr.Size, ed25519.SignatureSize))
	}
	sig, err := io.ReadAll(tr)
	if err != nil {
		return nil, nil, nil, truncated(err, "signature")
	}
	return tr, mj, sig, nil
}

func truncated(err error, what string) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return refuse(Truncated, "the file ends inside the "+what)
	}
	return refuse(Corrupt, what+": "+err.Error())
}

// Open reads and checks a bundle's manifest against p, in this order:
// the signature by a trusted key, then product, board, architecture and
// versions. The payload is not read yet.
func Open(r io.Reader, p Policy) (*Bundle, error) {
	tr, mj, sig, err := readHead(r)
	if err != nil {
		return nil, err
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(mj))
	if err := dec.Decode(&m); err != nil {
		return nil, refuse(BadManifest, err.Error())
	}
	if p.Keyring == nil {
		return nil, refuse(UnknownKey, "no keys trusted")
	}
	name, pub, ok := p.Keyring.Lookup(m.KeyID)
	if !ok {
		return nil, refuse(UnknownKey, fmt.Sprintf("signed by key %q, which this terminal does not trust", m.KeyID))
	}
	if !ed25519.Verify(pub, mj, sig) && !mutant.On("signature-unchecked") {
		return nil, refuse(BadSignature, "the manifest does not match its signature by key "+name)
	}
	// Signed from here on: what is wrong now is the publisher's mistake
	// or a bundle for someone else.
	if err := m.check(); err != nil {
		return nil, err
	}
	if err := p.accept(m); err != nil {
		return nil, err
	}
	hdr, err := tr.Next()
	if err != nil {
		return nil, truncated(err, "payload header")
	}
	if hdr.Name != PayloadName || hdr.Typeflag != tar.TypeReg {
		return nil, refuse(Corrupt, fmt.Sprintf("member %q where %s should be", hdr.Name, PayloadName))
	}
	if hdr.Size != m.Payload.Size {
		return nil, refuse(Corrupt, fmt.Sprintf("payload of %d bytes, the manifest says %d", hdr.Size, m.Payload.Size))
	}
	b := &Bundle{m: m, tr: tr}
	b.pr = &payloadReader{b: b, inst: sha256.New()}
	return b, nil
}

func (p Policy) accept(m Manifest) error {
	if m.Product != p.Product {
		return refuse(WrongProduct, fmt.Sprintf("a bundle of %q, this is %q", m.Product, p.Product))
	}
	if !slices.Contains(m.Boards, p.Board) {
		return refuse(WrongBoard, fmt.Sprintf("for boards %v, this is %s", m.Boards, p.Board))
	}
	if !slices.Contains(m.Arch, p.Arch) {
		return refuse(WrongArch, fmt.Sprintf("for %v, this is %s", m.Arch, p.Arch))
	}
	v, _ := ParseVersion(m.Version)
	if Less(v, p.Floor) && !mutant.On("floor-ignored") {
		return refuse(Downgrade, fmt.Sprintf("version %s is below this terminal's floor %s", v, p.Floor))
	}
	if Compare(v, p.Running) == 0 {
		return refuse(SameVersion, fmt.Sprintf("version %s is already running", v))
	}
	if m.MinVersion != "" {
		if min, _ := ParseVersion(m.MinVersion); Less(p.Running, min) {
			return refuse(TooNewForRunning, fmt.Sprintf("version %s replaces %s or later; install that first", v, min))
		}
	}
	return nil
}

// payloadReader checks the compressed payload against its signed size
// and SHA-256 before it decompresses a byte of it, so nothing unsigned
// ever reaches the decompressor or the slot. The read that would deliver
// the program's last byte first checks the program's own hash and that
// nothing follows.
type payloadReader struct {
	b    *Bundle
	zr   *xz.Reader
	inst hash.Hash
	n    int64
	done bool
	err  error
}

func (pr *payloadReader) Read(p []byte) (int, error) {
	if pr.err != nil {
		return 0, pr.err
	}
	n, err := pr.read(p)
	if err != nil {
		pr.err = err
		return 0, err
	}
	return n, nil
}

// open reads the compressed payload, checks it, and starts decompressing.
func (pr *payloadReader) open() error {
	m := pr.b.m.Payload
	comp := make([]byte, m.Size) // at most MaxPayload: the manifest is checked
	if n, err := io.ReadFull(pr.b.tr, comp); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return refuse(Truncated, fmt.Sprintf("the file ends %d bytes into the %d-byte payload", n, m.Size))
		}
		return refuse(Corrupt, "payload: "+err.Error())
	}
	sum := sha256.Sum256(comp)
	if got := hex.EncodeToString(sum[:]); got != m.SHA256 {
		return refuse(Corrupt, "the payload's SHA-256 is "+got+", signed "+m.SHA256)
	}
	// The reader takes the dictionary size from the signed stream.
	zr, err := xz.ReaderConfig{DictCap: minDict, SingleStream: true}.NewReader(bytes.NewReader(comp))
	if err != nil {
		return refuse(Corrupt, "payload: "+err.Error())
	}
	pr.zr = zr
	return nil
}

func (pr *payloadReader) read(p []byte) (int, error) {
	m := pr.b.m.Payload
	if pr.done {
		return 0, io.EOF
	}
	if pr.zr == nil {
		if err := pr.open(); err != nil {
			return 0, err
		}
	}
	if left := m.InstalledSize - pr.n; int64(len(p)) > left {
		p = p[:left]
	}
	if len(p) == 0 {
		return 0, pr.finish()
	}
	n, err := pr.zr.Read(p)
	pr.inst.Write(p[:n])
	pr.n += int64(n)
	if err == io.EOF && pr.n < m.InstalledSize {
		return 0, refuse(Corrupt, fmt.Sprintf("the program ends after %d of %d bytes", pr.n, m.InstalledSize))
	}
	if err != nil && err != io.EOF {
		return 0, refuse(Corrupt, "payload: "+err.Error())
	}
	if pr.n == m.InstalledSize {
		if err := pr.finish(); err != io.EOF {
			return 0, err
		}
	}
	return n, nil
}

// finish returns io.EOF when the program is exactly what was signed.
func (pr *payloadReader) finish() error {
	m := pr.b.m.Payload
	var one [1]byte
	if n, err := pr.zr.Read(one[:]); n > 0 {
		return refuse(Corrupt, "the program is longer than the manifest says")
	} else if err != io.EOF {
		return refuse(Corrupt, "payload: "+err.Error())
	}
	if got := hex.EncodeToString(pr.inst.Sum(nil)); got != m.InstalledSHA256 {
		return refuse(Corrupt, "the program's SHA-256 is "+got+", signed "+m.InstalledSHA256)
	}
	if hdr, err := pr.b.tr.Next(); err == nil {
		return refuse(Corrupt, fmt.Sprintf("member %q after the payload", hdr.Name))
	} else if err != io.EOF {
		return refuse(Corrupt, "after the payload: "+err.Error())
	}
	pr.done = true
	return io.EOF
}

// Verify reads a whole bundle as an install would, writing nothing.
func Verify(r io.Reader, p Policy) (Manifest, error) {
	b, err := Open(r, p)
	if err != nil {
		return Manifest{}, err
	}
	if _, err := io.Copy(io.Discard, b.Payload()); err != nil {
		return b.m, err
	}
	return b.m, nil
}
