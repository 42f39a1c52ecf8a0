//go:build unix

package bootslot

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	killRuns   = flag.Int("kill-runs", 0, "SIGKILL runs at chosen steps (default 210, 60 with -short)")
	randomRuns = flag.Int("kill-random-runs", 0, "SIGKILL runs at random times (default 40, 10 with -short)")
)

const (
	killPayloadSize = 2 << 20
	loopPayloadSize = 512 << 10
	oldVersion      = "1.0.0"
	newVersion      = "2.0.0"
)

// payload is deterministic so the parent knows what the child installs.
func payload(size int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	b := make([]byte, size)
	for i := 0; i+8 <= len(b); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func selfKill() {
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is asynchronous; never run past the kill point
}

// killSequenceChild installs the new version, arms its trial, boots it
// once and marks it good, and SIGKILLs itself at hook call number
// BOOTSLOT_KILL_AT. With BOOTSLOT_KILL_AT=0 it lists the steps instead.
func killSequenceChild() int {
	root := os.Getenv("BOOTSLOT_KILL_ROOT")
	at, _ := strconv.Atoi(os.Getenv("BOOTSLOT_KILL_AT"))
	phase := ""
	n := 0
	out := bufio.NewWriter(os.Stdout)
	testHook = func(step string, _ int64) {
		n++
		if at == 0 {
			fmt.Fprintf(out, "%d %s %s\n", n, phase, step)
		}
		if n == at {
			selfKill()
		}
	}
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, phase+":", err)
		return 1
	}
	s, err := Open(root)
	if err != nil {
		return fail(err)
	}
	p := payload(killPayloadSize, 1)
	var seen int64
	phase = "install"
	slot, err := s.Install(newVersion, bytes.NewReader(p), int64(len(p)), hashOf(p), func(d int64) { seen = d })
	if err != nil {
		return fail(err)
	}
	if seen != int64(len(p)) {
		return fail(fmt.Errorf("progress stopped at %d", seen))
	}
	phase = "arm"
	if err := s.ArmTrial(3); err != nil {
		return fail(err)
	}
	phase = "choose"
	if b, err := s.Choose(); err != nil || !b.Trial {
		return fail(fmt.Errorf("trial boot: %+v %v", b, err))
	}
	phase = "markgood"
	if err := s.MarkGoodRaisingFloor(slot, newVersion, versionLess); err != nil {
		return fail(err)
	}
	out.Flush()
	return 0
}

