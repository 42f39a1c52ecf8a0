package engine

import (
	"context"
	"sort"
	"testing"
	"time"
)

// BenchmarkSale is the engine's own cost per sale: two journal commits
// with synchronous=FULL plus the bookkeeping, the host answering at once.
// It reports p50/p99 latency and durable writes per sale.
func BenchmarkSale(b *testing.B) {
	h := newLedgerHost()
	h.balance[debitPAN] = 1 << 60
	e, _, _ := newEngine(b, h, Config{})
	lat := make([]time.Duration, 0, b.N)
	before := e.Commits()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, err := sale(e, debitT2, 100); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(e.Commits()-before)/float64(len(lat)), "syncs/sale")
}

// BenchmarkSettle100k settles a batch of 100,000 journal rows.
func BenchmarkSettle100k(b *testing.B) {
	h := newLedgerHost()
	e, db, c := newEngine(b, h, Config{})
	for b.Loop() {
		b.StopTimer()
		batch, _ := e.CurrentBatch()
		tx, err := db.SQL().Begin()
		if err != nil {
			b.Fatal(err)
		}
		st, _ := tx.Prepare(`INSERT INTO txns(kind, method, amount_fen, stan, batch, status, operator, created, updated) VALUES('sale', 'swipe', 100, ?, ?, 'approved', '01', ?, ?)`)
		for i := 0; i < 100000; i++ {
			if _, err := st.Exec(stanOf(i), batch, c.t.Unix(), c.t.Unix()); err != nil {
				b.Fatal(err)
			}
		}
		st.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		// rows went in behind the host's back: let it agree
		h.mu.Lock()
		h.agree = true
		h.mu.Unlock()
		b.StartTimer()
		s, err := e.Settle(context.Background(), "00")
		if err != nil {
			b.Fatal(err)
		}
		if s.Totals.Total().DebitCount != 100000 {
			b.Fatalf("settled %d rows", s.Totals.Total().DebitCount)
		}
	}
}

func stanOf(i int) string {
	const digits = "0123456789"
	s := []byte("000000")
	for p := 5; p >= 0; p-- {
		s[p] = digits[i%10]
		i /= 10
	}
	return string(s)
}
