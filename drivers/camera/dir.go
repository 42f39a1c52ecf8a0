package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/shoukuan/pos/drivers/imagescan"
)

// DirSource plays the PNG and JPEG files of a directory as camera frames,
// in name order: the camera of the desktop simulator and of tests. Each
// file is converted to a grey frame once, when the source opens.
type DirSource struct {
	frames   []Frame
	names    []string
	next     int
	loop     bool
	interval time.Duration
	last     time.Time
}

// DirOptions configure a DirSource.
type DirOptions struct {
	// Interval between frames; 0 delivers them as fast as they are read.
	Interval time.Duration
	// Loop starts again after the last file; otherwise Next then returns
	// io.EOF.
	Loop bool
}

// ImageFiles lists the PNG and JPEG files of dir, sorted.
func ImageFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".png", ".jpg", ".jpeg":
			if !e.IsDir() {
				names = append(names, e.Name())
			}
		}
	}
	slices.Sort(names)
	return names, nil
}

// OpenDir reads every image of dir. A file that is not an image is an
// error, as a camera that delivers garbage would be.
func OpenDir(dir string, opts DirOptions) (*DirSource, error) {
	names, err := ImageFiles(dir)
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%s: no PNG or JPEG files", dir)
	}
	s := &DirSource{names: names, loop: opts.Loop, interval: opts.Interval}
	for _, n := range names {
		f, err := imagescan.ReadFrame(filepath.Join(dir, n))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, n), err)
		}
		s.frames = append(s.frames, f)
	}
	return s, nil
}

var errClosed = errors.New("source closed")

// Next returns the next file's frame, Interval after the previous one.
func (s *DirSource) Next(ctx context.Context) (Frame, error) {
	if s.frames == nil {
		return Frame{}, errClosed
	}
	if s.next == len(s.frames) {
		if !s.loop {
			return Frame{}, io.EOF
		}
		s.next = 0
	}
	if s.interval > 0 && !s.last.IsZero() {
		t := time.NewTimer(time.Until(s.last.Add(s.interval)))
		select {
		case <-ctx.Done():
			t.Stop()
			return Frame{}, ctx.Err()
		case <-t.C:
		}
	}
	if err := ctx.Err(); err != nil {
		return Frame{}, err
	}
	s.last = time.Now()
	f := s.frames[s.next]
	s.next++
	return f, nil
}

// Name is the file the last frame came from.
func (s *DirSource) Name() string {
	if s.next == 0 {
		return ""
	}
	return s.names[s.next-1]
}

func (s *DirSource) Close() error {
	s.frames = nil
	return nil
}
