// Package bootslot keeps the two software slots (A and B) of the terminal,
// boots a newly installed version as a counted trial, rolls back to the
// previous version when the trial does not prove itself, and supervises
// the chosen executable.
//
// Layout under the root directory (DATA/slots on the desktop):
//
//	ROOT/state.json   the boot state, replaced atomically (temp, fsync, rename, fsync dir)
//	ROOT/lock         flock'ed by every state change
//	ROOT/A/pos        slot A's program
//	ROOT/B/pos        slot B's program
//
// A new version is never written over the running one: Install writes the
// inactive slot through ROOT/X/.pos.new and marks the slot "writing" in
// the state before touching it, so a power cut mid-install leaves a slot
// that is never booted. ArmTrial makes the next boots try it; Choose
// counts each attempt on disk before the program starts, so a version
// that crashes or hangs runs out of attempts and the terminal falls back.
// Only the new version itself, after its self-test, calls MarkGood.
//
// Choose also re-hashes the program it is about to boot, and a damaged
// state file never makes a boot impossible: Choose then runs whichever
// slot has a program, A first, and says so in Boot.Note.
package bootslot
