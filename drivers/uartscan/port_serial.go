//go:build linux || windows || cgo

package uartscan

import (
	"io"

	"github.com/tarm/serial"
)

// openPort opens the port with tarm/serial, which needs cgo outside Linux
// and Windows (see port_other.go).
func openPort(set settings) (io.ReadWriteCloser, error) {
	return serial.OpenPort(&serial.Config{
		Name: set.Port, Baud: set.Baud, ReadTimeout: set.ReadTimeout,
		Size: set.framing.DataBits, Parity: serial.Parity(set.framing.Parity), StopBits: serial.StopBits(set.framing.StopBits),
	})
}
