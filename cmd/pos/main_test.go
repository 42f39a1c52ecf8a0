package main

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const repoRoot = "../.."

func TestVersion(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"version"}, &out, &out); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if !strings.Contains(out.String(), runtime.GOOS+"/"+runtime.GOARCH) {
		t.Fatalf("version: %q", out.String())
	}
}

func TestUnknownCommandAndBoard(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"fly"}, &out, &out); code != 2 || !strings.Contains(out.String(), `unknown command "fly"`) {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	out.Reset()
	if code := run([]string{"selftest", "--board", "moon"}, &out, &out); code != 1 || !strings.Contains(out.String(), `board "moon": unknown`) {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	bad := filepath.Join(t.TempDir(), "pos.json")
	os.WriteFile(bad, []byte(`{"language":"fr"}`), 0o644)
	out.Reset()
	if code := run([]string{"scenario", "--config", bad, "x.txt"}, &out, &out); code != 1 || !strings.Contains(out.String(), `language "fr"`) {
		t.Fatalf("exit %d: %s", code, out.String())
	}
}

// TestScenarios runs every script in testdata/scenarios in-process.
func TestScenarios(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(repoRoot, "testdata", "scenarios", "*.txt"))
	if len(paths) < 5 {
		t.Fatalf("only %d scenarios", len(paths))
	}
	for _, p := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(p), ".txt"), func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			code := run([]string{"scenario", "--assets", repoRoot, "--data", t.TempDir(), "--secrets", t.TempDir(), p}, &out, &out)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, out.String())
			}
		})
	}
}

// TestScenarioFailureIsReported makes sure a wrong expectation fails the
// run with the line and the screen.
func TestScenarioFailureIsReported(t *testing.T) {
	p := filepath.Join(t.TempDir(), "wrong.txt")
	os.WriteFile(p, []byte("type 01\nexpect screen \"no such text\"\n"), 0o644)
	var out bytes.Buffer
	code := run([]string{"scenario", "--assets", repoRoot, p}, &out, &out)
	if code != 1 || !strings.Contains(out.String(), "wrong.txt:2: expected the screen to show \"no such text\"") || !strings.Contains(out.String(), "操作员签到") {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
}

func TestSelfTestCommand(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"selftest", "--assets", repoRoot}, &out, &out); code != 0 {
		t.Fatalf("exit %d\n%s", code, out.String())
	}
	for _, dev := range []string{"scanner", "card reader", "printer"} {
		if !strings.Contains(out.String(), dev) {
			t.Errorf("selftest output lacks %s:\n%s", dev, out.String())
		}
	}
}

// TestSelfTestReportsDevicesThatWillNotOpen: on a machine without the
// terminal's hardware every device is a failure with its reason, and the
// exit code says so; the run does not stop at the first one.
func TestSelfTestReportsDevicesThatWillNotOpen(t *testing.T) {
	var out bytes.Buffer
	if code := run([]string{"selftest", "--board", "rpi4-pos"}, &out, &out); code == 0 {
		t.Fatalf("exit 0 without hardware\n%s", out.String())
	}
	for _, line := range []string{"display", "keypad", "scanner", "card reader", "printer", "indicator"} {
		if !regexp.MustCompile(`(?m)^` + line + `\s+FAIL\s+cannot open: `).MatchString(out.String()) {
			t.Errorf("no failure line for %s:\n%s", line, out.String())
		}
	}
	if !strings.Contains(out.String(), "/dev/usb/lp0") {
		t.Errorf("the printer's reason does not name its device:\n%s", out.String())
	}
}

// buildFor compiles pos for another platform the way the Makefile does.
func buildFor(t *testing.T, goos, goarch string, env ...string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pos-"+goos+"-"+goarch)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, ".")
	cmd.Env = append(os.Environ(), append([]string{"CGO_ENABLED=0", "GOOS=" + goos, "GOARCH=" + goarch}, env...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s/%s: %v\n%s", goos, goarch, err, out)
	}
	return bin
}

// TestARMUnderQEMU runs the 32-bit ARM binary under qemu-user: the
// version and a whole scenario, journal and all.
func TestARMUnderQEMU(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	qemu, err := exec.LookPath("qemu-arm-static")
	if err != nil {
		if os.Getenv("POS_REQUIRE_QEMU") != "" {
			t.Fatal("qemu-arm-static not installed (make deps)")
		}
		t.Skip("qemu-arm-static not installed")
	}
	bin := buildFor(t, "linux", "arm", "GOARM=7")
	out, err := exec.Command(qemu, bin, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "linux/arm") {
		t.Fatalf("version under qemu: %v\n%s", err, out)
	}
	cmd := exec.Command(qemu, bin, "scenario", "--assets", repoRoot, "--data", t.TempDir(),
		filepath.Join(repoRoot, "testdata", "scenarios", "signin-forced-change.txt"))
	out, err = cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "1 passed, 0 failed") {
		t.Fatalf("scenario under qemu: %v\n%s", err, out)
	}
}

