package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/shoukuan/pos/app/bootslot"
	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/app/mutant"
	"github.com/shoukuan/pos/app/terminal"
	"github.com/shoukuan/pos/app/update"
	"github.com/shoukuan/pos/board"
	"github.com/shoukuan/pos/hal"
)

const bootUsage = `usage: pos boot [--board B] [--data DIR] [--slots DIR] [-- COMMAND ARGS...]

Runs the terminal from its software slots: it picks the slot (a new
version on trial, or the known good one), runs that slot's pos with
COMMAND (default: run --board B --data DIR), and when it stops other than
by a clean exit runs it again; a trial that is not marked good within
update.trial_boots starts, or that fails its self-test, goes back to the
old slot. The first time, this pos becomes slot A. The terminal image
makes this its first process.
`

// exitError is an error with the exit status it must end the process with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func cmdBoot(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("boot", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, bootUsage); fs.PrintDefaults() }
	var c common
	c.register(fs, "posdata")
	slotsDir := fs.String("slots", "", "software slots directory (default: the board's, or DATA-slots)")
	backoff := fs.Duration("backoff", time.Second, "wait after a failed run, doubling up to a minute")
	if err := fs.Parse(args); err != nil {
		return err
	}
	_, desc, err := c.load()
	if err != nil {
		return err
	}
	root := *slotsDir
	if root == "" {
		root = desc.SlotsDir(c.dataDir)
	}
	child := fs.Args()
	if len(child) == 0 {
		child = []string{"run", "--board", c.board, "--data", c.dataDir}
		if c.config != "" {
			child = append(child, "--config", c.config)
		}
	}
	slots, err := bootslot.Open(root)
	var se *bootslot.StateError
	if err != nil && !errors.As(err, &se) {
		return err
	}
	if se != nil {
		fmt.Fprintln(stderr, "pos boot: the boot state is damaged; booting what can be found:", se)
	}
	if slots.Empty() {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		if err := slots.Adopt(exe, version); err != nil {
			return fmt.Errorf("boot: this pos cannot become slot A: %w", err)
		}
		fmt.Fprintf(stderr, "pos boot: version %s is now slot A in %s\n", version, root)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = bootslot.Supervise(ctx, slots, child, bootslot.SuperviseOptions{
		Log:    func(s string) { fmt.Fprintf(stderr, "pos boot %s: %s\n", time.Now().Format("15:04:05"), s) },
		Stdout: stdout, Stderr: stderr, Backoff: *backoff,
	})
	if errors.Is(err, context.Canceled) {
		return nil // asked to stop: the terminal stopped cleanly
	}
	return err
}

// slotsOf is the slots this process runs from (pos boot says so in the
// environment) or, outside pos boot, the board's.
func slotsOf(desc *board.Desc, dataDir string) (*bootslot.Slots, string, error) {
	root := os.Getenv(bootslot.EnvRoot)
	if root == "" {
		root = desc.SlotsDir(dataDir)
	}
	s, err := bootslot.Open(root)
	return s, os.Getenv(bootslot.EnvSlot), err
}

// trialOutcome is what a new version decides about itself on its trial
// boot, once its journal opened and its devices are up: its own
// self-test passes, and it marks itself good and raises the version
// floor; or it fails, and the next boot is the old version. The host link
// and the clock are reported but do not decide: a shop's network being
// down says nothing about the software.
func trialOutcome(ctx context.Context, st *stack, b *board.Board, dataDir string, log *slog.Logger) error {
	slot := os.Getenv(bootslot.EnvSlot)
	if os.Getenv(bootslot.EnvTrial) != "1" || slot == "" {
		return nil
	}
	slots, err := bootslot.Open(os.Getenv(bootslot.EnvRoot))
	if err != nil {
		return fmt.Errorf("trial boot: %w", err)
	}
	res := terminal.SelfTest(ctx, b.Devices, terminal.StorageCheck(st.db, dataDir))
	for _, u := range b.Unopened {
		res = append(res, hal.SelfTestResult{Device: u.Device, Detail: "cannot open: " + u.Err.Error()})
	}
	if err := terminal.RecordSelfTest(st.db, time.Now(), version, res); err != nil {
		log.Warn("trial self-test not recorded", "err", err)
	}
	var failed []string
	for _, r := range res {
		if !r.OK && !r.Skipped {
			failed = append(failed, r.Device+" FAIL: "+r.Detail)
		}
	}
	if len(failed) > 0 && !mutant.On("trial-self-test-ignored") {
		reason := "self-test: " + strings.Join(failed, "; ")
		log.Error("trial of the new software failed; going back", "slot", slot, "version", version, "reason", reason)
		if err := slots.Fail(slot, reason); err != nil {
			return fmt.Errorf("trial boot: %w", err)
		}
		return &exitError{code: bootslot.ExitRollback, err: errors.New("trial failed: " + reason)}
	}
	floor := version
	if m, err := readSlotManifest(slots, slot); err == nil && m.Floor != "" {
		floor = m.Floor
	}
	// one write: kept and floor raised, or neither (see MarkGoodRaisingFloor)
	if err := slots.MarkGoodRaisingFloor(slot, floor, versionLess); err != nil {
		return fmt.Errorf("trial boot: %w", err)
	}
	log.Info("new software passed its trial and is kept", "slot", slot, "version", version, "floor", floor)
	return nil
}

