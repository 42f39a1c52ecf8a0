#!/bin/sh
# Prints the figures of `make bench`, one per line: BENCH <name> <value> <unit>.
set -e
cd "$(dirname "$0")/.."
for f in dist/pos-linux-armv7 dist/pos-linux-arm64 dist/pos-android-arm64 dist/pos; do
	[ -f "$f" ] && echo "BENCH binary_size_$(basename "$f") $(( $(stat -c %s "$f") / 1024 )) KiB"
done
# Cold start: process start to the sign-in screen, headless, median of 15.
# First boot creates the journal and hashes the default passwords; a
# restart opens the existing journal.
runs=15
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The sim board keeps its device secret in the user's configuration
# directory: the benchmark keeps its own.
export XDG_CONFIG_HOME="$tmp/config"
i=0
while [ $i -lt $runs ]; do
	./dist/pos scenario --stats --data "$tmp/first$i" testdata/scenarios/boot.txt > "$tmp/first.$i"
	./dist/pos scenario --stats --data "$tmp/first0" testdata/scenarios/boot.txt > "$tmp/restart.$i"
	i=$((i + 1))
done
median() { sort -n | awk -v name="$1" -v unit="$2" '{a[NR]=$1} END {printf "BENCH %s %s %s\n", name, a[int((NR+1)/2)], unit}'; }
grep -h cold_start "$tmp"/first.* | awk '{print $3}' | median cold_start_first_boot_to_signin ms
grep -h cold_start "$tmp"/restart.* | awk '{print $3}' | median cold_start_to_signin ms
grep -h rss_after_start "$tmp"/first.* | awk '{print $3}' | median rss_after_first_boot KiB
grep -h rss_after_start "$tmp"/restart.* | awk '{print $3}' | median rss_after_start KiB
# Camera decode on the zxing blackbox photos (kept outside the repository,
# ../shared/benchdata): QR and Code 128 read with exactly the expected
# text, false reads, decode time per 640x480 frame (file decoding excluded).
if [ -d "${POS_BENCHDATA:=../shared/benchdata}/zxing-blackbox" ]; then
	POS_BENCHDATA=$(cd "$POS_BENCHDATA" && pwd) go test -count=1 -run '^TestBlackboxReport$' -v ./drivers/imagescan | grep '^BENCH' || echo 'bench: the decode report failed' >&2
else
	echo "bench: no $POS_BENCHDATA/zxing-blackbox, no decode figures" >&2
fi
# The terminal image under qemu-system-arm: qemu start to the sign-in
# screen on a fresh data disk and on the next boot (make image fetches the kernel).
go test -count=1 -run '^TestImageTerminal$' -v ./cmd/pos | grep '^BENCH' || echo 'bench: no qemu boot figure (make image first)' >&2
# Code 128 on a phone turned in 15° steps, light and dark, with noise.
go test -count=1 -run '^TestCode128AtAnyAngle$' -v ./drivers/imagescan | grep '^BENCH' || echo 'bench: the any-angle report failed' >&2
# Software update: the bundle of the linux/arm binary (the download a
# terminal makes), and the time to verify and to install a bundle of this
# machine's binary (median of 5), and the whole self-test on the sim board.
./dist/pos bundle keygen "$tmp/bench.pem" "$tmp/bench.pub" >/dev/null
ver=$(./dist/pos version | awk '{print $2}')
./dist/pos bundle create --key "$tmp/bench.pem" --version "$ver" --board rpi4-pos --out "$tmp/arm.bundle" dist/pos-linux-armv7 >/dev/null
echo "BENCH bundle_size_linux_arm $(( $(stat -c %s "$tmp/arm.bundle") / 1024 )) KiB"
# A newer version than the one running, so the terminal takes it.
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=99.0.0" -o "$tmp/pos-next" ./cmd/pos
./dist/pos bundle create --key "$tmp/bench.pem" --version 99.0.0 --board sim --out "$tmp/host.bundle" "$tmp/pos-next" >/dev/null
printf '{"update": {"keys": ["%s"], "allow_open_batch": true}}' "$tmp/bench.pub" > "$tmp/update.json"
ms() { s=$(date +%s%N); "$@" >/dev/null 2>&1 || echo "bench: $* failed" >&2; echo $(( ($(date +%s%N) - s) / 1000000 )); }
i=0
while [ $i -lt 5 ]; do
	ms ./dist/pos update verify --config "$tmp/update.json" --data "$tmp/u$i" "$tmp/host.bundle" >> "$tmp/verify.ms"
	ms ./dist/pos update apply --config "$tmp/update.json" --data "$tmp/u$i" "$tmp/host.bundle" >> "$tmp/apply.ms"
	ms ./dist/pos selftest --data "$tmp/st$i" >> "$tmp/selftest.ms"
	i=$((i + 1))
done
median update_verify_bundle ms < "$tmp/verify.ms"
median update_apply_bundle ms < "$tmp/apply.ms"
median selftest_sim_board ms < "$tmp/selftest.ms"
gobench() { go test -run '^$' -bench "$1" -benchtime "$2" "$3" 2>/dev/null; }
{
	gobench SignIn 20x ./app/operator
	gobench 'Sale$' 10000x ./app/engine
	gobench SaleFullStack 10000x ./cmd/pos
	gobench 'Kernel(Insert|Tap)$' 300x ./cmd/pos
	gobench 'TapPN532$' 20x ./cmd/pos
	gobench 'Receipt(Native|Raster)QR$' 200x ./cmd/pos
	gobench Settle100k 5x ./app/engine
	gobench 'Verify$' 20x ./app/update
} | awk '/^Benchmark/ {name=$1; sub(/-[0-9]+$/, "", name); for (i=3; i<NF; i+=2) printf "BENCH %s %s %s\n", name, $i, $(i+1)}'
