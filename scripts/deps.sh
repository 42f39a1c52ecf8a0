#!/bin/sh
# Installs the Debian packages the tests need, only those missing.
set -e
export PATH="$PATH:/usr/sbin:/sbin"
need=""
command -v qemu-arm-static >/dev/null 2>&1 || need="$need qemu-user-static"
command -v tmux >/dev/null 2>&1 || need="$need tmux"
[ -f /usr/share/unifont/unifont.hex ] || need="$need unifont"
command -v nfc-list >/dev/null 2>&1 || need="$need libnfc-bin"
command -v zbarimg >/dev/null 2>&1 || need="$need zbar-tools"
# The terminal image under qemu-system (make image, make qemu).
command -v qemu-system-arm >/dev/null 2>&1 || need="$need qemu-system-arm"
command -v cpio >/dev/null 2>&1 || need="$need cpio"
command -v mkfs.ext4 >/dev/null 2>&1 || need="$need e2fsprogs"
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing$need; install them (sudo apt-get install$need) or run as root" >&2
	exit 1
fi
echo "deps: installing$need"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq $need >/dev/null
