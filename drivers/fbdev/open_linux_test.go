//go:build linux

package fbdev

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func TestScreenInfoLayout(t *testing.T) {
	if n := unsafe.Sizeof(varScreenInfo{}); n != 160 {
		t.Errorf("fb_var_screeninfo is %d bytes, want 160", n)
	}
	want, line := uintptr(68), uintptr(44)
	if unsafe.Sizeof(uintptr(0)) == 8 {
		want, line = 80, 48
	}
	if n := unsafe.Sizeof(fixScreenInfo{}); n != want {
		t.Errorf("fb_fix_screeninfo is %d bytes, want %d", n, want)
	}
	if off := unsafe.Offsetof(fixScreenInfo{}.LineLength); off != line {
		t.Errorf("line_length at %d, want %d", off, line)
	}
}

func TestOpenNotFramebuffer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fb0")
	if err := os.WriteFile(path, make([]byte, 4096), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), "is not a framebuffer") {
		t.Errorf("Open(regular file) = %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "missing"), Options{}); err == nil {
		t.Error("Open(missing) succeeded")
	}
}

// TestOpenDevice runs on a real panel when POS_FBDEV names one (it draws
// the test pattern on it).
func TestOpenDevice(t *testing.T) {
	path := os.Getenv("POS_FBDEV")
	if path == "" {
		t.Skip("set POS_FBDEV=/dev/fb0 to test a real framebuffer")
	}
	d, err := Open(path, Options{PatternHold: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.SetCell(0, 0, '收', 0)
	if err := d.Flush(); err != nil {
		t.Fatal(err)
	}
	res := d.SelfTest(context.Background())
	t.Log(res.Detail)
	if !res.OK {
		t.Error(res.Verdict())
	}
}
