package bootslot

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
)

// Errors callers may test with errors.Is; the messages are meant to be
// shown to a technician as they are.
var (
	ErrNoSlots         = errors.New("no software slots are set up on this terminal yet")
	ErrSlotsExist      = errors.New("software slots are already set up on this terminal")
	ErrNoUpdate        = errors.New("no installed update is waiting to be tried")
	ErrNotOnTrial      = errors.New("not on trial")
	ErrNothingBootable = errors.New("no slot holds a bootable version")
	ErrFloor           = errors.New("the minimum version can only rise")
	ErrStateReadable   = errors.New("the boot state is readable; nothing to rebuild")
)

// testHook lets the kill tests stop the process at every write, sync and
// rename, and every 64 KiB of payload.
var testHook func(step string, n int64)

func hook(step string, n int64) {
	if testHook != nil {
		testHook(step, n)
	}
}

// chunk is the copy buffer and the progress/hook granularity.
const chunk = 64 << 10

// errUnchanged tells update there is nothing to write.
var errUnchanged = errors.New("unchanged")

// Slots is the pair of software slots under one root directory. It holds
// no cached state: every call reads state.json, so the supervisor and
// the running pos may each hold their own Slots.
type Slots struct {
	root string
}

// Boot is what Choose decided to run.
type Boot struct {
	Slot     string // "A" or "B"
	Path     string // the executable
	Version  string // empty when the state file was unreadable
	Trial    bool   // this boot is a trial of a new version
	Attempt  int    // trial boot number, from 1
	MaxBoots int    // trial boots allowed
	Note     string // something the technician should hear about, if any
}

// Status is everything `pos update status` shows.
type Status struct {
	Root   string
	Empty  bool  // no slots set up yet
	Err    error // the state file is damaged (a *StateError)
	Active string
	A, B   SlotInfo
	Trial  *Trial
	Floor  string
	Events []Event
}

// Open prepares the slots under root, creating root if needed. A missing
// state file means no slots yet (see Empty). A damaged state file gives a
// *StateError together with a usable *Slots, because Choose must still be
// able to boot something.
func Open(root string) (*Slots, error) {
	if root == "" {
		return nil, errors.New("no directory given for the software slots")
	}
	// Absolute, because the root is handed to the child in POS_SLOT_ROOT.
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(root, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the software slot directory: %w", err)
	}
	s := &Slots{root: root}
	if _, err := readState(root); err != nil {
		return s, err
	}
	return s, nil
}

// Root is the directory the slots live in.
func (s *Slots) Root() string { return s.root }

// Path is the executable of slot name.
func (s *Slots) Path(name string) string { return filepath.Join(s.root, name, exeName) }

// Empty reports whether no slots have been set up (no state file).
func (s *Slots) Empty() bool {
	st, err := readState(s.root)
	return err == nil && st == nil
}

func (s *Slots) lock() (func(), error) {
	unlock, err := lockRoot(filepath.Join(s.root, lockFile))
	if err != nil {
		return nil, fmt.Errorf("cannot lock the boot state: %w", err)
	}
	return unlock, nil
}

// update runs fn on a fresh copy of the state under the lock and saves
// the result, so concurrent processes never lose each other's changes.
func (s *Slots) update(fn func(st *state) error) error {
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, err := readState(s.root)
	if err != nil {
		return err
	}
	if st == nil {
		return ErrNoSlots
	}
	if err := fn(st); err != nil {
		if err == errUnchanged {
			return nil
		}
		return err
	}
	return writeState(s.root, st)
}

func checkVersion(v string) error {
	if v == "" {
		return errors.New("the version is empty")
	}
	if len(v) > 64 {
		return fmt.Errorf("the version %.20q... is too long", v)
	}
	for _, r := range v {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("the version %q contains spaces or control characters", v)
		}
	}
	return nil
}

func checkSlotName(name string) error {
	if !validSlot(name) {
		return fmt.Errorf("unknown slot %q (the slots are A and B)", name)
	}
	return nil
}

