//go:build mutants

package mutant

import "os"

var active = os.Getenv("POS_MUTANT")

// On reports whether the planted bug name is switched on.
func On(name string) bool { return active == name }

// Active is the planted bug in force, "" for none.
func Active() string { return active }

// Tagged says this build can plant bugs: binaries a test builds must be
// built so too.
const Tagged = true
