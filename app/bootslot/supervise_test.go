//go:build unix

package bootslot

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) log(s string) {
	l.mu.Lock()
	l.lines = append(l.lines, s)
	l.mu.Unlock()
}

func (l *logRecorder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func testOptions(l *logRecorder) SuperviseOptions {
	return SuperviseOptions{
		Log:         l.log,
		Backoff:     time.Millisecond,
		MaxRestarts: 10,
		Grace:       time.Second,
		// A stale trial marker in the supervisor's own environment must
		// not leak into a normal boot.
		Env: []string{"PATH=/usr/bin:/bin", "POS_SLOT_TRIAL=1", "POS_SLOT_ATTEMPT=9"},
	}
}

func TestSuperviseFullCycle(t *testing.T) {
	runlog := filepath.Join(t.TempDir(), "runs")
	s := newAdopted(t, "ok", "1.0.0", runlog)
	if slot := install(t, s, "2.0.0", script("markgood", "2.0.0", runlog)); slot != "B" {
		t.Fatalf("installed into %s", slot)
	}
	if err := s.ArmTrial(3); err != nil {
		t.Fatal(err)
	}
	var l logRecorder
	if err := Supervise(context.Background(), s, []string{"run"}, testOptions(&l)); err != nil {
		t.Fatalf("Supervise: %v\n%s", err, l.String())
	}
	if got := readRunlog(t, runlog); strings.Join(got, "|") != "B 2.0.0 1 1" {
		t.Fatalf("boots %q, want one trial boot of B\n%s", got, l.String())
	}
	st := s.Status()
	if st.Active != "B" || st.B.State != StateGood || st.A.State != StateGood || st.Trial != nil {
		t.Fatalf("after mark-good: %+v", st)
	}
	if e := st.Events[len(st.Events)-1]; e.Kind != EventMarkedGood || e.Slot != "B" || e.Version != "2.0.0" {
		t.Fatalf("last event %+v", e)
	}
	if len(s.Unseen()) != 0 {
		t.Fatalf("a successful update left unseen events: %v", s.Unseen())
	}
	if err := s.RaiseFloor("2.0.0", versionLess); err != nil {
		t.Fatal(err)
	}
	bSum := digestFile(t, s.Path("B"))
	if slot := install(t, s, "3.0.0", script("ok", "3.0.0", runlog)); slot != "A" {
		t.Fatalf("next update went to %s", slot)
	}
	if digestFile(t, s.Path("B")) != bSum {
		t.Fatal("the running slot was overwritten")
	}
	if st := s.Status(); st.Floor != "2.0.0" || st.A.State != StateReady {
		t.Fatalf("status: %+v", st)
	}
	// Without a trial the proven B boots, with no trial variables.
	l = logRecorder{}
	if err := Supervise(context.Background(), s, nil, testOptions(&l)); err != nil {
		t.Fatal(err)
	}
	if got := readRunlog(t, runlog); got[len(got)-1] != "B 2.0.0  " {
		t.Fatalf("plain boot logged %q", got[len(got)-1])
	}
}

func TestSuperviseCrashingTrialRollsBack(t *testing.T) {
	runlog := filepath.Join(t.TempDir(), "runs")
	s := newAdopted(t, "ok", "1.0.0", runlog)
	install(t, s, "2.0.0", script("crash", "2.0.0", runlog))
	if err := s.ArmTrial(3); err != nil {
		t.Fatal(err)
	}
	var l logRecorder
	if err := Supervise(context.Background(), s, nil, testOptions(&l)); err != nil {
		t.Fatalf("Supervise: %v\n%s", err, l.String())
	}
	want := "B 2.0.0 1 1|B 2.0.0 1 2|B 2.0.0 1 3|A 1.0.0  "
	if got := strings.Join(readRunlog(t, runlog), "|"); got != want {
		t.Fatalf("boots %q, want %q\n%s", got, want, l.String())
	}
	if !strings.Contains(l.String(), "exited with status 1") || !strings.Contains(l.String(), "not marked good after 3 boots") {
		t.Fatalf("log does not say why:\n%s", l.String())
	}
	st := s.Status()
	if st.Active != "A" || st.B.State != StateBad || st.B.Reason != "not marked good after 3 boots" || st.Trial != nil {
		t.Fatalf("status: %+v", st)
	}
	un := s.Unseen()
	if len(un) != 1 || un[0].Kind != EventRolledBack ||
		un[0].String() != "rolled back from 2.0.0 to 1.0.0: not marked good after 3 boots" {
		t.Fatalf("unseen: %v", un)
	}
	if err := s.MarkSeen(); err != nil {
		t.Fatal(err)
	}
	if un := s.Unseen(); len(un) != 0 {
		t.Fatalf("told twice: %v", un)
	}
}

func TestSuperviseFailedSelfTestRollsBackAtOnce(t *testing.T) {
	runlog := filepath.Join(t.TempDir(), "runs")
	s := newAdopted(t, "ok", "1.0.0", runlog)
	install(t, s, "2.0.0", script("fail", "2.0.0", runlog, "BOOTSLOT_TEST_REASON=self-test: printer FAIL"))
	if err := s.ArmTrial(3); err != nil {
		t.Fatal(err)
	}
	var l logRecorder
	opt := testOptions(&l)
	opt.Backoff = 30 * time.Second // must not be waited for
	start := time.Now()
	if err := Supervise(context.Background(), s, nil, opt); err != nil {
		t.Fatalf("Supervise: %v\n%s", err, l.String())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("rollback took %s: the backoff was applied", d)
	}
	want := "B 2.0.0 1 1|A 1.0.0  "
	if got := strings.Join(readRunlog(t, runlog), "|"); got != want {
		t.Fatalf("boots %q, want %q\n%s", got, want, l.String())
	}
	if st := s.Status(); st.B.State != StateBad || st.B.Reason != "self-test: printer FAIL" || st.Active != "A" {
		t.Fatalf("status: %+v", st)
	}
	un := s.Unseen()
	if len(un) != 1 || un[0].String() != "rolled back from 2.0.0 to 1.0.0: self-test: printer FAIL" {
		t.Fatalf("unseen: %v", un)
	}
}

func TestSuperviseBackoffDoubles(t *testing.T) {
	s := newAdopted(t, "crash", "1.0.0", "")
	var l logRecorder
	opt := testOptions(&l)
	opt.Backoff = 20 * time.Millisecond
	opt.MaxBackoff = 50 * time.Millisecond
	opt.MaxRestarts = 5
	err := Supervise(context.Background(), s, nil, opt)
	if !errors.Is(err, ErrRestartLimit) {
		t.Fatalf("Supervise: %v", err)
	}
	var waits []string
	for _, line := range strings.Split(l.String(), "\n") {
		if w, ok := strings.CutPrefix(line, "restarting in "); ok {
			waits = append(waits, w)
		}
	}
	if got := strings.Join(waits, " "); got != "20ms 40ms 50ms 50ms" {
		t.Fatalf("backoffs %q\n%s", got, l.String())
	}
}

func TestSuperviseCancelStopsChild(t *testing.T) {
	for _, mode := range []string{"hang", "stubborn"} {
		t.Run(mode, func(t *testing.T) {
			runlog := filepath.Join(t.TempDir(), "runs")
			s := newAdopted(t, mode, "1.0.0", runlog)
			var l logRecorder
			opt := testOptions(&l)
			opt.Grace = 300 * time.Millisecond
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				// Cancel once the child is surely running.
				for len(readRunlog(t, runlog)) == 0 {
					time.Sleep(10 * time.Millisecond)
				}
				time.Sleep(100 * time.Millisecond)
				cancel()
			}()
			start := time.Now()
			err := Supervise(ctx, s, nil, opt)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Supervise: %v\n%s", err, l.String())
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("stopping took %s", d)
			}
		})
	}
}

func TestSuperviseNothingBootable(t *testing.T) {
	s := newAdopted(t, "ok", "1.0.0", "")
	if err := os.Remove(s.Path("A")); err != nil {
		t.Fatal(err)
	}
	var l logRecorder
	err := Supervise(context.Background(), s, nil, testOptions(&l))
	if !errors.Is(err, ErrNothingBootable) {
		t.Fatalf("Supervise: %v", err)
	}
}
