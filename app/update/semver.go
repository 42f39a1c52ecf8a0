// Package update is the terminal's signed software update: the bundle
// format, Ed25519 release keys with rotation, semantic versions, the
// checks a terminal makes before installing anything, and a resumable
// download. Standard library only. The format is in docs/update-bundle.md.
package update

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Version is a semantic version (semver.org 2.0).
type Version struct {
	Major, Minor, Patch uint64
	Pre                 []string
	Build               string
}

// ParseVersion reads MAJOR.MINOR.PATCH[-PRE][+BUILD]; one leading "v" (as
// git describe gives) is allowed.
func ParseVersion(s string) (Version, error) {
	var v Version
	orig := s
	s = strings.TrimPrefix(s, "v")
	if s == "" {
		return v, errors.New("version: empty")
	}
	if i := strings.IndexByte(s, '+'); i >= 0 {
		v.Build = s[i+1:]
		s = s[:i]
		if !validIdents(v.Build, false) {
			return v, fmt.Errorf("version %q: bad build metadata", orig)
		}
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		pre := s[i+1:]
		s = s[:i]
		if !validIdents(pre, true) {
			return v, fmt.Errorf("version %q: bad pre-release", orig)
		}
		v.Pre = strings.Split(pre, ".")
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, fmt.Errorf("version %q: want MAJOR.MINOR.PATCH", orig)
	}
	nums := make([]uint64, 3)
	for i, p := range parts {
		if !isNumeric(p) || len(p) > 1 && p[0] == '0' || len(p) > 18 {
			return v, fmt.Errorf("version %q: %q is not a number without leading zeros", orig, p)
		}
		nums[i], _ = strconv.ParseUint(p, 10, 64)
	}
	v.Major, v.Minor, v.Patch = nums[0], nums[1], nums[2]
	return v, nil
}

func isNumeric(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// validIdents checks dot-separated identifiers of [0-9A-Za-z-]; numeric
// pre-release identifiers have no leading zeros.
func validIdents(s string, pre bool) bool {
	if s == "" {
		return false
	}
	for _, id := range strings.Split(s, ".") {
		if id == "" {
			return false
		}
		for _, c := range id {
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-') {
				return false
			}
		}
		if pre && isNumeric(id) && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}

func (v Version) String() string {
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch)
	if len(v.Pre) > 0 {
		s += "-" + strings.Join(v.Pre, ".")
	}
	if v.Build != "" {
		s += "+" + v.Build
	}
	return s
}

// Compare is -1, 0 or 1 by SemVer precedence; build metadata is ignored.
func Compare(a, b Version) int {
	for _, d := range [][2]uint64{{a.Major, b.Major}, {a.Minor, b.Minor}, {a.Patch, b.Patch}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	// A pre-release is older than its release.
	switch {
	case len(a.Pre) == 0 && len(b.Pre) == 0:
		return 0
	case len(a.Pre) == 0:
		return 1
	case len(b.Pre) == 0:
		return -1
	}
	for i := 0; i < len(a.Pre) && i < len(b.Pre); i++ {
		if c := compareIdent(a.Pre[i], b.Pre[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(a.Pre) < len(b.Pre):
		return -1
	case len(a.Pre) > len(b.Pre):
		return 1
	}
	return 0
}

func compareIdent(a, b string) int {
	an, bn := isNumeric(a), isNumeric(b)
	switch {
	case an && bn:
		if len(a) != len(b) { // no leading zeros: longer is larger
			if len(a) < len(b) {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	case an:
		return -1 // numeric identifiers are lower than alphanumeric
	case bn:
		return 1
	}
	return strings.Compare(a, b)
}

// Less is Compare(a, b) < 0.
func Less(a, b Version) bool { return Compare(a, b) < 0 }
