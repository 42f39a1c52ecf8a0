#!/bin/sh
# Prints the figures of `make bench`, one per line: BENCH <name> <value> <unit>.
set -e
cd "$(dirname "$0")/.."
for f in dist/pos-linux-armv7 dist/pos-linux-arm64 dist/pos-android-arm64 dist/pos; do
	[ -f "$f" ] && echo "BENCH binary_size_$(basename "$f") $(( $(stat -c %s "$f") / 1024 )) KiB"
done
# Cold start: process start to the sign-in screen, headless, fresh data
# directory each time; the median of 15 runs.
runs=15
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
i=0
while [ $i -lt $runs ]; do
	./dist/pos scenario --stats --data "$tmp/$i" testdata/scenarios/boot.txt > "$tmp/out.$i"
	i=$((i + 1))
done
grep -h cold_start "$tmp"/out.* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {printf "BENCH cold_start_to_signin_median %.1f ms\n", a[int((NR+1)/2)]}'
grep -h rss_after_start "$tmp"/out.* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {printf "BENCH rss_after_start_median %d KiB\n", a[int((NR+1)/2)]}'
go test -run '^$' -bench . -benchtime 2000x ./app/... 2>/dev/null | awk '/^Benchmark/ {name=$1; sub(/-[0-9]+$/, "", name); for (i=3; i<NF; i+=2) printf "BENCH %s %s %s\n", name, $i, $(i+1)}'
