package bootslot

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Format is the version of the state file layout this package writes.
const Format = 1

// DefaultMaxBoots is how many boots a trial gets when the caller passes 0.
const DefaultMaxBoots = 3

// maxEvents bounds the history so state.json stays small.
const maxEvents = 10

const (
	stateFile = "state.json"
	lockFile  = "lock"
	exeName   = "pos"
	tempExe   = ".pos.new"
)

// Slot states.
const (
	StateEmpty   = "empty"   // nothing installed
	StateWriting = "writing" // an install started; never bootable
	StateReady   = "ready"   // installed and verified, not yet proven
	StateGood    = "good"    // has been marked good once
	StateBad     = "bad"     // its trial failed; Reason says why
)

// Event kinds.
const (
	EventAdopted     = "adopted"
	EventInstalled   = "installed"
	EventTrialArmed  = "trial-armed"
	EventTrialBoot   = "trial-boot"
	EventMarkedGood  = "marked-good"
	EventRolledBack  = "rolled-back"
	EventSlotDamaged = "slot-damaged"
)

// SlotInfo describes one slot as recorded in the state file.
type SlotInfo struct {
	State     string    `json:"state"`
	Version   string    `json:"version,omitempty"`
	SHA256    string    `json:"sha256,omitempty"`
	Size      int64     `json:"size"`
	Installed time.Time `json:"installed,omitzero"`
	Reason    string    `json:"reason,omitempty"`
}

// Trial is a pending trial boot of a ready slot.
type Trial struct {
	Slot      string    `json:"slot"`
	Version   string    `json:"version"`
	BootsLeft int       `json:"boots_left"`
	BootsDone int       `json:"boots_done"`
	MaxBoots  int       `json:"max_boots"`
	Started   time.Time `json:"started"`
}

// Event is one entry of the short history shown to the technician.
type Event struct {
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Slot    string    `json:"slot"`
	Version string    `json:"version,omitempty"`
	// BackTo is the version that boots instead, for rolled-back and
	// slot-damaged events, so the message can name both versions.
	BackTo string `json:"back_to,omitempty"`
	Reason string `json:"reason,omitempty"`
	Seen   bool   `json:"seen"`
}

// String renders the event as a sentence for the technician.
func (e Event) String() string {
	switch e.Kind {
	case EventRolledBack:
		return fmt.Sprintf("rolled back from %s to %s: %s", e.Version, orUnknown(e.BackTo), e.Reason)
	case EventSlotDamaged:
		return fmt.Sprintf("slot %s (%s) is damaged, now running %s: %s", e.Slot, orUnknown(e.Version), orUnknown(e.BackTo), e.Reason)
	case EventMarkedGood:
		return fmt.Sprintf("version %s in slot %s passed its trial", e.Version, e.Slot)
	case EventInstalled:
		return fmt.Sprintf("version %s installed in slot %s", e.Version, e.Slot)
	case EventTrialArmed:
		return fmt.Sprintf("next boot tries version %s in slot %s", e.Version, e.Slot)
	case EventTrialBoot:
		return fmt.Sprintf("trial boot of version %s in slot %s: %s", e.Version, e.Slot, e.Reason)
	case EventAdopted:
		return fmt.Sprintf("version %s adopted into slot %s", e.Version, e.Slot)
	}
	return fmt.Sprintf("%s: slot %s %s %s", e.Kind, e.Slot, e.Version, e.Reason)
}

func orUnknown(v string) string {
	if v == "" {
		return "an unknown version"
	}
	return v
}

// notable kinds are the ones the technician is told about once on the
// next start; the others are history only and are stored as seen.
func notable(kind string) bool {
	return kind == EventRolledBack || kind == EventSlotDamaged
}

type slotPair struct {
	A SlotInfo `json:"A"`
	B SlotInfo `json:"B"`
}

type state struct {
	Format int      `json:"format"`
	Active string   `json:"active"`
	Slots  slotPair `json:"slots"`
	Trial  *Trial   `json:"trial"`
	Floor  string   `json:"floor,omitempty"`
	Events []Event  `json:"events"`
}

func (st *state) slot(name string) *SlotInfo {
	if name == "A" {
		return &st.Slots.A
	}
	return &st.Slots.B
}

func other(name string) string {
	if name == "A" {
		return "B"
	}
	return "A"
}

func validSlot(name string) bool { return name == "A" || name == "B" }

func (st *state) addEvent(e Event) {
	e.Time = time.Now().UTC()
	e.Seen = !notable(e.Kind)
	st.Events = append(st.Events, e)
	// Drop old seen events first so an untold rollback survives a burst
	// of trial-boot entries.
	for len(st.Events) > maxEvents {
		drop := 0
		for i, ev := range st.Events {
			if ev.Seen {
				drop = i
				break
			}
		}
		st.Events = append(st.Events[:drop], st.Events[drop+1:]...)
	}
}

