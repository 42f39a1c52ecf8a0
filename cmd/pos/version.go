package main

import (
	"runtime/debug"

	"github.com/shoukuan/pos/app/update"
)

// softwareVersion is the stamped version when it is a semantic version,
// else 0.0.0-dev+COMMIT: a development build is older than any release,
// so an update never treats it as newer than what it replaces.
func softwareVersion(stamped, commit string) string {
	if v, err := update.ParseVersion(stamped); err == nil {
		return v.String()
	}
	if commit == "" || commit == "unknown" {
		commit = vcsRevision()
	}
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if commit == "" {
		commit = "unknown"
	}
	if v, err := update.ParseVersion("0.0.0-dev+" + commit); err == nil {
		return v.String()
	}
	return "0.0.0-dev"
}

func vcsRevision() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" && dirty {
		rev += ".dirty"
	}
	return rev
}
