//go:build !mutants

package mutant

// On is false in every normal build: no planted bug exists.
func On(string) bool { return false }

// Active is "" in every normal build.
func Active() string { return "" }

// Tagged says this build can plant bugs; it cannot.
const Tagged = false
