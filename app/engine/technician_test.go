package engine

import (
	"testing"
	"time"
)

func TestHostTimeReadsTheYearNearestNow(t *testing.T) {
	loc := time.FixedZone("CST", 8*3600)
	for _, c := range []struct {
		now          time.Time
		mmdd, hhmmss string
		want         time.Time
	}{
		{time.Date(2026, 12, 2, 10, 0, 0, 0, loc), "1202", "100130", time.Date(2026, 12, 2, 10, 1, 30, 0, loc)},
		// The host already in the new year, the terminal not yet.
		{time.Date(2026, 12, 31, 23, 59, 50, 0, loc), "0101", "000010", time.Date(2027, 1, 1, 0, 0, 10, 0, loc)},
		// The terminal in the new year, the host not yet.
		{time.Date(2027, 1, 1, 0, 0, 5, 0, loc), "1231", "235955", time.Date(2026, 12, 31, 23, 59, 55, 0, loc)},
	} {
		got, ok := hostTime(c.mmdd, c.hhmmss, c.now)
		if !ok || !got.Equal(c.want) {
			t.Errorf("hostTime(%s %s at %v) = %v %v, want %v", c.mmdd, c.hhmmss, c.now, got, ok, c.want)
		}
	}
	for _, bad := range [][2]string{{"", "100000"}, {"1302", "100000"}, {"1202", "25"}, {"12a2", "100000"}} {
		if _, ok := hostTime(bad[0], bad[1], time.Now()); ok {
			t.Errorf("hostTime(%q, %q) accepted", bad[0], bad[1])
		}
	}
}
