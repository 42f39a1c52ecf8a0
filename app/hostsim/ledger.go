package hostsim

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/shoukuan/pos/app/iso8583"
	"github.com/shoukuan/pos/app/seckey"
	_ "modernc.org/sqlite" // driver "sqlite"
)

// ErrUnknownAccount is returned by Balance for a PAN the issuer does not hold.
var ErrUnknownAccount = errors.New("hostsim: unknown account")

// ErrNoRecord is returned by ForgetRecord when there is nothing to forget.
var ErrNoRecord = errors.New("hostsim: no such record")

// schemaVersion is PRAGMA user_version of a ledger this code wrote; a newer
// file is refused rather than misread.
const schemaVersion = 4

// The ledger holds the simulated issuer's accounts and the terminals'
// working keys (an HSM's job at a real acquirer). PINs are kept only as
// Argon2id hashes (pinhash.go); the file is private to its user.
var schema = []string{
	`CREATE TABLE IF NOT EXISTS accounts(
		pan TEXT PRIMARY KEY,
		expiry TEXT NOT NULL,
		pin TEXT NOT NULL, -- Argon2id hash of the PIN, '' for none
		balance_fen INTEGER NOT NULL,
		status TEXT NOT NULL,
		daily_limit_fen INTEGER NOT NULL DEFAULT 0,
		pin_tries INTEGER NOT NULL DEFAULT 0)`,
	`CREATE TABLE IF NOT EXISTS terminal_keys(
		tid TEXT PRIMARY KEY,
		mode INTEGER NOT NULL,
		pik BLOB NOT NULL,
		mak BLOB NOT NULL,
		tdk BLOB,
		updated INTEGER NOT NULL)`,
	// One row per money-moving request the host approved; reversals change
	// status rather than add rows, so (tid, batch, stan) stays the identity
	// a reversal refers to.
	`CREATE TABLE IF NOT EXISTS records(
		id INTEGER PRIMARY KEY,
		tid TEXT NOT NULL,
		mid TEXT NOT NULL,
		batch TEXT NOT NULL,
		stan TEXT NOT NULL,
		kind TEXT NOT NULL,
		class TEXT NOT NULL,
		pan TEXT NOT NULL,
		amount_fen INTEGER NOT NULL,
		status TEXT NOT NULL,
		rrn TEXT NOT NULL UNIQUE,
		auth_code TEXT NOT NULL,
		host_day TEXT NOT NULL,
		host_time TEXT NOT NULL,
		orig_id INTEGER REFERENCES records(id),
		refunded_fen INTEGER NOT NULL DEFAULT 0,
		forgotten INTEGER NOT NULL DEFAULT 0,
		UNIQUE(tid, batch, stan))`,
	`CREATE INDEX IF NOT EXISTS records_pan_day ON records(pan, host_day)`,
	// Replies already given, so a repeated request gets the same answer
	// and moves no money twice.
	`CREATE TABLE IF NOT EXISTS replies(
		tid TEXT NOT NULL,
		batch TEXT NOT NULL,
		stan TEXT NOT NULL,
		mti TEXT NOT NULL,
		digest BLOB NOT NULL,
		body BLOB NOT NULL,
		PRIMARY KEY(tid, batch, stan, mti))`,
	`CREATE TABLE IF NOT EXISTS uploads(
		tid TEXT NOT NULL,
		batch TEXT NOT NULL,
		stan TEXT NOT NULL,
		kind TEXT NOT NULL,
		class TEXT NOT NULL,
		amount_fen INTEGER NOT NULL,
		rrn TEXT NOT NULL,
		PRIMARY KEY(tid, batch, stan))`,
	`CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, value INTEGER NOT NULL)`,
	// The highest application transaction counter each chip has shown:
	// a cryptogram with an ATC not above it is a replay.
	`CREATE TABLE IF NOT EXISTS chip_atc(pan TEXT NOT NULL, psn TEXT NOT NULL, atc INTEGER NOT NULL, PRIMARY KEY(pan, psn))`,
}

