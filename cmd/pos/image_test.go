package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/bootslot"
	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/app/mutant"
	"github.com/shoukuan/pos/drivers/escpos"
)

// The terminal image of make image under qemu-system-arm -M virt, as a
// technician sees it on the serial console: its screen is a tmux pane,
// read with capture-pane and typed into with send-keys. The acquirer is
// the host simulator in this test process (qemu forwards 10.0.2.100:5800
// to it), and the PN532 reader and the receipt printer are pos emulate's
// emulators on unix sockets, which the guest's real drivers reach
// through virtio consoles.

// imageFor builds the image of arch (arm or arm64) once per run (and per
// update key): its kernel, its initramfs and a fresh data disk to copy.
func imageFor(t *testing.T, arch, updateKey string) string {
	t.Helper()
	need := func(what string) {
		if os.Getenv("POS_REQUIRE_IMAGE") != "" {
			t.Fatalf("%s missing (make image fetches the kernel, make deps installs qemu and tmux)", what)
		}
		t.Skipf("%s missing (make image fetches the kernel, make deps installs qemu and tmux)", what)
	}
	qemu, kernel := "qemu-system-arm", "kernel"
	if arch == "arm64" {
		qemu, kernel = "qemu-system-aarch64", "kernel-arm64"
	}
	for _, tool := range []string{qemu, "tmux", "debugfs"} {
		if _, err := exec.LookPath(tool); err != nil {
			if _, err := os.Stat(filepath.Join("/usr/sbin", tool)); err != nil {
				need(tool)
			}
		}
	}
	root, _ := filepath.Abs(repoRoot)
	if _, err := os.Stat(filepath.Join(root, "dist", kernel, "vmlinuz")); err != nil {
		need("dist/" + kernel + "/vmlinuz")
	}
	posBuilds.Lock()
	defer posBuilds.Unlock()
	key := "image:" + arch + ":" + updateKey
	if dir, ok := posBuilds.bins[key]; ok {
		return dir
	}
	dir := filepath.Join(buildDir(t), fmt.Sprintf("image-%d", len(posBuilds.bins)))
	cmd := exec.Command(filepath.Join(root, "scripts", "image.sh"), dir)
	cmd.Env = append(os.Environ(), "ARCH="+arch, "UPDATE_KEY="+updateKey, "VERSION=1.0.0")
	if mutant.Tagged {
		cmd.Env = append(cmd.Env, "TAGS=mutants")
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("image: %v\n%s", err, out)
	}
	posBuilds.bins[key] = dir
	return dir
}

// guest is one emulated terminal: its disk, its devices, and qemu in a
// tmux pane while it runs.
type guest struct {
	t        *testing.T
	dir      string // vmlinuz, initramfs.gz, data.img
	host     *crashEnv
	emu      *emulators
	sockets  string
	pages    string
	tmuxSock string
	pid      int
	boots    int
	append   string // more kernel parameters
	updates  string // the update server's host:port, if any
	console  string // this boot's console log
	emuLog   *syncBuffer
}

// newGuest is a 32-bit terminal.
func newGuest(t *testing.T, updateKey string) *guest { return newGuestOf(t, "arm", updateKey) }

