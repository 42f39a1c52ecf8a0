package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
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