// openLedger opens or creates the SQLite file with WAL, as app/journal
// does. synchronous=NORMAL: a killed simulator keeps every commit (WAL);
// only an OS crash could lose the last ones, which no test simulates.
func openLedger(path string) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("hostsim: Options.DBPath is required (the ledger must be a file)")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("hostsim: ledger path: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
		return nil, fmt.Errorf("hostsim: ledger directory: %w", err)
	}
	// Private before SQLite creates it (the -wal and -shm files take its
	// mode): it holds card accounts and terminal keys.
	if f, err := os.OpenFile(abs, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("hostsim: create ledger: %w", err)
	}
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	p = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
	q := url.Values{}
	for _, v := range []string{"busy_timeout(5000)", "foreign_keys(ON)", "journal_mode(WAL)", "synchronous(NORMAL)"} {
		q.Add("_pragma", v)
	}
	// immediate: take the write lock at BEGIN, never half-way through.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+p+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("hostsim: open ledger: %w", err)
	}
	// One connection: handlers are serialised anyway, and it rules out
	// SQLITE_BUSY between our own goroutines.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := migrate(db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func migrate(db *sql.DB) error {
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return fmt.Errorf("hostsim: open ledger: %w", err)
	}
	if v > schemaVersion {
		return fmt.Errorf("hostsim: ledger schema version %d is newer than this program (%d)", v, schemaVersion)
	}
	tx, err := db.Begin()
	if err != nil {
		return fmt.Errorf("hostsim: ledger schema: %w", err)
	}
	defer tx.Rollback()
	for _, s := range append(schema, walletSchema...) {
		if _, err := tx.Exec(s); err != nil {
			return fmt.Errorf("hostsim: ledger schema: %w", err)
		}
	}
	if v < 3 {
		// Ledgers before version 3 kept PINs in the clear: hash them.
		if err := hashClearPINs(tx); err != nil {
			return fmt.Errorf("hostsim: ledger schema: %w", err)
		}
	}
	if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", schemaVersion)); err != nil {
		return fmt.Errorf("hostsim: ledger schema: %w", err)
	}
	return tx.Commit()
}

