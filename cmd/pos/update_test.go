package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/bootslot"
	"github.com/shoukuan/pos/app/config"
	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/app/mutant"
	"github.com/shoukuan/pos/app/scenario"
	"github.com/shoukuan/pos/app/seckey"
	"github.com/shoukuan/pos/app/terminal"
	"github.com/shoukuan/pos/board"
	"github.com/shoukuan/pos/hal"
)

// posBuilds are pos binaries stamped with release versions, built once
// per test run: the software an update replaces and the one it installs.
var posBuilds = struct {
	sync.Mutex
	dir     string
	bins    map[string]string
	bundles map[string]string
}{bins: map[string]string{}, bundles: map[string]string{}}

// buildDir is where this run's builds, keys and bundles go; held lock.
func buildDir(t *testing.T) string {
	if posBuilds.dir == "" {
		d, err := os.MkdirTemp("", "pos-builds-")
		if err != nil {
			t.Fatal(err)
		}
		posBuilds.dir = d
	}
	return posBuilds.dir
}

// devKey is a development release key pair shared by the tests, so that
// a bundle (whose xz takes seconds) is made once.
func devKey(t *testing.T, name string) (priv, pub string) {
	t.Helper()
	posBuilds.Lock()
	defer posBuilds.Unlock()
	priv, pub = filepath.Join(buildDir(t), name+".pem"), filepath.Join(buildDir(t), name+".pub")
	if _, err := os.Stat(pub); err == nil {
		return priv, pub
	}
	var out bytes.Buffer
	if code := run([]string{"bundle", "keygen", priv, pub}, &out, &out); code != 0 {
		t.Fatalf("keygen: %s", out.String())
	}
	return priv, pub
}

func posBuild(t *testing.T, v string) string {
	t.Helper()
	posBuilds.Lock()
	defer posBuilds.Unlock()
	if b, ok := posBuilds.bins[v]; ok {
		return b
	}
	bin := filepath.Join(buildDir(t), "pos-"+v)
	args := []string{"build", "-trimpath", "-ldflags", "-X main.version=" + v, "-o", bin}
	if mutant.Tagged {
		args = append(args, "-tags", "mutants") // the planted bug lives in these binaries too
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build pos %s: %v\n%s", v, err, out)
	}
	posBuilds.bins[v] = bin
	return bin
}

func removePosBuilds() {
	if posBuilds.dir != "" {
		os.RemoveAll(posBuilds.dir)
	}
}

// updEnv is one desktop terminal (sim board) with its data, its slots
// beside it, a development release key trusted through update.keys, and
// a USB stick.
type updEnv struct {
	t                                       *testing.T
	dir, data, cfg, key, pub, stick, assets string
}

