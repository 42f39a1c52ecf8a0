package journal

import (
	"fmt"
	"strconv"
)

// migrations are applied in order; migrations[i] takes the schema from
// version i to i+1. The version is kept in PRAGMA user_version, which lives
// in the file header and changes in the same transaction as the tables.
// Never edit a released entry: append a new one.
var migrations = []string{
	// 1: settings and operators.
	`CREATE TABLE settings (
		key   TEXT PRIMARY KEY,
		value TEXT NOT NULL
	);
	CREATE TABLE operators (
		no           TEXT PRIMARY KEY CHECK(length(no) = 2),
		role         TEXT NOT NULL CHECK(role IN ('supervisor', 'cashier')),
		pw_hash      TEXT NOT NULL,
		must_change  INTEGER NOT NULL,
		failures     INTEGER NOT NULL DEFAULT 0,
		locked_until INTEGER NOT NULL DEFAULT 0, -- unix seconds, 0 = not locked
		created      INTEGER NOT NULL,           -- unix seconds
		changed      INTEGER NOT NULL            -- unix seconds
	);`,
	// 2: transactions, pending reversals, batches, counters, keys.
	`CREATE TABLE txns (
		id           INTEGER PRIMARY KEY,
		kind         TEXT NOT NULL,    -- sale, void, refund, balance
		method       TEXT NOT NULL,    -- swipe, chip, tap, alipay, wechat, unionpay_qr
		amount_fen   INTEGER NOT NULL CHECK(amount_fen >= 0),
		stan         TEXT NOT NULL CHECK(length(stan) = 6),
		batch        TEXT NOT NULL CHECK(length(batch) = 6),
		status       TEXT NOT NULL,    -- pending, approved, declined, reversed, failed
		resp_code    TEXT NOT NULL DEFAULT '',
		rrn          TEXT NOT NULL DEFAULT '',
		auth_code    TEXT NOT NULL DEFAULT '',
		host_date    TEXT NOT NULL DEFAULT '', -- MMDD from the host
		host_time    TEXT NOT NULL DEFAULT '', -- hhmmss
		masked_pan   TEXT NOT NULL DEFAULT '', -- first 6 and last 4 only
		order_no     TEXT NOT NULL DEFAULT '', -- wallet order number
		operator     TEXT NOT NULL,
		orig_id      INTEGER REFERENCES txns(id),
		voided       INTEGER NOT NULL DEFAULT 0,
		refunded_fen INTEGER NOT NULL DEFAULT 0 CHECK(refunded_fen >= 0),
		fee_fen      INTEGER NOT NULL DEFAULT 0,
		created      INTEGER NOT NULL, -- unix seconds, terminal clock
		updated      INTEGER NOT NULL
	);
	CREATE INDEX txns_batch ON txns(batch, status);
	CREATE INDEX txns_rrn ON txns(rrn);
	CREATE INDEX txns_created ON txns(created);
	-- A row here is a reversal owed to the host: written with the intent,
	-- deleted with the outcome or when the host has taken the reversal.
	CREATE TABLE reversals (
		txn_id   INTEGER PRIMARY KEY REFERENCES txns(id),
		reason   TEXT NOT NULL,  -- ISO 8583 field 39 of the 0400
		attempts INTEGER NOT NULL DEFAULT 0,
		created  INTEGER NOT NULL
	);
	CREATE TABLE batches (
		batch    TEXT PRIMARY KEY CHECK(length(batch) = 6),
		opened   INTEGER NOT NULL,
		settled  INTEGER NOT NULL DEFAULT 0, -- unix seconds, 0 = open
		balanced INTEGER NOT NULL DEFAULT 0,
		summary  TEXT NOT NULL DEFAULT ''    -- JSON totals as settled
	);
	CREATE TABLE counters (
		name  TEXT PRIMARY KEY,
		value INTEGER NOT NULL
	);
	CREATE TABLE keys (
		name    TEXT PRIMARY KEY,  -- pik, mak, tdk
		sealed  BLOB NOT NULL,     -- under the device key (AES-GCM)
		kcv     TEXT NOT NULL,
		updated INTEGER NOT NULL
	);`,
	// 3: running daily sale totals per method class, so the daily limit
	// check costs one row read however busy the day.
	`CREATE TABLE daily_totals (
		day   TEXT NOT NULL,   -- YYYY-MM-DD, terminal local time
		class TEXT NOT NULL,   -- card, alipay, wechat, unionpay_qr
		fen   INTEGER NOT NULL,
		PRIMARY KEY (day, class)
	);
	INSERT INTO daily_totals(day, class, fen)
		SELECT date(created, 'unixepoch', 'localtime'),
		       CASE WHEN method IN ('swipe', 'chip', 'tap') THEN 'card' ELSE method END,
		       sum(amount_fen)
		FROM txns WHERE kind = 'sale' AND status = 'approved' AND voided = 0
		GROUP BY 1, 2;`,
	// 4: wallet (QR) payments. A wallet_open row is an order whose outcome
	// the terminal does not know: written with the intent, deleted with a
	// final outcome; at start each is queried, then cancelled if unpaid.
	`ALTER TABLE txns ADD COLUMN presented TEXT NOT NULL DEFAULT ''; -- customer (we scanned) or merchant (QR shown)
	ALTER TABLE txns ADD COLUMN buyer TEXT NOT NULL DEFAULT '';     -- masked wallet account
	ALTER TABLE txns ADD COLUMN trade_no TEXT NOT NULL DEFAULT '';  -- the wallet's trade number
	ALTER TABLE txns ADD COLUMN periods INTEGER NOT NULL DEFAULT 0; -- Huabei installments, 0 none
	ALTER TABLE txns ADD COLUMN seller_pct INTEGER NOT NULL DEFAULT 0 CHECK(seller_pct IN (0, 100));
	ALTER TABLE txns ADD COLUMN install_fee_fen INTEGER NOT NULL DEFAULT 0; -- what the buyer pays for installments
	CREATE INDEX txns_order ON txns(order_no);
	CREATE TABLE wallet_open (
		txn_id   INTEGER PRIMARY KEY REFERENCES txns(id),
		attempts INTEGER NOT NULL DEFAULT 0,
		created  INTEGER NOT NULL
	);`,
	// 5: what the cashier has been told. announced = 0 is an outcome not
	// yet shown; receipts_owed counts the receipts still to print. Rows
	// from before default to told. The running trace count (traces) backs
	// the marker's high-water mark; batches remember the upload count and
	// whether the slip printed.
	`ALTER TABLE txns ADD COLUMN announced INTEGER NOT NULL DEFAULT 1;
	ALTER TABLE txns ADD COLUMN receipts_owed INTEGER NOT NULL DEFAULT 0 CHECK(receipts_owed >= 0);
	CREATE INDEX txns_unannounced ON txns(id) WHERE announced = 0;
	CREATE INDEX txns_receipts_owed ON txns(id) WHERE receipts_owed > 0;
	ALTER TABLE batches ADD COLUMN uploaded INTEGER NOT NULL DEFAULT 0;
	ALTER TABLE batches ADD COLUMN slip_owed INTEGER NOT NULL DEFAULT 0;
	INSERT OR IGNORE INTO counters(name, value) SELECT 'traces', value FROM counters WHERE name = 'stan';`,
	// 6: chip and contactless cards. chip is what the receipt shows of
	// the card's application (AID, label, cryptogram, TVR, CVM; JSON, no
	// card number); reversal_icc is the field 55 a reversal of it sends.
	`ALTER TABLE txns ADD COLUMN chip TEXT NOT NULL DEFAULT '';
	ALTER TABLE txns ADD COLUMN reversal_icc BLOB;`,
	// 7: the technician's self-tests, so the next technician sees the
	// last results (results: JSON, one object per device and check).
	`CREATE TABLE selftests (
		id      INTEGER PRIMARY KEY,
		at      INTEGER NOT NULL, -- unix seconds
		version TEXT NOT NULL,    -- the software that ran it
		passed  INTEGER NOT NULL,
		failed  INTEGER NOT NULL,
		skipped INTEGER NOT NULL,
		results TEXT NOT NULL
	);`,
}

