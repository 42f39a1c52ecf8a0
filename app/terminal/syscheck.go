package terminal

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/hal"
)

// Check is a self-test of something that is not a device: the host link,
// the storage, the clock, the software slots. It runs after the devices.
type Check struct {
	Name string
	Run  func(ctx context.Context) hal.SelfTestResult
}

// Thresholds a technician acts on.
const (
	// ClockTolerance: a terminal clock further than this from the host's
	// prints wrong times on receipts and trips the host's date checks.
	ClockTolerance = 5 * time.Minute
	// minFreeBytes: below this the journal may not grow through a busy day.
	minFreeBytes = 16 << 20
	// slowSync: a 64 KiB write taking longer to reach the disk than this
	// means worn flash; every payment waits on one.
	slowSync = time.Second
)

// HostLinkCheck is a network-management echo to the host, with its round
// trip time.
func HostLinkCheck(e *engine.Engine) Check {
	return Check{Name: "host link", Run: func(ctx context.Context) hal.SelfTestResult {
		r := hal.SelfTestResult{Device: "host link"}
		if e == nil {
			r.Skipped, r.Detail = true, "not tested: no host configured"
			return r
		}
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		rtt, err := e.Echo(ctx)
		r.Took = rtt
		if err != nil {
			r.Detail = "echo test: " + err.Error()
			return r
		}
		r.OK, r.Detail = true, fmt.Sprintf("echo round trip %d ms", rtt.Milliseconds())
		return r
	}}
}

// StorageCheck checks the journal's integrity, the free space and how long
// a write takes to reach the disk, in the data directory.
func StorageCheck(db *journal.DB, dir string) Check {
	return Check{Name: "storage", Run: func(ctx context.Context) hal.SelfTestResult {
		r := hal.SelfTestResult{Device: "storage"}
		if db == nil {
			r.Skipped, r.Detail = true, "not tested: the journal is not open here"
			return r
		}
		if err := db.QuickCheck(); err != nil {
			r.Detail = "journal quick check: " + err.Error()
			return r
		}
		sync, err := timeSync(dir)
		if err != nil {
			r.Detail = "write test: " + err.Error()
			return r
		}
		free, ferr := freeBytes(dir)
		detail := fmt.Sprintf("journal ok, 64 KiB synced in %.1f ms", float64(sync.Microseconds())/1000)
		if ferr == nil {
			detail += fmt.Sprintf(", %d MB free", free>>20)
		}
		switch {
		case ferr == nil && free < minFreeBytes:
			r.Detail = fmt.Sprintf("only %d MB free in %s; %s", free>>20, dir, detail)
		case sync > slowSync:
			r.Detail = "the disk is slow to sync (worn flash?): " + detail
		default:
			r.OK, r.Detail = true, detail
		}
		return r
	}}
}

// timeSync writes 64 KiB to a scratch file in dir, syncs it and removes
// it: the cost of the fsync every payment waits on.
func timeSync(dir string) (time.Duration, error) {
	f, err := os.CreateTemp(dir, ".selftest-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 64<<10)
	rand.Read(buf) // incompressible, so a compressing filesystem still writes it
	start := time.Now()
	if _, err := f.Write(buf); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// ClockCheck compares the terminal's clock with the host's as of the last
// sign-on.
func ClockCheck(e *engine.Engine) Check {
	return Check{Name: "clock", Run: func(context.Context) hal.SelfTestResult {
		r := hal.SelfTestResult{Device: "clock"}
		if e == nil {
			r.Skipped, r.Detail = true, "not tested: no host configured"
			return r
		}
		skew, at, ok := e.HostClock()
		if !ok {
			r.Skipped, r.Detail = true, "not tested: no sign-on yet to compare with the host's time"
			return r
		}
		dir := "ahead of"
		if skew > 0 {
			dir = "behind"
		}
		d := absDuration(skew)
		when := ""
		if !at.IsZero() {
			when = " at sign-on " + at.Format("2006-01-02 15:04")
		}
		r.Detail = fmt.Sprintf("%v %s the host%s", d, dir, when)
		if d == 0 {
			r.Detail = "agrees with the host" + when
		}
		r.OK = d <= ClockTolerance
		if !r.OK {
			r.Detail += fmt.Sprintf(" (more than %v): set the clock", ClockTolerance)
		}
		return r
	}}
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// RecordSelfTest keeps a self-test's results in the journal with the time
// and the software version, so the next technician sees the last ones.
func RecordSelfTest(db *journal.DB, at time.Time, softwareVersion string, res []hal.SelfTestResult) error {
	if db == nil {
		return errors.New("self-test record: no journal")
	}
	passed, failed, skipped := Tally(res)
	b, err := json.Marshal(ResultsJSON(res))
	if err != nil {
		return err
	}
	_, err = db.SQL().Exec(`INSERT INTO selftests(at, version, passed, failed, skipped, results) VALUES(?, ?, ?, ?, ?, ?)`,
		at.Unix(), softwareVersion, passed, failed, skipped, string(b))
	return err
}

// SelfTestRecord is a self-test as kept in the journal.
type SelfTestRecord struct {
	At                      time.Time
	Version                 string
	Passed, Failed, Skipped int
	Results                 []ResultJSON
}

// LastSelfTest is the newest recorded self-test; ok is false when none.
func LastSelfTest(db *journal.DB) (rec SelfTestRecord, ok bool, err error) {
	var at int64
	var results string
	err = db.SQL().QueryRow(`SELECT at, version, passed, failed, skipped, results FROM selftests ORDER BY id DESC LIMIT 1`).
		Scan(&at, &rec.Version, &rec.Passed, &rec.Failed, &rec.Skipped, &results)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return rec, false, nil
		}
		return rec, false, err
	}
	rec.At = time.Unix(at, 0)
	if err := json.Unmarshal([]byte(results), &rec.Results); err != nil {
		return rec, false, fmt.Errorf("self-test record: %w", err)
	}
	return rec, true, nil
}

// Tally counts results: a skipped device is neither passed nor failed.
func Tally(res []hal.SelfTestResult) (passed, failed, skipped int) {
	for _, r := range res {
		switch {
		case r.Skipped:
			skipped++
		case r.OK:
			passed++
		default:
			failed++
		}
	}
	return
}

// ResultJSON is one result as `pos selftest --json` prints it and the
// journal keeps it.
type ResultJSON struct {
	Device  string  `json:"device"`
	Verdict string  `json:"verdict"` // ok, FAIL, not tested
	OK      bool    `json:"ok"`
	Skipped bool    `json:"skipped"`
	Detail  string  `json:"detail"`
	TookMS  float64 `json:"took_ms"`
}

// ResultsJSON converts results for JSON.
func ResultsJSON(res []hal.SelfTestResult) []ResultJSON {
	out := make([]ResultJSON, 0, len(res))
	for _, r := range res {
		out = append(out, ResultJSON{Device: r.Device, Verdict: r.Verdict(), OK: r.OK && !r.Skipped, Skipped: r.Skipped,
			Detail: r.Detail, TookMS: float64(r.Took.Microseconds()) / 1000})
	}
	return out
}

// checks are the self-tests after the devices: the host link, the
// storage, the clock, then the ones the terminal was given.
func (t *Terminal) checks() []Check {
	out := []Check{HostLinkCheck(t.eng), StorageCheck(t.db, filepath.Dir(t.db.Path())), ClockCheck(t.eng)}
	return append(out, t.extra...)
}