func newUpdEnv(t *testing.T, keyName string) *updEnv {
	t.Helper()
	dir := t.TempDir()
	assets, _ := filepath.Abs(repoRoot)
	e := &updEnv{t: t, dir: dir, data: filepath.Join(dir, "data"), cfg: filepath.Join(dir, "config.json"),
		stick: filepath.Join(dir, "usb"), assets: assets}
	e.key, e.pub = devKey(t, keyName)
	os.Mkdir(e.stick, 0o755)
	cfg := fmt.Sprintf(`{"update": {"keys": [%q], "allow_http": true, "trial_boots": 2}}`, e.pub)
	if err := os.WriteFile(e.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *updEnv) inProc(args ...string) (string, int) {
	var out bytes.Buffer
	code := run(args, &out, &out)
	return out.String(), code
}

// pos runs a pos binary as the technician would, with this terminal's
// configuration and data.
func (e *updEnv) pos(bin string, args ...string) (string, int) {
	e.t.Helper()
	cmd := exec.Command(bin, append(args, "--config", e.cfg, "--data", e.data)...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatal(err)
	}
	return string(out), code
}

// bundle signs bin as version v for the sim board onto the stick.
func (e *updEnv) bundle(bin, v string, extra ...string) string {
	e.t.Helper()
	out := filepath.Join(e.stick, "pos-"+v+".bundle")
	copyFile(e.t, e.made(bin, v, "sim", extra...), out)
	return out
}

// made is pos bundle create's bundle, made once per key and arguments.
func (e *updEnv) made(bin, v, board string, extra ...string) string {
	e.t.Helper()
	id := strings.Join(append([]string{e.key, bin, v, board}, extra...), "\x00")
	posBuilds.Lock()
	defer posBuilds.Unlock()
	if b, ok := posBuilds.bundles[id]; ok {
		return b
	}
	out := filepath.Join(buildDir(e.t), fmt.Sprintf("made-%d.bundle", len(posBuilds.bundles)))
	args := append([]string{"bundle", "create", "--key", e.key, "--version", v, "--board", board, "--out", out}, extra...)
	if o, code := e.inProc(append(args, bin)...); code != 0 {
		e.t.Fatalf("bundle create %s: %s", v, o)
	}
	posBuilds.bundles[id] = out
	return out
}

func copyFile(t *testing.T, from, to string) {
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

type slotsJSON struct {
	Running string `json:"running"`
	Active  string `json:"active"`
	Floor   string `json:"floor"`
	SetUp   bool   `json:"set_up"`
	Trial   *bootslot.Trial
	Events  []bootslot.Event `json:"events"`
	A, B    struct{ State, Version, Reason string }
}

func (s slotsJSON) slot(name string) struct{ State, Version, Reason string } {
	if name == "A" {
		return s.A
	}
	return s.B
}

func (e *updEnv) status() slotsJSON {
	e.t.Helper()
	out, code := e.inProc("update", "status", "--json", "--config", e.cfg, "--data", e.data)
	var s slotsJSON
	if code != 0 || json.Unmarshal([]byte(out), &s) != nil {
		e.t.Fatalf("update status: exit %d\n%s", code, out)
	}
	return s
}

// boot is pos boot running the terminal headless from its slots.
type bootProc struct {
	cmd *exec.Cmd
	out *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (e *updEnv) boot(bin string) *bootProc {
	e.t.Helper()
	cmd := exec.Command(bin, "boot", "--config", e.cfg, "--data", e.data, "--backoff", "50ms", "--",
		"run", "--headless", "--config", e.cfg, "--data", e.data, "--assets", e.assets)
	b := &bootProc{cmd: cmd, out: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = b.out, b.out
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { b.stop() })
	return b
}

func (b *bootProc) stop() {
	if b.cmd.ProcessState != nil {
		return
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		b.cmd.Process.Kill()
		<-done
	}
}

// until polls the slots' status until ok, or fails with what boot said.
func (e *updEnv) until(b *bootProc, what string, ok func(slotsJSON) bool) slotsJSON {
	e.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		s := e.status()
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: not within 60 s; status %+v\npos boot:\n%s", what, s, b.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestUpdateTrialAndRollback is the technician's update on the desktop,
// through the real binaries: 1.0.0 installs 1.1.0 from a USB stick, 1.1.0
// boots on trial, passes its self-test and marks itself good, and the
// floor rises; then a release that crashes at start, and one that fails
// its self-test, each go back to 1.1.0 and say why. The journal stays.
func TestUpdateTrialAndRollback(t *testing.T) {
	e := newUpdEnv(t, "dev")
	v100, v110 := posBuild(t, "1.0.0"), posBuild(t, "1.1.0")
	// 1.0.0 runs first, as a terminal in the field: its journal exists.
	b := e.boot(v100)
	e.until(b, "1.0.0 adopted", func(s slotsJSON) bool { return s.SetUp && s.A.Version == "1.0.0" && s.Active == "A" })
	waitFor(t, b, "terminal started", func() bool {
		return fileContains(filepath.Join(e.data, "pos.log"), `msg="terminal started" version=1.0.0`)
	})
	b.stop()
	journalBefore := fileSize(t, filepath.Join(e.data, "journal.db"))

	e.bundle(v110, "1.1.0")
	e.bundle(posBuild(t, "1.0.0"), "1.0.0") // older: the stick's newest fitting bundle wins
	if out, code := e.pos(v100, "update", "verify", filepath.Join(e.stick, "pos-1.1.0.bundle")); code != 0 || !strings.Contains(out, "accepted") {
		t.Fatalf("verify: exit %d\n%s", code, out)
	}
	out, code := e.pos(v100, "update", "apply", "--json", e.stick)
	if code != 0 {
		t.Fatalf("apply: exit %d\n%s", code, out)
	}
	var last map[string]any
	stages := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if json.Unmarshal([]byte(line), &last) != nil {
			t.Fatalf("not a JSON progress stream:\n%s", out)
		}
		stages[last["stage"].(string)] = true
	}
	if !stages["found"] || !stages["install"] || last["stage"] != "installed" || last["version"] != "1.1.0" || last["slot"] != "B" {
		t.Fatalf("apply --json stream:\n%s", out)
	}
	s := e.status()
	if s.Trial == nil || s.Trial.Version != "1.1.0" || s.B.State != bootslot.StateReady || s.Active != "A" {
		t.Fatalf("after apply: %+v", s)
	}

	b = e.boot(v100) // pos boot of the old version starts the new one
	s = e.until(b, "1.1.0 marked good", func(s slotsJSON) bool { return s.B.State == bootslot.StateGood && s.Trial == nil })
	b.stop()
	if s.Active != "B" || s.Floor != "1.1.0" || s.A.State != bootslot.StateGood {
		t.Fatalf("after the trial: %+v", s)
	}
	if got := fileSize(t, filepath.Join(e.data, "journal.db")); got < journalBefore {
		t.Errorf("journal shrank over the update: %d → %d bytes", journalBefore, got)
	}
	if out, _ := e.inProc("selftest", "--last", "--json", "--data", e.data, "--config", e.cfg); !strings.Contains(out, `"version": "1.1.0"`) {
		t.Errorf("the trial's self-test is not in the journal:\n%s", out)
	}

	// Below the floor now: 1.0.0 is refused, by the running 1.1.0 too.
	slotB := filepath.Join(e.data+"-slots", "B", "pos")
	if out, code := e.pos(slotB, "update", "verify", filepath.Join(e.stick, "pos-1.0.0.bundle")); code == 0 || !strings.Contains(out, "downgrade") {
		t.Fatalf("1.0.0 below floor 1.1.0: exit %d\n%s", code, out)
	}

	// A release that dies at start: a program that is not a terminal.
	broken := filepath.Join(e.dir, "broken")
	os.WriteFile(broken, []byte("#!/bin/sh\n# pos 1.2.0\necho 'panic: broken release' >&2\nexit 2\n"), 0o755)
	e.bundle(broken, "1.2.0", "--arch", platform())
	if out, code := e.pos(slotB, "update", "apply", filepath.Join(e.stick, "pos-1.2.0.bundle")); code != 0 {
		t.Fatalf("apply 1.2.0: exit %d\n%s", code, out)
	}
	b = e.boot(slotB)
	s = e.until(b, "1.2.0 rolled back", func(s slotsJSON) bool { return s.A.State == bootslot.StateBad && s.Active == "B" })
	waitFor(t, b, "1.1.0 running again", func() bool {
		return strings.Count(readFile(filepath.Join(e.data, "pos.log")), `msg="terminal started" version=1.1.0`) >= 2
	})
	b.stop()
	if s.A.Version != "1.2.0" || s.A.Reason == "" || !hasEvent(s, bootslot.EventRolledBack, "1.2.0") {
		t.Fatalf("after the crashing trial: %+v", s)
	}
	if !strings.Contains(b.out.String(), "1.2.0") {
		t.Errorf("pos boot did not say what it rolled back:\n%s", b.out.String())
	}

	// A release that starts but fails its own self-test: here the
	// printer cannot save receipts, as a broken driver would fail it.
	v130 := posBuild(t, "1.3.0")
	e.bundle(v130, "1.3.0")
	if out, code := e.pos(slotB, "update", "apply", filepath.Join(e.stick, "pos-1.3.0.bundle")); code != 0 {
		t.Fatalf("apply 1.3.0: exit %d\n%s", code, out)
	}
	receipts := filepath.Join(e.data, "receipts")
	os.RemoveAll(receipts)
	os.WriteFile(receipts, []byte("not a directory"), 0o600)
	b = e.boot(slotB)
	s = e.until(b, "1.3.0 rolled back", func(s slotsJSON) bool { return s.A.State == bootslot.StateBad && s.A.Version == "1.3.0" })
	if !strings.Contains(s.A.Reason, "printer") || s.Active != "B" || s.Floor != "1.1.0" {
		t.Fatalf("after the failed self-test: %+v", s)
	}
	waitFor(t, b, "the notice", func() bool { return fileContains(filepath.Join(e.data, "pos.log"), "rolled back from 1.3.0 to 1.1.0") })
	b.stop()
	// The start of 1.1.0 after it told the technician why, once.
	os.Remove(receipts)
	if n, rolled := bootNotice(mustBoard(t, "sim"), e.data); n != "" || len(rolled) > 0 {
		t.Errorf("boot notice shown twice: %q %v", n, rolled)
	}
}

// slowWriter is a link of a few MB/s.
type slowWriter struct{ http.ResponseWriter }

func (w slowWriter) Write(p []byte) (int, error) {
	time.Sleep(time.Duration(len(p)) * time.Second / (16 << 20))
	return w.ResponseWriter.Write(p)
}

func hasEvent(s slotsJSON, kind, version string) bool {
	for _, ev := range s.Events {
		if ev.Kind == kind && ev.Version == version {
			return true
		}
	}
	return false
}

func waitFor(t *testing.T, b *bootProc, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 60 s\npos boot:\n%s", what, b.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}

func fileContains(p, s string) bool { return strings.Contains(readFile(p), s) }

func fileSize(t *testing.T, p string) int64 {
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// TestUpdateRefusals: pos update verify and apply refuse, name the reason,
// and install nothing: another key, another board, a damaged file, work
// the terminal still owes.
func TestUpdateRefusals(t *testing.T) {
	e := newUpdEnv(t, "dev")
	v100, v110 := posBuild(t, "1.0.0"), posBuild(t, "1.1.0")
	good := e.bundle(v110, "1.1.0")
	stranger := newUpdEnv(t, "stranger")
	unknown := stranger.bundle(v110, "1.1.0")
	otherBoard := e.made(v110, "1.1.0", "rpi4-pos")
	data, _ := os.ReadFile(good)
	truncated := filepath.Join(e.dir, "truncated.bundle")
	os.WriteFile(truncated, data[:len(data)*2/3], 0o644)
	corrupt := filepath.Join(e.dir, "corrupt.bundle")
	bad := bytes.Clone(data)
	bad[len(bad)*2/3] ^= 0x20
	os.WriteFile(corrupt, bad, 0o644)
	if out, code := e.inProc("bundle", "create", "--key", e.key, "--version", "1.2.0", "--board", "sim", "--out", filepath.Join(e.dir, "x.bundle"), v110); code == 0 {
		t.Fatalf("bundle create signed a 1.1.0 binary as 1.2.0:\n%s", out)
	}
	for _, c := range []struct{ file, reason string }{
		{unknown, "unknown-key"}, {otherBoard, "wrong-board"}, {truncated, "truncated"}, {corrupt, "corrupt"},
		{filepath.Join(e.dir, "config.json"), "not-a-bundle"},
	} {
		out, code := e.pos(v100, "update", "verify", c.file)
		if code == 0 || !strings.Contains(out, c.reason) {
			t.Errorf("verify %s: exit %d, want the reason %s\n%s", filepath.Base(c.file), code, c.reason, out)
		}
		out, code = e.pos(v100, "update", "apply", "--json", c.file)
		if code == 0 || !strings.Contains(out, `"reason":"`+c.reason+`"`) {
			t.Errorf("apply %s: exit %d, want the reason %s\n%s", filepath.Base(c.file), code, c.reason, out)
		}
		if s := e.status(); s.Trial != nil || s.B.State == bootslot.StateReady {
			t.Fatalf("%s: something was installed: %+v", c.file, s)
		}
	}
	// Work owed: the update waits, before a byte is written. A sale in
	// the open batch asks to settle first; a sale the terminal died in the
	// middle of owes the host a reversal.
	c := newCrashEnv(t)
	c.run("setup", "", "")
	c.run("op", scriptSale(2500), "")
	apply := func(data string) string {
		out, err := exec.Command(v100, "update", "apply", good, "--config", e.cfg, "--data", data).CombinedOutput()
		if err == nil {
			t.Fatalf("apply with work owed succeeded:\n%s", out)
		}
		if s := e.status(); s.Trial != nil {
			t.Fatalf("installed with work owed: %+v", s)
		}
		return string(out)
	}
	if out := apply(c.data); !strings.Contains(out, "settle first") {
		t.Errorf("open batch:\n%s", out)
	}
	c.run("op", scriptSale(1234), "sale.reply")
	if out := apply(c.data); !strings.Contains(out, "reversal(s) owed") {
		t.Errorf("reversal owed:\n%s", out)
	}
}

// TestUpdateFromServer: the acquirer's host asks the terminal to fetch
// software in its sign-on reply; the terminal's update server offers the
// newest bundle for it, and the download resumes after cuts.
func TestUpdateFromServer(t *testing.T) {
	e := newUpdEnv(t, "dev")
	v100, v110 := posBuild(t, "1.0.0"), posBuild(t, "1.1.0")
	e.bundle(v110, "1.1.0")
	us := hostsim.NewUpdateServer(e.stick)
	srv := httptest.NewServer(us)
	defer srv.Close()
	if !us.TMSDownload("10000001") {
		t.Fatal("a terminal that never asked is not asked to download")
	}
	out, code := e.pos(v100, "update", "apply", "--json", srv.URL)
	if code != 0 {
		t.Fatalf("apply from %s: exit %d\n%s", srv.URL, code, out)
	}
	for _, want := range []string{`"stage":"offer"`, `"version":"1.1.0"`, `"stage":"download"`, `"stage":"installed"`} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in\n%s", want, out)
		}
	}
	if us.Served("pos-1.1.0.bundle") != 1 {
		t.Errorf("served %d times", us.Served("pos-1.1.0.bundle"))
	}
	if s := e.status(); s.Trial == nil || s.Trial.Version != "1.1.0" {
		t.Fatalf("after apply: %+v", s)
	}
	if _, err := os.Stat(filepath.Join(e.data+"-slots", "download", "pos-1.1.0.bundle")); !os.IsNotExist(err) {
		t.Error("the downloaded bundle is kept after it was installed")
	}
	// Running 1.1.0, the server has nothing newer.
	slotB := filepath.Join(e.data+"-slots", "B", "pos")
	if out, code := e.pos(slotB, "update", "apply", srv.URL); code != 0 || !strings.Contains(out, "up to date") {
		t.Fatalf("up to date: exit %d\n%s", code, out)
	}
	if out, code := e.pos(v100, "update", "apply", strings.Replace(srv.URL, "http:", "https:", 1)); code == 0 {
		t.Fatalf("https to a plain server succeeded:\n%s", out)
	}
}

// TestUpdatePowerCut kills pos update apply at random moments of its
// download and install (-update-cuts, 6 in make test; make reliability
// runs 100): the terminal always boots a whole program, the old one
// unless the install finished, and the next apply completes.
func TestUpdatePowerCut(t *testing.T) {
	e := newUpdEnv(t, "dev")
	v100, v110 := posBuild(t, "1.0.0"), posBuild(t, "1.1.0")
	e.bundle(v110, "1.1.0")
	srv := httptest.NewServer(hostsim.NewUpdateServer(e.stick))
	defer srv.Close()
	// How long a whole apply takes here, to cut inside it.
	start := time.Now()
	if out, code := e.pos(v100, "update", "apply", srv.URL); code != 0 {
		t.Fatalf("apply: %s", out)
	}
	whole := time.Since(start)
	start = time.Now()
	if out, code := e.pos(v100, "update", "apply", filepath.Join(e.stick, "pos-1.1.0.bundle")); code != 0 {
		t.Fatalf("apply: %s", out)
	}
	wholeFile := time.Since(start)
	rnd := newRand(t)
	cuts, old, new := *updateCuts, 0, 0
	for i := 0; i < cuts; i++ {
		source, took := srv.URL, whole
		if i%2 == 1 {
			source, took = filepath.Join(e.stick, "pos-1.1.0.bundle"), wholeFile
		}
		cmd := exec.Command(v100, "update", "apply", source, "--config", e.cfg, "--data", e.data)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rnd.Int64N(int64(took) * 11 / 10)))
		cmd.Process.Kill()
		cmd.Wait()
		// Power back: pos boot runs whatever it chooses; it must be whole.
		out, err := exec.Command(v100, "boot", "--config", e.cfg, "--data", e.data, "--backoff", "10ms", "--", "version").CombinedOutput()
		switch {
		case err != nil:
			t.Fatalf("cut %d (after %v): boot failed: %v\n%s", i, whole, err, out)
		case strings.Contains(string(out), "pos 1.1.0 "):
			new++
		case strings.Contains(string(out), "pos 1.0.0 "):
			old++
		default:
			t.Fatalf("cut %d: boot ran something else:\n%s", i, out)
		}
		if s := e.status(); s.A.State != bootslot.StateGood || s.A.Version != "1.0.0" || s.Active != "A" {
			t.Fatalf("cut %d: the running slot was touched: %+v", i, s)
		}
	}
	t.Logf("%d cuts inside applies of %v (server) and %v (file): %d booted 1.0.0, %d the installed 1.1.0 on trial",
		cuts, whole.Round(time.Millisecond), wholeFile.Round(time.Millisecond), old, new)
	// After all that, an apply completes and the trial boots 1.1.0.
	if out, code := e.pos(v100, "update", "apply", srv.URL); code != 0 {
		t.Fatalf("apply after the cuts: %s", out)
	}
	out, err := exec.Command(v100, "boot", "--config", e.cfg, "--data", e.data, "--", "version").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "pos 1.1.0 ") {
		t.Fatalf("boot after the cuts: %v\n%s", err, out)
	}
}