// versionLess compares semantic versions; an unparsable one is the lowest.
func versionLess(a, b string) bool {
	va, errA := update.ParseVersion(a)
	vb, errB := update.ParseVersion(b)
	switch {
	case errA != nil:
		return errB == nil
	case errB != nil:
		return false
	}
	return update.Compare(va, vb) < 0
}

// slotManifest is the signed manifest of the bundle a slot came from,
// kept beside its pos (the floor it sets, its release notes).
const slotManifest = "manifest.json"

func readSlotManifest(s *bootslot.Slots, slot string) (update.Manifest, error) {
	var m update.Manifest
	b, err := os.ReadFile(filepath.Join(filepath.Dir(s.Path(slot)), slotManifest))
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}

func writeSlotManifest(s *bootslot.Slots, slot string, m update.Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return journal.WriteFileAtomic(filepath.Join(filepath.Dir(s.Path(slot)), slotManifest), append(b, '\n'))
}

// bootNotice is what the last update did that the technician has not
// been told, for the first screen: its rollbacks, and the rest as
// sentences. It marks them told.
func bootNotice(desc *board.Desc, dataDir string) (string, []terminal.RollBack) {
	slots, _, err := slotsOf(desc, dataDir)
	if err != nil || slots.Empty() {
		return "", nil
	}
	var lines []string
	var rolled []terminal.RollBack
	for _, e := range slots.Unseen() {
		if e.Kind == bootslot.EventRolledBack {
			rolled = append(rolled, terminal.RollBack{From: e.Version, To: e.BackTo, Reason: e.Reason})
			continue
		}
		lines = append(lines, e.String())
	}
	if len(lines) == 0 && len(rolled) == 0 {
		return "", nil
	}
	slots.MarkSeen()
	return strings.Join(lines, "\n"), rolled
}

// slotsCheck is the self-test of the software slots: the state readable,
// the running and the fallback executables intact.
func slotsCheck(desc *board.Desc, dataDir string) terminal.Check {
	return terminal.Check{Name: "update slots", Run: func(context.Context) hal.SelfTestResult {
		r := hal.SelfTestResult{Device: "update slots"}
		slots, _, err := slotsOf(desc, dataDir)
		if err != nil {
			r.Detail = err.Error()
			return r
		}
		if slots.Empty() {
			r.Skipped, r.Detail = true, "not tested: no software slots (the terminal does not run through pos boot)"
			return r
		}
		st := slots.Status()
		var parts []string
		ok := true
		for _, s := range []struct {
			name string
			info bootslot.SlotInfo
		}{{"A", st.A}, {"B", st.B}} {
			d := fmt.Sprintf("%s %s %s", s.name, s.info.State, s.info.Version)
			if s.name == st.Active {
				d += " (active)"
			}
			if s.info.State == bootslot.StateGood || s.info.State == bootslot.StateReady {
				if sum, err := fileSHA256(slots.Path(s.name)); err != nil || sum != s.info.SHA256 {
					d += " DAMAGED"
					ok = false
				}
			}
			parts = append(parts, strings.TrimSpace(d))
		}
		if st.Floor != "" {
			parts = append(parts, "floor "+st.Floor)
		}
		r.OK, r.Detail = ok, strings.Join(parts, ", ")
		return r
	}}
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
