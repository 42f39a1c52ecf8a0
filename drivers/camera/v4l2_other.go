//go:build !(linux && (386 || amd64 || arm || arm64 || riscv64 || loong64))

package camera

import (
	"context"
	"errors"
	"runtime"
)

// V4L2Config is what to ask the camera for.
type V4L2Config struct {
	Width, Height int
	Format        Format
	Buffers       int
}

// V4L2 is not available on this platform.
type V4L2 struct{}

var errNoV4L2 = errors.New("V4L2 cameras are not supported on " + runtime.GOOS + "/" + runtime.GOARCH)

func OpenV4L2(dev string, cfg V4L2Config) (*V4L2, error) { return nil, errNoV4L2 }

func (c *V4L2) Next(ctx context.Context) (Frame, error) { return Frame{}, errNoV4L2 }
func (c *V4L2) Size() (width, height int)               { return 0, 0 }
func (c *V4L2) Close() error                            { return nil }
