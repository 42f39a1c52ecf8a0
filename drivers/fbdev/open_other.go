//go:build !linux

package fbdev

import (
	"errors"
	"runtime"
)

// Open is Linux only; New still works on a file or memory.
func Open(path string, o Options) (*Display, error) {
	return nil, errors.New("fbdev: framebuffer devices are not supported on " + runtime.GOOS)
}
