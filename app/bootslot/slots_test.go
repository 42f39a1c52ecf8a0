//go:build unix

package bootslot

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAdoptLayoutAndPermissions(t *testing.T) {
	s := newAdopted(t, "ok", "1.0.0", "")
	if err := s.Adopt(s.Path("A"), "1.0.0"); !errors.Is(err, ErrSlotsExist) {
		t.Fatalf("second Adopt: %v, want ErrSlotsExist", err)
	}
	st := s.Status()
	if st.Err != nil || st.Empty || st.Active != "A" || st.A.State != StateGood || st.B.State != StateEmpty {
		t.Fatalf("status after adopt: %+v", st)
	}
	if got := digestFile(t, s.Path("A")); got != st.A.SHA256 {
		t.Fatalf("recorded hash %s, file %s", st.A.SHA256, got)
	}
	install(t, s, "2.0.0", []byte("v2"))
	for path, want := range map[string]os.FileMode{
		s.Root():                              0o700,
		filepath.Join(s.Root(), "A"):          0o700,
		filepath.Join(s.Root(), "B"):          0o700,
		filepath.Join(s.Root(), "state.json"): 0o600,
		s.Path("A"):                           0o700,
		s.Path("B"):                           0o700,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
	b, err := s.Choose()
	if err != nil || b.Slot != "A" || b.Version != "1.0.0" || b.Trial {
		t.Fatalf("Choose = %+v, %v", b, err)
	}
}

func TestEmptyRootCannotBoot(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if !s.Empty() {
		t.Fatal("not empty")
	}
	if _, err := s.Choose(); !errors.Is(err, ErrNoSlots) {
		t.Fatalf("Choose on empty: %v", err)
	}
	if _, err := s.Install("1.0.0", strings.NewReader("x"), 1, hashOf([]byte("x")), nil); !errors.Is(err, ErrNoSlots) {
		t.Fatalf("Install on empty: %v", err)
	}
}

func TestInstallNeverTouchesActive(t *testing.T) {
	s := newAdopted(t, "ok", "1.0.0", "")
	activeSum := digestFile(t, s.Path("A"))

	// Wrong SHA-256: the slot stays unbootable and the active one boots.
	payload := bytes.Repeat([]byte("new version "), 20000)
	slot, err := s.Install("2.0.0", bytes.NewReader(payload), int64(len(payload)), hashOf([]byte("other")), nil)
	if err == nil || slot != "B" {
		t.Fatalf("Install with wrong hash: slot %q err %v", slot, err)
	}
	t.Logf("wrong hash: %v", err)
	if st := s.Status(); st.B.State != StateWriting || st.Trial != nil {
		t.Fatalf("after failed install: %+v", st)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "B", tempExe)); !os.IsNotExist(err) {
		t.Fatalf("temp file left behind: %v", err)
	}
	if err := s.ArmTrial(3); !errors.Is(err, ErrNoUpdate) {
		t.Fatalf("ArmTrial on a writing slot: %v", err)
	}
	if b, err := s.Choose(); err != nil || b.Slot != "A" || b.Trial {
		t.Fatalf("Choose after failed install = %+v, %v", b, err)
	}

	// A short download is refused too.
	if _, err := s.Install("2.0.0", bytes.NewReader(payload[:100]), int64(len(payload)), hashOf(payload), nil); err == nil {
		t.Fatal("short download accepted")
	}

	var last int64
	slot, err = s.Install("2.0.0", bytes.NewReader(payload), int64(len(payload)), strings.ToUpper(hashOf(payload)), func(n int64) { last = n })
	if err != nil || slot != "B" {
		t.Fatalf("Install: %q %v", slot, err)
	}
	if last != int64(len(payload)) {
		t.Fatalf("progress ended at %d of %d", last, len(payload))
	}
	if err := s.ArmTrial(3); err != nil {
		t.Fatal(err)
	}
	// An install while a trial is pending replaces the trial slot.
	slot = install(t, s, "2.0.1", []byte("v2.0.1"))
	if st := s.Status(); slot != "B" || st.Trial != nil || st.B.Version != "2.0.1" || st.B.State != StateReady {
		t.Fatalf("install over a pending trial: slot %s status %+v", slot, st)
	}
	if got := digestFile(t, s.Path("A")); got != activeSum {
		t.Fatal("the active slot's program changed during installs")
	}

	// After B is proven the next update goes to A, and B is left alone.
	if err := s.ArmTrial(0); err != nil {
		t.Fatal(err)
	}
	if b, err := s.Choose(); err != nil || !b.Trial || b.Slot != "B" || b.MaxBoots != DefaultMaxBoots {
		t.Fatalf("trial Choose = %+v, %v", b, err)
	}
	if err := s.MarkGood("B"); err != nil {
		t.Fatal(err)
	}
	bSum := digestFile(t, s.Path("B"))
	if slot := install(t, s, "3.0.0", []byte("v3")); slot != "A" {
		t.Fatalf("update after B proven went to %s", slot)
	}
	if digestFile(t, s.Path("B")) != bSum {
		t.Fatal("the active slot B changed during install")
	}
}

