package update

import "testing"

func TestVersionOrder(t *testing.T) {
	// semver.org's precedence example, oldest first.
	order := []string{"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
		"1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0", "10.0.0"}
	for i := range order {
		for j := range order {
			a, b := mustVersion(order[i]), mustVersion(order[j])
			want := 0
			if i < j {
				want = -1
			} else if i > j {
				want = 1
			}
			if got := Compare(a, b); got != want {
				t.Errorf("Compare(%s, %s) = %d, want %d", a, b, got, want)
			}
		}
	}
	if Compare(mustVersion("1.0.0+a"), mustVersion("1.0.0+b")) != 0 {
		t.Error("build metadata counted")
	}
	if v := mustVersion("v0.0.0-dev+4be7fbd"); v.String() != "0.0.0-dev+4be7fbd" || !Less(v, mustVersion("0.0.1")) {
		t.Errorf("dev version %s", v)
	}
	for _, bad := range []string{"", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.3-", "1.2.3-01", "1.2.3+", "a.b.c", "1.2.3-a_b", "-1.2.3"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