func hashClearPINs(tx *sql.Tx) error {
	rows, err := tx.Query(`SELECT pan, pin FROM accounts WHERE pin != '' AND pin NOT LIKE '$argon2id$%'`)
	if err != nil {
		return err
	}
	clearPINs := map[string]string{}
	for rows.Next() {
		var pan, pin string
		if err := rows.Scan(&pan, &pin); err != nil {
			rows.Close()
			return err
		}
		clearPINs[pan] = pin
	}
	rows.Close()
	for pan, pin := range clearPINs {
		h, err := hashPIN(pin)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE accounts SET pin = ? WHERE pan = ?`, h, pan); err != nil {
			return err
		}
	}
	return nil
}

// seedAccounts inserts accounts that are not there yet; existing rows keep
// their balances, so a restart never resets the ledger.
func seedAccounts(db *sql.DB, accts []Account) error {
	tx, err := db.Begin()
	if err != nil {
		return fmt.Errorf("hostsim: seed accounts: %w", err)
	}
	defer tx.Rollback()
	for i, a := range accts {
		if !allDigits(a.PAN) || len(a.PAN) < 13 || len(a.PAN) > 19 {
			return fmt.Errorf("hostsim: account %d: PAN must be 13 to 19 digits", i)
		}
		if len(a.Expiry) != 4 || !allDigits(a.Expiry) {
			return fmt.Errorf("hostsim: account %s: expiry must be YYMM", iso8583.MaskPAN(a.PAN))
		}
		if a.PIN != "" && (!allDigits(a.PIN) || len(a.PIN) < 4 || len(a.PIN) > 12) {
			return fmt.Errorf("hostsim: account %s: PIN must be 4 to 12 digits", iso8583.MaskPAN(a.PAN))
		}
		status := a.Status
		if status == "" {
			status = StatusActive
		}
		var n int
		if err := tx.QueryRow(`SELECT count(*) FROM accounts WHERE pan = ?`, a.PAN).Scan(&n); err != nil {
			return fmt.Errorf("hostsim: seed account %s: %w", iso8583.MaskPAN(a.PAN), err)
		}
		if n > 0 {
			continue // an account keeps its state across restarts
		}
		pin := ""
		if a.PIN != "" {
			if pin, err = hashPIN(a.PIN); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(`INSERT INTO accounts(pan, expiry, pin, balance_fen, status, daily_limit_fen)
			VALUES(?, ?, ?, ?, ?, ?)`, a.PAN, a.Expiry, pin, a.BalanceFen, status, a.DailyLimitFen); err != nil {
			return fmt.Errorf("hostsim: seed account %s: %w", iso8583.MaskPAN(a.PAN), err)
		}
	}
	return tx.Commit()
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// account is an accounts row.
type account struct {
	pan, expiry, pin, status string
	balance, dailyLimit      int64
	pinTries                 int
}

func getAccount(tx *sql.Tx, pan string) (account, bool, error) {
	a := account{pan: pan}
	err := tx.QueryRow(`SELECT expiry, pin, balance_fen, status, daily_limit_fen, pin_tries FROM accounts WHERE pan = ?`, pan).
		Scan(&a.expiry, &a.pin, &a.balance, &a.status, &a.dailyLimit, &a.pinTries)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	return a, err == nil, err
}

func addBalance(tx *sql.Tx, pan string, delta int64) error {
	_, err := tx.Exec(`UPDATE accounts SET balance_fen = balance_fen + ? WHERE pan = ?`, delta, pan)
	return err
}

func loadKeys(q interface {
	QueryRow(string, ...any) *sql.Row
}, tid string) (seckey.WorkingKeys, bool, error) {
	var pik, mak, tdk []byte
	err := q.QueryRow(`SELECT pik, mak, tdk FROM terminal_keys WHERE tid = ?`, tid).Scan(&pik, &mak, &tdk)
	if errors.Is(err, sql.ErrNoRows) {
		return seckey.WorkingKeys{}, false, nil
	}
	if err != nil {
		return seckey.WorkingKeys{}, false, err
	}
	wk := seckey.WorkingKeys{PIK: pik, MAK: mak}
	if len(tdk) > 0 {
		wk.TDK = tdk
	}
	return wk, true, nil
}

func storeKeys(tx *sql.Tx, tid string, mode seckey.KeyMode, wk seckey.WorkingKeys, unix int64) error {
	var tdk []byte
	if wk.TDK != nil {
		tdk = wk.TDK
	}
	_, err := tx.Exec(`INSERT INTO terminal_keys(tid, mode, pik, mak, tdk, updated) VALUES(?, ?, ?, ?, ?, ?)
		ON CONFLICT(tid) DO UPDATE SET mode = excluded.mode, pik = excluded.pik, mak = excluded.mak,
		tdk = excluded.tdk, updated = excluded.updated`,
		tid, int(mode), []byte(wk.PIK), []byte(wk.MAK), tdk, unix)
	return err
}

// record is a records row.
type record struct {
	id                    int64
	tid, mid, batch, stan string
	kind, class, pan      string
	amount, refunded      int64
	status, rrn, authCode string
	hostDay, hostTime     string
	origID                sql.NullInt64
	forgotten             bool
}

const recordCols = `id, tid, mid, batch, stan, kind, class, pan, amount_fen, refunded_fen, status, rrn, auth_code, host_day, host_time, orig_id, forgotten`

func scanRecord(row interface{ Scan(...any) error }) (record, error) {
	var r record
	err := row.Scan(&r.id, &r.tid, &r.mid, &r.batch, &r.stan, &r.kind, &r.class, &r.pan, &r.amount, &r.refunded,
		&r.status, &r.rrn, &r.authCode, &r.hostDay, &r.hostTime, &r.origID, &r.forgotten)
	return r, err
}

// findRecord returns the first record matching where; ok is false if none.
func findRecord(tx *sql.Tx, where string, args ...any) (record, bool, error) {
	r, err := scanRecord(tx.QueryRow(`SELECT `+recordCols+` FROM records WHERE `+where+` ORDER BY id LIMIT 1`, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	return r, err == nil, err
}

func insertRecord(tx *sql.Tx, r *record) error {
	res, err := tx.Exec(`INSERT INTO records(tid, mid, batch, stan, kind, class, pan, amount_fen, status, rrn, auth_code, host_day, host_time, orig_id)
		VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.tid, r.mid, r.batch, r.stan, r.kind, r.class, r.pan, r.amount, r.status, r.rrn, r.authCode, r.hostDay, r.hostTime, r.origID)
	if err != nil {
		return err
	}
	r.id, err = res.LastInsertId()
	return err
}

func setStatus(tx *sql.Tx, id int64, status string) error {
	_, err := tx.Exec(`UPDATE records SET status = ? WHERE id = ?`, status, id)
	return err
}

// nextCounter increments and returns a named persistent counter.
func nextCounter(tx *sql.Tx, name string) (int64, error) {
	var v int64
	err := tx.QueryRow(`INSERT INTO counters(name, value) VALUES(?, 1)
		ON CONFLICT(name) DO UPDATE SET value = value + 1 RETURNING value`, name).Scan(&v)
	return v, err
}

// Record is one financial record as the host sees it.
type Record struct {
	ID         int64 // the ledger's row: newer records have larger ones
	TerminalID string
	MerchantID string
	Batch      string
	STAN       string
	Kind       string // "sale", "void", "refund"
	Class      string // payment class for settlement: "card"
	MaskedPAN  string
	AmountFen  int64
	Status     string // "approved", "reversed", "voided"
	RRN        string
	AuthCode   string
	Date       string // host date MMDD (field 13 of the reply)
	Time       string // host time hhmmss
	OrigRRN    string // void and refund: the sale they refer to
	// RefundedFen is, for a sale, the sum of its approved refunds.
	RefundedFen int64
	// Forgotten: ForgetRecord hid it from the acquirer's settlement view.
	Forgotten bool
}

