package journal

import "fmt"

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
	// PRAGMA takes no bound parameters; the value is our own integer.
	if _, err := tx.Exec(fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return err
	}
	return tx.Commit()
}