func TestChooseCountsTrialBootsOnDisk(t *testing.T) {
	s := newAdopted(t, "ok", "1.0.0", "")
	install(t, s, "2.0.0", []byte("v2"))
	if err := s.ArmTrial(2); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 2; attempt++ {
		// A fresh Slots each time, as after a reboot.
		s2, err := Open(s.Root())
		if err != nil {
			t.Fatal(err)
		}
		b, err := s2.Choose()
		if err != nil || !b.Trial || b.Slot != "B" || b.Version != "2.0.0" || b.Attempt != attempt || b.MaxBoots != 2 {
			t.Fatalf("boot %d: %+v, %v", attempt, b, err)
		}
		if tr := s2.Status().Trial; tr == nil || tr.BootsDone != attempt || tr.BootsLeft != 2-attempt {
			t.Fatalf("boot %d not recorded: %+v", attempt, tr)
		}
	}
	b, err := s.Choose()
	if err != nil || b.Slot != "A" || b.Trial || !strings.Contains(b.Note, "not marked good after 2 boots") {
		t.Fatalf("after the trial ran out: %+v, %v", b, err)
	}
	st := s.Status()
	if st.B.State != StateBad || st.B.Reason != "not marked good after 2 boots" || st.Trial != nil || st.Active != "A" {
		t.Fatalf("status: %+v", st)
	}
	// A bad slot can be reinstalled but not re-armed as it is.
	if err := s.ArmTrial(3); !errors.Is(err, ErrNoUpdate) {
		t.Fatalf("ArmTrial of a bad slot: %v", err)
	}
}

func TestMarkGoodAndFailNeedTheTrialSlot(t *testing.T) {
	s := newAdopted(t, "ok", "1.0.0", "")
	if err := s.MarkGood("B"); !errors.Is(err, ErrNotOnTrial) {
		t.Fatalf("MarkGood without trial: %v", err)
	}
	install(t, s, "2.0.0", []byte("v2"))
	if err := s.ArmTrial(3); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkGood("A"); !errors.Is(err, ErrNotOnTrial) {
		t.Fatalf("MarkGood of the active slot: %v", err)
	}
	if err := s.Fail("A", "x"); !errors.Is(err, ErrNotOnTrial) {
		t.Fatalf("Fail of the active slot: %v", err)
	}
	if err := s.MarkGood("C"); err == nil {
		t.Fatal("MarkGood of slot C accepted")
	}
	if err := s.CancelTrial(); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkGood("B"); !errors.Is(err, ErrNotOnTrial) {
		t.Fatalf("MarkGood after CancelTrial: %v", err)
	}
	if st := s.Status(); st.B.State != StateReady || st.Active != "A" {
		t.Fatalf("status: %+v", st)
	}
	if err := s.ArmTrial(3); err != nil {
		t.Fatal(err)
	}
	if err := s.Fail("B", "self-test: printer FAIL"); err != nil {
		t.Fatal(err)
	}
	b, err := s.Choose()
	if err != nil || b.Slot != "A" || b.Trial {
		t.Fatalf("Choose after Fail: %+v %v", b, err)
	}
	un := s.Unseen()
	if len(un) != 1 || un[0].String() != "rolled back from 2.0.0 to 1.0.0: self-test: printer FAIL" {
		t.Fatalf("unseen: %v", un)
	}
}

func TestRaiseFloorOnlyRises(t *testing.T) {
	s := newAdopted(t, "ok", "1.0.0", "")
	for _, v := range []string{"1.2.0", "1.10.0", "1.10.0"} {
		if err := s.RaiseFloor(v, versionLess); err != nil {
			t.Fatalf("RaiseFloor(%s): %v", v, err)
		}
	}
	if err := s.RaiseFloor("1.9.0", versionLess); !errors.Is(err, ErrFloor) {
		t.Fatalf("lowering the floor: %v", err)
	}
	if f := s.Status().Floor; f != "1.10.0" {
		t.Fatalf("floor %s", f)
	}
}

