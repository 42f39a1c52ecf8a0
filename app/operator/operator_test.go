package operator

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/journal"
)

// Test passwords. Failure messages name cases, never these values.
const (
	cashNew = "2580"
	supNew  = "802461"
)

var (
	supDefault  = defaultPassword(Supervisor)
	cashDefault = defaultPassword(Cashier)
)

func TestMain(m *testing.M) {
	// Cheap parameters keep the suite fast; TestHashFormatProduction checks
	// the real ones.
	hashParams = argonParams{memory: 1024, time: 1, threads: 1, keyLen: 32}
	os.Exit(m.Run())
}

// clock is an injectable clock; safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t    *testing.T
	path string
	db   *journal.DB
	clk  *clock
	m    *Manager
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{
		t:    t,
		path: filepath.Join(t.TempDir(), "pos.db"),
		clk:  &clock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.Local)},
	}
	e.open()
	t.Cleanup(func() { e.db.Close() })
	return e
}

func (e *env) open() {
	e.t.Helper()
	db, err := journal.Open(e.path)
	if err != nil {
		e.t.Fatalf("journal.Open: %v", err)
	}
	m, err := NewManager(db, e.clk.now, Policy{})
	if err != nil {
		e.t.Fatalf("NewManager: %v", err)
	}
	e.db, e.m = db, m
}

func (e *env) reopen() {
	e.t.Helper()
	if err := e.db.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.open()
}

func (e *env) signIn(no, pw string) Operator {
	e.t.Helper()
	op, err := e.m.SignIn(no, pw)
	if err != nil {
		e.t.Fatalf("SignIn(%s): %v", no, err)
	}
	return op
}

func (e *env) info(no string) Info {
	e.t.Helper()
	list, err := e.m.List()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, i := range list {
		if i.No == no {
			return i
		}
	}
	e.t.Fatalf("operator %s not listed", no)
	return Info{}
}

func (e *env) supervisor() Operator {
	e.t.Helper()
	return e.signIn("00", supDefault)
}

func wrongRemaining(t *testing.T, err error) int {
	t.Helper()
	var w *WrongPasswordError
	if !errors.Is(err, ErrWrongPassword) || !errors.As(err, &w) {
		t.Fatalf("got %v, want a WrongPasswordError", err)
	}
	return w.Remaining
}

func TestDefaultsSeededOnce(t *testing.T) {
	e := newEnv(t)
	list, err := e.m.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []Info{
		{No: "00", Role: Supervisor, MustChange: true},
		{No: "01", Role: Cashier, MustChange: true},
	}
	if len(list) != len(want) {
		t.Fatalf("List = %+v, want %+v", list, want)
	}
	for i := range want {
		if list[i] != want[i] {
			t.Errorf("List[%d] = %+v, want %+v", i, list[i], want[i])
		}
	}

	if err := e.m.ChangePassword("01", cashDefault, cashNew); err != nil {
		t.Fatal(err)
	}
	sup := e.supervisor()
	if err := e.m.Remove(sup, "01"); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Add(sup, "02"); err != nil {
		t.Fatal(err)
	}
	if err := e.m.ChangePassword("02", cashDefault, cashNew); err != nil {
		t.Fatal(err)
	}

	// Neither a second Manager nor a restart may seed again.
	if _, err := NewManager(e.db, e.clk.now, Policy{}); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	list, _ = e.m.List()
	if len(list) != 2 || list[0].No != "00" || list[1].No != "02" {
		t.Fatalf("after reseed attempt List = %+v, want 00 and 02", list)
	}
	if _, err := e.m.SignIn("01", cashDefault); !errors.Is(err, ErrUnknown) {
		t.Fatalf("removed 01 came back: %v", err)
	}
	if op := e.signIn("02", cashNew); op.MustChange {
		t.Fatal("02 was reset to must change")
	}
}

func TestSignInDefaultsMustChange(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		no, pw string
		want   Operator
	}{
		{"00", supDefault, Operator{No: "00", Role: Supervisor, MustChange: true}},
		{"01", cashDefault, Operator{No: "01", Role: Cashier, MustChange: true}},
	} {
		if got := e.signIn(tc.no, tc.pw); got != tc.want {
			t.Errorf("SignIn(%s) = %+v, want %+v", tc.no, got, tc.want)
		}
	}
}