func newGuestOf(t *testing.T, arch, updateKey string) *guest {
	t.Helper()
	img := imageFor(t, arch, updateKey)
	tmp := t.TempDir()
	g := &guest{t: t, dir: filepath.Join(tmp, "image"), host: newCrashEnv(t), sockets: filepath.Join(tmp, "s"),
		pages: filepath.Join(tmp, "pages"), tmuxSock: filepath.Join(tmp, "tmux.sock"), emuLog: &syncBuffer{}}
	os.MkdirAll(g.dir, 0o755)
	for _, f := range []string{"vmlinuz", "initramfs.gz", "arch"} {
		if err := os.Link(filepath.Join(img, f), filepath.Join(g.dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("cp", "--sparse=always", filepath.Join(img, "data.img"), filepath.Join(g.dir, "data.img")).CombinedOutput(); err != nil {
		t.Fatalf("data disk: %v %s", err, out)
	}
	prof, err := escpos.LookupProfile("58mm")
	if err != nil {
		t.Fatal(err)
	}
	root, _ := filepath.Abs(repoRoot)
	if g.emu, err = startEmulators(g.sockets, filepath.Join(root, "testdata", "cards"), g.pages, prof, g.emuLog); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		g.cut()
		g.emu.Close()
	})
	return g
}

func (g *guest) tmux(args ...string) (string, error) {
	out, err := exec.Command("tmux", append([]string{"-S", g.tmuxSock}, args...)...).CombinedOutput()
	return string(out), err
}

// boot starts qemu; the previous run must have ended.
func (g *guest) boot() time.Time {
	g.t.Helper()
	root, _ := filepath.Abs(repoRoot)
	params := "pos.board=qemu-virt-devices pos.config=host " + g.append
	if m := os.Getenv("POS_MUTANT"); m != "" && mutant.Tagged {
		params += " pos.mutant=" + m
	}
	g.console = filepath.Join(g.dir, fmt.Sprintf("console-%d.log", g.boots+1))
	cmd := fmt.Sprintf("exec env DEVICES=%s HOST_PORT=%s UPDATES_PORT=%s CONSOLE_LOG=%s APPEND='%s' %s %s", g.sockets, port(g.host.addr), port(g.updates),
		g.console, params, filepath.Join(root, "scripts", "qemu.sh"), g.dir)
	start := time.Now()
	if out, err := g.tmux("new-session", "-d", "-s", "q", "-x", "100", "-y", "30", cmd); err != nil {
		g.t.Fatalf("tmux: %v %s", err, out)
	}
	out, err := g.tmux("display", "-p", "-t", "q", "#{pane_pid}")
	if err != nil || sscan(strings.TrimSpace(out), &g.pid) != nil {
		g.t.Fatalf("qemu's pid: %v %s", err, out)
	}
	g.boots++
	return start
}

// port is the port of host:port ("" for "").
func port(addr string) string { return addr[strings.LastIndex(addr, ":")+1:] }

func sscan(s string, v *int) error { _, err := fmt.Sscan(s, v); return err }

func (g *guest) running() bool { return g.pid != 0 && syscall.Kill(g.pid, 0) == nil }

// cut is the power cord: qemu dies with whatever the guest had not
// written to its disk.
func (g *guest) cut() {
	if g.running() {
		syscall.Kill(g.pid, syscall.SIGKILL)
	}
	g.waitGone(10 * time.Second)
}

func (g *guest) waitGone(d time.Duration) bool {
	for deadline := time.Now().Add(d); g.running(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	g.tmux("kill-server")
	g.pid = 0
	return true
}

// quit leaves the terminal with F10, as a technician does: pos boot ends
// and the image's init syncs, unmounts the data disk and powers off. Its
// escape sequence can arrive in pieces on the serial line; the console
// driver joins them (TestEscapeSequenceInPieces).
func (g *guest) quit() {
	g.t.Helper()
	g.press("F10")
	if !g.waitGone(60 * time.Second) {
		g.t.Fatalf("the guest did not power off after F10:\n%s", g.screen())
	}
}

// timeBoot waits for the sign-in screen of a boot started at start, and
// says how long the kernel took to start pos init (from its own clock,
// since the kernel started) and how long from there to the screen.
func (g *guest) timeBoot(start time.Time) (kernel, userland, total time.Duration) {
	g.t.Helper()
	upRE := regexp.MustCompile(`pos init: up in [^,]*, ([0-9.]+) s after the kernel started`)
	var initAt time.Time
	for deadline := time.Now().Add(120 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if initAt.IsZero() {
			b, _ := os.ReadFile(g.console)
			if m := upRE.FindSubmatch(b); m != nil {
				initAt = time.Now()
				secs, _ := strconv.ParseFloat(string(m[1]), 64)
				kernel = time.Duration(secs * float64(time.Second))
			}
		}
		if strings.Contains(g.lcd(), "操作员号") {
			break
		}
		if time.Now().After(deadline) || !g.running() {
			g.t.Fatalf("boot %d: no sign-in screen:\n%s", g.boots, g.screen())
		}
	}
	total = time.Since(start)
	if !initAt.IsZero() {
		userland = time.Since(initAt)
	}
	return kernel, userland, total
}

func (g *guest) screen() string {
	out, _ := g.tmux("capture-pane", "-p", "-t", "q")
	return out
}

// lcd is the terminal's own display: the left box of the console.
func (g *guest) lcd() string {
	var b strings.Builder
	for _, l := range strings.Split(g.screen(), "\n") {
		if i := strings.Index(l, "┐ ┌"); i > 0 {
			l = l[:i]
		} else if i := strings.Index(l, "│ │"); i > 0 {
			l = l[:i+len("│")]
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

// waitFor waits until the terminal's display shows one of texts and
// says which.
func (g *guest) waitFor(d time.Duration, texts ...string) string {
	g.t.Helper()
	deadline := time.Now().Add(d)
	for {
		s := g.lcd()
		for _, x := range texts {
			if strings.Contains(s, x) {
				return x
			}
		}
		if time.Now().After(deadline) || !g.running() {
			g.t.Fatalf("boot %d: none of %q on the screen within %v:\n%s\nemulators:\n%s", g.boots, texts, d, g.screen(), g.emuLog.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// press sends keys as tmux names them (digits, Enter, Escape, F10).
func (g *guest) press(keys ...string) {
	g.t.Helper()
	for _, k := range keys {
		if out, err := g.tmux("send-keys", "-t", "q", k); err != nil {
			g.t.Fatalf("send-keys %s: %v %s", k, err, out)
		}
		time.Sleep(150 * time.Millisecond) // a finger's pace: the line is 115200 baud and the guest slow
	}
}

// choose picks a menu's item by its label.
func (g *guest) choose(label string) {
	g.t.Helper()
	g.waitFor(20*time.Second, label)
	m := regexp.MustCompile(`(\d)\.` + regexp.QuoteMeta(label)).FindStringSubmatch(g.lcd())
	if m == nil {
		g.t.Fatalf("no menu item %s:\n%s", label, g.lcd())
	}
	g.step(m[1])
}

func (g *guest) typeDigits(s string) { g.press(strings.Split(s, "")...) }

// step presses a key that moves the terminal on, and waits until its
// display changed: keys pressed while it works (a password is checked
// for seconds under qemu) would fall into the next screen.
func (g *guest) step(key string) { g.stepWithin(key, 20*time.Second) }

// stepWithin is step that gives up after d; it reports whether the key
// changed the display.
func (g *guest) stepWithin(key string, d time.Duration) bool {
	g.t.Helper()
	before := g.lcd()
	g.press(key)
	for deadline := time.Now().Add(d); g.lcd() == before; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	time.Sleep(300 * time.Millisecond) // the rest of the redraw
	return true
}

// signIn signs in and reads through what the terminal has to tell (a
// rolled-back update, the outcome of what a power cut interrupted) to
// the main menu; it returns those screens. first: the supervisor's first sign-in, with its new
// password.
func (g *guest) signIn(first bool) []string {
	g.t.Helper()
	var seen []string
	// A trial that failed is told before the sign-in screen.
	if g.waitFor(90*time.Second, "操作员号", "试运行失败") == "试运行失败" {
		seen = append(seen, g.lcd())
		g.step("Enter")
		g.waitFor(20*time.Second, "操作员号")
	}
	g.typeDigits("00")
	g.step("Enter")
	g.waitFor(20*time.Second, "密码")
	if first {
		g.typeDigits("123456")
		g.step("Enter")
		g.waitFor(20*time.Second, "新密码")
		g.typeDigits(supervisorPW)
		g.step("Enter")
		g.waitFor(20*time.Second, "再输一次")
	}
	g.typeDigits(supervisorPW)
	g.step("Enter")
	return append(seen, g.toMenu()...)
}

// toMenu presses Enter through result screens, and Escape out of menus,
// to the main menu, keeping each screen it passed.
func (g *guest) toMenu() []string {
	g.t.Helper()
	var seen []string
	key := "Enter"
	for i := 0; i < 20; i++ {
		s := g.lcd()
		if strings.Contains(s, "主菜单") {
			// Recovery may still have an outcome to tell: it comes over
			// the menu once the reversal or the reprint is done.
			time.Sleep(1500 * time.Millisecond)
			if s = g.lcd(); strings.Contains(s, "主菜单") {
				return seen
			}
		}
		seen = append(seen, s)
		if strings.Contains(s, "数字键选择") || strings.Contains(s, "请输入") {
			key = "Escape" // a menu or an entry: back out
		}
		if g.stepWithin(key, 5*time.Second) {
			key = "Enter"
		} else {
			key = "Escape"
		}
	}
	g.t.Fatalf("boot %d: no way back to the main menu:\n%s", g.boots, g.screen())
	return nil
}

// startTapSale keys a sale of fen and taps the card when the terminal
// asks for it; it does not wait for the outcome.
func (g *guest) startTapSale(fen int64) {
	g.t.Helper()
	g.step("1")
	g.waitFor(20*time.Second, "1.消费")
	g.step("1")
	g.waitFor(20*time.Second, "请输入金额")
	g.typeDigits(fmt.Sprint(fen))
	g.step("Enter")
	g.waitFor(20*time.Second, "请确认")
	g.step("Enter")
	g.waitFor(20*time.Second, "挥卡")
	if err := g.emu.command("tap " + crashCardName); err != nil {
		g.t.Fatal(err)
	}
}

// startScanSale keys a "scan customer code" payment of fen, shows the
// scanner the customer's code when the terminal asks, and confirms; it
// does not wait for the outcome.
func (g *guest) startScanSale(fen int64, code string) {
	g.t.Helper()
	g.step("1")
	g.choose("扫码收款")
	g.waitFor(20*time.Second, "请输入金额")
	g.typeDigits(fmt.Sprint(fen))
	g.step("Enter")
	g.waitFor(20*time.Second, "请扫顾客付款码")
	// The screen comes before the driver's trigger command reaches the
	// scanner.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		err := g.emu.command("scan " + code)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			g.t.Fatalf("scan: %v\n%s", err, g.screen())
		}
	}
	g.waitFor(20*time.Second, "请确认")
	g.step("Enter")
}

// dump copies a directory off the guest's data disk (debugfs reads the
// ext4 image without mounting it); only after the guest powered off.
func (g *guest) dump(path string) string {
	g.t.Helper()
	out := g.t.TempDir()
	debugfs, err := exec.LookPath("debugfs")
	if err != nil {
		debugfs = "/usr/sbin/debugfs"
	}
	if b, err := exec.Command(debugfs, "-R", "rdump "+path+" "+out, filepath.Join(g.dir, "data.img")).CombinedOutput(); err != nil {
		g.t.Fatalf("debugfs: %v\n%s", err, b)
	}
	return filepath.Join(out, filepath.Base(path))
}

// journal reads the guest's journal off its data disk.
func (g *guest) journal() []engine.Txn {
	g.t.Helper()
	db, err := journal.OpenReadOnly(filepath.Join(g.dump("/pos"), journal.JournalFile))
	if err != nil {
		g.t.Fatalf("the guest's journal: %v", err)
	}
	defer db.Close()
	txns, _, err := engine.New(db, nil, time.Now, engine.Config{}, nil).Query(engine.Filter{})
	if err != nil {
		g.t.Fatal(err)
	}
	return txns
}

// judge holds the guest's journal against the host's ledger and the
// printer's paper: every trace agrees, nothing is left pending, unseen
// or unprinted.
func (g *guest) judge(label string) []engine.Txn {
	g.t.Helper()
	txns := g.journal()
	recs, err := g.host.sim.Records("10000001")
	if err != nil {
		g.t.Fatal(err)
	}
	for _, x := range txns {
		switch {
		case x.Status == engine.StatusPending:
			g.t.Errorf("%s: %s %s still pending", label, x.Kind, x.STAN)
		case !x.Announced:
			g.t.Errorf("%s: the cashier was never told how %s %s ended (%s)", label, x.Kind, x.STAN, x.Status)
		}
	}
	if err := judgeLedger(txns, recs); err != nil {
		g.t.Errorf("%s: %v", label, err)
	}
	paper := &paperJudge{dir: g.pages, read: map[string]bool{}, printed: map[string]bool{}}
	if missing, err := paper.unprinted(recs); err != nil || len(missing) > 0 {
		g.t.Errorf("%s: no receipt for %v (%v)", label, missing, err)
	}
	if s := g.slots(); s.Trial != nil || activeSlot(s).State != bootslot.StateGood {
		g.t.Errorf("%s: the slots after a clean stop: active %s %+v, trial %+v", label, s.Active, activeSlot(s), s.Trial)
	}
	return txns
}

func activeSlot(s bootslot.Status) bootslot.SlotInfo {
	if s.Active == "B" {
		return s.B
	}
	return s.A
}

// TestImageTerminal boots the terminal image on a fresh data disk to the
// operator sign-in screen (timed: make bench prints it), signs in, takes
// a QuickPass sale tapped on the PN532 emulator and an Alipay payment
// whose code the scanner emulator reads, which the host simulator on
// this machine approves and the ESC/POS emulator prints, and powers off
// from the keyboard; the journal on the disk then agrees with the host's
// ledger and the paper.
//
// The same for the arm64 image (qemu-system-aarch64), whose figures
// make bench prints with _arm64.
func TestImageTerminal(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	for _, arch := range []string{"arm", "arm64"} {
		t.Run(arch, func(t *testing.T) { imageTerminal(t, arch) })
	}
}

func imageTerminal(t *testing.T, arch string) {
	g := newGuestOf(t, arch, "")
	kFirst, uFirst, first := g.timeBoot(g.boot())
	con, _ := os.ReadFile(g.console)
	for _, want := range []string{"is now slot A in /data/slots", "starting slot A"} {
		if !strings.Contains(string(con), want) {
			t.Errorf("the first boot's console lacks %q:\n%s", want, con)
		}
	}
	g.signIn(true)
	g.startTapSale(1234)
	g.waitFor(60*time.Second, "交易成功")
	s := g.lcd()
	for _, want := range []string{"¥12.34", "622202*********0128"} {
		if !strings.Contains(s, want) {
			t.Errorf("the result screen lacks %q:\n%s", want, s)
		}
	}
	g.emu.command("remove")
	g.toMenu()
	g.startScanSale(888, crashPayer)
	g.waitFor(60*time.Second, "交易成功")
	if s := g.lcd(); !strings.Contains(s, "¥8.88") {
		t.Errorf("the wallet payment's result screen lacks ¥8.88:\n%s", s)
	}
	g.toMenu()
	g.quit()
	txns := g.judge("after the sales")
	byMethod := map[engine.Method]int64{}
	for _, x := range txns {
		if x.Status == engine.StatusApproved {
			byMethod[x.Method] += x.AmountFen
		}
	}
	if len(txns) != 2 || byMethod[engine.MethodTap] != 1234 || byMethod[engine.MethodAlipay] != 888 {
		t.Errorf("journal: %+v", txns)
	}
	pages, _ := filepath.Glob(filepath.Join(g.pages, "page-*.txt"))
	var paper strings.Builder
	for _, p := range pages {
		b, _ := os.ReadFile(p)
		paper.Write(b)
	}
	for _, want := range []string{"622202*********0128", "RMB 12.34", "闪付 QUICKPASS", "商户存根 MERCHANT COPY", "RMB 8.88", "支付宝 ALIPAY"} {
		if !strings.Contains(paper.String(), want) {
			t.Errorf("the printed paper lacks %q:\n%s", want, paper.String())
		}
	}
	if strings.Contains(paper.String(), crashCard) {
		t.Error("the full card number was printed")
	}
	// The next boot, as every day: the slot is set up.
	k, u, total := g.timeBoot(g.boot())
	g.quit()
	log, _ := os.ReadFile(filepath.Join(g.dump("/pos"), "pos.log"))
	if starts := regexp.MustCompile(`msg="terminal started".*`).FindAll(log, -1); len(starts) > 0 {
		t.Logf("the last start, from its log: %s", starts[len(starts)-1])
	}
	ms := func(d time.Duration) float64 { return float64(d.Milliseconds()) }
	t.Logf("qemu start to the sign-in screen: %v on a fresh disk (kernel to pos init %v, then %v), %v on the next boot (kernel %v, then %v); %d pages printed",
		first.Round(10*time.Millisecond), kFirst.Round(10*time.Millisecond), uFirst.Round(10*time.Millisecond),
		total.Round(10*time.Millisecond), k.Round(10*time.Millisecond), u.Round(10*time.Millisecond), len(pages))
	if testing.Verbose() {
		suffix := map[string]string{"arm": "", "arm64": "_arm64"}[arch]
		fmt.Printf("BENCH qemu_boot_to_signin_first%s %.0f ms\n", suffix, ms(first))
		fmt.Printf("BENCH qemu_boot_to_signin%s %.0f ms\n", suffix, ms(total))
		fmt.Printf("BENCH qemu_kernel_to_signin%s %.0f ms\n", suffix, ms(k+u))
	}
}