// MarkGoodRaisingFloor keeps the trial and raises the floor together; a
// floor below the present one stays where it is, and a bad floor changes
// nothing.
func TestMarkGoodRaisingFloor(t *testing.T) {
	s := newAdopted(t, "ok", "1.0.0", "")
	if err := s.RaiseFloor("1.5.0", versionLess); err != nil {
		t.Fatal(err)
	}
	install(t, s, "2.0.0", []byte("v2 program"))
	if err := s.ArmTrial(3); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Choose(); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkGoodRaisingFloor("B", "bad floor", versionLess); err == nil {
		t.Fatal("a floor with a space was taken")
	}
	if st := s.Status(); st.Trial == nil || st.B.State != StateReady || st.Floor != "1.5.0" {
		t.Fatalf("a refused call changed the state: %+v", st)
	}
	if err := s.MarkGoodRaisingFloor("B", "1.2.0", versionLess); err != nil {
		t.Fatal(err)
	}
	if st := s.Status(); st.Trial != nil || st.Active != "B" || st.B.State != StateGood || st.Floor != "1.5.0" {
		t.Fatalf("kept with an older floor: %+v", st)
	}
	// the next release raises it
	install(t, s, "3.0.0", []byte("v3 program"))
	if err := s.ArmTrial(3); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Choose(); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkGoodRaisingFloor("A", "3.0.0", versionLess); err != nil {
		t.Fatal(err)
	}
	if st := s.Status(); st.Active != "A" || st.Floor != "3.0.0" {
		t.Fatalf("kept 3.0.0: %+v", st)
	}
}

func TestDamagedActiveBootsOtherSlot(t *testing.T) {
	s := newAdopted(t, "ok", "1.0.0", "")
	install(t, s, "2.0.0", []byte("v2 program"))
	if err := s.ArmTrial(3); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Choose(); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkGood("B"); err != nil {
		t.Fatal(err)
	}
	// Flip the active program's content, keeping its size.
	if err := os.WriteFile(s.Path("B"), []byte("v2 progrAm"), 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := s.Choose()
	if err != nil || b.Slot != "A" || b.Version != "1.0.0" || b.Note == "" {
		t.Fatalf("Choose with damaged active: %+v, %v", b, err)
	}
	t.Log(b.Note)
	un := s.Unseen()
	if len(un) != 1 || un[0].Kind != EventSlotDamaged || un[0].Slot != "B" || un[0].BackTo != "1.0.0" {
		t.Fatalf("unseen: %+v", un)
	}
	st := s.Status()
	if st.Active != "A" || st.B.State != StateBad {
		t.Fatalf("status: %+v", st)
	}
	// The running slot is now A, so the repair goes into B.
	if slot := install(t, s, "2.0.0", []byte("v2 program")); slot != "B" {
		t.Fatalf("repair installed into %s", slot)
	}
	// Damage A too while B is only ready: nothing proven is left.
	if err := os.Remove(s.Path("A")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Choose(); !errors.Is(err, ErrNothingBootable) {
		t.Fatalf("Choose with nothing bootable: %v", err)
	} else {
		t.Log(err)
	}
}

func TestDamagedTrialFallsBack(t *testing.T) {
	s := newAdopted(t, "ok", "1.0.0", "")
	install(t, s, "2.0.0", []byte("v2"))
	if err := s.ArmTrial(3); err != nil {
		t.Fatal(err)
	}
	os.Remove(s.Path("B"))
	b, err := s.Choose()
	if err != nil || b.Slot != "A" || b.Trial {
		t.Fatalf("Choose: %+v, %v", b, err)
	}
	if st := s.Status(); st.B.State != StateBad || st.Trial != nil {
		t.Fatalf("status: %+v", st)
	}
}

func TestCorruptStateStillBoots(t *testing.T) {
	s := newAdopted(t, "ok", "1.0.0", "")
	install(t, s, "2.0.0", []byte("v2"))
	good, err := os.ReadFile(filepath.Join(s.Root(), stateFile))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(good, &m); err != nil {
		t.Fatal(err)
	}
	withField := func(k string, v any) []byte {
		c := map[string]any{}
		for kk, vv := range m {
			c[kk] = vv
		}
		c[k] = v
		b, _ := json.Marshal(c)
		return b
	}
	for name, data := range map[string][]byte{
		"garbage":       []byte("\x00\x17not json"),
		"truncated":     good[:len(good)/2],
		"trailing":      append(append([]byte{}, good...), []byte(`{"x":1}`)...),
		"unknown field": withField("surprise", 1),
		"format 2":      withField("format", 2),
		"active bad":    withField("active", "C"),
		"empty file":    {},
	} {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(s.Root(), stateFile), data, 0o600); err != nil {
				t.Fatal(err)
			}
			s2, err := Open(s.Root())
			var se *StateError
			if !errors.As(err, &se) || s2 == nil {
				t.Fatalf("Open: %v (slots %v), want a *StateError and usable slots", err, s2)
			}
			b, err := s2.Choose()
			if err != nil || b.Slot != "A" || b.Note == "" {
				t.Fatalf("Choose: %+v, %v", b, err)
			}
			if s2.Status().Err == nil {
				t.Fatal("Status hides the damaged state")
			}
			if _, err := s2.Install("3.0.0", strings.NewReader("x"), 1, hashOf([]byte("x")), nil); !errors.As(err, &se) {
				t.Fatalf("Install on damaged state: %v", err)
			}
		})
	}
	// Without A's program, B boots.
	os.Remove(s.Path("A"))
	if b, err := s.Choose(); err != nil || b.Slot != "B" {
		t.Fatalf("Choose without A: %+v %v", b, err)
	}
	if err := s.Rebuild("B", "2.0.0"); err != nil {
		t.Fatal(err)
	}
	if err := s.Rebuild("B", "2.0.0"); !errors.Is(err, ErrStateReadable) {
		t.Fatalf("second Rebuild: %v", err)
	}
	if b, err := s.Choose(); err != nil || b.Slot != "B" || b.Version != "2.0.0" || b.Note != "" {
		t.Fatalf("Choose after Rebuild: %+v %v", b, err)
	}
}