func TestChangePasswordThenSignIn(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		no, old, new string
		role         Role
	}{
		{"00", supDefault, supNew, Supervisor},
		{"01", cashDefault, cashNew, Cashier},
	} {
		e.clk.advance(time.Minute)
		if err := e.m.ChangePassword(tc.no, tc.old, tc.new); err != nil {
			t.Fatalf("ChangePassword(%s): %v", tc.no, err)
		}
		want := Operator{No: tc.no, Role: tc.role}
		if got := e.signIn(tc.no, tc.new); got != want {
			t.Errorf("SignIn(%s) with new password = %+v, want %+v", tc.no, got, want)
		}
		if _, err := e.m.SignIn(tc.no, tc.old); !errors.Is(err, ErrWrongPassword) {
			t.Errorf("SignIn(%s) with old password: %v, want ErrWrongPassword", tc.no, err)
		}
		var changed int64
		e.db.SQL().QueryRow("SELECT changed FROM operators WHERE no = ?", tc.no).Scan(&changed)
		if changed != e.clk.now().Unix() {
			t.Errorf("%s changed = %d, want %d", tc.no, changed, e.clk.now().Unix())
		}
	}
}

func TestWeakPasswordsRejected(t *testing.T) {
	e := newEnv(t)
	// 01 gets a non-default password so "same as old" differs from "default".
	if err := e.m.ChangePassword("01", cashDefault, cashNew); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, no, old, new string
		want               WeakReason
	}{
		{"cashier too short", "01", cashNew, "258", WeakLength},
		{"cashier too long", "01", cashNew, "25801", WeakLength},
		{"supervisor too short", "00", supDefault, "8024", WeakLength},
		{"empty", "01", cashNew, "", WeakLength},
		{"letter", "01", cashNew, "25a0", WeakNotDigits},
		{"space", "00", supDefault, "8024 1", WeakNotDigits},
		{"full-width digit", "01", cashNew, "２5", WeakNotDigits}, // 4 bytes, 2 characters
		{"same as old", "01", cashNew, cashNew, WeakSameAsOld},
		{"cashier default", "01", cashNew, cashDefault, WeakDefault},
		{"supervisor default", "00", "135790", supDefault, WeakDefault},
		{"supervisor zeros", "00", supDefault, "000000", WeakRepeated},
		{"supervisor nines", "00", supDefault, "999999", WeakRepeated},
		{"cashier ones", "01", cashNew, "1111", WeakRepeated},
		{"supervisor ascending", "00", supDefault, "234567", WeakSequence},
		{"supervisor descending", "00", supDefault, "654321", WeakSequence},
		{"cashier ascending", "01", cashNew, "6789", WeakSequence},
		{"cashier descending", "01", cashNew, "3210", WeakSequence},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.m.ChangePassword(tc.no, tc.old, tc.new)
			var w *WeakPasswordError
			if !errors.Is(err, ErrWeakPassword) || !errors.As(err, &w) {
				t.Fatalf("got %v, want a WeakPasswordError", err)
			}
			if w.Reason != tc.want {
				t.Fatalf("reason %v, want %v", w.Reason, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want.String()) {
				t.Errorf("message %q does not give the reason", err)
			}
			if i := e.info(tc.no); i.Failures != 0 {
				t.Errorf("weak new password counted as a failure: %d", i.Failures)
			}
		})
	}
	// Nothing was changed.
	e.signIn("01", cashNew)
	e.signIn("00", supDefault)

	// Acceptable ones, for contrast: not a run without wrap-around.
	for _, ok := range []string{"8901", "1357"} {
		if err := checkNewPassword(Cashier, cashNew, ok); err != nil {
			t.Errorf("acceptable password case %d rejected: %v", len(ok), err)
		}
	}
}

