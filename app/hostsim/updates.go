package hostsim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shoukuan/pos/app/update"
)

// UpdateServer is the acquirer's terminal management (TMS) software
// server: it offers the newest bundle in a directory that fits a
// terminal, and serves bundles with Range support for resumed downloads.
// It reads manifests without verifying them: the terminal does that.
//
//	GET /pos/v1/check?product=P&board=B&arch=OS/ARCH&version=V&terminal=TID
//	GET /pos/v1/bundles/NAME.bundle
type UpdateServer struct {
	dir string
	mu  sync.Mutex
	// reported is the version each terminal last said it runs.
	reported map[string]update.Version
	served   map[string]int // completed downloads by bundle name
	etags    map[string]etagEntry
}

type etagEntry struct {
	size int64
	mod  time.Time
	tag  string
}

// CheckReply is the answer to /pos/v1/check.
type CheckReply struct {
	Available bool   `json:"available"`
	Version   string `json:"version,omitempty"`
	Notes     string `json:"notes,omitempty"`
	Size      int64  `json:"size,omitempty"`
	URL       string `json:"url,omitempty"` // relative to the server
}

func NewUpdateServer(dir string) *UpdateServer {
	return &UpdateServer{dir: dir, reported: map[string]update.Version{}, served: map[string]int{}, etags: map[string]etagEntry{}}
}

type offer struct {
	name string
	m    update.Manifest
	v    update.Version
	size int64
}

// bundles are the readable bundles of the directory, newest first.
func (s *UpdateServer) bundles() []offer {
	names, _ := filepath.Glob(filepath.Join(s.dir, "*.bundle"))
	var out []offer
	for _, n := range names {
		f, err := os.Open(n)
		if err != nil {
			continue
		}
		m, _, err := update.ReadManifest(f)
		st, serr := f.Stat()
		f.Close()
		if err != nil || serr != nil {
			continue
		}
		v, err := update.ParseVersion(m.Version)
		if err != nil {
			continue
		}
		out = append(out, offer{filepath.Base(n), m, v, st.Size()})
	}
	slices.SortFunc(out, func(a, b offer) int { return update.Compare(b.v, a.v) }) // newest first
	return out
}

func (s *UpdateServer) newest(product, board, arch string, running update.Version) (offer, bool) {
	for _, o := range s.bundles() {
		if o.m.Product != product || !slices.Contains(o.m.Boards, board) || !slices.Contains(o.m.Arch, arch) {
			continue
		}
		if !update.Less(running, o.v) {
			return offer{}, false
		}
		if o.m.MinVersion != "" {
			if min, err := update.ParseVersion(o.m.MinVersion); err == nil && update.Less(running, min) {
				continue // a stepping-stone release comes first
			}
		}
		return o, true
	}
	return offer{}, false
}

// TMSDownload is Options.TMSDownload: a terminal is asked to fetch
// software while there is a bundle newer than what it last reported, or
// when it has never asked.
func (s *UpdateServer) TMSDownload(terminalID string) bool {
	all := s.bundles()
	if len(all) == 0 {
		return false
	}
	s.mu.Lock()
	v, ok := s.reported[terminalID]
	s.mu.Unlock()
	if !ok {
		return true
	}
	for _, o := range all {
		if update.Less(v, o.v) {
			return true
		}
	}
	return false
}

// Served is how many times the bundle was downloaded to its last byte.
func (s *UpdateServer) Served(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served[name]
}

func (s *UpdateServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
		return
	}
	switch {
	case r.URL.Path == "/pos/v1/check":
		s.check(w, r)
	case strings.HasPrefix(r.URL.Path, "/pos/v1/bundles/"):
		s.serveBundle(w, r, strings.TrimPrefix(r.URL.Path, "/pos/v1/bundles/"))
	default:
		http.NotFound(w, r)
	}
}

func (s *UpdateServer) check(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	running, err := update.ParseVersion(q.Get("version"))
	if err != nil {
		http.Error(w, "version: "+err.Error(), http.StatusBadRequest)
		return
	}
	if tid := q.Get("terminal"); tid != "" {
		s.mu.Lock()
		s.reported[tid] = running
		s.mu.Unlock()
	}
	var reply CheckReply
	if o, ok := s.newest(q.Get("product"), q.Get("board"), q.Get("arch"), running); ok {
		reply = CheckReply{Available: true, Version: o.m.Version, Notes: o.m.Notes, Size: o.size, URL: "/pos/v1/bundles/" + o.name}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(reply)
}

func (s *UpdateServer) serveBundle(w http.ResponseWriter, r *http.Request, name string) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".bundle") {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(filepath.Join(s.dir, name))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	tag, err := s.etag(name, f, st)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("ETag", tag)
	w.Header().Set("Content-Type", "application/octet-stream")
	cw := &countingWriter{ResponseWriter: w}
	http.ServeContent(cw, r, name, st.ModTime(), f)
	// A response that ends the file completes a download, whole or resumed.
	if start, ok := rangeStart(cw.Header().Get("Content-Range"), cw.status); ok && start+cw.n == st.Size() && r.Method == http.MethodGet {
		s.mu.Lock()
		s.served[name]++
		s.mu.Unlock()
	}
}

// etag is a strong validator from the content, so a replaced bundle of
// the same size never resumes into the old one.
func (s *UpdateServer) etag(name string, f *os.File, st os.FileInfo) (string, error) {
	s.mu.Lock()
	e, ok := s.etags[name]
	s.mu.Unlock()
	if ok && e.size == st.Size() && e.mod.Equal(st.ModTime()) {
		return e.tag, nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	tag := `"` + hex.EncodeToString(h.Sum(nil)[:12]) + `"`
	s.mu.Lock()
	s.etags[name] = etagEntry{st.Size(), st.ModTime(), tag}
	s.mu.Unlock()
	return tag, nil
}

func rangeStart(contentRange string, status int) (int64, bool) {
	switch status {
	case http.StatusOK, 0:
		return 0, true
	case http.StatusPartialContent:
		var start, end, size int64
		if n, _ := fmt.Sscanf(contentRange, "bytes %d-%d/%d", &start, &end, &size); n == 3 {
			return start, true
		}
	}
	return 0, false
}

type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (c *countingWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}