var updateCuts = flag.Int("update-cuts", 6, "power cuts of pos update apply (make reliability sets 100)")

func newRand(t *testing.T) *rand.Rand {
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	t.Logf("seed %d (-seed to replay)", seed)
	return rand.New(rand.NewPCG(uint64(seed), 0))
}

func mustBoard(t *testing.T, name string) *board.Desc {
	d, err := board.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestUpdateFromTheMenu: the terminal's own screens. The acquirer's
// sign-on reply carries "TMS download"; the supervisor sees the notice,
// opens Maintenance › 软件更新, is offered the version, and installs it
// with a progress bar; a bundle the terminal must refuse says why in
// Chinese and installs nothing. Enter restarts into the trial.
func TestUpdateFromTheMenu(t *testing.T) {
	e := newUpdEnv(t, "dev")
	v110 := posBuild(t, "1.1.0")
	// First on the server: 1.1.0 signed by a key this terminal does not know.
	stranger := newUpdEnv(t, "stranger")
	os.Rename(stranger.bundle(v110, "1.1.0"), filepath.Join(e.stick, "pos-1.1.0.bundle"))
	us := hostsim.NewUpdateServer(e.stick)
	// A slow link, so the progress screen is there to be seen.
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		us.ServeHTTP(slowWriter{w}, req)
	}))
	defer web.Close()
	sim, err := hostsim.New(hostsim.Options{DBPath: filepath.Join(e.dir, "hostsim.db"), TMK: seckey.SimulatorTMK(),
		KeyMode: seckey.DoubleWithTDK, MAC: seckey.MACCUPECB, TMSDownload: us.TMSDownload})
	if err != nil {
		t.Fatal(err)
	}
	defer sim.Close()
	addr, err := sim.ListenAndServe("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Host.InProcess, cfg.Host.Address, cfg.Host.KeyMode, cfg.Demo = false, addr.String(), "double+tdk", true
	cfg.Update.Server, cfg.Update.AllowHTTP, cfg.Update.Keys = web.URL, true, []string{e.pub}
	r, err := startRig(rigOptions{cfg: cfg, desc: mustBoard(t, "sim"), at: place{data: e.data, secrets: filepath.Join(e.dir, "secrets"), assets: e.assets}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	step := func(script string) {
		t.Helper()
		s, err := scenario.Parse("menu", script)
		if err == nil {
			err = s.Run(r)
		}
		if err != nil {
			t.Fatalf("%v\n%s", err, r.Screen())
		}
	}
	step(`type 00
press enter
type 123456
press enter
type 802419
press enter
type 802419
press enter
press enter
expect screen "主菜单"
press 4 4
expect screen "收单机构通知:有新软件"
press enter
expect screen "收单机构通知:有新软件"
press 5
expect screen "1.1.0"
expect screen "确认=下载安装"
press enter
expect screen "E601 更新被拒绝"
expect screen "签名密钥不受信任"
press enter`)
	if s := e.status(); s.Trial != nil {
		t.Fatalf("a refused bundle was installed: %+v", s)
	}
	e.bundle(v110, "1.1.0") // now signed with the terminal's key
	var seen []string
	stopWatch := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(2 * time.Millisecond):
				if sc := r.Screen(); strings.Contains(sc, "%") && (len(seen) == 0 || seen[len(seen)-1] != sc) {
					seen = append(seen, sc)
				}
			}
		}
	}()
	step(`press 5
expect screen "1.1.0"
press enter
expect screen "新版本 1.1.0 已安装"
expect screen "确认=立即重启"`)
	close(stopWatch)
	<-watched
	if len(seen) > 0 {
		t.Logf("%d progress screens; one of them:\n%s", len(seen), seen[len(seen)/2])
	}
	if len(seen) < 2 || !strings.Contains(seen[0], "正在下载") || !strings.Contains(strings.Join(seen, ""), "KB/s") {
		t.Errorf("no progress bar on the way: %d screens\n%s", len(seen), strings.Join(seen, "\n---\n"))
	}
	if s := e.status(); s.Trial == nil || s.Trial.Version != "1.1.0" {
		t.Fatalf("after the menu install: %+v", s)
	}
	if strings.Contains(r.Screen(), "收单机构通知") {
		t.Error("the acquirer's notice stays after the update was handled")
	}
	r.Press(hal.KeyEnter)
	select {
	case err := <-r.done:
		r.done <- err
		if !errors.Is(err, terminal.ErrRestart) {
			t.Fatalf("Enter ended the terminal with %v, want a restart", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("Enter did not restart:\n%s", r.Screen())
	}
}

// TestSelfTestJSON: pos selftest --json is one report a script reads:
// every device of the board, the host link with its round trip, the
// storage, the clock and the software slots, each with its verdict; it
// is kept in the journal, and --last gives it back.
func TestSelfTestJSON(t *testing.T) {
	e := newUpdEnv(t, "dev")
	slots, err := bootslot.Open(e.data + "-slots")
	if err != nil {
		t.Fatal(err)
	}
	if err := slots.Adopt(posBuild(t, "1.0.0"), "1.0.0"); err != nil {
		t.Fatal(err)
	}
	out, code := e.inProc("selftest", "--json", "--assets", e.assets, "--config", e.cfg, "--data", e.data)
	var rep selfTestReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON (exit %d):\n%s", code, out)
	}
	byDevice := map[string]terminal.ResultJSON{}
	for _, r := range rep.Results {
		byDevice[r.Device] = r
	}
	for _, dev := range []string{"display", "keypad", "scanner", "card reader", "printer", "indicator", "host link", "storage", "clock", "update slots"} {
		r, ok := byDevice[dev]
		if !ok {
			t.Errorf("no %s in the report", dev)
			continue
		}
		if r.OK == r.Skipped && r.Verdict != "FAIL" || r.Detail == "" {
			t.Errorf("%s: %+v", dev, r)
		}
	}
	if code != 0 || !rep.OK || rep.Failed != 0 || rep.Passed+rep.Skipped != len(rep.Results) || rep.Board != "sim" {
		t.Fatalf("exit %d, report %+v", code, rep)
	}
	for _, dev := range []string{"host link", "storage", "update slots", "scanner", "printer"} {
		if !byDevice[dev].OK {
			t.Errorf("%s not OK on the simulator: %+v", dev, byDevice[dev])
		}
	}
	if !strings.Contains(byDevice["host link"].Detail, "echo") {
		t.Errorf("host link without its echo: %+v", byDevice["host link"])
	}
	// The desktop's keyboard and screen have no self-test: not OK.
	if !byDevice["keypad"].Skipped || byDevice["keypad"].Verdict != "not tested" {
		t.Errorf("keypad: %+v", byDevice["keypad"])
	}
	last, code := e.inProc("selftest", "--last", "--json", "--config", e.cfg, "--data", e.data)
	if code != 0 || !strings.Contains(last, `"host link"`) || !strings.Contains(last, `"update slots"`) {
		t.Fatalf("--last: exit %d\n%s", code, last)
	}
}
