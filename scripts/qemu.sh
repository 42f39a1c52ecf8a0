#!/bin/sh
# make qemu: boots the terminal image (make image) in qemu-system-arm on
# this console: the terminal's screen and keys are the serial line.
# Ctrl-A X leaves qemu. DIR defaults to dist/image.
set -eu
dir=${1:-dist/image}
exec qemu-system-arm -M virt -cpu cortex-a15 -m 512 -nographic -no-reboot \
	-kernel "$dir/vmlinuz" -initrd "$dir/initramfs.gz" \
	-append "console=ttyAMA0 panic=-1 quiet pos.board=qemu-virt" \
	-drive "file=$dir/data.img,if=none,format=raw,id=data" -device virtio-blk-device,drive=data \
	-netdev user,id=net0,restrict=on -device virtio-net-device,netdev=net0
