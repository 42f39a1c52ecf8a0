#!/bin/sh
# make qemu-devices: the terminal image (make image) with its devices on
# this machine, in a tmux window: on the left the terminal's serial
# console (its screen and keys), on the right pos emulate, where you tap
# cards ("tap unionpay-debit", "remove", "cards"), show the scanner a
# customer's payment code ("scan 134567890123456789", a WeChat customer
# of testdata/wallets.json) and see what the printer printed (pages in
# dist/qemu-devices/pages). The acquirer is the
# host simulator on 127.0.0.1:15800 (ledger dist/qemu-devices/hostsim.db,
# kept across runs). Ctrl-A X in the left pane leaves qemu; Ctrl-B D
# detaches. DIR defaults to dist/image.
set -eu
cd "$(dirname "$0")/.."
dir=${1:-dist/image}
run=dist/qemu-devices
mkdir -p "$run"
go build -o "$run/pos" ./cmd/pos
go build -o "$run/hostsim" ./cmd/hostsim
"$run/hostsim" --listen 127.0.0.1:15800 --db "$run/hostsim.db" >"$run/hostsim.log" 2>&1 &
host=$!
trap 'kill $host 2>/dev/null' EXIT INT TERM
tmux -L pos-qemu new-session -s pos-qemu -x 140 -y 32 \
	"$run/pos emulate --sockets $run/s --out $run/pages" \; \
	split-window -hb -l 100 "sleep 0.5; DEVICES=$run/s HOST_PORT=15800 APPEND='pos.board=qemu-virt-devices pos.config=host' scripts/qemu.sh $dir"