func TestFourFailuresThenSuccessResets(t *testing.T) {
	e := newEnv(t)
	for round := range 2 {
		for i := 1; i <= 4; i++ {
			_, err := e.m.SignIn("01", "9999")
			if got := wrongRemaining(t, err); got != 5-i {
				t.Fatalf("round %d failure %d: Remaining = %d, want %d", round, i, got, 5-i)
			}
			if errors.Is(err, ErrLocked) {
				t.Fatalf("round %d failure %d locked", round, i)
			}
		}
		if got := e.info("01").Failures; got != 4 {
			t.Fatalf("Failures = %d, want 4", got)
		}
		e.signIn("01", cashDefault)
		if got := e.info("01").Failures; got != 0 {
			t.Fatalf("after success Failures = %d, want 0", got)
		}
	}
}

func TestFiveFailuresLock(t *testing.T) {
	e := newEnv(t)
	var fifth time.Time
	for i := 1; i <= 5; i++ {
		e.clk.advance(7 * time.Second)
		fifth = e.clk.now()
		_, err := e.m.SignIn("01", "9999")
		if i < 5 {
			wrongRemaining(t, err)
			continue
		}
		// The locking failure is both a wrong password and a lock.
		if got := wrongRemaining(t, err); got != 0 {
			t.Fatalf("5th failure Remaining = %d, want 0", got)
		}
		var le *LockedError
		if !errors.Is(err, ErrLocked) || !errors.As(err, &le) {
			t.Fatalf("5th failure = %v, want a LockedError too", err)
		}
		if want := fifth.Add(15 * time.Minute); !le.Until.Equal(want) {
			t.Fatalf("Until = %v, want %v", le.Until, want)
		}
	}
	until := fifth.Add(15 * time.Minute)

	// Locked: even the right password is refused, and nothing is counted.
	for _, tc := range []struct{ name, pw string }{{"right", cashDefault}, {"wrong", "9999"}} {
		e.clk.advance(time.Minute)
		_, err := e.m.SignIn("01", tc.pw)
		var le *LockedError
		if !errors.As(err, &le) || !le.Until.Equal(until) || errors.Is(err, ErrWrongPassword) {
			t.Fatalf("%s password while locked: %v, want LockedError until %v only", tc.name, err, until)
		}
	}
	if i := e.info("01"); i.Failures != 5 || !i.LockedUntil.Equal(until) {
		t.Fatalf("Info = %+v, want 5 failures locked until %v", i, until)
	}
	// Other operators are unaffected.
	e.supervisor()

	e.clk.set(until.Add(-time.Second))
	if _, err := e.m.SignIn("01", cashDefault); !errors.Is(err, ErrLocked) {
		t.Fatalf("one second before the end: %v, want ErrLocked", err)
	}
	e.clk.set(until)
	if i := e.info("01"); i.Failures != 0 || !i.LockedUntil.IsZero() {
		t.Fatalf("expired lock listed as %+v", i)
	}
	if op := e.signIn("01", cashDefault); !op.MustChange {
		t.Fatal("MustChange lost")
	}
	var f, l int64
	e.db.SQL().QueryRow("SELECT failures, locked_until FROM operators WHERE no = '01'").Scan(&f, &l)
	if f != 0 || l != 0 {
		t.Fatalf("stored failures=%d locked_until=%d after success, want 0 0", f, l)
	}
}

func TestExpiredLockResetsCountOnNextAttempt(t *testing.T) {
	e := newEnv(t)
	for range 5 {
		e.m.SignIn("01", "9999")
	}
	e.clk.advance(16 * time.Minute)
	_, err := e.m.SignIn("01", "9999")
	if got := wrongRemaining(t, err); got != 4 {
		t.Fatalf("first failure after the lock: Remaining = %d, want 4", got)
	}
	if errors.Is(err, ErrLocked) {
		t.Fatal("locked again on the first failure after expiry")
	}
}

func TestLockRoundsUpToWholeSecond(t *testing.T) {
	e := newEnv(t)
	e.clk.advance(300 * time.Millisecond)
	var err error
	for range 5 {
		_, err = e.m.SignIn("01", "9999")
	}
	var le *LockedError
	if !errors.As(err, &le) {
		t.Fatalf("got %v, want LockedError", err)
	}
	if min := e.clk.now().Add(15 * time.Minute); le.Until.Before(min) {
		t.Fatalf("Until %v is before %v: lock shorter than LockFor", le.Until, min)
	}
}

