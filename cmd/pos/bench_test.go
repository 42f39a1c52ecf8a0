package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/config"
	"github.com/shoukuan/pos/app/emv"
	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/board"
	"github.com/shoukuan/pos/drivers/fake"
	"github.com/shoukuan/pos/drivers/pn532"
	"github.com/shoukuan/pos/drivers/pn532/pn532emu"
	"github.com/shoukuan/pos/hal"
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

// benchmarkKernel runs the card kernel against a virtual card in the fake
// reader, from the card's arrival to the completion, without the host
// (the ARPC is computed in place). It reports p50/p99 and APDUs per card.
func benchmarkKernel(b *testing.B, mode hal.CardMode, fen int64) {
	cards, err := fake.LoadCardProfiles(cardsDir)
	if err != nil {
		b.Fatal(err)
	}
	r := fake.NewCardReader(cards)
	cfg := kernelConfig(b)
	km := emv.Contact
	if mode == hal.CardContactless {
		km = emv.Contactless
	}
	mk, _ := emv.DeriveICCMasterKey(hostsim.TestIssuerMasterKey(), "6222021234567890128", "01")
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	apdus := 0
	for b.Loop() {
		c := readCard(b, r, "unionpay-debit", mode)
		start := time.Now()
		tx, err := emv.New(cfg, c.APDU, emv.Input{Mode: km, AmountFen: fen, Now: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.Read(ctx, -1); err != nil {
			b.Fatal(err)
		}
		on, err := tx.RequestOnline(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if km == emv.Contact {
			icc := emv.Data{}
			icc.Flatten(on.Field55)
			atc := icc[0x9F36]
			arpc, _ := emv.ARPC(mk, uint16(atc[0])<<8|uint16(atc[1]), icc[0x9F26], []byte("00"))
			if c, err := tx.Complete(ctx, true, emv.Encode(0x91, arpc)); err != nil || c.Cryptogram != "TC" {
				b.Fatalf("completion: %v %v", c, err)
			}
		}
		lat = append(lat, time.Since(start))
		apdus += tx.APDUs()
		r.Remove()
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(apdus)/float64(len(lat)), "apdus")
}

// BenchmarkKernelInsert: an inserted chip, DDA, online PIN, ARQC, issuer
// authentication and TC.
func BenchmarkKernelInsert(b *testing.B) { benchmarkKernel(b, hal.CardChip, 12345) }

// BenchmarkKernelTap: a QuickPass tap with fDDA.
func BenchmarkKernelTap(b *testing.B) { benchmarkKernel(b, hal.CardContactless, 5000) }

// BenchmarkTapPN532 is a QuickPass tap through the real PN532 driver on a
// serial line (a pty) to the emulator, which paces its bytes as a UART at
// 115200 baud would: from the card entering the field to the kernel's
// ARQC and field 55 (host excluded). It reports the time and the bytes on
// the wire both ways.
func BenchmarkTapPN532(b *testing.B) {
	cards, err := fake.LoadCardProfiles(cardsDir)
	if err != nil {
		b.Fatal(err)
	}
	var card *fake.CardProfile
	for _, c := range cards {
		if c.Name == "unionpay-debit" {
			card = c
		}
	}
	e := pn532emu.New(pn532emu.Options{Baud: 115200})
	p, err := pn532emu.ListenPTY(e, 115200)
	if err != nil {
		b.Skip("no pty:", err)
	}
	defer p.Close()
	ctx := context.Background()
	r, err := pn532.Open(ctx, p.Path(), 115200, pn532.Options{Poll: 20 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	cfg := kernelConfig(b)
	lat := make([]time.Duration, 0, b.N)
	var wire int
	for b.Loop() {
		r.Enable(hal.CardContactless)
		in0, out0 := e.Bytes()
		start := time.Now()
		e.Place(card)
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		c, err := r.Read(rctx)
		cancel()
		if err != nil {
			b.Fatal(err)
		}
		tx, err := emv.New(cfg, c.APDU, emv.Input{Mode: emv.Contactless, AmountFen: 5000, Now: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.Read(ctx, -1); err != nil {
			b.Fatal(err)
		}
		if _, err := tx.RequestOnline(ctx); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		in1, out1 := e.Bytes()
		wire += in1 - in0 + out1 - out0
		e.Remove("")
		r.Enable(hal.CardNone)
		for i := 0; i < 100 && e.RFOn(); i++ {
			time.Sleep(5 * time.Millisecond) // the reader lets the card go
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*9/10].Microseconds())/1000, "p90-ms")
	b.ReportMetric(float64(wire)/float64(len(lat)), "wire-bytes")
}
