package update

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// StreamCheck verifies a bundle as its bytes are written to it, so a
// download of a bundle the terminal would refuse stops after the
// manifest, and a corrupt payload is known the moment it ends.
type StreamCheck struct {
	pw   *io.PipeWriter
	done chan struct{}
	mu   sync.Mutex
	m    Manifest
	ok   bool
	err  error
}

// NewStreamCheck starts checking against p.
func NewStreamCheck(p Policy) *StreamCheck {
	pr, pw := io.Pipe()
	c := &StreamCheck{pw: pw, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		b, err := Open(pr, p)
		if err == nil {
			c.mu.Lock()
			c.m, c.ok = b.Manifest(), true
			c.mu.Unlock()
			_, err = io.Copy(io.Discard, b.Payload())
		}
		if err == nil {
			// Bytes after the tar's end are not the bundle's.
			_, err = io.Copy(io.Discard, pr)
		}
		c.err = err
		if err == nil {
			err = errors.New("bundle complete")
		}
		pr.CloseWithError(err)
	}()
	return c
}

// Write feeds the next bytes; it fails as soon as the bundle is refused.
func (c *StreamCheck) Write(p []byte) (int, error) {
	n, err := c.pw.Write(p)
	if err != nil {
		<-c.done
		if c.err != nil {
			return n, c.err
		}
	}
	return n, err
}

// Close ends the stream and gives the verdict on the whole bundle.
func (c *StreamCheck) Close() error {
	c.pw.Close()
	<-c.done
	return c.err
}

// Manifest is the accepted manifest, once the stream got that far.
func (c *StreamCheck) Manifest() (Manifest, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m, c.ok
}

// Progress is how far a download or install is.
type Progress struct {
	Done, Total int64 // bytes; Total 0 when unknown
	BytesPerSec float64
	Left        time.Duration
}

// FormatProgress is a one-line bar: [#####-----]  48%  1.2 MB/s  0:07 left
func FormatProgress(p Progress, width int) string {
	var b strings.Builder
	if p.Total > 0 {
		frac := float64(p.Done) / float64(p.Total)
		frac = min(max(frac, 0), 1)
		fill := int(frac * float64(width))
		b.WriteString("[" + strings.Repeat("#", fill) + strings.Repeat("-", width-fill) + "]")
		fmt.Fprintf(&b, " %3d%%", int(frac*100))
	} else {
		b.WriteString(sizeText(float64(p.Done)))
	}
	if p.BytesPerSec > 0 {
		b.WriteString("  " + sizeText(p.BytesPerSec) + "/s")
	}
	if p.Total > 0 && p.Done < p.Total && p.Left > 0 {
		s := int(p.Left.Round(time.Second).Seconds())
		fmt.Fprintf(&b, "  %d:%02d left", s/60, s%60)
	}
	return b.String()
}

func sizeText(n float64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", n/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f kB", n/(1<<10))
	}
	return fmt.Sprintf("%.0f B", n)
}

// DownloadOptions tune Download; the zero value works.
type DownloadOptions struct {
	// NewCheck, when set, verifies the bundle while it streams in; it is
	// called again for every attempt, which first replays what is
	// already on disk.
	NewCheck func() *StreamCheck
	Progress func(Progress)
	Attempts int           // default 5
	Backoff  time.Duration // default 1 s, doubling
	MaxSize  int64         // default 4 × MaxInstalled
	// Idle ends an attempt that receives nothing for this long (a link
	// that hangs instead of dropping); default 30 s.
	Idle time.Duration
}

