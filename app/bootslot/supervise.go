package bootslot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ExitRollback is the exit status of a trial that found itself broken and
// already called Fail: the supervisor restarts at once, without backoff,
// so the terminal is back on the old version quickly.
const ExitRollback = 75

// ExitRestart is the status of a program that asks to be started again at
// once: new software was installed and its trial should begin.
const ExitRestart = 76

// ErrRestartLimit is returned when SuperviseOptions.MaxRestarts is hit.
var ErrRestartLimit = errors.New("the program was restarted too many times")

// Environment passed to the child.
const (
	EnvSlot    = "POS_SLOT"
	EnvRoot    = "POS_SLOT_ROOT"
	EnvVersion = "POS_SLOT_VERSION"
	EnvTrial   = "POS_SLOT_TRIAL"
	EnvAttempt = "POS_SLOT_ATTEMPT"
)

// SuperviseOptions tune Supervise; the zero value is usable.
type SuperviseOptions struct {
	Log         func(string)  // progress and failures; default: discarded
	Backoff     time.Duration // first wait after a failed run; default 1 s
	MaxBackoff  time.Duration // cap of the doubling backoff; default 60 s
	Healthy     time.Duration // a run this long resets the backoff; default 60 s
	Grace       time.Duration // SIGTERM to SIGKILL on cancel; default 10 s
	MaxRestarts int           // 0 = unlimited

	Stdin          io.Reader // default os.Stdin
	Stdout, Stderr io.Writer // default os.Stdout, os.Stderr
	Env            []string  // default os.Environ()
}

func (o *SuperviseOptions) defaults() {
	if o.Log == nil {
		o.Log = func(string) {}
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 60 * time.Second
	}
	if o.MaxBackoff < o.Backoff {
		o.MaxBackoff = o.Backoff
	}
	if o.Healthy <= 0 {
		o.Healthy = 60 * time.Second
	}
	if o.Grace <= 0 {
		o.Grace = 10 * time.Second
	}
	if o.Stdin == nil {
		o.Stdin = os.Stdin
	}
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Env == nil {
		o.Env = os.Environ()
	}
}

// Supervise runs the terminal: it boots the slot Choose picks with args,
// and when the program stops other than by a clean exit (status 0, a
// power-off request) it boots again, which counts the next trial attempt
// or falls back to the old version. Cancelling ctx stops the program
// (SIGTERM, then SIGKILL after Grace) and returns ctx.Err().
func Supervise(ctx context.Context, s *Slots, args []string, opt SuperviseOptions) error {
	opt.defaults()
	backoff := opt.Backoff
	restarts := 0
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := s.Choose()
		if err != nil {
			return fmt.Errorf("cannot boot: %w", err)
		}
		if b.Note != "" {
			opt.Log(b.Note)
		}
		what := describeBoot(b)
		opt.Log("starting " + what)
		start := time.Now()
		code, err := runChild(ctx, b, s.root, args, &opt)
		ran := time.Since(start).Round(time.Millisecond)
		if ctx.Err() != nil {
			opt.Log(fmt.Sprintf("%s stopped: shutting down", what))
			return ctx.Err()
		}
		switch {
		case err != nil:
			opt.Log(fmt.Sprintf("%s could not be started: %v", what, err))
		case code == 0:
			opt.Log(fmt.Sprintf("%s exited normally after %s", what, ran))
			return nil
		case code == ExitRollback:
			opt.Log(fmt.Sprintf("%s reported a failed trial after %s; going back", what, ran))
		case code == ExitRestart:
			opt.Log(fmt.Sprintf("%s asked to be restarted after %s (new software installed)", what, ran))
		case code < 0:
			opt.Log(fmt.Sprintf("%s was killed by a signal after %s", what, ran))
		default:
			opt.Log(fmt.Sprintf("%s exited with status %d after %s", what, code, ran))
		}
		restarts++
		if opt.MaxRestarts > 0 && restarts >= opt.MaxRestarts {
			return fmt.Errorf("%w (%d)", ErrRestartLimit, restarts)
		}
		if err == nil && (code == ExitRollback || code == ExitRestart) {
			continue
		}
		// A run that stayed up a while was not a crash loop; start the
		// backoff over so a rare crash does not cost a long wait.
		if ran >= opt.Healthy {
			backoff = opt.Backoff
		}
		opt.Log(fmt.Sprintf("restarting in %s", backoff))
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, opt.MaxBackoff)
	}
}

func describeBoot(b Boot) string {
	v := b.Version
	if v == "" {
		v = "unknown version"
	}
	if b.Trial {
		return fmt.Sprintf("slot %s (%s, trial boot %d of %d)", b.Slot, v, b.Attempt, b.MaxBoots)
	}
	return fmt.Sprintf("slot %s (%s)", b.Slot, v)
}

// runChild runs one boot and returns its exit status (-1 for a signal).
func runChild(ctx context.Context, b Boot, root string, args []string, opt *SuperviseOptions) (int, error) {
	cmd := exec.Command(b.Path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = opt.Stdin, opt.Stdout, opt.Stderr
	cmd.Env = childEnv(opt.Env, b, root)
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		if cmd.Process.Signal(syscall.SIGTERM) != nil {
			cmd.Process.Kill() // no SIGTERM on this system
		}
		t := time.NewTimer(opt.Grace)
		select {
		case err = <-done:
			t.Stop()
		case <-t.C:
			cmd.Process.Kill()
			err = <-done
		}
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 0, err
	}
	return 0, nil
}

// childEnv drops inherited POS_SLOT* values so a stale POS_SLOT_TRIAL from
// the supervisor's own environment cannot make a normal boot look like a
// trial.
func childEnv(base []string, b Boot, root string) []string {
	env := make([]string, 0, len(base)+5)
	for _, kv := range base {
		if strings.HasPrefix(kv, "POS_SLOT=") || strings.HasPrefix(kv, "POS_SLOT_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, EnvSlot+"="+b.Slot, EnvRoot+"="+root, EnvVersion+"="+b.Version)
	if b.Trial {
		env = append(env, EnvTrial+"=1", EnvAttempt+"="+strconv.Itoa(b.Attempt))
	}
	return env
}
