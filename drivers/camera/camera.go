// Package camera is the camera barcode scanner: frames from a source (a
// V4L2 camera on the terminal, a directory of images on the desktop) go
// through the imagescan pipeline, and each code read is delivered once.
package camera

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shoukuan/pos/drivers/imagescan"
	"github.com/shoukuan/pos/hal"
)

// Frame is one camera image (see imagescan.Frame).
type Frame = imagescan.Frame

// Format is a frame's pixel layout.
type Format = imagescan.Format

const (
	Grey = imagescan.Grey
	YUYV = imagescan.YUYV
)

// Source yields camera frames. A frame's pixels belong to the source and
// stay valid until the next call to Next or Close: a V4L2 source hands out
// its mapped buffer rather than copying 600 KB per frame.
type Source interface {
	// Next blocks until a frame arrives, the context ends or the source
	// fails. io.EOF ends a finite source.
	Next(ctx context.Context) (Frame, error)
	Close() error
}

// Options configure a Scanner.
type Options struct {
	// Open starts the source; the scanner opens it when armed and closes
	// it when disarmed, so that the camera (and its light) is off while
	// no screen waits for a code.
	Open func() (Source, error)
	// Name says which camera, in errors and the self-test
	// ("/dev/video0").
	Name string
	// Holdoff is how long a code must be out of view before the same code
	// is delivered again (default 1.5 s): a customer holds the phone to
	// the camera for many frames and pays once.
	Holdoff time.Duration
}

// Scanner is a hal.Scanner on a camera.
type Scanner struct {
	opts  Options
	codes chan hal.Code

	mu      sync.Mutex
	enabled bool
	run     *run          // the pump, nil when stopped or failed
	wake    chan struct{} // closed when enabled or run changes
}

// run is one streaming session: the source and the goroutine reading it.
type run struct {
	src    Source
	cancel context.CancelFunc
	done   chan struct{} // closed when the pump has stopped
	err    error         // why the pump stopped by itself, set before done
}

var _ hal.Scanner = (*Scanner)(nil)

// New returns a disarmed scanner.
func New(opts Options) *Scanner {
	if opts.Holdoff <= 0 {
		opts.Holdoff = 1500 * time.Millisecond
	}
	if opts.Name == "" {
		opts.Name = "camera"
	}
	return &Scanner{opts: opts, codes: make(chan hal.Code), wake: make(chan struct{})}
}

// Enable starts (on) or stops (off) streaming. A camera that will not
// open is reported, and the scanner stays armed: Read tries again.
func (s *Scanner) Enable(on bool) error {
	s.mu.Lock()
	if on == s.enabled {
		s.mu.Unlock()
		return nil
	}
	s.enabled = on
	s.changedLocked()
	if on {
		err := s.startLocked()
		s.mu.Unlock()
		return err
	}
	r := s.run
	s.run = nil
	s.mu.Unlock()
	if r != nil {
		r.stop()
	}
	return nil
}

// Close disarms the scanner, which releases the camera; a later Enable
// opens it again.
func (s *Scanner) Close() error { return s.Enable(false) }

func (s *Scanner) changedLocked() {
	close(s.wake)
	s.wake = make(chan struct{})
}

func (s *Scanner) startLocked() error {
	src, err := s.opts.Open()
	if err != nil {
		return fmt.Errorf("camera %s: %w", s.opts.Name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{src: src, cancel: cancel, done: make(chan struct{})}
	s.run = r
	s.changedLocked()
	go s.pump(ctx, r)
	return nil
}

// stop ends the pump and closes the source. A code the pump was handing
// over is dropped with it: it was read for a screen that is gone.
func (r *run) stop() {
	r.cancel()
	<-r.done
	r.src.Close()
}

// Read returns the next code. It blocks while the scanner is disarmed.
// When the camera fails (unplugged), Read reports it once, and the next
// Read reopens it.
func (s *Scanner) Read(ctx context.Context) (hal.Code, error) {
	for {
		s.mu.Lock()
		var err error
		if s.enabled && s.run == nil {
			err = s.startLocked()
		}
		r, wake := s.run, s.wake
		s.mu.Unlock()
		if err != nil {
			return hal.Code{}, err
		}
		var done chan struct{}
		if r != nil {
			done = r.done
		}
		select {
		case c := <-s.codes:
			return c, nil
		case <-done:
			s.mu.Lock()
			failed := s.run == r
			if failed {
				s.run = nil
			}
			s.mu.Unlock()
			if failed {
				r.src.Close()
				return hal.Code{}, fmt.Errorf("camera %s: %w: %w", s.opts.Name, hal.ErrDisconnected, r.err)
			}
		case <-wake:
		case <-ctx.Done():
			return hal.Code{}, ctx.Err()
		}
	}
}

// pump decodes frames until stopped or the source fails. The same code on
// frame after frame is delivered once (see Options.Holdoff).
func (s *Scanner) pump(ctx context.Context, r *run) {
	defer close(r.done)
	dec := imagescan.NewLiveDecoder()
	var last hal.Code
	var lastSeen time.Time
	for {
		f, err := r.src.Next(ctx)
		if err != nil {
			if ctx.Err() == nil {
				r.err = err
			}
			return
		}
		c, err := dec.DecodeFrame(f)
		if err != nil {
			if errors.Is(err, imagescan.ErrBadFrame) {
				r.err = err
				return
			}
			continue
		}
		now := time.Now()
		seenBefore := c == last && now.Sub(lastSeen) < s.opts.Holdoff
		last, lastSeen = c, now
		if seenBefore {
			continue
		}
		select {
		case s.codes <- c:
			lastSeen = time.Now() // the application may have taken its time
		case <-ctx.Done():
			return
		}
	}
}

// SelfTest takes a frame from the camera (unless it is streaming for a
// screen) and tries to decode it.
func (s *Scanner) SelfTest(ctx context.Context) hal.SelfTestResult {
	start := time.Now()
	res := hal.SelfTestResult{Device: "scanner"}
	s.mu.Lock()
	streaming := s.run != nil
	s.mu.Unlock()
	if streaming {
		res.OK = true
		res.Detail = fmt.Sprintf("camera %s: streaming", s.opts.Name)
		return res
	}
	src, err := s.opts.Open()
	if err != nil {
		res.Detail = fmt.Sprintf("camera %s: %v", s.opts.Name, err)
		return res
	}
	defer src.Close()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	f, err := src.Next(ctx)
	res.Took = time.Since(start)
	if err != nil {
		res.Detail = fmt.Sprintf("camera %s: no frame: %v", s.opts.Name, err)
		return res
	}
	res.OK = true
	res.Detail = fmt.Sprintf("camera %s: %dx%d %s", s.opts.Name, f.Width, f.Height, f.Format)
	if c, err := imagescan.NewDecoder().DecodeFrame(f); err == nil {
		res.Detail += ", sees " + string(c.Symbology)
	}
	return res
}
