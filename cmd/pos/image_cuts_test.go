package main

import (
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/engine"
)

// TestImagePowerCutCampaign cuts the emulated terminal's power: qemu is
// killed at a random moment of a tapped sale, a settlement or the boot
// itself, so whatever the guest had not written to its disk is gone,
// and what it had synced survives in the disk image. The next boot must
// reach the sign-in screen (a working slot), and sign-in must tell the
// cashier how the interrupted transaction ended. Every fifth cut, and at
// the end, the terminal is shut down from its keyboard and its journal,
// read off the disk, is judged against the host simulator's ledger and
// the printer's paper: nothing lost, nobody charged twice, every
// receipt out. POS_QEMU_CUTS sets the number of cuts (make reliability:
// 100); without it the campaign does not run. POS_CAMPAIGN_SEED repeats
// a campaign.
func TestImagePowerCutCampaign(t *testing.T) {
	cuts, _ := strconv.Atoi(os.Getenv("POS_QEMU_CUTS"))
	if cuts <= 0 {
		t.Skip("POS_QEMU_CUTS not set (make reliability runs 100)")
	}
	seed := campaignSeed(t)
	rnd := rand.New(rand.NewSource(seed))
	g := newGuest(t, "")
	g.boot()
	g.signIn(true)
	counts := map[string]int{}
	told := 0
	start := time.Now()
	for i := 1; i <= cuts; i++ {
		var what string
		switch r := rnd.Intn(100); {
		case r < 70:
			fen := int64(100 + rnd.Intn(99800)) // under the ¥1000 no-PIN limit
			what = fmt.Sprintf("sale of %d fen", fen)
			g.startTapSale(fen)
		case r < 85:
			what = "settlement"
			g.step("1")
			g.waitFor(20*time.Second, "5.结算")
			g.step("5")
			g.press("Enter")
		default:
			what = "boot"
			g.quit()
			g.boot()
		}
		wait := time.Duration(rnd.Intn(4000)) * time.Millisecond
		if what == "boot" {
			wait = time.Duration(rnd.Intn(14000)) * time.Millisecond
		}
		time.Sleep(wait)
		g.cut()
		counts[strings.Fields(what)[0]]++
		g.emu.command("remove")
		t.Logf("cut %d: %s, %v in", i, what, wait)
		g.boot()
		seen := g.signIn(false)
		if strings.Contains(strings.Join(seen, "\n"), "上次交易结果") {
			told++
		}
		if i%5 == 0 || i == cuts {
			g.quit()
			g.judge(fmt.Sprintf("after cut %d (%s, %v in; seed %d)", i, what, wait, seed))
			if t.Failed() {
				return
			}
			g.boot()
			g.signIn(false)
		}
	}
	g.quit()
	txns := g.judge("at the end")
	approved := 0
	for _, x := range txns {
		if x.Status == engine.StatusApproved {
			approved++
		}
	}
	t.Logf("%d cuts (%d in sales, %d in settlements, %d in boots) in %v; %d boots; the cashier was told of an interrupted result %d times; journal %d rows, %d approved; seed %d",
		cuts, counts["sale"], counts["settlement"], counts["boot"], time.Since(start).Round(time.Second), g.boots, told, len(txns), approved, seed)
}