// TestConsoleInTmux starts the real terminal with the console driver in a
// tmux pane, signs in with the keyboard and reads the screen back.
func TestConsoleInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		if os.Getenv("POS_REQUIRE_TMUX") != "" {
			t.Fatal("tmux not installed (make deps)")
		}
		t.Skip("tmux not installed")
	}
	bin := buildFor(t, runtime.GOOS, runtime.GOARCH)
	sock := filepath.Join(t.TempDir(), "tmux.sock")
	data := t.TempDir()
	abs, _ := filepath.Abs(repoRoot)
	tm := func(args ...string) string {
		out, err := exec.Command(tmux, append([]string{"-S", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("tmux %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tm("new-session", "-d", "-x", "80", "-y", "24", "-s", "pos", "env", "TERM=screen", bin, "run", "--assets", abs, "--data", data)
	defer exec.Command(tmux, "-S", sock, "kill-server").Run()
	screen := func() string { return tm("capture-pane", "-p", "-t", "pos") }
	waitFor := func(text string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			if strings.Contains(screen(), text) {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("screen never showed %q:\n%s", text, screen())
	}
	waitFor("操作员签到")
	waitFor("Printer paper roll")
	waitFor("Scanner: off")
	for _, k := range []string{"0", "1", "Enter", "0", "0", "0", "0", "Enter"} {
		tm("send-keys", "-t", "pos", k)
		time.Sleep(20 * time.Millisecond)
	}
	waitFor("首次使用请修改默认密码")
	tm("send-keys", "-t", "pos", "F10")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := exec.Command(tmux, "-S", sock, "has-session", "-t", "pos").Run(); err != nil {
			return // the terminal quit and the pane closed
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("F10 did not quit:\n%s", screen())
}

// TestSelfTestKeys: pos selftest --keys on a terminal's own keypad (an
// evdev keypad fed through a FIFO) waits for every key of its map;
// Cancel is one of them, and a key left unpressed fails by name.
func TestSelfTestKeys(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "event0")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	boardFile := filepath.Join(dir, "keys.json")
	os.WriteFile(boardFile, []byte(`{"name": "keys", "description": "evdev keypad and fakes",
  "display": {"driver": "memory", "cols": 32, "rows": 12},
  "keypad": {"driver": "evdev", "device": "`+fifo+`", "keymap": {"KEY_1": "1", "KEY_2": "2", "KEY_ESC": "cancel"}},
  "scanner": {"driver": "fake", "images": "testdata/codes"},
  "card_reader": {"driver": "fake", "cards": "testdata/cards"},
  "printer": {"driver": "fake", "columns": 32},
  "indicator": {"driver": "fake"}, "secrets": "user-config"}`), 0o644)
	// The in-process host on a board's own keys is a demonstration.
	configFile := filepath.Join(dir, "demo.json")
	os.WriteFile(configFile, []byte(`{"demo": true}`), 0o644)
	for _, tc := range []struct {
		name  string
		codes []uint16
		code  int
		want  string
	}{
		{"every key", []uint16{1, 2, 3}, 0, `(?m)^keypad\s+ok\s+all 3 keys pressed`},
		{"one missing", []uint16{2, 1, 1, 1}, 1, `(?m)^keypad\s+FAIL\s+not pressed: 2`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// O_RDWR: opening a FIFO so does not wait for the reader.
			w, err := os.OpenFile(fifo, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			for _, c := range tc.codes {
				w.Write(inputEvent(1, c, 1)) // EV_KEY press
				w.Write(inputEvent(1, c, 0)) // release
				w.Write(inputEvent(0, 0, 0)) // EV_SYN
			}
			var out bytes.Buffer
			code := run([]string{"selftest", "--assets", repoRoot, "--board", boardFile, "--config", configFile, "--data", t.TempDir(), "--keys", "--keys-timeout", "5s"}, &out, &out)
			if code != tc.code || !regexp.MustCompile(tc.want).MatchString(out.String()) {
				t.Fatalf("exit %d, want %d; want %s in\n%s", code, tc.code, tc.want, out.String())
			}
		})
	}
}

// inputEvent is a struct input_event of this machine's word size.
func inputEvent(typ, code uint16, value int32) []byte {
	now := time.Now()
	var b []byte
	if strconv.IntSize == 64 {
		b = binary.LittleEndian.AppendUint64(b, uint64(now.Unix()))
		b = binary.LittleEndian.AppendUint64(b, uint64(now.Nanosecond()/1000))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(now.Unix()))
		b = binary.LittleEndian.AppendUint32(b, uint32(now.Nanosecond()/1000))
	}
	b = binary.LittleEndian.AppendUint16(b, typ)
	b = binary.LittleEndian.AppendUint16(b, code)
	return binary.LittleEndian.AppendUint32(b, uint32(value))
}
