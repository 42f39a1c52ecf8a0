//go:build linux && (386 || amd64 || arm || arm64 || riscv64 || loong64)

package evdev

import "testing"

// TestIoctlNumbers pins the request numbers that <linux/input.h> gives
// on x86 and ARM (checked once with a C compiler).
func TestIoctlNumbers(t *testing.T) {
	if ioc(iocWrite, 0x90, 4) != 0x40044590 || ioc(iocRead, 0x06, 256) != 0x81004506 {
		t.Errorf("EVIOCGRAB %#x, EVIOCGNAME(256) %#x", ioc(iocWrite, 0x90, 4), ioc(iocRead, 0x06, 256))
	}
}