// StateError reports a state file that exists but cannot be read or
// trusted. Choose still boots something when it sees one.
type StateError struct {
	Path string
	Err  error
}

func (e *StateError) Error() string {
	return fmt.Sprintf("the boot state file %s is damaged or unreadable: %v", e.Path, e.Err)
}

func (e *StateError) Unwrap() error { return e.Err }

func decodeState(data []byte) (*state, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var st state
	if err := dec.Decode(&st); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON object")
	}
	if err := st.validate(); err != nil {
		return nil, err
	}
	return &st, nil
}

// validate rejects states this package would never write, so a
// hand-edited or bit-rotted file is treated as damaged rather than
// booting something unverified.
func (st *state) validate() error {
	if st.Format != Format {
		return fmt.Errorf("format %d is not supported (want %d)", st.Format, Format)
	}
	for _, name := range []string{"A", "B"} {
		if err := st.slot(name).validate(); err != nil {
			return fmt.Errorf("slot %s: %w", name, err)
		}
	}
	if !validSlot(st.Active) {
		return fmt.Errorf("active slot %q is not A or B", st.Active)
	}
	if s := st.slot(st.Active); s.State != StateGood {
		return fmt.Errorf("active slot %s is %s, not good", st.Active, s.State)
	}
	if t := st.Trial; t != nil {
		switch {
		case !validSlot(t.Slot) || t.Slot == st.Active:
			return fmt.Errorf("trial slot %q is not the inactive slot", t.Slot)
		case st.slot(t.Slot).State != StateReady:
			return fmt.Errorf("trial slot %s is %s, not ready", t.Slot, st.slot(t.Slot).State)
		case t.MaxBoots < 1 || t.BootsLeft < 0 || t.BootsDone < 0 || t.BootsLeft+t.BootsDone != t.MaxBoots:
			return fmt.Errorf("trial boot counters %d+%d/%d are inconsistent", t.BootsDone, t.BootsLeft, t.MaxBoots)
		}
	}
	if len(st.Events) > maxEvents {
		return fmt.Errorf("%d events, at most %d", len(st.Events), maxEvents)
	}
	for _, e := range st.Events {
		switch e.Kind {
		case EventAdopted, EventInstalled, EventTrialArmed, EventTrialBoot,
			EventMarkedGood, EventRolledBack, EventSlotDamaged:
		default:
			return fmt.Errorf("unknown event kind %q", e.Kind)
		}
	}
	return nil
}

func (s *SlotInfo) validate() error {
	switch s.State {
	case StateEmpty, StateWriting, StateBad:
	case StateReady, StateGood:
		if s.Version == "" {
			return errors.New("no version recorded")
		}
		if !validHash(s.SHA256) {
			return fmt.Errorf("SHA-256 %q is not 64 hex digits", s.SHA256)
		}
		if s.Size < 0 {
			return errors.New("negative size")
		}
	default:
		return fmt.Errorf("unknown state %q", s.State)
	}
	return nil
}

func validHash(h string) bool {
	if len(h) != 64 || strings.ToLower(h) != h {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}

// readState returns (nil, nil) when there is no state file yet.
func readState(root string) (*state, error) {
	path := filepath.Join(root, stateFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &StateError{Path: path, Err: err}
	}
	st, err := decodeState(data)
	if err != nil {
		return nil, &StateError{Path: path, Err: err}
	}
	return st, nil
}

// writeState replaces state.json atomically: readers and a power cut see
// either the previous file or this one, whole.
func writeState(root string, st *state) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	f, err := os.CreateTemp(root, ".state-*.tmp")
	if err != nil {
		return fmt.Errorf("cannot save the boot state: %w", err)
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("cannot save the boot state: %w", err)
	}
	hook("state-write", 0)
	if err := f.Sync(); err != nil {
		return fmt.Errorf("cannot save the boot state: %w", err)
	}
	hook("state-sync", 0)
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot save the boot state: %w", err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("cannot save the boot state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(root, stateFile)); err != nil {
		return fmt.Errorf("cannot save the boot state: %w", err)
	}
	ok = true
	hook("state-rename", 0)
	if err := syncDir(root); err != nil {
		return fmt.Errorf("cannot save the boot state: %w", err)
	}
	hook("state-dirsync", 0)
	return nil
}

// removeStaleTemps clears temp state files left by a kill mid-save.
func removeStaleTemps(root string) {
	names, _ := filepath.Glob(filepath.Join(root, ".state-*.tmp"))
	for _, n := range names {
		os.Remove(n)
	}
}
