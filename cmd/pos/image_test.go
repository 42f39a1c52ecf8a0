package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestImageBootsToSignIn boots the terminal image of make image in
// qemu-system-arm -M virt: Debian's armmp kernel, pos as /init, the data
// disk on virtio. The kernel and pos init come up, pos boot adopts the
// image's pos as slot A on the fresh data disk, and the terminal's
// operator sign-in screen appears on the serial console. The time from
// starting qemu to that screen is logged (and printed for make bench).
func TestImageBootsToSignIn(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	need := func(what string) {
		if os.Getenv("POS_REQUIRE_IMAGE") != "" {
			t.Fatalf("%s missing (make image fetches the kernel)", what)
		}
		t.Skipf("%s missing (make image fetches the kernel)", what)
	}
	if _, err := exec.LookPath("qemu-system-arm"); err != nil {
		need("qemu-system-arm")
	}
	root, _ := filepath.Abs(repoRoot)
	if _, err := os.Stat(filepath.Join(root, "dist", "kernel", "vmlinuz")); err != nil {
		need("dist/kernel/vmlinuz")
	}
	dir := t.TempDir()
	if out, err := exec.Command(filepath.Join(root, "scripts", "image.sh"), dir).CombinedOutput(); err != nil {
		t.Fatalf("image: %v\n%s", err, out)
	}
	qemu := exec.Command(filepath.Join(root, "scripts", "qemu.sh"), dir)
	var mu sync.Mutex
	var console bytes.Buffer
	qemu.Stdout = writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return console.Write(p) })
	qemu.Stderr = qemu.Stdout
	start := time.Now()
	if err := qemu.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { qemu.Process.Kill(); qemu.Wait() }()
	screen := func() string {
		mu.Lock()
		defer mu.Unlock()
		return ansi.ReplaceAllString(console.String(), "")
	}
	for !strings.Contains(screen(), "操作员签到") {
		if time.Since(start) > 120*time.Second {
			t.Fatalf("no sign-in screen within 120 s; console:\n%s", tail(screen(), 3000))
		}
		time.Sleep(50 * time.Millisecond)
	}
	took := time.Since(start)
	s := screen()
	for _, want := range []string{"pos init: up in", "is now slot A in /data/slots", "starting slot A"} {
		if !strings.Contains(s, want) {
			t.Errorf("console lacks %q:\n%s", want, tail(s, 3000))
		}
	}
	t.Logf("qemu start to the sign-in screen: %v; %s", took.Round(10*time.Millisecond), regexp.MustCompile(`pos init: up in [^,]*`).FindString(s))
	if testing.Verbose() {
		fmt.Printf("BENCH qemu_boot_to_signin %.0f ms\n", float64(took.Milliseconds()))
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// ansi matches the terminal control sequences termbox draws with.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-B]|\r`)

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
