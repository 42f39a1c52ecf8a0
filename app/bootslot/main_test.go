//go:build unix

package bootslot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary doubles as the slot program: the slot executables are
// tiny shell scripts that exec this binary with BOOTSLOT_TEST_CHILD set,
// so the supervisor really starts processes and they really call back
// into the package through POS_SLOT / POS_SLOT_ROOT.
const envChild = "BOOTSLOT_TEST_CHILD"

var testBinary string

func TestMain(m *testing.M) {
	if mode := os.Getenv(envChild); mode != "" {
		os.Exit(childMain(mode))
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	testBinary = exe
	os.Exit(m.Run())
}

func childMain(mode string) int {
	slot, root := os.Getenv(EnvSlot), os.Getenv(EnvRoot)
	if log := os.Getenv("BOOTSLOT_TEST_RUNLOG"); log != "" {
		f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err == nil {
			fmt.Fprintf(f, "%s %s %s %s\n", slot, os.Getenv(EnvVersion), os.Getenv(EnvTrial), os.Getenv(EnvAttempt))
			f.Close()
		}
	}
	switch mode {
	case "ok":
		return 0
	case "crash":
		return 1
	case "markgood":
		if os.Getenv(EnvTrial) != "1" {
			return 0 // like pos: only a trial marks itself good
		}
		s, err := Open(root)
		if err == nil {
			err = s.MarkGood(slot)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "markgood:", err)
			return 1
		}
		return 0
	case "fail":
		s, err := Open(root)
		if err == nil {
			err = s.Fail(slot, os.Getenv("BOOTSLOT_TEST_REASON"))
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "fail:", err)
			return 1
		}
		return ExitRollback
	case "hang":
		time.Sleep(time.Hour)
		return 0
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
		time.Sleep(time.Hour)
		return 0
	case "killseq":
		return killSequenceChild()
	case "killloop":
		return killLoopChild()
	}
	fmt.Fprintln(os.Stderr, "unknown child mode", mode)
	return 2
}

// script returns a slot program that runs the test binary in mode. The
// version is written into it so each version has its own SHA-256.
func script(mode, version, runlog string, extraEnv ...string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/sh\n# bootslot test program %s\n", version)
	fmt.Fprintf(&b, "%s=%s BOOTSLOT_TEST_RUNLOG='%s' ", envChild, mode, runlog)
	for _, e := range extraEnv {
		k, v, _ := strings.Cut(e, "=")
		fmt.Fprintf(&b, "%s='%s' ", k, v)
	}
	fmt.Fprintf(&b, "exec '%s' \"$@\"\n", testBinary)
	return []byte(b.String())
}

func hashOf(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func digestFile(t *testing.T, path string) string {
	t.Helper()
	sum, _, err := fileDigest(path)
	if err != nil {
		t.Fatalf("digest %s: %v", path, err)
	}
	return sum
}

// newAdopted creates a root with slot A adopted from a program in mode.
func newAdopted(t *testing.T, mode, version, runlog string) *Slots {
	t.Helper()
	dir := t.TempDir()
	exe := filepath.Join(dir, "running-pos")
	if err := os.WriteFile(exe, script(mode, version, runlog), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Join(dir, "slots"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Empty() {
		t.Fatal("fresh root is not empty")
	}
	if err := s.Adopt(exe, version); err != nil {
		t.Fatal(err)
	}
	return s
}

func install(t *testing.T, s *Slots, version string, payload []byte) string {
	t.Helper()
	slot, err := s.Install(version, bytes.NewReader(payload), int64(len(payload)), hashOf(payload), nil)
	if err != nil {
		t.Fatalf("install %s: %v", version, err)
	}
	return slot
}

func readRunlog(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(data), "\n"), "\n")
}

// versionLess compares dotted numeric versions, as the caller would.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			y, _ = strconv.Atoi(pb[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}
