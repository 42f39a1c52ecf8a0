//go:build !linux

package pty

import (
	"errors"
	"os"
)

var errUnsupported = errors.New("pseudo-terminal emulation is implemented for Linux only")

func Open(baud int, framing string) (master, slave *os.File, path string, err error) {
	return nil, nil, "", errUnsupported
}

func LineSettings(slave *os.File) (int, int, error) { return 0, 0, errUnsupported }
