// Package operator is operator sign-in as on Chinese bank POS terminals:
// operator "00" is the supervisor (主管), "01".."99" are cashiers (操作员).
// Passwords are digits only, 6 for the supervisor and 4 for cashiers, and
// are stored as argon2id hashes in the journal database.
//
// Repeated wrong passwords lock an operator for a while; the count and the
// lock are persisted so a restart does not clear them.
package operator

import (
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/shoukuan/pos/app/journal"
)

// Role is what an operator may do.
type Role string

const (
	Supervisor Role = "supervisor"
	Cashier    Role = "cashier"
)

// SupervisorNo is the supervisor's operator number; every other number is
// a cashier.
const SupervisorNo = "00"

// Policy is the lockout policy. Zero fields take the defaults.
type Policy struct {
	MaxFailures int           // wrong passwords in a row that lock; default 5
	LockFor     time.Duration // how long the lock lasts; default 15m
}

// Operator is a signed-in operator.
type Operator struct {
	No         string
	Role       Role
	MustChange bool // still on a default password; the UI must force a change
}

// Info describes an operator for the supervisor's list. An expired lock is
// reported as not locked with no failures, as the next attempt will see it.
type Info struct {
	No          string
	Role        Role
	MustChange  bool
	Failures    int
	LockedUntil time.Time // zero = not locked
}

// Errors returned by Manager. Test with errors.Is; WrongPasswordError,
// LockedError and WeakPasswordError carry details for errors.As.
var (
	ErrBadNumber              = errors.New("operator: operator number must be two digits")
	ErrUnknown                = errors.New("operator: no such operator")
	ErrWrongPassword          = errors.New("operator: wrong password")
	ErrLocked                 = errors.New("operator: operator is locked")
	ErrNotSupervisor          = errors.New("operator: only the supervisor may do this")
	ErrExists                 = errors.New("operator: operator already exists")
	ErrWeakPassword           = errors.New("operator: password too weak")
	ErrCannotRemoveSupervisor = errors.New("operator: the supervisor cannot be removed")
)

// WrongPasswordError is a wrong password; Remaining is how many more wrong
// attempts are allowed before the operator is locked.
type WrongPasswordError struct{ Remaining int }

func (e *WrongPasswordError) Error() string {
	return fmt.Sprintf("%v (%d attempts left)", ErrWrongPassword, e.Remaining)
}

func (e *WrongPasswordError) Is(target error) bool { return target == ErrWrongPassword }

// LockedError means the operator is locked until Until.
type LockedError struct{ Until time.Time }

func (e *LockedError) Error() string {
	return fmt.Sprintf("%v until %s", ErrLocked, e.Until.Format("2006-01-02 15:04:05"))
}

func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// lockedNowError is returned by the wrong password that triggers the lock:
// it is both a *WrongPasswordError (Remaining 0) and a *LockedError, so
// the UI can say either.
type lockedNowError struct {
	wrong  *WrongPasswordError
	locked *LockedError
}

func (e *lockedNowError) Error() string {
	return fmt.Sprintf("%v; locked until %s", ErrWrongPassword, e.locked.Until.Format("2006-01-02 15:04:05"))
}

func (e *lockedNowError) Unwrap() []error { return []error{e.wrong, e.locked} }

// PasswordLength is the number of digits in a password for r, or 0 for an
// unknown role.
func PasswordLength(r Role) int {
	switch r {
	case Supervisor:
		return 6
	case Cashier:
		return 4
	}
	return 0
}

// defaultPassword is the factory password for r. Unexported: the UI never
// shows defaults.
func defaultPassword(r Role) string {
	if r == Supervisor {
		return "123456"
	}
	return "0000"
}

func validNo(no string) bool {
	return len(no) == 2 && no[0] >= '0' && no[0] <= '9' && no[1] >= '0' && no[1] <= '9'
}

func roleFor(no string) Role {
	if no == SupervisorNo {
		return Supervisor
	}
	return Cashier
}

