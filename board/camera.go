package board

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/shoukuan/pos/drivers/camera"
)

// cameraConfig checks the camera scanner's fields: a V4L2 device with an
// optional size and format, or a directory of frames.
func (s Scanner) cameraConfig() (camera.V4L2Config, error) {
	c := camera.V4L2Config{Width: s.Width, Height: s.Height, Format: camera.YUYV}
	switch {
	case s.Device != "" && s.Frames != "":
		return c, errors.New("scanner.frames: a camera takes a device or a frames directory, not both")
	case s.Device == "" && s.Frames == "":
		return c, errors.New("scanner.device: missing (a V4L2 camera, e.g. /dev/video0; or frames, a directory of images)")
	case s.Frames != "":
		for _, f := range []struct {
			name string
			set  bool
		}{{"width", s.Width != 0}, {"height", s.Height != 0}, {"format", s.Format != ""}} {
			if f.set {
				return c, fmt.Errorf("scanner.%s: only with a device, not with frames", f.name)
			}
		}
		return c, nil
	}
	switch s.Format {
	case "", "yuyv":
	case "grey":
		c.Format = camera.Grey
	default:
		return c, fmt.Errorf("scanner.format %q: unknown (one of yuyv, grey)", s.Format)
	}
	if (s.Width == 0) != (s.Height == 0) {
		if s.Width == 0 {
			return c, fmt.Errorf("scanner.width: missing (height is %d)", s.Height)
		}
		return c, fmt.Errorf("scanner.height: missing (width is %d)", s.Width)
	}
	if s.Width != 0 && (s.Width < 160 || s.Width > 4096) {
		return c, fmt.Errorf("scanner.width %d: want 160-4096", s.Width)
	}
	if s.Height != 0 && (s.Height < 120 || s.Height > 4096) {
		return c, fmt.Errorf("scanner.height %d: want 120-4096", s.Height)
	}
	if c.Format == camera.YUYV && s.Width%2 != 0 {
		return c, fmt.Errorf("scanner.width %d: yuyv needs an even width", s.Width)
	}
	return c, nil
}

// cameraField names a camera-only field that is set, or returns "".
func (s Scanner) cameraField() string {
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"device", s.Device != ""}, {"width", s.Width != 0}, {"height", s.Height != 0},
		{"format", s.Format != ""}, {"frames", s.Frames != ""},
	} {
		if f.set {
			return f.name
		}
	}
	return ""
}

// frameInterval paces a frames directory like a camera at 10 frames a
// second: enough to scan, little work for a desktop.
const frameInterval = 100 * time.Millisecond

// openCamera makes the camera scanner. Nothing is opened yet: the camera
// streams only while a screen waits for a code.
func (s Scanner) openCamera(assets string) (*camera.Scanner, error) {
	cfg, err := s.cameraConfig()
	if err != nil {
		return nil, err
	}
	if s.Frames != "" {
		dir := resolve(assets, s.Frames)
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("scanner.frames %s: no such directory (run from the repository root, or pass --assets DIR)", dir)
		}
		return camera.New(camera.Options{Name: "frames", Open: func() (camera.Source, error) {
			src, err := camera.OpenDir(dir, camera.DirOptions{Loop: true, Interval: frameInterval})
			if err != nil {
				return nil, err
			}
			return src, nil
		}}), nil
	}
	dev := s.Device
	return camera.New(camera.Options{Name: dev, Open: func() (camera.Source, error) {
		src, err := camera.OpenV4L2(dev, cfg)
		if err != nil {
			return nil, err
		}
		return src, nil
	}}), nil
}
