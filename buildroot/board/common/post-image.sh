#!/bin/sh
# Buildroot post-image script, run from Buildroot's top directory: $2 is
# the board's genimage.cfg (BR2_ROOTFS_POST_SCRIPT_ARGS).
set -e
exec support/scripts/genimage.sh -c "$2"