// Manager signs operators in and maintains them. It is safe for concurrent
// use; operations are serialised, and a change made meanwhile through
// another Manager on the same database is detected and retried.
type Manager struct {
	db     *sql.DB
	now    func() time.Time
	policy Policy
	mu     sync.Mutex
}

// NewManager returns a Manager on db. now is the clock (time.Now if nil).
// If there are no operators at all it creates "00" and "01" with their
// default passwords, both required to change them.
func NewManager(db *journal.DB, now func() time.Time, p Policy) (*Manager, error) {
	if db == nil {
		return nil, errors.New("operator: nil database")
	}
	if now == nil {
		now = time.Now
	}
	if p.MaxFailures <= 0 {
		p.MaxFailures = 5
	}
	if p.LockFor <= 0 {
		p.LockFor = 15 * time.Minute
	}
	m := &Manager{db: db.SQL(), now: now, policy: p}
	if err := m.seed(); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Manager) seed() error {
	var n int
	if err := m.db.QueryRow("SELECT count(*) FROM operators").Scan(&n); err != nil {
		return fmt.Errorf("operator: count operators: %w", err)
	}
	if n > 0 {
		return nil
	}
	// Hashed before the transaction so the write lock is not held for it.
	sup := hashPassword(defaultPassword(Supervisor))
	cash := hashPassword(defaultPassword(Cashier))
	now := m.now().Unix()
	return m.inTx(func(tx *sql.Tx) error {
		if err := tx.QueryRow("SELECT count(*) FROM operators").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil // seeded meanwhile by someone else
		}
		for _, o := range []struct {
			no   string
			hash string
		}{{SupervisorNo, sup}, {"01", cash}} {
			if _, err := tx.Exec(`INSERT INTO operators(no, role, pw_hash, must_change, created, changed)
				VALUES(?, ?, ?, 1, ?, ?)`, o.no, roleFor(o.no), o.hash, now, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// record is one row of the operators table.
type record struct {
	no          string
	role        Role
	hash        string
	mustChange  bool
	failures    int
	lockedUntil int64 // unix seconds, 0 = not locked
}

func (m *Manager) load(no string) (record, bool, error) {
	r := record{no: no}
	err := m.db.QueryRow(`SELECT role, pw_hash, must_change, failures, locked_until
		FROM operators WHERE no = ?`, no).Scan(&r.role, &r.hash, &r.mustChange, &r.failures, &r.lockedUntil)
	if errors.Is(err, sql.ErrNoRows) {
		return record{}, false, nil
	}
	if err != nil {
		return record{}, false, fmt.Errorf("operator: load %s: %w", no, err)
	}
	return r, true, nil
}

// effective is the failure count and lock as of now: a lock that has
// expired no longer counts, and neither do the failures that caused it.
func (r record) effective(now time.Time) (failures int, lockedUntil int64) {
	if r.lockedUntil != 0 && !now.Before(time.Unix(r.lockedUntil, 0)) {
		return 0, 0
	}
	return r.failures, r.lockedUntil
}

// errRaced means the row changed between reading and writing it.
var errRaced = errors.New("operator: record changed concurrently")

// retry runs fn again when another writer changed the row under it; a
// handful of tries is plenty on a terminal with one user at a time.
func retry(fn func() error) error {
	for range 5 {
		if err := fn(); !errors.Is(err, errRaced) {
			return err
		}
	}
	return errors.New("operator: record keeps changing, try again")
}

func (m *Manager) inTx(fn func(*sql.Tx) error) error {
	tx, err := m.db.Begin()
	if err != nil {
		return fmt.Errorf("operator: begin: %w", err)
	}
	defer tx.Rollback() // no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("operator: commit: %w", err)
	}
	return nil
}

// casExec runs an UPDATE whose WHERE clause pins the row as read, and
// reports errRaced if it no longer matches.
func casExec(tx *sql.Tx, query string, args ...any) error {
	res, err := tx.Exec(query, args...)
	if err != nil {
		return fmt.Errorf("operator: update: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("operator: update: %w", err)
	}
	if n != 1 {
		return errRaced
	}
	return nil
}

const casWhere = ` WHERE no = ? AND pw_hash = ? AND failures = ? AND locked_until = ?`

// authenticate checks pw for operator no. A failure is counted, and the
// operator locked if it is one too many, before it returns. On success
// nothing is written: the caller writes the reset together with its own
// change, in one transaction.
func (m *Manager) authenticate(no, pw string) (record, error) {
	rec, ok, err := m.load(no)
	if err != nil {
		return record{}, err
	}
	if !ok {
		dummyVerify(pw)
		return record{}, ErrUnknown
	}
	now := m.now()
	failures, lockedUntil := rec.effective(now)
	if lockedUntil != 0 {
		return record{}, &LockedError{Until: time.Unix(lockedUntil, 0)}
	}
	match, err := verifyPassword(pw, rec.hash)
	if err != nil {
		return record{}, fmt.Errorf("%w (operator %s)", err, no)
	}
	if match {
		return rec, nil
	}

	failures++
	var result error = &WrongPasswordError{Remaining: m.policy.MaxFailures - failures}
	if failures >= m.policy.MaxFailures {
		lockedUntil = m.lockEnd(now)
		result = &lockedNowError{
			wrong:  &WrongPasswordError{Remaining: 0},
			locked: &LockedError{Until: time.Unix(lockedUntil, 0)},
		}
	}
	err = m.inTx(func(tx *sql.Tx) error {
		return casExec(tx, `UPDATE operators SET failures = ?, locked_until = ?`+casWhere,
			failures, lockedUntil, no, rec.hash, rec.failures, rec.lockedUntil)
	})
	if err != nil {
		return record{}, err
	}
	return record{}, result
}

// lockEnd is when a lock starting now ends, rounded up to the second that
// is stored, so the lock is never shorter than LockFor.
func (m *Manager) lockEnd(now time.Time) int64 {
	end := now.Add(m.policy.LockFor)
	s := end.Unix()
	if end.Nanosecond() != 0 {
		s++
	}
	return s
}

// SignIn checks the operator's password. While the operator is locked it
// returns a *LockedError without checking the password. A wrong password
// returns a *WrongPasswordError; the one that triggers the lock returns an
// error that is both that (Remaining 0) and a *LockedError.
func (m *Manager) SignIn(no, password string) (Operator, error) {
	if !validNo(no) {
		return Operator{}, ErrBadNumber
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var op Operator
	err := retry(func() error {
		rec, err := m.authenticate(no, password)
		if err != nil {
			return err
		}
		// Only write when there is something to reset, to spare the flash.
		if rec.failures != 0 || rec.lockedUntil != 0 {
			err = m.inTx(func(tx *sql.Tx) error {
				return casExec(tx, `UPDATE operators SET failures = 0, locked_until = 0`+casWhere,
					no, rec.hash, rec.failures, rec.lockedUntil)
			})
			if err != nil {
				return err
			}
		}
		op = Operator{No: no, Role: rec.role, MustChange: rec.mustChange}
		return nil
	})
	return op, err
}

// ChangePassword replaces the operator's password. The new password is
// checked first (a *WeakPasswordError, nothing counted); the old one is
// then verified with the same failure counting and lockout as SignIn.
func (m *Manager) ChangePassword(no, oldPassword, newPassword string) error {
	if !validNo(no) {
		return ErrBadNumber
	}
	if err := checkNewPassword(roleFor(no), oldPassword, newPassword); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return retry(func() error {
		rec, err := m.authenticate(no, oldPassword)
		if err != nil {
			return err
		}
		h := hashPassword(newPassword)
		return m.inTx(func(tx *sql.Tx) error {
			return casExec(tx, `UPDATE operators
				SET pw_hash = ?, must_change = 0, failures = 0, locked_until = 0, changed = ?`+casWhere,
				h, m.now().Unix(), no, rec.hash, rec.failures, rec.lockedUntil)
		})
	})
}

func requireSupervisor(by Operator) error {
	if by.No != SupervisorNo || by.Role != Supervisor {
		return ErrNotSupervisor
	}
	return nil
}

// Unlock clears operator no's failures and lock. Supervisor only.
func (m *Manager) Unlock(by Operator, no string) error {
	if err := requireSupervisor(by); err != nil {
		return err
	}
	if !validNo(no) {
		return ErrBadNumber
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inTx(func(tx *sql.Tx) error {
		return existed(tx.Exec(`UPDATE operators SET failures = 0, locked_until = 0 WHERE no = ?`, no))
	})
}

// Add creates cashier no with the default password, to be changed at first
// sign-in. Supervisor only.
func (m *Manager) Add(by Operator, no string) error {
	if err := requireSupervisor(by); err != nil {
		return err
	}
	if !validNo(no) {
		return ErrBadNumber
	}
	if no == SupervisorNo {
		return ErrExists // the supervisor is never added; it is seeded
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// Checked first so an existing number costs no hash.
	if _, ok, err := m.load(no); err != nil {
		return err
	} else if ok {
		return ErrExists
	}
	h := hashPassword(defaultPassword(Cashier))
	now := m.now().Unix()
	return m.inTx(func(tx *sql.Tx) error {
		res, err := tx.Exec(`INSERT INTO operators(no, role, pw_hash, must_change, created, changed)
			VALUES(?, ?, ?, 1, ?, ?) ON CONFLICT(no) DO NOTHING`, no, Cashier, h, now, now)
		if err != nil {
			return fmt.Errorf("operator: add %s: %w", no, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("operator: add %s: %w", no, err)
		} else if n == 0 {
			return ErrExists
		}
		return nil
	})
}

// Remove deletes cashier no. Supervisor only; "00" cannot be removed.
func (m *Manager) Remove(by Operator, no string) error {
	if err := requireSupervisor(by); err != nil {
		return err
	}
	if !validNo(no) {
		return ErrBadNumber
	}
	if no == SupervisorNo {
		return ErrCannotRemoveSupervisor
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.inTx(func(tx *sql.Tx) error {
		return existed(tx.Exec(`DELETE FROM operators WHERE no = ?`, no))
	})
}

// ResetPassword puts operator no back on the default password, to be
// changed at next sign-in, and unlocks it. Supervisor only.
func (m *Manager) ResetPassword(by Operator, no string) error {
	if err := requireSupervisor(by); err != nil {
		return err
	}
	if !validNo(no) {
		return ErrBadNumber
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok, err := m.load(no)
	if err != nil {
		return err
	}
	if !ok {
		return ErrUnknown
	}
	h := hashPassword(defaultPassword(rec.role))
	now := m.now().Unix()
	return m.inTx(func(tx *sql.Tx) error {
		return existed(tx.Exec(`UPDATE operators
			SET pw_hash = ?, must_change = 1, failures = 0, locked_until = 0, changed = ?
			WHERE no = ? AND role = ?`, h, now, no, rec.role))
	})
}

// existed turns "no row touched" into ErrUnknown.
func existed(res sql.Result, err error) error {
	if err != nil {
		return fmt.Errorf("operator: update: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("operator: update: %w", err)
	}
	if n == 0 {
		return ErrUnknown
	}
	return nil
}

// List returns all operators sorted by number.
func (m *Manager) List() ([]Info, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rows, err := m.db.Query(`SELECT no, role, must_change, failures, locked_until
		FROM operators ORDER BY no`)
	if err != nil {
		return nil, fmt.Errorf("operator: list: %w", err)
	}
	defer rows.Close()
	now := m.now()
	var out []Info
	for rows.Next() {
		var r record
		if err := rows.Scan(&r.no, &r.role, &r.mustChange, &r.failures, &r.lockedUntil); err != nil {
			return nil, fmt.Errorf("operator: list: %w", err)
		}
		info := Info{No: r.no, Role: r.role, MustChange: r.mustChange}
		var until int64
		info.Failures, until = r.effective(now)
		if until != 0 {
			info.LockedUntil = time.Unix(until, 0)
		}
		out = append(out, info)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("operator: list: %w", err)
	}
	return out, nil
}
