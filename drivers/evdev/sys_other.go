//go:build !(linux && (386 || amd64 || arm || arm64 || riscv64 || loong64))

package evdev

import "os"

// Elsewhere the input ioctls are unknown (or encoded differently): the
// driver still reads events, e.g. replayed through a pipe, but cannot
// grab the device or learn its name.

func grab(*os.File) error                 { return errNoIoctl }
func deviceName(*os.File) (string, error) { return "", errNoIoctl }
func hungUp(*os.File) (bool, error)       { return false, nil }
func notSupported(err error) bool         { return err == errNoIoctl }
func busy(error) bool                     { return false }
func gone(error) bool                     { return false }
