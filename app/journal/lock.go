package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/shoukuan/pos/app/mutant"
)

// LockFile is the data directory's lock: one terminal per journal.
const LockFile = "pos.lock"

// LockedError is a data directory another process holds.
type LockedError struct {
	Dir     string
	PID     int    // 0 when the holder did not say
	Since   string // when it took the lock, as it wrote it
	Command string
}

func (e *LockedError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = fmt.Sprintf("pos process %d", e.PID)
		if e.Command != "" {
			who += " (" + e.Command + ")"
		}
		if e.Since != "" {
			who += " since " + e.Since
		}
	}
	return fmt.Sprintf("data directory %s is in use by %s; stop it first (one terminal per journal)", e.Dir, who)
}

// ErrLocked is what LockedError matches with errors.Is.
var ErrLocked = errors.New("data directory in use")

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// Lock is a held data-directory lock.
type Lock struct {
	f *os.File
}

// LockDir takes the data directory's exclusive lock, or fails at once with
// a LockedError naming the holder. The lock lives as long as the process
// keeps it (a killed process lets go of it), so a stale file never blocks.
func LockDir(dir string) (*Lock, error) {
	if mutant.On("no-lock") {
		return &Lock{}, nil
	}
	_, fmode := modes()
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fmode)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := lockFile(f); err != nil {
		defer f.Close()
		if errors.Is(err, errWouldBlock) {
			le := &LockedError{Dir: dir}
			if b, rerr := os.ReadFile(path); rerr == nil {
				le.PID, le.Since, le.Command = parseHolder(string(b))
			}
			return nil, le
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// Say who holds it, for the next one that tries.
	holder := fmt.Sprintf("%d\n%s\n%s\n", os.Getpid(), time.Now().Format(time.RFC3339), filepath.Base(os.Args[0]))
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(holder), 0)
	}
	return &Lock{f: f}, nil
}

func parseHolder(s string) (pid int, since, cmd string) {
	lines := strings.Split(s, "\n")
	if len(lines) > 0 {
		pid, _ = strconv.Atoi(strings.TrimSpace(lines[0]))
	}
	if len(lines) > 1 {
		since = strings.TrimSpace(lines[1])
	}
	if len(lines) > 2 {
		cmd = strings.TrimSpace(lines[2])
	}
	return pid, since, cmd
}

// Release lets go of the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := unlockFile(l.f)
	return errors.Join(err, l.f.Close())
}
