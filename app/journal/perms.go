package journal

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/shoukuan/pos/app/mutant"
)

// The data directory holds card data, keys and the ledger of every
// payment: it is the terminal user's alone (0700, files 0600).
const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
)

func modes() (dir, file fs.FileMode) {
	if mutant.On("world-readable") {
		return 0o755, 0o644
	}
	return dirMode, fileMode
}

// createPrivate creates path empty and private if it does not exist.
func createPrivate(path string) error {
	_, file := modes()
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, file)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// SecureDir creates dir private, or makes an existing one private, along
// with everything in it (a data directory written by an older version, or
// copied in with a permissive umask).
func SecureDir(dir string) error {
	dmode, fmode := modes()
	if err := os.MkdirAll(dir, dmode); err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil // not ours to change; nothing we write is a link
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fmode
		if d.IsDir() {
			want = dmode
		}
		if info.Mode().Perm()&0o077 != 0 && info.Mode().Perm() != want {
			return os.Chmod(p, want)
		}
		return nil
	})
}

// WriteFileAtomic writes data to path privately: a temporary file synced,
// renamed over path, and the directory synced, so a power cut leaves the
// old content or the new, never half of one.
func WriteFileAtomic(path string, data []byte) error {
	tmp, err := WriteTemp(filepath.Dir(path), "."+filepath.Base(path)+".*", data)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// WriteTemp writes data to a new private file in dir (pattern as for
// os.CreateTemp), synced to the disk, and returns its path: the caller
// renames or links it into place, or removes it.
func WriteTemp(dir, pattern string, data []byte) (string, error) {
	_, fmode := modes()
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	err = f.Chmod(fmode)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	// Some filesystems cannot sync a directory; the rename stands anyway.
	_ = d.Sync()
	return nil
}
