//go:build linux || windows || cgo

package escpos

import (
	"fmt"
	"os"
	"time"

	"github.com/tarm/serial"
)

// OpenSerial starts a driver on a printer on a UART, 8N1 (most receipt
// printers ship at 9600 or 115200). Reads time out every 100 ms so that
// Close is prompt.
func OpenSerial(port string, baud int, prof Profile, o Options) (*Printer, error) {
	if baud == 0 {
		baud = 115200
	}
	s, err := serial.OpenPort(&serial.Config{Name: port, Baud: baud, ReadTimeout: 100 * time.Millisecond})
	if err != nil {
		return nil, fmt.Errorf("escpos: open %s: %w", port, err)
	}
	if o.Name == "" {
		o.Name = fmt.Sprintf("%s at %d baud", port, baud)
	}
	p, err := New(s, prof, o)
	if err != nil {
		s.Close()
		return nil, err
	}
	return p, nil
}

// OpenDevice starts a driver on a USB printer device (/dev/usb/lp0):
// reads bring the printer's answers, and Close ends a pending read.
func OpenDevice(path string, prof Profile, o Options) (*Printer, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("escpos: %w", err) // os.PathError names the path
	}
	if o.Name == "" {
		o.Name = path
	}
	p, err := New(f, prof, o)
	if err != nil {
		f.Close()
		return nil, err
	}
	return p, nil
}
