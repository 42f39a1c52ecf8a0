package update

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// server serves a bundle with an ETag, honouring Range, and can cut the
// connection after a number of bytes, as a lost network does.
type server struct {
	mu       sync.Mutex
	data     []byte
	etag     string
	cutAfter int64 // bytes per response; 0: whole
	noRange  bool  // ignores Range, as some proxies do
	requests []string
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data, etag, cut, noRange := s.data, s.etag, s.cutAfter, s.noRange
	s.requests = append(s.requests, r.Header.Get("Range"))
	s.mu.Unlock()
	w.Header().Set("ETag", etag)
	if noRange {
		r.Header.Del("Range")
	}
	if cut > 0 {
		hj := &cutWriter{ResponseWriter: w, left: cut}
		http.ServeContent(hj, r, "pos.bundle", time.Time{}, bytes.NewReader(data))
		if hj.cut {
			panic(http.ErrAbortHandler) // drop the connection mid-body
		}
		return
	}
	http.ServeContent(w, r, "pos.bundle", time.Time{}, bytes.NewReader(data))
}

type cutWriter struct {
	http.ResponseWriter
	left int64
	cut  bool
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		p = p[:c.left]
		c.cut = true
	}
	n, err := c.ResponseWriter.Write(p)
	c.left -= int64(n)
	if c.cut {
		c.ResponseWriter.(http.Flusher).Flush()
		return n, errors.New("cut")
	}
	return n, err
}

func quick() DownloadOptions {
	return DownloadOptions{Attempts: 40, Backoff: time.Millisecond}
}

func TestDownloadResumesAfterCuts(t *testing.T) {
	f := newFixture(t, baseManifest())
	s := &server{data: f.bundle, etag: `"v1"`, cutAfter: int64(len(f.bundle) / 7)}
	ts := httptest.NewServer(s)
	defer ts.Close()
	dest := filepath.Join(t.TempDir(), "pos.bundle")
	o := quick()
	o.NewCheck = func() *StreamCheck { return NewStreamCheck(f.policy()) }
	var last Progress
	o.Progress = func(p Progress) { last = p }
	if err := Download(context.Background(), ts.Client(), ts.URL+"/pos.bundle", dest, o); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(dest)
	if !bytes.Equal(got, f.bundle) {
		t.Fatal("downloaded bundle differs")
	}
	if last.Done != int64(len(f.bundle)) || last.Total != int64(len(f.bundle)) {
		t.Errorf("last progress %+v", last)
	}
	ranges := 0
	for _, r := range s.requests {
		if strings.HasPrefix(r, "bytes=") {
			ranges++
		}
	}
	if len(s.requests) < 7 || ranges != len(s.requests)-1 {
		t.Errorf("requests %q: want one full GET and the rest resumed", s.requests)
	}
	if _, err := os.Stat(dest + ".part"); !os.IsNotExist(err) {
		t.Error("the .part file is left behind")
	}
}

func TestDownloadStartsOverWhenTheFileChanged(t *testing.T) {
	f := newFixture(t, baseManifest())
	g := newFixture(t, baseManifest()) // another key: a different file
	dest := filepath.Join(t.TempDir(), "pos.bundle")
	// A half download of f, then the server has g.
	os.WriteFile(dest+".part", f.bundle[:len(f.bundle)/2], 0o600)
	os.WriteFile(dest+".part.etag", []byte(`"f"`), 0o600)
	s := &server{data: g.bundle, etag: `"g"`}
	ts := httptest.NewServer(s)
	defer ts.Close()
	if err := Download(context.Background(), ts.Client(), ts.URL+"/x.bundle", dest, quick()); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, g.bundle) {
		t.Fatal("a resumed download spliced two files")
	}
}

func TestDownloadServerIgnoresRange(t *testing.T) {
	f := newFixture(t, baseManifest())
	s := &server{data: f.bundle, etag: `"v1"`, noRange: true}
	ts := httptest.NewServer(s)
	defer ts.Close()
	dest := filepath.Join(t.TempDir(), "pos.bundle")
	os.WriteFile(dest+".part", f.bundle[:1000], 0o600)
	os.WriteFile(dest+".part.etag", []byte(`"v1"`), 0o600)
	o := quick()
	o.NewCheck = func() *StreamCheck { return NewStreamCheck(f.policy()) }
	if err := Download(context.Background(), ts.Client(), ts.URL+"/x.bundle", dest, o); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, f.bundle) {
		t.Fatal("a 200 answer to a Range request was appended")
	}
}

