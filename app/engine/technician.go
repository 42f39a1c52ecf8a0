package engine

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// What the technician's tools need from the engine: the host link's round
// trip, the host's clock as of the last sign-on, the acquirer's "TMS
// download" request, and whether anything is owed before an update.

const (
	settingTMS       = "tms_download"    // the date the host asked for a TMS download
	settingHostSkew  = "host_clock_skew" // host clock minus terminal clock at sign-on, seconds
	settingHostSkewT = "host_clock_at"   // when that was measured, RFC 3339
)

// noteSignOn keeps what a sign-on reply says beyond the keys. A failure to
// write it is logged: the sign-on itself succeeded.
func (e *Engine) noteSignOn(reply HostReply) {
	now := e.now()
	if reply.TMSDownload {
		if err := e.jdb.SetSetting(settingTMS, now.Format("2006-01-02")); err != nil {
			e.log.Warn("cannot note the TMS download request", "err", err)
		}
	}
	if host, ok := hostTime(reply.Date, reply.Time, now); ok {
		skew := host.Sub(now).Round(time.Second)
		if err := e.jdb.SetSetting(settingHostSkew, strconv.FormatInt(int64(skew/time.Second), 10)); err == nil {
			e.jdb.SetSetting(settingHostSkewT, now.Format(time.RFC3339))
		}
	}
}

// hostTime reads the host's MMDD hhmmss (fields 13 and 12, no year, the
// acquirer's local time, which is the terminal's zone) as the moment
// closest to now, so a reply just after New Year's midnight still reads
// right.
func hostTime(mmdd, hhmmss string, now time.Time) (time.Time, bool) {
	if len(mmdd) != 4 || len(hhmmss) != 6 {
		return time.Time{}, false
	}
	var best time.Time
	for _, y := range []int{now.Year() - 1, now.Year(), now.Year() + 1} {
		t, err := time.ParseInLocation("2006 0102 150405", fmt.Sprintf("%04d %s %s", y, mmdd, hhmmss), now.Location())
		if err != nil {
			return time.Time{}, false
		}
		if best.IsZero() || absDuration(t.Sub(now)) < absDuration(best.Sub(now)) {
			best = t
		}
	}
	return best, true
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// HostClock is the host's clock minus the terminal's, as measured at the
// last sign-on, and when. ok is false before the first sign-on.
func (e *Engine) HostClock() (skew time.Duration, at time.Time, ok bool) {
	v, has, err := e.jdb.Setting(settingHostSkew)
	if err != nil || !has {
		return 0, time.Time{}, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, time.Time{}, false
	}
	ts, _, _ := e.jdb.Setting(settingHostSkewT)
	at, _ = time.Parse(time.RFC3339, ts)
	return time.Duration(n) * time.Second, at, true
}

// UpdateRequested reports whether the host's last sign-ons asked for a
// TMS download that has not been dealt with.
func (e *Engine) UpdateRequested() bool {
	_, has, err := e.jdb.Setting(settingTMS)
	return err == nil && has
}

// UpdateHandled forgets the host's TMS download request: the terminal
// checked the update server.
func (e *Engine) UpdateHandled() error {
	_, err := e.db.Exec(`DELETE FROM settings WHERE key = ?`, settingTMS)
	return err
}

// Echo is a network-management echo test (0820, 301): the host link works
// end to end, and how long a round trip takes.
func (e *Engine) Echo(ctx context.Context) (time.Duration, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	stan, err := e.nextSTAN()
	if err != nil {
		return 0, err
	}
	batch, err := e.currentBatch()
	if err != nil {
		return 0, err
	}
	start := time.Now()
	reply, err := e.host.Exchange(ctx, HostRequest{Kind: HostEcho, STAN: stan, Batch: batch})
	rtt := time.Since(start)
	if err != nil {
		return rtt, err
	}
	if reply.Code != "00" {
		return rtt, &DeclinedError{Code: reply.Code}
	}
	return rtt, nil
}

// Outstanding is what the terminal still owes the host or the cashier:
// an update or a restore must not start while any of it is there, since
// the next version would inherit a half-told transaction.
type Outstanding struct {
	Reversals    int // reversals the host has not taken
	WalletOrders int // wallet orders whose outcome is unknown
	Receipts     int // transactions whose receipt has not printed
	Slip         bool
	OpenBatch    int    // transactions in the open batch (0: nothing to settle)
	Batch        string // the open batch
}

// Blocking is why an update must wait, in words, or "" when nothing is
// owed. openBatchOK lets an update run with an unsettled batch.
func (o Outstanding) Blocking(openBatchOK bool) string {
	var why []string
	if o.Reversals > 0 {
		why = append(why, fmt.Sprintf("%d reversal(s) owed to the host", o.Reversals))
	}
	if o.WalletOrders > 0 {
		why = append(why, fmt.Sprintf("%d wallet order(s) with an unknown outcome", o.WalletOrders))
	}
	if o.Receipts > 0 {
		why = append(why, fmt.Sprintf("%d receipt(s) not yet printed", o.Receipts))
	}
	if o.Slip {
		why = append(why, "the settlement slip not yet printed")
	}
	if o.OpenBatch > 0 && !openBatchOK {
		why = append(why, fmt.Sprintf("batch %s is open with %d transaction(s): settle first", o.Batch, o.OpenBatch))
	}
	return strings.Join(why, "; ")
}

// ReadOutstanding reads what is owed from a journal's tables. It takes a
// bare *sql.DB so a technician's command can ask a read-only copy of a
// journal the running terminal holds.
func ReadOutstanding(db *sql.DB) (Outstanding, error) {
	var o Outstanding
	var batch int64
	err := db.QueryRow(`SELECT
		(SELECT count(*) FROM reversals),
		(SELECT count(*) FROM wallet_open),
		(SELECT count(*) FROM txns WHERE receipts_owed > 0),
		(SELECT count(*) > 0 FROM batches WHERE slip_owed > 0),
		coalesce((SELECT value FROM counters WHERE name = 'batch'), 1)`).Scan(&o.Reversals, &o.WalletOrders, &o.Receipts, &o.Slip, &batch)
	if err != nil {
		return o, err
	}
	o.Batch = fmt.Sprintf("%06d", max(batch, 1))
	err = db.QueryRow(`SELECT count(*) FROM txns WHERE batch = ? AND status IN ('approved', 'pending')`, o.Batch).Scan(&o.OpenBatch)
	return o, err
}

// Outstanding is ReadOutstanding of the engine's own journal.
func (e *Engine) Outstanding() (Outstanding, error) { return ReadOutstanding(e.db) }
