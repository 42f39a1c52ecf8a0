//go:build !unix

package bootslot

// lockRoot is a no-op where flock does not exist; the terminal itself is
// unix, other systems only run the desktop simulator.
func lockRoot(path string) (func(), error) { return func() {}, nil }

// syncDir is a no-op: directories cannot be fsynced portably.
func syncDir(dir string) error { return nil }