func TestEventsBoundedKeepUnseenRollback(t *testing.T) {
	s := newAdopted(t, "ok", "1.0.0", "")
	install(t, s, "2.0.0", []byte("v2"))
	if err := s.ArmTrial(1); err != nil {
		t.Fatal(err)
	}
	s.Choose()
	s.Choose() // rolls back
	for i := 0; i < 6; i++ {
		install(t, s, "2.0.1", []byte("v2.0.1"))
		s.ArmTrial(1)
		s.Choose()
	}
	st := s.Status()
	if len(st.Events) > maxEvents {
		t.Fatalf("%d events", len(st.Events))
	}
	un := s.Unseen()
	if len(un) != 1 || un[0].Kind != EventRolledBack || un[0].Version != "2.0.0" {
		t.Fatalf("unseen after many events: %+v", un)
	}
	if err := s.MarkSeen(); err != nil {
		t.Fatal(err)
	}
	if un := s.Unseen(); len(un) != 0 {
		t.Fatalf("unseen after MarkSeen: %+v", un)
	}
}

func TestLockSerializesWriters(t *testing.T) {
	s := newAdopted(t, "ok", "1.0.0", "")
	unlock, err := lockRoot(filepath.Join(s.Root(), lockFile))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.RaiseFloor("1.0.0", versionLess) }()
	select {
	case err := <-done:
		t.Fatalf("RaiseFloor ran while the lock was held: %v", err)
	case <-time.After(150 * time.Millisecond):
	}
	unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RaiseFloor still blocked after unlock")
	}
}

// A flash that does not keep what was written must fail the install even
// though the download itself was right.
func TestInstallVerifiesWrittenFile(t *testing.T) {
	s := newAdopted(t, "ok", "1.0.0", "")
	tmp := filepath.Join(s.Root(), "B", tempExe)
	testHook = func(step string, _ int64) {
		if step == "exe-sync" {
			f, err := os.OpenFile(tmp, os.O_WRONLY, 0)
			if err == nil {
				f.WriteAt([]byte("rot"), 10)
				f.Close()
			}
		}
	}
	defer func() { testHook = nil }()
	p := bytes.Repeat([]byte("good bytes "), 1000)
	_, err := s.Install("2.0.0", bytes.NewReader(p), int64(len(p)), hashOf(p), nil)
	if err == nil || !strings.Contains(err.Error(), "read back") {
		t.Fatalf("Install over a rotting flash: %v", err)
	}
	if st := s.Status(); st.B.State != StateWriting {
		t.Fatalf("slot B is %s after a failed verify", st.B.State)
	}
	if _, err := os.Stat(s.Path("B")); !os.IsNotExist(err) {
		t.Fatalf("unverified program put in place: %v", err)
	}
}