// A journal records the oldest schema whose software can still use it
// (settings.schema_readable_by), so that software rolled back after an
// update starts on the journal the newer version migrated. Migrations are
// additive (new tables, new columns with defaults) and older software
// ignores what it does not know; a migration that older software could
// not write correctly (a column it would leave wrong, a changed meaning)
// goes in breaking, and software before it then refuses the journal.
const (
	settingReadableBy = "schema_readable_by"
	// compatFloor is the first schema whose software knows this rule;
	// older software refuses every newer journal.
	compatFloor = 7
)

// breaking lists schema versions older software cannot use. None so far.
var breaking = map[int]bool{}

// readableBy is the oldest schema that can use a journal at schema v.
func readableBy(v int) int {
	r := compatFloor
	for b := range breaking {
		if b <= v && b > r {
			r = b
		}
	}
	return r
}

// migrate brings the schema up to date in one transaction, so a power cut
// leaves either the old schema or the new one. The transaction is BEGIN
// IMMEDIATE (see dsnFor), so two processes cannot both migrate.
func (d *DB) migrate() error {
	tx, err := d.sql.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback() // no-op after Commit

	var v int
	if err := tx.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	switch {
	case v > len(migrations):
		var rb string
		if err := tx.QueryRow(`SELECT value FROM settings WHERE key = ?`, settingReadableBy).Scan(&rb); err == nil {
			if n, err := strconv.Atoi(rb); err == nil && n >= compatFloor && n <= len(migrations) {
				return nil // newer, and says we may use it: leave its schema alone
			}
		}
		return tooNew(d.path, v)
	case v < 0:
		return fmt.Errorf("%w: %s has schema version %d", ErrCorrupt, d.path, v)
	case v == len(migrations):
		return nil // up to date; the rollback writes nothing
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.Exec(migrations[i]); err != nil {
			return fmt.Errorf("journal: migration %d: %w", i+1, err)
		}
	}
	if _, err := tx.Exec(`INSERT INTO settings(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
		settingReadableBy, strconv.Itoa(readableBy(len(migrations)))); err != nil {
		return err
	}
	// PRAGMA takes no bound parameters; the value is our own integer.
	if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return err
	}
	return tx.Commit()
}
