package escposemu

import (
	"io"
	"os"
	"sync"

	"github.com/shoukuan/pos/drivers/internal/pty"
)

// PTY is the emulator on a pseudo-terminal: a driver opens Path as the
// printer's UART.
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
	go func() { // answers to the host
		buf := make([]byte, 64)
		for {
			n, err := e.Read(buf)
			if n > 0 {
				if _, werr := m.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() { // bytes from the host
		defer close(p.done)
		io.Copy(writerFunc(e.Write), m)
	}()
	return p, nil
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// Path is the slave's device path, e.g. /dev/pts/7.
func (p *PTY) Path() string { return p.path }

// Close stops serving; the emulator's pages stay readable.
func (p *PTY) Close() error {
	p.once.Do(func() {
		p.master.Close()
		<-p.done
		p.e.Close()
		p.slave.Close()
	})
	return nil
}
