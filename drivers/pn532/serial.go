//go:build linux || windows || cgo

package pn532

import (
	"context"
	"fmt"
	"time"

	"github.com/tarm/serial"
)

// Open starts a reader on a PN532 wired to a UART (HSU), 8N1 at baud
// (115200 is the chip's default). Reads time out every 100 ms, so the
// driver notices a silent chip and its own Close.
func Open(ctx context.Context, port string, baud int, o Options) (*Reader, error) {
	if baud == 0 {
		baud = 115200
	}
	p, err := serial.OpenPort(&serial.Config{Name: port, Baud: baud, ReadTimeout: 100 * time.Millisecond})
	if err != nil {
		return nil, fmt.Errorf("pn532: open %s: %w", port, err)
	}
	r, err := New(ctx, p, o)
	if err != nil {
		return nil, fmt.Errorf("pn532 on %s at %d baud: %w", port, baud, err)
	}
	return r, nil
}
