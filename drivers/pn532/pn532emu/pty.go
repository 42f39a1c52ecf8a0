package pn532emu

import (
	"os"
	"sync"

	"github.com/shoukuan/pos/drivers/internal/pty"
)

// PTY is the emulator on a pseudo-terminal: drivers (and libnfc) open
// Path as they would the PN532's UART.
type PTY struct {
	e             *Emulator
	master, slave *os.File
	path          string
	done          chan struct{}
	once          sync.Once
}

// ListenPTY serves e on a new pseudo-terminal at baud 8N1.
func ListenPTY(e *Emulator, baud int) (*PTY, error) {
	m, s, path, err := pty.Open(baud, "8N1")
	if err != nil {
		return nil, err
	}
	p := &PTY{e: e, master: m, slave: s, path: path, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		e.Serve(m)
	}()
	return p, nil
}

// Path is the slave's device path, e.g. /dev/pts/7.
func (p *PTY) Path() string { return p.path }

// Close stops the emulator. The slave stays open until then, so the line
// does not hang up between a client's close and the next open.
func (p *PTY) Close() error {
	p.once.Do(func() {
		p.master.Close()
		<-p.done
		p.slave.Close()
	})
	return nil
}