func TestLockSurvivesReopen(t *testing.T) {
	e := newEnv(t)
	for range 5 {
		e.m.SignIn("01", "9999")
	}
	want := e.clk.now().Add(15 * time.Minute)
	e.reopen()
	_, err := e.m.SignIn("01", cashDefault)
	var le *LockedError
	if !errors.As(err, &le) || !le.Until.Equal(want) {
		t.Fatalf("after reopen: %v, want locked until %v", err, want)
	}

	// The failure count survives too.
	e.clk.advance(15 * time.Minute)
	e.m.SignIn("01", "9999")
	e.m.SignIn("01", "9999")
	e.reopen()
	if _, err := e.m.SignIn("01", "9999"); wrongRemaining(t, err) != 2 {
		t.Fatalf("after reopen: %v, want 2 remaining", err)
	}
}

func TestCustomPolicy(t *testing.T) {
	e := newEnv(t)
	m, err := NewManager(e.db, e.clk.now, Policy{MaxFailures: 2, LockFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	m.SignIn("01", "9999")
	_, err = m.SignIn("01", "9999")
	var le *LockedError
	if !errors.As(err, &le) || !le.Until.Equal(e.clk.now().Add(time.Minute)) {
		t.Fatalf("got %v, want locked for one minute", err)
	}
}

func TestChangePasswordCountsFailures(t *testing.T) {
	e := newEnv(t)
	// Failures from SignIn and ChangePassword add up.
	e.m.SignIn("01", "9999")
	e.m.SignIn("01", "9999")
	for i := 3; i <= 4; i++ {
		err := e.m.ChangePassword("01", "9999", cashNew)
		if got := wrongRemaining(t, err); got != 5-i {
			t.Fatalf("failure %d: Remaining = %d, want %d", i, got, 5-i)
		}
	}
	err := e.m.ChangePassword("01", "9999", cashNew)
	if !errors.Is(err, ErrLocked) || !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("5th failure: %v, want wrong and locked", err)
	}
	if err := e.m.ChangePassword("01", cashDefault, cashNew); !errors.Is(err, ErrLocked) {
		t.Fatalf("change while locked: %v, want ErrLocked", err)
	}
	e.clk.advance(15 * time.Minute)
	if err := e.m.ChangePassword("01", cashDefault, cashNew); err != nil {
		t.Fatalf("change after lock: %v", err)
	}
	if i := e.info("01"); i.Failures != 0 || i.MustChange {
		t.Fatalf("after change Info = %+v", i)
	}
}

func TestSupervisorAdministers(t *testing.T) {
	e := newEnv(t)
	sup := e.supervisor()

	// Add
	if err := e.m.Add(sup, "05"); err != nil {
		t.Fatalf("Add: %v", err)
	}
	if op := e.signIn("05", cashDefault); op != (Operator{No: "05", Role: Cashier, MustChange: true}) {
		t.Fatalf("new cashier = %+v", op)
	}
	for _, tc := range []struct {
		no   string
		want error
	}{{"05", ErrExists}, {"00", ErrExists}, {"5", ErrBadNumber}, {"5a", ErrBadNumber}} {
		if err := e.m.Add(sup, tc.no); !errors.Is(err, tc.want) {
			t.Errorf("Add(%q) = %v, want %v", tc.no, err, tc.want)
		}
	}

	// Unlock
	for range 5 {
		e.m.SignIn("01", "9999")
	}
	if err := e.m.Unlock(sup, "01"); err != nil {
		t.Fatalf("Unlock: %v", err)
	}
	e.signIn("01", cashDefault)

	// ResetPassword: back to the default, must change, unlocked.
	if err := e.m.ChangePassword("05", cashDefault, cashNew); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		e.m.SignIn("05", "9999")
	}
	if err := e.m.ResetPassword(sup, "05"); err != nil {
		t.Fatalf("ResetPassword: %v", err)
	}
	if op := e.signIn("05", cashDefault); !op.MustChange {
		t.Fatal("reset password not marked must change")
	}
	if _, err := e.m.SignIn("05", cashNew); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("old password after reset: %v", err)
	}

	// Remove
	if err := e.m.Remove(sup, "05"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, err := e.m.SignIn("05", cashDefault); !errors.Is(err, ErrUnknown) {
		t.Fatalf("removed cashier signs in: %v", err)
	}
	if err := e.m.Remove(sup, "00"); !errors.Is(err, ErrCannotRemoveSupervisor) {
		t.Fatalf("Remove(00) = %v", err)
	}
	e.supervisor()

	// Unknown numbers.
	for name, op := range map[string]func() error{
		"Remove":        func() error { return e.m.Remove(sup, "77") },
		"Unlock":        func() error { return e.m.Unlock(sup, "77") },
		"ResetPassword": func() error { return e.m.ResetPassword(sup, "77") },
	} {
		if err := op(); !errors.Is(err, ErrUnknown) {
			t.Errorf("%s(77) = %v, want ErrUnknown", name, err)
		}
	}
	if l, _ := e.m.List(); len(l) != 2 {
		t.Fatalf("List = %+v", l)
	}
}

