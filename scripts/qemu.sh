#!/bin/sh
# make qemu: boots the terminal image (make image) in qemu-system-arm, or
# qemu-system-aarch64 for an arm64 image (DIR/arch), on this console: the
# terminal's screen and keys are the serial line. Ctrl-A X leaves qemu.
# DIR defaults to dist/image.
#
# The guest is 10.0.2.15 on qemu's user network, restricted: it reaches
# nothing but 10.0.2.100:5800 and :5880, forwarded to HOST_PORT and
# UPDATES_PORT on 127.0.0.1 when they are set (the host simulator and
# its update server). DEVICES=DIR wires the guest's /dev/hvc0, /dev/hvc1
# and /dev/hvc2 to DIR/pn532.sock, DIR/printer.sock and DIR/scanner.sock
# (pos emulate).
# APPEND adds kernel parameters (pos.board=, pos.config=; see
# cmd/pos/init_linux.go). CONSOLE_LOG=FILE keeps a copy of the console.
set -eu
dir=${1:-dist/image}
net=user,id=net0,restrict=on
[ -z "${HOST_PORT:-}" ] || net="$net,guestfwd=tcp:10.0.2.100:5800-tcp:127.0.0.1:$HOST_PORT"
[ -z "${UPDATES_PORT:-}" ] || net="$net,guestfwd=tcp:10.0.2.100:5880-tcp:127.0.0.1:$UPDATES_PORT"
set --
if [ -n "${DEVICES:-}" ]; then
	set -- -device virtio-serial-device \
		-chardev "socket,id=pn532,path=$DEVICES/pn532.sock,reconnect=1" -device virtconsole,chardev=pn532 \
		-chardev "socket,id=printer,path=$DEVICES/printer.sock,reconnect=1" -device virtconsole,chardev=printer \
		-chardev "socket,id=scanner,path=$DEVICES/scanner.sock,reconnect=1" -device virtconsole,chardev=scanner
fi
if [ -n "${CONSOLE_LOG:-}" ]; then
	set -- "$@" -chardev "stdio,id=con,mux=on,signal=off,logfile=$CONSOLE_LOG" -serial chardev:con -mon chardev=con
fi
machine="qemu-system-arm -M virt -cpu cortex-a15"
[ "$(cat "$dir/arch" 2>/dev/null)" != arm64 ] || machine="qemu-system-aarch64 -M virt -cpu cortex-a53"
exec $machine -m 512 -nographic -no-reboot \
	-kernel "$dir/vmlinuz" -initrd "$dir/initramfs.gz" \
	-append "console=ttyAMA0 panic=-1 quiet pos.ip=10.0.2.15/24 ${APPEND:-pos.board=qemu-virt}" \
	-drive "file=$dir/data.img,if=none,format=raw,id=data" -device virtio-blk-device,drive=data \
	-netdev "$net" -device virtio-net-device,netdev=net0 "$@"