// Adopt sets up the slots on first run: it copies exe (normally the
// running executable) into slot A and makes it the good, active slot.
func (s *Slots) Adopt(exe, version string) error {
	if err := checkVersion(version); err != nil {
		return fmt.Errorf("cannot adopt: %w", err)
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, err := readState(s.root)
	if err != nil {
		return fmt.Errorf("cannot adopt: %w", err)
	}
	if st != nil {
		return ErrSlotsExist
	}
	src, err := os.Open(exe)
	if err != nil {
		return fmt.Errorf("cannot adopt the running program: %w", err)
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return fmt.Errorf("cannot adopt the running program: %w", err)
	}
	sum, err := s.writeExe("A", src, fi.Size(), "", nil)
	if err != nil {
		return fmt.Errorf("cannot adopt the running program: %w", err)
	}
	st = &state{
		Format: Format,
		Active: "A",
		Slots: slotPair{
			A: SlotInfo{State: StateGood, Version: version, SHA256: sum, Size: fi.Size(), Installed: time.Now().UTC()},
			B: SlotInfo{State: StateEmpty},
		},
	}
	st.addEvent(Event{Kind: EventAdopted, Slot: "A", Version: version})
	return writeState(s.root, st)
}

// Rebuild replaces a damaged or missing state file with a fresh one in
// which slot name (its executable as it is now) is the good, active slot.
// It is the technician's way out after Choose reported a damaged state.
func (s *Slots) Rebuild(name, version string) error {
	if err := checkSlotName(name); err != nil {
		return err
	}
	if err := checkVersion(version); err != nil {
		return fmt.Errorf("cannot rebuild the boot state: %w", err)
	}
	unlock, err := s.lock()
	if err != nil {
		return err
	}
	defer unlock()
	st, err := readState(s.root)
	if err == nil && st != nil {
		return ErrStateReadable
	}
	sum, size, err := fileDigest(s.Path(name))
	if err != nil {
		return fmt.Errorf("cannot rebuild the boot state from slot %s: %w", name, err)
	}
	st = &state{Format: Format, Active: name}
	*st.slot(name) = SlotInfo{State: StateGood, Version: version, SHA256: sum, Size: size, Installed: time.Now().UTC()}
	*st.slot(other(name)) = SlotInfo{State: StateEmpty}
	st.addEvent(Event{Kind: EventAdopted, Slot: name, Version: version, Reason: "boot state rebuilt"})
	return writeState(s.root, st)
}

// Install writes a new version into the inactive slot and leaves it
// ready for ArmTrial. A pending trial is cancelled first, because its
// slot is the one overwritten; the active slot is never touched. The
// steps are ordered so that a kill at any point leaves the slot marked
// writing (never bootable) until the verified file is in place. On error
// the returned slot is the one left unbootable.
func (s *Slots) Install(version string, r io.Reader, size int64, sha256hex string, progress func(done int64)) (string, error) {
	if err := checkVersion(version); err != nil {
		return "", fmt.Errorf("cannot install: %w", err)
	}
	if size < 0 {
		return "", fmt.Errorf("cannot install %s: negative size %d", version, size)
	}
	want := strings.ToLower(sha256hex)
	if !validHash(want) {
		return "", fmt.Errorf("cannot install %s: the SHA-256 %q is not 64 hex digits", version, sha256hex)
	}
	unlock, err := s.lock()
	if err != nil {
		return "", err
	}
	// Held for the whole install so two installs cannot race; a killed
	// installer releases it with its death.
	defer unlock()
	st, err := readState(s.root)
	if err != nil {
		return "", fmt.Errorf("cannot install %s: %w", version, err)
	}
	if st == nil {
		return "", ErrNoSlots
	}
	target := other(st.Active)
	st.Trial = nil
	*st.slot(target) = SlotInfo{State: StateWriting, Version: version}
	if err := writeState(s.root, st); err != nil {
		return target, fmt.Errorf("cannot install %s: %w", version, err)
	}
	if _, err := s.writeExe(target, r, size, want, progress); err != nil {
		return target, fmt.Errorf("cannot install %s into slot %s: %w", version, target, err)
	}
	*st.slot(target) = SlotInfo{State: StateReady, Version: version, SHA256: want, Size: size, Installed: time.Now().UTC()}
	st.addEvent(Event{Kind: EventInstalled, Slot: target, Version: version})
	if err := writeState(s.root, st); err != nil {
		return target, fmt.Errorf("cannot install %s: %w", version, err)
	}
	return target, nil
}

// writeExe copies size bytes of r to ROOT/name/pos through a temp file,
// checks the stream against want (when given), reads the written file
// back, and only then renames it into place. It returns the SHA-256.
func (s *Slots) writeExe(name string, r io.Reader, size int64, want string, progress func(int64)) (sum string, err error) {
	dir := filepath.Join(s.root, name)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if err := os.Mkdir(dir, 0o700); err != nil {
			return "", err
		}
		if err := syncDir(s.root); err != nil {
			return "", err
		}
	}
	tmp := filepath.Join(dir, tempExe)
	os.Remove(tmp) // left by a killed install
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	hook("exe-create", 0)
	h := sha256.New()
	buf := make([]byte, chunk)
	var done int64
	for done < size {
		n := int(min(int64(len(buf)), size-done))
		m, rerr := io.ReadFull(r, buf[:n])
		if m > 0 {
			if _, err := f.Write(buf[:m]); err != nil {
				return "", fmt.Errorf("cannot write the new program: %w", err)
			}
			h.Write(buf[:m])
			done += int64(m)
			if progress != nil {
				progress(done)
			}
			hook("exe-write", done)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return "", fmt.Errorf("the download ended after %d of %d bytes", done, size)
		}
		if rerr != nil {
			return "", fmt.Errorf("cannot read the new program: %w", rerr)
		}
	}
	streamed := hex.EncodeToString(h.Sum(nil))
	if want != "" && streamed != want {
		return "", fmt.Errorf("the download is corrupt: its SHA-256 is %s, expected %s", streamed, want)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("cannot write the new program: %w", err)
	}
	hook("exe-sync", 0)
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("cannot write the new program: %w", err)
	}
	// Read back what the disk holds, not what we meant to write.
	got, gotSize, err := fileDigest(tmp)
	if err != nil {
		return "", fmt.Errorf("cannot read back the new program: %w", err)
	}
	if gotSize != size || got != streamed {
		return "", fmt.Errorf("the new program did not read back correctly (%d bytes, SHA-256 %s)", gotSize, got)
	}
	hook("exe-verify", 0)
	if err := os.Chmod(tmp, 0o700); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, filepath.Join(dir, exeName)); err != nil {
		return "", err
	}
	hook("exe-rename", 0)
	if err := syncDir(dir); err != nil {
		return "", err
	}
	hook("exe-dirsync", 0)
	return streamed, nil
}