// Download fetches url to dest through dest.part, resuming an earlier
// partial download with an HTTP Range request when the server's ETag
// says the file is the same. dest appears only complete and, with a
// check, accepted; a refused bundle leaves nothing behind.
func Download(ctx context.Context, client *http.Client, url, dest string, o DownloadOptions) error {
	if client == nil {
		client = http.DefaultClient
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.MaxSize <= 0 {
		o.MaxSize = 4 * MaxInstalled
	}
	if o.Idle <= 0 {
		o.Idle = 30 * time.Second
	}
	d := &download{ctx: ctx, client: client, url: url, part: dest + ".part", o: o}
	var err error
	wait := o.Backoff
	for attempt := 1; attempt <= o.Attempts; attempt++ {
		err = d.attempt()
		if err == nil {
			break
		}
		var perm *permanentError
		if errors.As(err, &perm) || errors.Is(err, ErrRefused) || ctx.Err() != nil {
			if errors.Is(err, ErrRefused) {
				d.discard()
			}
			if errors.As(err, &perm) {
				return perm.err
			}
			return err
		}
		if attempt == o.Attempts {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
	}
	if err != nil {
		return fmt.Errorf("download %s: %w (after %d attempts; the part downloaded is kept for the next try)", url, err, o.Attempts)
	}
	if err := os.Rename(d.part, dest); err != nil {
		return err
	}
	os.Remove(d.part + ".etag")
	return syncDir(filepath.Dir(dest))
}

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

type download struct {
	ctx    context.Context
	client *http.Client
	url    string
	part   string
	o      DownloadOptions
	start  time.Time
	fresh  int64 // bytes this run, for the speed
}

func (d *download) discard() {
	os.Remove(d.part)
	os.Remove(d.part + ".etag")
}

func (d *download) attempt() error {
	var have int64
	if st, err := os.Stat(d.part); err == nil {
		have = st.Size()
	}
	etag, _ := os.ReadFile(d.part + ".etag")
	if len(etag) == 0 {
		have = 0 // without a validator a resumed file could be two files
	}
	ctx, cancel := context.WithCancel(d.ctx)
	defer cancel()
	idle := time.AfterFunc(d.o.Idle, cancel)
	defer idle.Stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.url, nil)
	if err != nil {
		return &permanentError{err}
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
		req.Header.Set("If-Range", string(etag))
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var total int64 = -1
	switch resp.StatusCode {
	case http.StatusOK:
		have = 0
		total = resp.ContentLength
		tag := resp.Header.Get("ETag")
		if err := os.WriteFile(d.part+".etag", []byte(tag), 0o600); err != nil {
			return err
		}
		if tag == "" {
			os.Remove(d.part + ".etag")
		}
	case http.StatusPartialContent:
		start, size, ok := contentRange(resp.Header.Get("Content-Range"))
		if !ok || start != have {
			d.discard()
			return fmt.Errorf("the server resumed at %q, asked for byte %d", resp.Header.Get("Content-Range"), have)
		}
		total = size
	case http.StatusRequestedRangeNotSatisfiable:
		// Either the part is the whole file, or the file changed.
		if _, size, ok := contentRange(resp.Header.Get("Content-Range")); ok && size == have {
			total = have
			break
		}
		d.discard()
		return errors.New("the partial download does not fit the server's file; starting again")
	default:
		err := fmt.Errorf("the server answered %s", resp.Status)
		if resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests {
			return &permanentError{err}
		}
		return err
	}
	if total > d.o.MaxSize {
		d.discard()
		return &permanentError{refuse(TooLarge, fmt.Sprintf("%d bytes; a bundle is at most %d", total, d.o.MaxSize))}
	}
	flags := os.O_WRONLY | os.O_CREATE
	if have == 0 {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(d.part, flags, 0o600)
	if err != nil {
		return &permanentError{err}
	}
	defer f.Close()
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return err
	}
	var check *StreamCheck
	if d.o.NewCheck != nil {
		check = d.o.NewCheck()
		defer check.Close() // stops its goroutine on every path
		if have > 0 {
			if err := replay(d.part, have, check); err != nil {
				if errors.Is(err, ErrRefused) {
					return err
				}
				return &permanentError{err}
			}
		}
	}
	if d.start.IsZero() {
		d.start = time.Now()
	}
	done := have
	d.report(done, total)
	buf := make([]byte, 32<<10)
	for resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		n, rerr := resp.Body.Read(buf)
		idle.Reset(d.o.Idle)
		if n > 0 {
			if total < 0 && done+int64(n) > d.o.MaxSize {
				return &permanentError{refuse(TooLarge, fmt.Sprintf("more than %d bytes", d.o.MaxSize))}
			}
			if _, err := f.Write(buf[:n]); err != nil {
				return &permanentError{err}
			}
			if check != nil {
				if _, err := check.Write(buf[:n]); err != nil {
					return err
				}
			}
			done += int64(n)
			d.fresh += int64(n)
			d.report(done, total)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			f.Sync() // what arrived is kept for the next attempt
			if ctx.Err() != nil && d.ctx.Err() == nil {
				return fmt.Errorf("nothing received for %v", d.o.Idle)
			}
			return rerr
		}
	}
	if total >= 0 && done != total {
		f.Sync()
		return fmt.Errorf("the connection ended after %d of %d bytes", done, total)
	}
	if err := f.Sync(); err != nil {
		return &permanentError{err}
	}
	if check != nil {
		if err := check.Close(); err != nil {
			return err
		}
	}
	return nil
}

func (d *download) report(done, total int64) {
	if d.o.Progress == nil {
		return
	}
	p := Progress{Done: done, Total: max(total, 0)}
	if el := time.Since(d.start).Seconds(); el > 0.05 && d.fresh > 0 {
		p.BytesPerSec = float64(d.fresh) / el
		if total > done {
			p.Left = time.Duration(float64(total-done) / p.BytesPerSec * float64(time.Second))
		}
	}
	d.o.Progress(p)
}

// replay feeds the first n bytes of path, downloaded earlier, to check.
func replay(path string, n int64, check *StreamCheck) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(check, io.LimitReader(f, n))
	return err
}

// contentRange reads "bytes START-END/SIZE" or "bytes */SIZE".
func contentRange(s string) (start, size int64, ok bool) {
	s, found := strings.CutPrefix(s, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, sz, found := strings.Cut(s, "/")
	if !found {
		return 0, 0, false
	}
	size, err := strconv.ParseInt(sz, 10, 64)
	if err != nil || size < 0 {
		return 0, 0, false
	}
	if rng == "*" {
		return -1, size, true
	}
	a, _, found := strings.Cut(rng, "-")
	start, err = strconv.ParseInt(a, 10, 64)
	if !found || err != nil {
		return 0, 0, false
	}
	return start, size, true
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}
