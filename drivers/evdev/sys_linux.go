//go:build linux && (386 || amd64 || arm || arm64 || riscv64 || loong64)

package evdev

import (
	"bytes"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctl numbers of linux/input.h, encoded as _IOC(dir, 'E', nr, size) in
// the layout these architectures share (dir in bits 30-31, size in 16-29).
// mips, powerpc and sparc encode differently and get sys_other.go.
const (
	iocWrite = 1
	iocRead  = 2
)

func ioc(dir, nr, size uint) uint { return dir<<30 | size<<16 | 'E'<<8 | nr }

// eviocgrab is EVIOCGRAB: _IOW('E', 0x90, int).
var eviocgrab = ioc(iocWrite, 0x90, 4)

// eviocgname is EVIOCGNAME(len): _IOC(_IOC_READ, 'E', 0x06, len).
func eviocgname(n int) uint { return ioc(iocRead, 0x06, uint(n)) }

// control runs fn on the file's descriptor without taking it out of the
// runtime poller (f.Fd would make it blocking and break deadlines).
func control(f *os.File, fn func(fd int)) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(func(fd uintptr) { fn(int(fd)) })
}

// grab asks for exclusive delivery of the device's events.
func grab(f *os.File) error {
	var err error
	if cerr := control(f, func(fd int) { err = unix.IoctlSetInt(fd, eviocgrab, 1) }); cerr != nil {
		return cerr
	}
	return err
}

// deviceName is the name the kernel driver gave the device.
func deviceName(f *os.File) (string, error) {
	buf := make([]byte, 256)
	var err error
	cerr := control(f, func(fd int) {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(eviocgname(len(buf))), uintptr(unsafe.Pointer(&buf[0])))
		if errno != 0 {
			err = errno
		}
	})
	if cerr != nil {
		return "", cerr
	}
	if err != nil {
		return "", err
	}
	if i := bytes.IndexByte(buf, 0); i >= 0 {
		buf = buf[:i]
	}
	return string(buf), nil
}

// hungUp polls without waiting or reading: an unplugged input device
// reports POLLHUP|POLLERR, and so does a pipe whose writer has gone.
func hungUp(f *os.File) (bool, error) {
	var hup bool
	var err error
	cerr := control(f, func(fd int) {
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			_, err = unix.Poll(p, 0)
			if err != unix.EINTR {
				break
			}
		}
		hup = p[0].Revents&(unix.POLLHUP|unix.POLLERR|unix.POLLNVAL) != 0
	})
	if cerr != nil {
		return false, cerr
	}
	return hup, err
}

// notSupported reports errors that only mean "not an input device": what
// a pipe or pty in tests, or an emulator, answers to the ioctls.
func notSupported(err error) bool {
	return err == unix.ENOTTY || err == unix.EINVAL || err == errNoIoctl
}

// busy reports that another process holds the grab.
func busy(err error) bool { return err == unix.EBUSY }

// gone reports that the device vanished between open and ioctl.
func gone(err error) bool { return err == unix.ENODEV }
