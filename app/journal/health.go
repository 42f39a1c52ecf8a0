package journal

// QuickCheck runs SQLite's quick_check on the open journal: the storage
// part of the technician's self-test.
func (d *DB) QuickCheck() error { return d.quickCheck() }

// OpenReadOnly opens a journal file for reading only, without its data
// directory's lock and without migrating: a technician's command reads
// the journal of a terminal that is running.
func OpenReadOnly(path string) (*DB, error) { return openReadOnly(path, false) }