func TestDownloadAlreadyComplete(t *testing.T) {
	f := newFixture(t, baseManifest())
	s := &server{data: f.bundle, etag: `"v1"`}
	ts := httptest.NewServer(s)
	defer ts.Close()
	dest := filepath.Join(t.TempDir(), "pos.bundle")
	os.WriteFile(dest+".part", f.bundle, 0o600)
	os.WriteFile(dest+".part.etag", []byte(`"v1"`), 0o600)
	o := quick()
	o.NewCheck = func() *StreamCheck { return NewStreamCheck(f.policy()) }
	if err := Download(context.Background(), ts.Client(), ts.URL+"/x.bundle", dest, o); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, f.bundle) {
		t.Fatal("complete part not kept")
	}
}

// A bundle for another board stops after its manifest: the terminal does
// not spend its data plan on the rest.
func TestDownloadRefusedEarly(t *testing.T) {
	f := newFixture(t, baseManifest())
	m := baseManifest()
	m.Boards = []string{"rpi4-pos"}
	f.program = testProgram(3 << 20)
	big, _ := f.make(t, m)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(big)))
		w.Write(big)
	}))
	defer ts.Close()
	dest := filepath.Join(t.TempDir(), "pos.bundle")
	o := quick()
	o.NewCheck = func() *StreamCheck { return NewStreamCheck(f.policy()) }
	var read int64
	o.Progress = func(p Progress) { read = p.Done }
	err := Download(context.Background(), ts.Client(), ts.URL+"/x.bundle", dest, o)
	refusedAs(t, err, WrongBoard)
	for _, p := range []string{dest, dest + ".part", dest + ".part.etag"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left after a refusal", p)
		}
	}
	// What the kernel buffered is not read: the terminal stops at the
	// manifest, a few kilobytes in.
	if read > 256<<10 {
		t.Errorf("read %d of %d bytes of a refused bundle", read, len(big))
	}
}

func TestDownloadCorruptPayloadRefused(t *testing.T) {
	f := newFixture(t, baseManifest())
	bad := bytes.Clone(f.bundle)
	bad[len(bad)-2000] ^= 0x40
	ts := httptest.NewServer(&server{data: bad, etag: `"v1"`})
	defer ts.Close()
	dest := filepath.Join(t.TempDir(), "pos.bundle")
	o := quick()
	o.NewCheck = func() *StreamCheck { return NewStreamCheck(f.policy()) }
	err := Download(context.Background(), ts.Client(), ts.URL+"/x.bundle", dest, o)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(dest); !os.IsNotExist(err) {
		t.Error("a corrupt bundle was kept")
	}
}

func TestDownloadGivesUpAndKeepsThePart(t *testing.T) {
	f := newFixture(t, baseManifest())
	ts := httptest.NewServer(&server{data: f.bundle, etag: `"v1"`, cutAfter: 3000})
	defer ts.Close()
	dest := filepath.Join(t.TempDir(), "pos.bundle")
	o := DownloadOptions{Attempts: 2, Backoff: time.Millisecond}
	if err := Download(context.Background(), ts.Client(), ts.URL+"/x.bundle", dest, o); err == nil {
		t.Fatal("a download cut every 3000 bytes finished in 2 attempts")
	}
	if st, err := os.Stat(dest + ".part"); err != nil || st.Size() != 6000 {
		t.Fatalf("part kept: %v %v", st, err)
	}
	ts404 := httptest.NewServer(http.NotFoundHandler())
	defer ts404.Close()
	start := time.Now()
	if err := Download(context.Background(), ts404.Client(), ts404.URL+"/x.bundle", dest+"2", DownloadOptions{Backoff: time.Second}); err == nil || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("404: %v after %v (not retried)", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Download(ctx, ts.Client(), ts.URL+"/x.bundle", dest, quick()); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// A link that hangs mid-body is given up after Idle and resumed.
func TestDownloadStalledLinkResumes(t *testing.T) {
	f := newFixture(t, baseManifest())
	var calls int
	var mu sync.Mutex
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		w.Header().Set("ETag", `"v1"`)
		if first {
			w.Header().Set("Content-Length", strconv.Itoa(len(f.bundle)))
			w.Write(f.bundle[:5000])
			w.(http.Flusher).Flush()
			<-r.Context().Done() // hangs until the client gives up
			return
		}
		http.ServeContent(w, r, "x.bundle", time.Time{}, bytes.NewReader(f.bundle))
	}))
	defer ts.Close()
	dest := filepath.Join(t.TempDir(), "pos.bundle")
	o := quick()
	o.Idle = 200 * time.Millisecond
	o.NewCheck = func() *StreamCheck { return NewStreamCheck(f.policy()) }
	if err := Download(context.Background(), ts.Client(), ts.URL+"/x.bundle", dest, o); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dest); !bytes.Equal(got, f.bundle) || calls != 2 {
		t.Fatalf("after a stall: %d requests, bundle equal %v", calls, bytes.Equal(got, f.bundle))
	}
}
