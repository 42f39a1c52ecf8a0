//go:build !linux

package scanemu

import (
	"errors"
	"os"
)

var errUnsupported = errors.New("pseudo-terminal emulation is implemented for Linux only")

func openPTY(baud int, framing string) (master, slave *os.File, path string, err error) {
	return nil, nil, "", errUnsupported
}

func lineSettings(slave *os.File) (int, int, error) { return 0, 0, errUnsupported }
