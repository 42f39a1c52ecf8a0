//go:build unix

package journal

import (
	"errors"
	"os"
	"syscall"
)

var errWouldBlock = errors.New("lock held")

// flock, not fcntl: a flock belongs to the open file, so even a second
// open in the same process is refused, and the kernel drops it when the
// process dies.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, syscall.EINTR):
			continue
		case errors.Is(err, syscall.EWOULDBLOCK):
			return errWouldBlock
		}
		return err
	}
}

func unlockFile(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
}