// Record statuses.
const (
	StatusApproved = "approved"
	StatusReversed = "reversed"
	StatusVoided   = "voided"
)

// Account statuses; any status other than active is declined with 05.
const (
	StatusActive  = "active"
	StatusLost    = "lost"
	StatusBlocked = "blocked"
)

// Charges is the judge: the money actually taken from the account now.
// count is the number of sales in effect (approved, not voided or
// reversed); netFen is their amount minus the refunds in effect. Records
// hidden by ForgetRecord still count: the money did move.
func (s *Server) Charges(pan string) (count int, netFen int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	err = s.db.QueryRow(`SELECT
		coalesce(sum(CASE WHEN kind = 'sale' THEN 1 ELSE 0 END), 0),
		coalesce(sum(CASE WHEN kind = 'sale' THEN amount_fen WHEN kind = 'refund' THEN -amount_fen ELSE 0 END), 0)
		FROM records WHERE pan = ? AND status = 'approved'`, pan).Scan(&count, &netFen)
	if err != nil {
		return 0, 0, fmt.Errorf("hostsim: charges: %w", err)
	}
	return count, netFen, nil
}

// Balance returns the account's balance (available credit for a credit card).
func (s *Server) Balance(pan string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b int64
	err := s.db.QueryRow(`SELECT balance_fen FROM accounts WHERE pan = ?`, pan).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrUnknownAccount
	}
	if err != nil {
		return 0, fmt.Errorf("hostsim: balance: %w", err)
	}
	return b, nil
}

// Records returns every financial record of a terminal, oldest first.
func (s *Server) Records(terminalID string) ([]Record, error) {
	return s.records(`r.tid = ?`, terminalID)
}

// RecordsSince returns a terminal's records created after the record id
// afterID, and the newest id: a judge that checks every run reads only
// what the run added.
func (s *Server) RecordsSince(terminalID string, afterID int64) ([]Record, error) {
	return s.records(`r.tid = ? AND r.id > ?`, terminalID, afterID)
}

// RecordAt returns the record of one request, found by its batch and
// trace number; ok is false when the host has none.
func (s *Server) RecordAt(terminalID, batch, stan string) (Record, bool, error) {
	list, err := s.records(`r.tid = ? AND r.batch = ? AND r.stan = ?`, terminalID, batch, stan)
	if err != nil || len(list) == 0 {
		return Record{}, false, err
	}
	return list[0], true, nil
}

func (s *Server) records(where string, args ...any) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows, err := s.db.Query(`SELECT r.id, r.tid, r.mid, r.batch, r.stan, r.kind, r.class, r.pan, r.amount_fen, r.status,
		r.rrn, r.auth_code, r.host_day, r.host_time, coalesce(o.rrn, ''), r.refunded_fen, r.forgotten
		FROM records r LEFT JOIN records o ON o.id = r.orig_id WHERE `+where+` ORDER BY r.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("hostsim: records: %w", err)
	}
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var r Record
		var pan, day string
		if err := rows.Scan(&r.ID, &r.TerminalID, &r.MerchantID, &r.Batch, &r.STAN, &r.Kind, &r.Class, &pan, &r.AmountFen,
			&r.Status, &r.RRN, &r.AuthCode, &day, &r.Time, &r.OrigRRN, &r.RefundedFen, &r.Forgotten); err != nil {
			return nil, fmt.Errorf("hostsim: records: %w", err)
		}
		r.MaskedPAN = iso8583.MaskPAN(pan)
		if len(day) == 8 {
			r.Date = day[4:]
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("hostsim: records: %w", err)
	}
	return out, nil
}

// ForgetRecord makes the acquirer "lose" a record: it no longer counts in
// the host's settlement totals for its batch, so the next 0500 is
// unbalanced until the terminal uploads the batch. The issuer side (the
// balance, Charges, voids and reversals) is unchanged: the money moved.
func (s *Server) ForgetRecord(tid, batch, stan string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, err := s.db.Exec(`UPDATE records SET forgotten = 1 WHERE tid = ? AND batch = ? AND stan = ?`, tid, batch, stan)
	if err != nil {
		return fmt.Errorf("hostsim: forget record: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: terminal %s batch %s trace %s", ErrNoRecord, tid, batch, stan)
	}
	return nil
}
