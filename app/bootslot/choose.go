package bootslot

import (
	"errors"
	"fmt"
	"os"
	"strings"
)

// Choose decides what this boot runs. The supervisor calls it once per
// boot before starting anything, so a trial attempt is counted on disk
// before the trial gets a chance to crash or hang.
//
// A damaged state file does not stop the boot: Choose then runs whichever
// slot has an executable, preferring A, and says so in Boot.Note.
func (s *Slots) Choose() (Boot, error) {
	unlock, err := s.lock()
	if err != nil {
		return Boot{}, err
	}
	defer unlock()
	removeStaleTemps(s.root)
	st, err := readState(s.root)
	var se *StateError
	if errors.As(err, &se) {
		return s.fallback(se)
	}
	if err != nil {
		return Boot{}, err
	}
	if st == nil {
		return Boot{}, ErrNoSlots
	}

	var notes []string
	changed := false
	if t := st.Trial; t != nil {
		ts := st.slot(t.Slot)
		if t.BootsLeft <= 0 {
			reason := fmt.Sprintf("not marked good after %d boots", t.MaxBoots)
			rollback(st, reason)
			notes = append(notes, fmt.Sprintf("trial of %s in slot %s failed: %s", t.Version, t.Slot, reason))
			changed = true
		} else if err := s.intact(t.Slot, ts); err != nil {
			reason := fmt.Sprintf("its executable is damaged: %v", err)
			rollback(st, reason)
			notes = append(notes, fmt.Sprintf("trial of %s in slot %s failed: %s", t.Version, t.Slot, reason))
			changed = true
		} else {
			t.BootsLeft--
			t.BootsDone++
			st.addEvent(Event{Kind: EventTrialBoot, Slot: t.Slot, Version: t.Version,
				Reason: fmt.Sprintf("attempt %d of %d", t.BootsDone, t.MaxBoots)})
			werr := writeState(s.root, st)
			if werr == nil {
				return Boot{Slot: t.Slot, Path: s.Path(t.Slot), Version: t.Version,
					Trial: true, Attempt: t.BootsDone, MaxBoots: t.MaxBoots}, nil
			}
			// A trial boot that is not counted could crash-loop forever,
			// so run the proven version until the disk accepts writes.
			notes = append(notes, fmt.Sprintf("could not record the trial boot of %s (%v); running the active version instead", t.Version, werr))
			t.BootsLeft++
			t.BootsDone--
			st.Events = st.Events[:len(st.Events)-1]
		}
	}

	name := st.Active
	cur := st.slot(name)
	if err := s.intact(name, cur); err != nil {
		alt := other(name)
		as := st.slot(alt)
		aerr := s.intact(alt, as)
		if as.State != StateGood || aerr != nil {
			if changed {
				writeState(s.root, st) // keep the rollback even though nothing boots
			}
			why := fmt.Sprintf("slot %s is empty", alt)
			switch {
			case as.State == StateGood:
				why = fmt.Sprintf("slot %s (%s): %v", alt, as.Version, aerr)
			case as.State != StateEmpty:
				why = fmt.Sprintf("slot %s (%s) is %s, not proven good", alt, orUnknown(as.Version), as.State)
			}
			return Boot{}, fmt.Errorf("%w: slot %s (%s): %v; %s", ErrNothingBootable,
				name, orUnknown(cur.Version), err, why)
		}
		reason := fmt.Sprintf("its executable is damaged: %v", err)
		st.addEvent(Event{Kind: EventSlotDamaged, Slot: name, Version: cur.Version, BackTo: as.Version, Reason: reason})
		notes = append(notes, fmt.Sprintf("slot %s (%s) is damaged (%v); running %s from slot %s", name, cur.Version, err, as.Version, alt))
		// The damaged slot stops being active so the next Install
		// overwrites it and never the slot now running.
		cur.State = StateBad
		cur.Reason = reason
		st.Active = alt
		name, cur = alt, as
		changed = true
	}
	if changed {
		if err := writeState(s.root, st); err != nil {
			notes = append(notes, err.Error())
		}
	}
	return Boot{Slot: name, Path: s.Path(name), Version: cur.Version, Note: strings.Join(notes, "; ")}, nil
}

// intact checks that slot name is bootable and its executable is the one
// recorded: same size and SHA-256.
func (s *Slots) intact(name string, si *SlotInfo) error {
	if si.State != StateGood && si.State != StateReady {
		return fmt.Errorf("slot is %s", si.State)
	}
	sum, size, err := fileDigest(s.Path(name))
	if errors.Is(err, os.ErrNotExist) {
		return errors.New("the program file is missing")
	}
	if err != nil {
		return fmt.Errorf("the program file cannot be read: %v", err)
	}
	if size != si.Size {
		return fmt.Errorf("the program file has %d bytes, expected %d", size, si.Size)
	}
	if sum != si.SHA256 {
		return errors.New("the program file's SHA-256 does not match the installed version")
	}
	return nil
}

// fallback boots without a trustworthy state: any slot with a program
// file, A first. Files named pos only ever appear by renaming a verified
// download, so a present file is a whole one.
func (s *Slots) fallback(se *StateError) (Boot, error) {
	for _, name := range []string{"A", "B"} {
		fi, err := os.Stat(s.Path(name))
		if err == nil && fi.Mode().IsRegular() {
			return Boot{Slot: name, Path: s.Path(name),
				Note: fmt.Sprintf("%v; running slot %s without checking it", se, name)}, nil
		}
	}
	return Boot{}, fmt.Errorf("%w: %v, and neither slot has a program file", ErrNothingBootable, se)
}