func fileDigest(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// ArmTrial makes the next boots try the ready slot, at most maxBoots
// times (DefaultMaxBoots when 0), until it is marked good.
func (s *Slots) ArmTrial(maxBoots int) error {
	if maxBoots < 0 {
		return fmt.Errorf("cannot arm a trial of %d boots", maxBoots)
	}
	if maxBoots == 0 {
		maxBoots = DefaultMaxBoots
	}
	return s.update(func(st *state) error {
		name := other(st.Active)
		si := st.slot(name)
		if si.State != StateReady {
			return fmt.Errorf("%w (slot %s is %s)", ErrNoUpdate, name, si.State)
		}
		st.Trial = &Trial{Slot: name, Version: si.Version, BootsLeft: maxBoots, MaxBoots: maxBoots, Started: time.Now().UTC()}
		st.addEvent(Event{Kind: EventTrialArmed, Slot: name, Version: si.Version})
		return nil
	})
}

// CancelTrial drops a pending trial; the slot stays ready.
func (s *Slots) CancelTrial() error {
	return s.update(func(st *state) error {
		if st.Trial == nil {
			return errUnchanged
		}
		st.Trial = nil
		return nil
	})
}

// MarkGood is called by the new version once its self-test passed: the
// trial slot becomes good and active. The previous slot stays good as
// the fallback for the next update.
func (s *Slots) MarkGood(name string) error {
	if err := checkSlotName(name); err != nil {
		return err
	}
	return s.update(func(st *state) error {
		if err := onTrial(st, name); err != nil {
			return err
		}
		markGood(st, name)
		return nil
	})
}

// MarkGoodRaisingFloor is MarkGood and RaiseFloor in one write of the
// state. Done as two, a power cut between them keeps the new version
// without its floor, and the older release it replaced (and whatever
// hole that release had) can be installed again. A floor older than the
// present one leaves it as it is.
func (s *Slots) MarkGoodRaisingFloor(name, floor string, less func(a, b string) bool) error {
	if err := checkSlotName(name); err != nil {
		return err
	}
	if err := checkVersion(floor); err != nil {
		return fmt.Errorf("cannot set the minimum version: %w", err)
	}
	return s.update(func(st *state) error {
		if err := onTrial(st, name); err != nil {
			return err
		}
		markGood(st, name)
		if st.Floor == "" || less(st.Floor, floor) {
			st.Floor = floor
		}
		return nil
	})
}

func markGood(st *state, name string) {
	si := st.slot(name)
	si.State = StateGood
	si.Reason = ""
	st.Active = name
	st.Trial = nil
	st.addEvent(Event{Kind: EventMarkedGood, Slot: name, Version: si.Version})
}

// Fail is called by a trial that found itself broken: its slot becomes
// bad with reason and the next Choose boots the active slot.
func (s *Slots) Fail(name, reason string) error {
	if err := checkSlotName(name); err != nil {
		return err
	}
	if reason == "" {
		reason = "the new version reported a failure"
	}
	return s.update(func(st *state) error {
		if err := onTrial(st, name); err != nil {
			return err
		}
		rollback(st, reason)
		return nil
	})
}

func onTrial(st *state, name string) error {
	if st.Trial == nil {
		return fmt.Errorf("slot %s is %w: no trial is pending", name, ErrNotOnTrial)
	}
	if st.Trial.Slot != name {
		return fmt.Errorf("slot %s is %w: slot %s is", name, ErrNotOnTrial, st.Trial.Slot)
	}
	return nil
}

// rollback ends the pending trial as failed.
func rollback(st *state, reason string) {
	t := st.Trial
	si := st.slot(t.Slot)
	si.State = StateBad
	si.Reason = reason
	st.Trial = nil
	st.addEvent(Event{Kind: EventRolledBack, Slot: t.Slot, Version: t.Version, BackTo: st.slot(st.Active).Version, Reason: reason})
}

// RaiseFloor sets the anti-downgrade floor to v unless it is already
// higher by less. Lowering it is an error; the same value is a no-op.
func (s *Slots) RaiseFloor(v string, less func(a, b string) bool) error {
	if err := checkVersion(v); err != nil {
		return fmt.Errorf("cannot set the minimum version: %w", err)
	}
	return s.update(func(st *state) error {
		if st.Floor != "" && !less(st.Floor, v) {
			if less(v, st.Floor) {
				return fmt.Errorf("%w: it is %s, %s is older", ErrFloor, st.Floor, v)
			}
			return errUnchanged
		}
		st.Floor = v
		return nil
	})
}

// Status reads the state without locking: the file is replaced
// atomically, so a reader always sees a whole state.
func (s *Slots) Status() Status {
	out := Status{Root: s.root}
	st, err := readState(s.root)
	if err != nil {
		out.Err = err
		return out
	}
	if st == nil {
		out.Empty = true
		return out
	}
	out.Active, out.A, out.B, out.Floor = st.Active, st.Slots.A, st.Slots.B, st.Floor
	if st.Trial != nil {
		t := *st.Trial
		out.Trial = &t
	}
	out.Events = append([]Event(nil), st.Events...)
	return out
}

// Unseen returns the events the technician has not been told about yet,
// oldest first.
func (s *Slots) Unseen() []Event {
	st, err := readState(s.root)
	if err != nil || st == nil {
		return nil
	}
	var out []Event
	for _, e := range st.Events {
		if !e.Seen {
			out = append(out, e)
		}
	}
	return out
}

// MarkSeen records that the unseen events were shown.
func (s *Slots) MarkSeen() error {
	return s.update(func(st *state) error {
		changed := false
		for i := range st.Events {
			if !st.Events[i].Seen {
				st.Events[i].Seen = true
				changed = true
			}
		}
		if !changed {
			return errUnchanged
		}
		return nil
	})
}