func TestOnlySupervisorAdministers(t *testing.T) {
	e := newEnv(t)
	cashier := e.signIn("01", cashDefault)
	for _, by := range []struct {
		name string
		op   Operator
	}{
		{"cashier", cashier},
		{"cashier claiming supervisor role", Operator{No: "01", Role: Supervisor}},
		{"00 with cashier role", Operator{No: "00", Role: Cashier}},
		{"zero", Operator{}},
	} {
		for name, op := range map[string]func() error{
			"Add":           func() error { return e.m.Add(by.op, "07") },
			"Remove":        func() error { return e.m.Remove(by.op, "01") },
			"Unlock":        func() error { return e.m.Unlock(by.op, "01") },
			"ResetPassword": func() error { return e.m.ResetPassword(by.op, "01") },
		} {
			if err := op(); !errors.Is(err, ErrNotSupervisor) {
				t.Errorf("%s by %s = %v, want ErrNotSupervisor", name, by.name, err)
			}
		}
	}
	if l, _ := e.m.List(); len(l) != 2 {
		t.Fatalf("List changed: %+v", l)
	}
}

func TestBadAndUnknownNumbers(t *testing.T) {
	e := newEnv(t)
	for _, no := range []string{"", "0", "000", "a1", " 1", "١٢", "-1"} {
		if _, err := e.m.SignIn(no, cashDefault); !errors.Is(err, ErrBadNumber) {
			t.Errorf("SignIn(%q) = %v, want ErrBadNumber", no, err)
		}
		if err := e.m.ChangePassword(no, cashDefault, cashNew); !errors.Is(err, ErrBadNumber) {
			t.Errorf("ChangePassword(%q) = %v, want ErrBadNumber", no, err)
		}
	}
	if _, err := e.m.SignIn("42", cashDefault); !errors.Is(err, ErrUnknown) {
		t.Errorf("SignIn(42) = %v, want ErrUnknown", err)
	}
	if err := e.m.ChangePassword("42", cashDefault, cashNew); !errors.Is(err, ErrUnknown) {
		t.Errorf("ChangePassword(42) = %v, want ErrUnknown", err)
	}
}

// countHashes counts argon2 computations and their memory cost during fn.
func countHashes(t *testing.T, fn func()) (n int, memory []uint32) {
	t.Helper()
	saved := idKey
	t.Cleanup(func() { idKey = saved })
	idKey = func(pw, salt []byte, tm, mem uint32, th uint8, kl uint32) []byte {
		n++
		memory = append(memory, mem)
		return saved(pw, salt, tm, mem, th, kl)
	}
	fn()
	idKey = saved
	return n, memory
}

func TestUnknownNumberSpendsOneHash(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name string
		fn   func()
	}{
		{"known", func() { e.m.SignIn("01", "9999") }},
		{"unknown", func() { e.m.SignIn("42", "9999") }},
	} {
		n, mem := countHashes(t, tc.fn)
		if n != 1 || mem[0] != hashParams.memory {
			t.Errorf("%s: %d hashes %v, want 1 at m=%d", tc.name, n, mem, hashParams.memory)
		}
	}
	// A locked operator is refused without hashing.
	for range 5 {
		e.m.SignIn("01", "9999")
	}
	if n, _ := countHashes(t, func() { e.m.SignIn("01", cashDefault) }); n != 0 {
		t.Errorf("locked: %d hashes, want 0", n)
	}
}