// killLoopChild repeats install/arm/boot/mark-good forever, alternating
// slots, until the parent kills it.
func killLoopChild() int {
	s, err := Open(os.Getenv("BOOTSLOT_KILL_ROOT"))
	if err != nil {
		return 1
	}
	for i := uint64(1); ; i++ {
		p := payload(loopPayloadSize, i)
		v := fmt.Sprintf("2.0.%d", i)
		slot, err := s.Install(v, bytes.NewReader(p), int64(len(p)), hashOf(p), nil)
		if err == nil {
			err = s.ArmTrial(3)
		}
		if err == nil {
			_, err = s.Choose()
		}
		if err == nil {
			err = s.MarkGood(slot)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
}

type killStep struct {
	phase, step string
}

func killChild(root string, mode string, at int) *exec.Cmd {
	cmd := exec.Command(testBinary)
	cmd.Env = append(os.Environ(), envChild+"="+mode, "BOOTSLOT_KILL_ROOT="+root, "BOOTSLOT_KILL_AT="+strconv.Itoa(at))
	return cmd
}

func adoptedRoot(t *testing.T, dir string) *Slots {
	t.Helper()
	exe := filepath.Join(dir, "running-pos")
	if err := os.WriteFile(exe, script("ok", oldVersion, ""), 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := Open(filepath.Join(dir, "slots"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Adopt(exe, oldVersion); err != nil {
		t.Fatal(err)
	}
	return s
}

// checkAfterKill is what every boot after a power cut must satisfy; it
// returns the boot and its program's SHA-256 (read before the repair
// install below, which may replace a trial's program).
func checkAfterKill(t *testing.T, root string) (Boot, string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, stateFile))
	if err != nil {
		t.Fatalf("state file: %v", err)
	}
	if _, err := decodeState(data); err != nil {
		t.Fatalf("state file does not decode: %v\n%s", err, data)
	}
	s, err := Open(root)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	b, err := s.Choose()
	if err != nil {
		t.Fatalf("Choose: %v", err)
	}
	if b.Note != "" {
		t.Fatalf("Choose had to improvise: %s", b.Note)
	}
	st := s.Status()
	info := st.A
	if b.Slot == "B" {
		info = st.B
	}
	want := StateGood
	if b.Trial {
		want = StateReady
	}
	if info.State != want {
		t.Fatalf("chose slot %s in state %s (trial %v)", b.Slot, info.State, b.Trial)
	}
	sum, size, err := fileDigest(b.Path)
	if err != nil || sum != info.SHA256 || size != info.Size {
		t.Fatalf("chosen program %s: sha %s size %d err %v; state says %s %d", b.Path, sum, size, err, info.SHA256, info.Size)
	}
	// Stronger than "the chosen one is intact": the state never claims a
	// program that is not on disk as recorded.
	for _, name := range []string{"A", "B"} {
		si := st.A
		if name == "B" {
			si = st.B
		}
		if si.State == StateReady || si.State == StateGood {
			if err := s.intact(name, &si); err != nil {
				t.Fatalf("slot %s is %s but %v", name, si.State, err)
			}
		}
	}
	if left, _ := filepath.Glob(filepath.Join(root, ".state-*.tmp")); len(left) > 0 {
		t.Fatalf("temp state files left after Choose: %v", left)
	}
	// The terminal can still be updated, and that does not touch what runs.
	activeSum := digestFile(t, s.Path(st.Active))
	fix := []byte("repair " + root)
	slot, err := s.Install("9.9.9", bytes.NewReader(fix), int64(len(fix)), hashOf(fix), nil)
	if err != nil || slot != other(st.Active) {
		t.Fatalf("Install after kill: slot %s err %v (active %s)", slot, err, st.Active)
	}
	if digestFile(t, s.Path(st.Active)) != activeSum {
		t.Fatal("Install after kill changed the active program")
	}
	return b, sum
}

func TestKillAtEveryStep(t *testing.T) {
	runs := *killRuns
	if runs == 0 {
		runs = 210
		if testing.Short() {
			runs = 60
		}
	}
	// A listing run learns the step sequence and checks it completes.
	s := adoptedRoot(t, t.TempDir())
	cmd := killChild(s.Root(), "killseq", 0)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("listing run: %v\n%s", err, stderr.String())
	}
	var steps []killStep
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("bad step line %q", line)
		}
		steps = append(steps, killStep{f[1], f[2]})
	}
	if len(steps) < 40 {
		t.Fatalf("only %d kill points", len(steps))
	}
	t.Logf("%d kill points, %d runs", len(steps), runs)

	newHash := hashOf(payload(killPayloadSize, 1))
	byPhase := map[string]int{}
	for i := 0; i < runs; i++ {
		at := i%(len(steps)+1) + 1 // len(steps)+1: the child finishes
		committed := ""
		for j := 0; j < at && j < len(steps); j++ {
			if steps[j].step == "state-rename" {
				committed = steps[j].phase
			}
		}
		if at > len(steps) {
			committed = "markgood"
		}
		dir := t.TempDir()
		s := adoptedRoot(t, dir)
		var stderr bytes.Buffer
		cmd := killChild(s.Root(), "killseq", at)
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if at <= len(steps) {
			if !errors.As(err, &ee) || ee.ExitCode() != -1 {
				t.Fatalf("kill at %d (%v): child did not die by signal: %v\n%s", at, steps[at-1], err, stderr.String())
			}
		} else if err != nil {
			t.Fatalf("full run: %v\n%s", err, stderr.String())
		}
		where := "after the end"
		if at <= len(steps) {
			where = fmt.Sprintf("at %d (%s %s)", at, steps[at-1].phase, steps[at-1].step)
		}
		t.Run(fmt.Sprintf("kill-%03d", at), func(t *testing.T) {
			b, sum := checkAfterKill(t, s.Root())
			var ok bool
			switch committed {
			case "", "install":
				ok = b.Slot == "A" && b.Version == oldVersion && !b.Trial
			case "arm":
				ok = b.Slot == "B" && b.Version == newVersion && b.Trial && b.Attempt == 1
			case "choose":
				ok = b.Slot == "B" && b.Version == newVersion && b.Trial && b.Attempt == 2
			case "markgood":
				ok = b.Slot == "B" && b.Version == newVersion && !b.Trial
			}
			if !ok {
				t.Fatalf("kill %s, last saved state from %q: booted %+v", where, committed, b)
			}
			if b.Version == newVersion && sum != newHash {
				t.Fatal("new version booted with the wrong program")
			}
			// kept means floor raised: never one without the other
			kept := b.Version == newVersion && !b.Trial
			if floor := s.Status().Floor; kept != (floor == newVersion) {
				t.Fatalf("kill %s: new version kept %v, floor %q", where, kept, floor)
			}
		})
		byPhase[committed]++
		os.RemoveAll(dir) // keep the disk use of a long campaign flat
	}
	t.Logf("runs by last saved phase: %v", byPhase)
}

func TestKillAtRandomTimes(t *testing.T) {
	runs := *randomRuns
	if runs == 0 {
		runs = 40
		if testing.Short() {
			runs = 10
		}
	}
	r := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	trials, news := 0, 0
	for i := 0; i < runs; i++ {
		dir := t.TempDir()
		s := adoptedRoot(t, dir)
		cmd := killChild(s.Root(), "killloop", 0)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Half the kills land early (child start-up, first install), the
		// rest anywhere in later cycles, where both slots get rewritten.
		limit := 250
		if i%2 == 0 {
			limit = 40
		}
		delay := time.Duration(r.IntN(limit)) * time.Millisecond
		time.Sleep(delay)
		cmd.Process.Kill()
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != -1 {
			t.Fatalf("loop child ended by itself: %v\n%s", err, stderr.String())
		}
		t.Run(fmt.Sprintf("after-%s", delay), func(t *testing.T) {
			b, _ := checkAfterKill(t, s.Root())
			if b.Version != oldVersion && !strings.HasPrefix(b.Version, "2.0.") {
				t.Fatalf("booted unknown version %q", b.Version)
			}
			if b.Trial {
				trials++
			}
			if b.Version != oldVersion {
				news++
			}
		})
		os.RemoveAll(dir)
	}
	t.Logf("%d runs: %d booted a new version, %d of them as a trial", runs, news, trials)
}
