package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/bootslot"
	"github.com/shoukuan/pos/app/hostsim"
)

// armBundle is a linux/arm pos stamped with version v, bundled for the
// emulated terminal's board and signed with key.
func armBundle(t *testing.T, key, v, dir string) string {
	t.Helper()
	root, _ := filepath.Abs(repoRoot)
	bin := filepath.Join(t.TempDir(), "pos")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version="+v, "-o", bin, "./cmd/pos")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm", "GOARM=7")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", v, err, out)
	}
	out := filepath.Join(dir, "pos-"+v+".bundle")
	var log strings.Builder
	if code := run([]string{"bundle", "create", "--key", key, "--version", v, "--board", "qemu-virt-devices", "--out", out, bin}, &log, &log); code != 0 {
		t.Fatalf("bundle %s: %s", v, log.String())
	}
	return out
}

// updatingGuest is a 32-bit terminal that trusts a development key, and
// whose update server on this machine offers what release(v) builds.
func updatingGuest(t *testing.T) (*guest, func(v string)) {
	priv, pub := devKey(t, "image")
	g := newGuest(t, pub)
	served := t.TempDir()
	web := httptest.NewServer(hostsim.NewUpdateServer(served))
	t.Cleanup(web.Close)
	g.updates = web.Listener.Addr().String()
	return g, func(v string) { armBundle(t, priv, v, served) }
}

// slots reads the guest's software slots off its disk.
func (g *guest) slots() bootslot.Status {
	g.t.Helper()
	s, err := bootslot.Open(g.dump("/slots"))
	if err != nil {
		g.t.Fatal(err)
	}
	return s.Status()
}

// showsVersion checks Maintenance › 版本信息, and goes back to the menu.
func (g *guest) showsVersion(v string) {
	g.t.Helper()
	g.choose("维护")
	g.choose("版本信息")
	g.waitFor(20*time.Second, v)
	g.toMenu()
}

// update installs what the update server offers from the Maintenance
// menu, up to the restart prompt.
func (g *guest) update(want string) {
	g.t.Helper()
	g.choose("维护")
	g.choose("软件更新")
	g.waitFor(90*time.Second, "确认=下载安装")
	if s := g.lcd(); !strings.Contains(s, want) {
		g.t.Fatalf("the update screen does not offer %s:\n%s", want, s)
	}
	g.step("Enter")
	g.waitFor(300*time.Second, "确认=立即重启")
}

// TestImageUpdate updates the emulated terminal from the update server on
// this machine, inside the guest: 1.1.0 is downloaded and installed from
// the Maintenance menu, the terminal restarts into it on trial, it passes
// its self-test and stays, also after a power-off. Then 1.2.0 is
// installed while the printer's cover is open: its self-test fails, the
// terminal goes back to 1.1.0 and the screen says why.
//
// It takes about 7 minutes under TCG (each install about 80 s), too long
// for make test: make reliability runs it (POS_QEMU_UPDATE=1).
func TestImageUpdate(t *testing.T) {
	if os.Getenv("POS_QEMU_UPDATE") == "" {
		t.Skip("POS_QEMU_UPDATE not set (make reliability runs it)")
	}
	g, release := updatingGuest(t)
	release("1.1.0")

	g.boot()
	g.signIn(true)
	start := time.Now()
	g.update("1.1.0")
	installed := time.Since(start)
	g.step("Enter")
	g.waitFor(120*time.Second, "操作员号")
	restarted := time.Since(start)
	g.signIn(false)
	g.showsVersion("1.1.0")
	g.quit()
	s := g.slots()
	if s.Active != "B" || s.B.Version != "1.1.0" || s.B.State != bootslot.StateGood || s.Trial != nil || s.Floor != "1.1.0" {
		t.Fatalf("after the update to 1.1.0: %+v", s)
	}
	t.Logf("1.1.0: offered, downloaded and installed in %v, on trial at the sign-in screen %v after the install began", installed.Round(100*time.Millisecond), restarted.Round(100*time.Millisecond))

	// The next release, restarted into while the printer's cover is
	// open: its trial self-test fails.
	release("1.2.0")
	g.boot()
	g.signIn(false)
	g.update("1.2.0")
	g.emu.command("cover open")
	g.step("Enter")
	g.waitFor(180*time.Second, "试运行失败")
	if s := strings.ReplaceAll(strings.Join(strings.Fields(g.lcd()), ""), "│", ""); !strings.Contains(s, "新软件1.2.0试运行失败") || !strings.Contains(s, "已回到1.1.0") || !strings.Contains(s, "coveropen") {
		t.Errorf("the rollback notice does not say what went back to what, and why:\n%s", g.lcd())
	}
	g.emu.command("cover close")
	g.step("Enter") // the notice, once; then the sign-in screen
	g.signIn(false)
	g.showsVersion("1.1.0")
	g.quit()
	s = g.slots()
	bad := s.A
	if s.Active != "B" || s.B.Version != "1.1.0" || bad.Version != "1.2.0" || bad.State != bootslot.StateBad || !strings.Contains(bad.Reason, "printer") {
		t.Fatalf("after the failed trial of 1.2.0: %+v", s)
	}
	t.Logf("1.2.0 rolled back: %s", bad.Reason)
	if testing.Verbose() {
		fmt.Printf("BENCH qemu_update_install %.0f ms\n", float64(installed.Milliseconds()))
	}
}
