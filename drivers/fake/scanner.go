package fake

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shoukuan/pos/drivers/imagescan"
	"github.com/shoukuan/pos/hal"
)

// Scanner presents image files to the real decode pipeline, as if a
// customer held a phone or a printed code in front of the camera.
type Scanner struct {
	dir string
	in  *inbox[hal.Code]

	mu  sync.Mutex // the gozxing readers are not safe for concurrent use
	dec *imagescan.Decoder
}

// NewScanner presents images from dir (PNG or JPEG files).
func NewScanner(dir string) *Scanner {
	return &Scanner{dir: dir, in: newInbox[hal.Code](false), dec: imagescan.NewDecoder()}
}

// Images lists the image files the simulator can present, sorted.
func (s *Scanner) Images() []string {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range ents {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if !e.IsDir() && (ext == ".png" || ext == ".jpg" || ext == ".jpeg") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names
}

// Present decodes the named image (a file in the image directory, or a
// path) and, if the scanner is armed, delivers the code. A code that does
// not decode delivers nothing, as on a real scanner.
func (s *Scanner) Present(name string) (hal.Code, error) {
	if !s.in.isEnabled() {
		return hal.Code{}, fmt.Errorf("scanner: %w: the current screen is not waiting for a code", hal.ErrDisabled)
	}
	path := name
	if !strings.ContainsRune(name, os.PathSeparator) {
		path = filepath.Join(s.dir, name)
	}
	s.mu.Lock()
	c, err := s.dec.DecodeFile(path)
	s.mu.Unlock()
	if err != nil {
		return hal.Code{}, fmt.Errorf("scanner: %w", err)
	}
	s.in.push(c)
	return c, nil
}

func (s *Scanner) Enable(on bool) error {
	if !on {
		s.in.drop()
	}
	s.in.setEnabled(on)
	return nil
}

// Enabled reports whether the application has armed the scanner.
func (s *Scanner) Enabled() bool { return s.in.isEnabled() }

func (s *Scanner) Read(ctx context.Context) (hal.Code, error) { return s.in.pop(ctx) }

// Pending is the number of codes the application has not consumed.
func (s *Scanner) Pending() int { return s.in.pending() }

// SelfTest decodes the first image of the directory through the pipeline.
func (s *Scanner) SelfTest(ctx context.Context) hal.SelfTestResult {
	start := time.Now()
	res := hal.SelfTestResult{Device: "scanner"}
	imgs := s.Images()
	if len(imgs) == 0 {
		res.Detail = "fake scanner: no images in " + s.dir
		return res
	}
	s.mu.Lock()
	c, err := s.dec.DecodeFile(filepath.Join(s.dir, imgs[0]))
	s.mu.Unlock()
	res.Took = time.Since(start)
	if err != nil {
		res.Detail = "fake scanner: " + err.Error()
		return res
	}
	res.OK = true
	res.Detail = fmt.Sprintf("fake camera, %d images, decoded %s", len(imgs), c.Symbology)
	return res
}

// Dir is the directory the images come from.
func (s *Scanner) Dir() string { return s.dir }
