#!/bin/sh
# make image: the terminal image for qemu's -M virt. Writes to OUT
# (default dist/image): vmlinuz (Debian's kernel), initramfs.gz (pos as
# /init, the kernel modules the virtual hardware needs, the fakes'
# assets), arch, and, if it does not exist yet, data.img (the ext4 data
# disk: journal, slots, sealed keys). ARCH=arm (default: 32-bit, the
# armmp kernel, qemu-system-arm) or ARCH=arm64 (qemu-system-aarch64).
# The kernel package is fetched once into dist/kernel or
# dist/kernel-arm64 (needs root: it adds the architecture to apt).
# Reproducible: the same commit gives the same initramfs.
# scripts/image.sh --kernel only fetches the kernel (make test does).
# TAGS=mutants builds the planted bugs in (pos.mutant= picks one);
# UPDATE_KEY=K.pub makes pos.config=host trust that key's bundles too.
set -eu
export PATH="$PATH:/usr/sbin:/sbin" # mkfs.ext4, for a user whose PATH lacks them
cd "$(dirname "$0")/.."
out=${1:-dist/image}
[ "$out" = --kernel ] && out=
case ${ARCH:=arm} in
arm) kernel=dist/kernel debarch=armhf flavour=armmp goarch="GOARCH=arm GOARM=7" ;;
arm64) kernel=dist/kernel-arm64 debarch=arm64 flavour=arm64 goarch="GOARCH=arm64" ;;
*) echo "image: ARCH=$ARCH: want arm or arm64" >&2; exit 2 ;;
esac
mkdir -p "$kernel"
[ -z "$out" ] || mkdir -p "$out"
epoch=$(git log -1 --format=%ct 2>/dev/null || echo 0)

if [ ! -f "$kernel/vmlinuz" ]; then
	if [ "$(dpkg --print-architecture)" != "$debarch" ] && ! dpkg --print-foreign-architectures | grep -qx "$debarch"; then
		dpkg --add-architecture "$debarch"
	fi
	apt-get update -qq
	pkg=$(apt-cache depends "linux-image-$flavour:$debarch" | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
	tmp=$(mktemp -d)
	(cd "$tmp" && apt-get download -qq "$pkg" 2>/dev/null)
	dpkg-deb -x "$tmp"/*.deb "$tmp/k"
	cp "$tmp"/k/boot/vmlinuz-* "$kernel/vmlinuz"
	rm -rf "$kernel/modules"
	mkdir -p "$kernel/modules"
	find "$tmp"/k/lib/modules -name '*.ko' -exec cp {} "$kernel/modules/" \;
	echo "$pkg" > "$kernel/package"
	rm -rf "$tmp"
fi
[ -n "$out" ] || exit 0

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/lib/modules" "$root/usr/share/pos/testdata"
# The modules of -M virt's disk and the data partition, its network and
# its virtio consoles (the host's device emulators), dependencies first
# (read from each module's depends= field).
: > "$root/lib/modules/load"
add() {
	grep -qx "$1" "$root/lib/modules/load" && return 0
	f="$kernel/modules/$1.ko"
	[ -f "$f" ] || { echo "image: no module $1 in $(cat "$kernel/package")" >&2; exit 1; }
	for d in $(grep -a -o 'depends=[A-Za-z0-9_,-]*' "$f" | head -1 | sed 's/depends=//; s/,/ /g'); do
		add "$(echo "$d" | tr - _)"
	done
	cp "$kernel/modules/$1.ko" "$root/lib/modules/" # $f was the last dependency's
	echo "$1" >> "$root/lib/modules/load"
}
for m in virtio_mmio virtio_blk crc32c_generic ext4 virtio_net virtio_console; do add "$m"; done

env CGO_ENABLED=0 GOOS=linux $goarch go build -trimpath -buildvcs=false -tags "${TAGS:-}" \
	-ldflags "-s -w -buildid= -X main.version=${VERSION:-0.0.0-dev} -X main.commit=${COMMIT:-unknown}" -o "$root/init" ./cmd/pos
cp -r testdata/codes testdata/cards testdata/wallets.json "$root/usr/share/pos/testdata/"
# The emulated terminal pays against the in-process host simulator, a
# demonstration: its screens say so. pos.config=host pays against the
# host simulator on this machine, which qemu forwards 10.0.2.100:5800 to
# (and the update server to :5880); plain text on that private link.
printf '{"demo": true}\n' > "$root/usr/share/pos/config.json"
keys=
if [ -n "${UPDATE_KEY:-}" ]; then
	cp "$UPDATE_KEY" "$root/usr/share/pos/update-dev.pub"
	keys='"/usr/share/pos/update-dev.pub"'
fi
cat > "$root/usr/share/pos/host.json" <<JSON
{"demo": true,
 "host": {"in_process": false, "address": "10.0.2.100:5800", "allow_plaintext": true, "timeout_seconds": 10},
 "update": {"server": "http://10.0.2.100:5880", "allow_http": true, "keys": [$keys]}}
JSON
cp "$kernel/vmlinuz" "$out/vmlinuz"
echo "$ARCH" > "$out/arch" # for qemu.sh
find "$root" -exec touch -h -d "@$epoch" {} +
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet | gzip -n -1) > "$out/initramfs.gz"
if [ ! -f "$out/data.img" ]; then
	truncate -s 256M "$out/data.img"
	mkfs.ext4 -q -F -L data -E lazy_itable_init=0,lazy_journal_init=0 "$out/data.img"
fi
echo "$out: vmlinuz ($(cat "$kernel/package")), initramfs.gz $(($(stat -c %s "$out/initramfs.gz") / 1024)) KiB, data.img"