func TestHashFormatProduction(t *testing.T) {
	saved := hashParams
	t.Cleanup(func() { hashParams = saved })
	hashParams = productionParams

	h := hashPassword("135790")
	f := strings.Split(h, "$")
	if len(f) != 6 || f[0] != "" || f[1] != "argon2id" || f[2] != "v=19" || f[3] != "m=19456,t=2,p=1" {
		t.Fatalf("hash %q does not carry argon2id v=19 m=19456,t=2,p=1", h)
	}
	salt, err := b64.DecodeString(f[4])
	if err != nil || len(salt) != 16 {
		t.Fatalf("salt field %q: %d bytes, %v; want 16", f[4], len(salt), err)
	}
	key, err := b64.DecodeString(f[5])
	if err != nil || len(key) != 32 {
		t.Fatalf("hash field %q: %d bytes, %v; want 32", f[5], len(key), err)
	}
	if h2 := hashPassword("135790"); h2 == h {
		t.Fatal("two hashes of one password are equal: salt not random")
	}
	if ok, err := verifyPassword("135790", h); !ok || err != nil {
		t.Fatalf("verify right password = %v, %v", ok, err)
	}
	if ok, err := verifyPassword("135791", h); ok || err != nil {
		t.Fatalf("verify wrong password = %v, %v", ok, err)
	}
}

// Stored hashes keep their own parameters: changing hashParams later must
// not break them.
func TestVerifyUsesStoredParameters(t *testing.T) {
	saved := hashParams
	t.Cleanup(func() { hashParams = saved })
	h := hashPassword("135790")
	hashParams = argonParams{memory: 2048, time: 2, threads: 2, keyLen: 16}
	if ok, err := verifyPassword("135790", h); !ok || err != nil {
		t.Fatalf("verify after parameter change = %v, %v", ok, err)
	}
	h2 := hashPassword("135790")
	if !strings.Contains(h2, "$m=2048,t=2,p=2$") {
		t.Fatalf("new hash %q ignores new parameters", h2)
	}
	hashParams = saved
	if ok, err := verifyPassword("135790", h2); !ok || err != nil {
		t.Fatalf("verify of new-parameter hash = %v, %v", ok, err)
	}
}

func TestTamperedHash(t *testing.T) {
	good := hashPassword(cashDefault)
	f := strings.Split(good, "$")
	join := func(parts ...string) string { return strings.Join(parts, "$") }
	for _, tc := range []struct {
		name, hash string
	}{
		{"empty", ""},
		{"garbage", "not a hash"},
		{"dollars only", "$$$$$"},
		{"argon2i", join("", "argon2i", f[2], f[3], f[4], f[5])},
		{"bcrypt", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"version 16", join("", "argon2id", "v=16", f[3], f[4], f[5])},
		{"extra field", good + "$x"},
		{"missing hash", join("", "argon2id", f[2], f[3], f[4])},
		{"zero time", join("", "argon2id", f[2], "m=1024,t=0,p=1", f[4], f[5])},
		{"zero lanes", join("", "argon2id", f[2], "m=1024,t=1,p=0", f[4], f[5])},
		{"zero memory", join("", "argon2id", f[2], "m=0,t=1,p=1", f[4], f[5])},
		{"huge memory", join("", "argon2id", f[2], "m=4294967295,t=1,p=1", f[4], f[5])},
		{"huge time", join("", "argon2id", f[2], "m=1024,t=4000000000,p=1", f[4], f[5])},
		{"huge lanes", join("", "argon2id", f[2], "m=1024,t=1,p=255", f[4], f[5])},
		{"memory below lanes", join("", "argon2id", f[2], "m=8,t=1,p=2", f[4], f[5])},
		{"negative", join("", "argon2id", f[2], "m=-1,t=1,p=1", f[4], f[5])},
		{"params reordered", join("", "argon2id", f[2], "t=1,m=1024,p=1", f[4], f[5])},
		{"params missing", join("", "argon2id", f[2], "m=1024,t=1", f[4], f[5])},
		{"bad salt base64", join("", "argon2id", f[2], f[3], "!!!!", f[5])},
		{"short salt", join("", "argon2id", f[2], f[3], "AAAA", f[5])},
		{"padded salt", join("", "argon2id", f[2], f[3], f[4]+"==", f[5])},
		{"empty hash", join("", "argon2id", f[2], f[3], f[4], "")},
		{"short hash", join("", "argon2id", f[2], f[3], f[4], "AAAA")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := verifyPassword(cashDefault, tc.hash); !errors.Is(err, ErrBadHash) {
				t.Fatalf("verifyPassword = %v, want ErrBadHash", err)
			}
			e := newEnv(t)
			if _, err := e.db.SQL().Exec("UPDATE operators SET pw_hash = ? WHERE no = '01'", tc.hash); err != nil {
				t.Fatal(err)
			}
			if _, err := e.m.SignIn("01", cashDefault); !errors.Is(err, ErrBadHash) {
				t.Fatalf("SignIn = %v, want ErrBadHash", err)
			}
			if i := e.info("01"); i.Failures != 0 {
				t.Fatalf("bad hash counted as a failure")
			}
			// The supervisor can repair it.
			if err := e.m.ResetPassword(e.supervisor(), "01"); err != nil {
				t.Fatal(err)
			}
			e.signIn("01", cashDefault)
		})
	}

	// Well-formed but with a flipped hash byte: simply a wrong password.
	key, _ := b64.DecodeString(f[5])
	key[0] ^= 1
	flipped := join("", "argon2id", f[2], f[3], f[4], b64.EncodeToString(key))
	if ok, err := verifyPassword(cashDefault, flipped); ok || err != nil {
		t.Fatalf("flipped hash: %v, %v; want false, nil", ok, err)
	}
}

