//go:build linux

// Package pty opens pseudo-terminal pairs in raw mode for the device
// emulators: a driver opens the slave as it would a UART.
package pty

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// rates maps termios speed codes to baud rates.
var rates = map[uint32]int{
	unix.B1200: 1200, unix.B2400: 2400, unix.B4800: 4800, unix.B9600: 9600,
	unix.B19200: 19200, unix.B38400: 38400, unix.B57600: 57600, unix.B115200: 115200,
	unix.B230400: 230400, unix.B460800: 460800, unix.B921600: 921600,
}

// Open opens a pseudo-terminal pair and puts the line in raw mode at
// the module's settings. Raw mode matters before the driver opens the
// slave: with the default line discipline, echo would send the module's
// own output back to it and CR would turn into LF.
func Open(baud int, framing string) (master, slave *os.File, path string, err error) {
	// Go puts the master in non-blocking mode on its poller, so Close
	// interrupts the module's pending read. Fd() would undo that, hence
	// the raw-connection Control calls below.
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, "", err
	}
	defer func() {
		if err != nil {
			master.Close()
			if slave != nil {
				slave.Close()
			}
		}
	}()
	var n int
	err = control(master, func(fd int) error {
		if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
			return fmt.Errorf("unlock pty: %w", err)
		}
		var err error
		if n, err = unix.IoctlGetInt(fd, unix.TIOCGPTN); err != nil {
			return fmt.Errorf("pty number: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, nil, "", err
	}
	path = fmt.Sprintf("/dev/pts/%d", n)
	if slave, err = os.OpenFile(path, os.O_RDWR|syscall.O_NOCTTY, 0); err != nil {
		return nil, nil, "", err
	}
	var speed uint32
	for code, r := range rates {
		if r == baud {
			speed = code
		}
	}
	if speed == 0 {
		return nil, nil, "", fmt.Errorf("baud %d: not a standard rate", baud)
	}
	cflag, err := cflagFor(framing)
	if err != nil {
		return nil, nil, "", err
	}
	err = control(slave, func(fd int) error {
		t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			return err
		}
		// cfmakeraw, then the module's own rate and framing.
		t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		t.Oflag &^= unix.OPOST
		t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		t.Cflag &^= unix.CSIZE | unix.PARENB | unix.PARODD | unix.CSTOPB | unix.CBAUD
		t.Cflag |= cflag | speed | unix.CREAD | unix.CLOCAL
		t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 1, 0
		return unix.IoctlSetTermios(fd, unix.TCSETS, t)
	})
	if err != nil {
		return nil, nil, "", fmt.Errorf("raw mode: %w", err)
	}
	return master, slave, path, nil
}

func control(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

func cflagFor(framing string) (uint32, error) {
	if len(framing) != 3 {
		return 0, fmt.Errorf("framing %q: want e.g. 8N1", framing)
	}
	var c uint32
	switch framing[0] {
	case '5':
		c |= unix.CS5
	case '6':
		c |= unix.CS6
	case '7':
		c |= unix.CS7
	case '8':
		c |= unix.CS8
	default:
		return 0, fmt.Errorf("framing %q: data bits 5-8", framing)
	}
	switch framing[1] {
	case 'N', 'n':
	case 'E', 'e':
		c |= unix.PARENB
	case 'O', 'o':
		c |= unix.PARENB | unix.PARODD
	default:
		return 0, fmt.Errorf("framing %q: parity N, E or O", framing)
	}
	switch framing[2] {
	case '1':
	case '2':
		c |= unix.CSTOPB
	default:
		return 0, fmt.Errorf("framing %q: stop bits 1 or 2", framing)
	}
	return c, nil
}

// LineSettings reads back the rate and stop bits now set on the line.
func LineSettings(slave *os.File) (baud, stopBits int, err error) {
	var t *unix.Termios
	err = control(slave, func(fd int) error {
		var err error
		t, err = unix.IoctlGetTermios(fd, unix.TCGETS)
		return err
	})
	if err != nil {
		return 0, 0, err
	}
	stopBits = 1
	if t.Cflag&unix.CSTOPB != 0 {
		stopBits = 2
	}
	return rates[t.Cflag&unix.CBAUD], stopBits, nil
}
