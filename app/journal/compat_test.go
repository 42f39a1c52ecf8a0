package journal

import (
	"errors"
	"path/filepath"
	"testing"
)

// TestOlderSoftwareOpensANewerAdditiveJournal is the rollback after an
// update: the new version migrated the journal, the trial failed, the old
// version starts on it. An additive migration leaves it usable by the
// old version; a breaking one makes the old version refuse rather than
// misread it.
func TestOlderSoftwareOpensANewerAdditiveJournal(t *testing.T) {
	known := migrations
	t.Cleanup(func() { migrations, breaking = known, map[int]bool{} })
	for _, c := range []struct {
		name     string
		breaking bool
	}{{"additive", false}, {"breaking", true}} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), JournalFile)
			d, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			d.SetSetting("kept", "yes")
			d.Close()

			// The newer software: one more migration.
			migrations = append(append([]string(nil), known...), `CREATE TABLE future (x INTEGER); ALTER TABLE txns ADD COLUMN future INTEGER NOT NULL DEFAULT 0;`)
			breaking = map[int]bool{}
			if c.breaking {
				breaking[len(migrations)] = true
			}
			d, err = Open(path)
			if err != nil {
				t.Fatal(err)
			}
			d.Close()

			// Rolled back.
			migrations, breaking = known, map[int]bool{}
			d, err = Open(path)
			if c.breaking {
				if !errors.Is(err, ErrTooNew) {
					t.Fatalf("older software opened a journal a breaking migration changed: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("older software refuses the journal after a rollback: %v", err)
			}
			defer d.Close()
			if v, _ := d.SchemaVersion(); v != len(known)+1 {
				t.Fatalf("the older software changed the schema version to %d", v)
			}
			if v, _, _ := d.Setting("kept"); v != "yes" {
				t.Fatal("settings lost")
			}
			// It still writes its own rows, the new column defaulting.
			if _, err := d.SQL().Exec(`INSERT INTO txns(kind, method, amount_fen, stan, batch, status, operator, created, updated) VALUES('sale', 'swipe', 1, '000001', '000001', 'approved', '01', 0, 0)`); err != nil {
				t.Fatal(err)
			}
		})
	}
}