func TestStoredHashNeverContainsPassword(t *testing.T) {
	e := newEnv(t)
	if err := e.m.ChangePassword("00", supDefault, supNew); err != nil {
		t.Fatal(err)
	}
	if err := e.m.ChangePassword("01", cashDefault, cashNew); err != nil {
		t.Fatal(err)
	}
	sup := e.signIn("00", supNew)
	if err := e.m.Add(sup, "02"); err != nil {
		t.Fatal(err)
	}
	rows, err := e.db.SQL().Query("SELECT no, pw_hash FROM operators")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var no, h string
		if err := rows.Scan(&no, &h); err != nil {
			t.Fatal(err)
		}
		n++
		if !strings.HasPrefix(h, "$argon2id$") {
			t.Errorf("%s: stored value is not an argon2id hash", no)
		}
		for _, pw := range []string{supDefault, cashDefault, supNew, cashNew} {
			if strings.Contains(h, pw) {
				t.Errorf("%s: stored hash contains a password", no) // which one is not printed
			}
		}
	}
	if n != 3 {
		t.Fatalf("%d rows, want 3", n)
	}
}

// Two Managers on one database: every wrong password that was reported
// must be counted exactly once.
func TestConcurrentManagersCountEveryFailure(t *testing.T) {
	e := newEnv(t)
	p := Policy{MaxFailures: 100}
	m2, err := NewManager(e.db, e.clk.now, p)
	if err != nil {
		t.Fatal(err)
	}
	m1, _ := NewManager(e.db, e.clk.now, p)
	var mu sync.Mutex
	reported := 0
	var wg sync.WaitGroup
	for _, m := range []*Manager{m1, m2, m1, m2} {
		wg.Go(func() {
			for range 5 {
				_, err := m.SignIn("01", "9999")
				if errors.Is(err, ErrWrongPassword) {
					mu.Lock()
					reported++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if got := e.info("01").Failures; got != reported || reported == 0 {
		t.Fatalf("stored %d failures, reported %d", got, reported)
	}
}

func TestPasswordLength(t *testing.T) {
	for _, tc := range []struct {
		r    Role
		want int
	}{{Supervisor, 6}, {Cashier, 4}, {"other", 0}} {
		if got := PasswordLength(tc.r); got != tc.want {
			t.Errorf("PasswordLength(%s) = %d, want %d", tc.r, got, tc.want)
		}
		if tc.want != 0 && len(defaultPassword(tc.r)) != tc.want {
			t.Errorf("default password for %s has the wrong length", tc.r)
		}
	}
}

func TestNewManagerNilDB(t *testing.T) {
	if _, err := NewManager(nil, nil, Policy{}); err == nil {
		t.Fatal("NewManager(nil) succeeded")
	}
}
