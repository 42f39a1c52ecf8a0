#!/bin/sh
# Buildroot post-build script: $1 is the target directory. The root is
# read-only: what pos writes lives on the data partition.
set -e
TARGET="$1"
mkdir -p "$TARGET/data" "$TARGET/media/usb" "$TARGET/var/lib"
# board/boards/rpi4-pos.json keeps the device secret here.
ln -sfn /data/secure "$TARGET/var/lib/pos-secure"
chmod 0755 "$TARGET/usr/sbin/pos-start"
