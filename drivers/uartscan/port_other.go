//go:build !linux && !windows && !cgo

package uartscan

import (
	"fmt"
	"io"
	"runtime"
)

// openPort fails: tarm/serial needs cgo on this system. Keeping the
// driver buildable lets a cgo-free desktop build (a Mac running the
// simulator) still compile every board, just not open a uart one.
func openPort(set settings) (io.ReadWriteCloser, error) {
	return nil, fmt.Errorf("serial ports need a cgo build on %s", runtime.GOOS)
}
