//go:build !unix

package journal

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("lock held")

// Without flock (Windows, for a developer's build only) the lock is not
// taken: terminals run Linux or Android.
func lockFile(*os.File) error { return nil }

func unlockFile(*os.File) error { return nil }
