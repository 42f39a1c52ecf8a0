//go:build !linux && !windows && !cgo

package pn532

import (
	"context"
	"errors"
)

// Open needs tarm/serial, which needs cgo outside Linux and Windows.
func Open(ctx context.Context, port string, baud int, o Options) (*Reader, error) {
	return nil, errors.New("pn532: serial ports need cgo on this platform")
}
