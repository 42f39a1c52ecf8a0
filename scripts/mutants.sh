#!/bin/sh
# make mutants: plants each known bug in turn (build tag "mutants",
# POS_MUTANT=name; see app/mutant) and runs the unit tests, scenarios and
# campaigns against it. Every planted bug must make them fail. Prints each
# mutant with the test that caught it, then the kill rate; exits 1 if a
# mutant survived or the suite fails with none planted.
set -u
cd "$(dirname "$0")/.."
pkgs="./app/... ./cmd/..."
out=$(mktemp)
trap 'rm -f "$out"' EXIT

echo "mutants: baseline (tag on, no bug planted)"
if ! go test -tags mutants -count=1 $pkgs >"$out" 2>&1; then
	grep -E '^(--- FAIL|FAIL|panic)' "$out" | head -20
	echo "mutants: the suite fails with no bug planted; fix that first" >&2
	exit 1
fi

names=$(sed -n 's/^[[:space:]]*"\([a-z-]*\)",.*/\1/p' app/mutant/mutant.go)
# First the campaigns and scenarios alone (the tests that judge money end
# to end), then, for what they miss, the whole suite.
campaigns='Campaign|CrashAtEveryStep|Scenarios|SecondTerminal|LostWAL'
total=0
killed=0
byCampaign=0
survivors=""
firstFail() { grep -m1 -E '^\s*--- FAIL: ' "$out" | sed 's/^[[:space:]]*--- FAIL: \([^ ]*\).*/\1/'; }
for m in $names; do
	total=$((total + 1))
	start=$(date +%s)
	if ! POS_MUTANT="$m" go test -tags mutants -count=1 -failfast -run "$campaigns" ./cmd/pos >"$out" 2>&1; then
		killed=$((killed + 1))
		byCampaign=$((byCampaign + 1))
		echo "killed   $m by the campaigns/scenarios: $(firstFail) ($(($(date +%s) - start)) s)"
	elif ! POS_MUTANT="$m" go test -tags mutants -count=1 -failfast $pkgs >"$out" 2>&1; then
		killed=$((killed + 1))
		echo "killed   $m by $(firstFail) (campaigns and scenarios missed it; $(($(date +%s) - start)) s)"
	else
		survivors="$survivors $m"
		echo "SURVIVED $m ($(($(date +%s) - start)) s)"
	fi
done
# Real power cuts: qemu killed under the terminal image loses what the
# guest had not synced, which no process kill does. That campaign alone
# must catch a journal that does not sync (it needs at least one cut to
# have run: a broken set-up is not a kill).
start=$(date +%s)
if POS_MUTANT=synchronous-off POS_QEMU_CUTS=10 POS_REQUIRE_IMAGE=1 go test -tags mutants -count=1 -timeout 30m \
	-run '^TestImagePowerCutCampaign$' ./cmd/pos >"$out" 2>&1 || ! grep -q 'cut 1:' "$out"; then
	survivors="$survivors synchronous-off(qemu-power-cuts)"
	echo "SURVIVED synchronous-off the power cuts under qemu ($(($(date +%s) - start)) s)"
else
	echo "killed   synchronous-off by the power cuts under qemu: $(firstFail) ($(($(date +%s) - start)) s)"
fi
echo "BENCH mutants_killed $killed of $total"
echo "BENCH mutants_killed_by_campaigns $byCampaign of $total"
if [ -n "$survivors" ]; then
	echo "mutants: survived:$survivors" >&2
	exit 1
fi
