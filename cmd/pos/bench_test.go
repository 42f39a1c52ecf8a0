package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/config"
	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/board"
)

// BenchmarkSaleFullStack is a swiped sale through the whole payment stack:
// engine, journal (two synchronous commits), host client (ISO 8583, MAC,
// PIN block, TCP over loopback) and the in-process host simulator with its
// own ledger commit, the host answering at once. It reports p50/p99.
func BenchmarkSaleFullStack(b *testing.B) {
	cfg := config.Default()
	cfg.Limits.DailyFen = config.MaxAmountFen
	cfg.Limits.Methods = nil
	cfg.Risk.SameCardSeconds = 0
	desc, _ := board.Load("sim")
	dir := b.TempDir()
	st, err := openStack(cfg, desc, place{data: filepath.Join(dir, "data"), secrets: filepath.Join(dir, "secrets"), assets: repoRoot}, time.Now, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	defer st.close()
	ctx := context.Background()
	if err := st.eng.SignOn(ctx); err != nil {
		b.Fatal(err)
	}
	const pan, track = "6258071234123456789", "6258071234123456789=29112010000000000"
	lat := make([]time.Duration, 0, b.N)
	before := st.eng.Commits()
	for b.Loop() {
		start := time.Now()
		block, err := st.client.PINBlock("888888", pan)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.eng.Sale(ctx, engine.SaleInput{AmountFen: 1, Card: engine.Card{Method: engine.MethodSwipe, Track2: track, PINBlock: block}, Operator: "01"}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(st.eng.Commits()-before)/float64(len(lat)), "terminal-syncs/sale")
}
