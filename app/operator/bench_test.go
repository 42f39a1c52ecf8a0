package operator

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/journal"
)

// BenchmarkSignIn is one sign-in with the production argon2id cost: the
// wait a cashier feels after pressing Enter.
func BenchmarkSignIn(b *testing.B) {
	saved := hashParams
	hashParams = productionParams
	defer func() { hashParams = saved }()
	db, err := journal.Open(filepath.Join(b.TempDir(), "j.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	m, err := NewManager(db, time.Now, Policy{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.SignIn("01", "0000"); err != nil {
			b.Fatal(err)
		}
	}
}
