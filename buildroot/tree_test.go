// Package buildroot_test checks the BR2_EXTERNAL tree without Buildroot,
// which cannot be downloaded here: the files Buildroot requires, the
// names and variables it insists on, every path a defconfig names, the
// kernel options the terminal needs, and that the source tarball the
// package builds from compiles offline. docs/buildroot.md says how to
// build the image on a machine with Buildroot.
package buildroot_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const tree = "." // the test runs in buildroot/

var extPath = regexp.MustCompile(`\$\(?BR2_EXTERNAL_POS_PATH\)?/([^" ]+)`)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tree, path))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// inTree resolves a $(BR2_EXTERNAL_POS_PATH)/... reference.
func inTree(t *testing.T, ref, where string) string {
	t.Helper()
	p := filepath.Join(tree, ref)
	if _, err := os.Stat(p); err != nil {
		t.Errorf("%s names %s, which does not exist", where, ref)
	}
	return p
}

func TestExternalDesc(t *testing.T) {
	desc := read(t, "external.desc")
	m := regexp.MustCompile(`(?m)^name: *(\S+)\s*$`).FindStringSubmatch(desc)
	if m == nil || !regexp.MustCompile(`^[A-Za-z0-9_]+$`).MatchString(m[1]) || m[1] != "POS" {
		t.Fatalf("external.desc: name must be POS (only [A-Za-z0-9_]), got %q", desc)
	}
	if !regexp.MustCompile(`(?m)^desc: *\S`).MatchString(desc) {
		t.Error("external.desc: no desc:")
	}
	if mk := read(t, "external.mk"); !strings.Contains(mk, "$(BR2_EXTERNAL_POS_PATH)/package/*/*.mk") {
		t.Errorf("external.mk does not include the packages: %q", mk)
	}
}

func TestConfigInSourcesExist(t *testing.T) {
	top := read(t, "Config.in")
	srcs := regexp.MustCompile(`(?m)^source "\$BR2_EXTERNAL_POS_PATH/([^"]+)"`).FindAllStringSubmatch(top, -1)
	sourced := map[string]bool{}
	for _, s := range srcs {
		inTree(t, s[1], "Config.in")
		sourced[s[1]] = true
	}
	pkgs, _ := filepath.Glob(filepath.Join(tree, "package", "*"))
	if len(pkgs) == 0 {
		t.Fatal("no packages")
	}
	for _, p := range pkgs {
		name := filepath.Base(p)
		if !sourced["package/"+name+"/Config.in"] {
			t.Errorf("package %s: its Config.in is not sourced from Config.in", name)
		}
	}
}

// TestPackages: each package's .mk defines only its own variables, uses
// golang-package as current Buildroot wants it, and builds what exists.
func TestPackages(t *testing.T) {
	gomod := read(t, "../go.mod")
	module := regexp.MustCompile(`(?m)^module (\S+)`).FindStringSubmatch(gomod)[1]
	pkgs, _ := filepath.Glob(filepath.Join(tree, "package", "*"))
	for _, p := range pkgs {
		name := filepath.Base(p)
		upper := strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		mk := read(t, filepath.Join("package", name, name+".mk"))
		cfg := read(t, filepath.Join("package", name, "Config.in"))
		if !strings.Contains(cfg, "config BR2_PACKAGE_"+upper+"\n") {
			t.Errorf("%s: Config.in has no config BR2_PACKAGE_%s", name, upper)
		}
		vars := map[string]string{}
		for _, m := range regexp.MustCompile(`(?m)^([A-Z0-9_]+)\s*(\+=|:=|\?=|=)\s*(.*)$`).FindAllStringSubmatch(mk, -1) {
			if !strings.HasPrefix(m[1], upper+"_") {
				t.Errorf("%s.mk: variable %s is not %s_…", name, m[1], upper)
			}
			vars[m[1]] = m[3]
		}
		for _, m := range regexp.MustCompile(`BR2_PACKAGE_[A-Z0-9_]+`).FindAllString(mk, -1) {
			if !strings.Contains(cfg, "config "+m+"\n") {
				t.Errorf("%s.mk uses %s, which its Config.in does not define", name, m)
			}
		}
		if _, bad := vars[upper+"_INSTALL_BINS"]; bad {
			t.Errorf("%s.mk: _INSTALL_BINS is refused by current Buildroot", name)
		}
		if !strings.Contains(mk, "$(eval $(golang-package))") {
			t.Errorf("%s.mk: not a golang-package", name)
			continue
		}
		if !strings.Contains(cfg, "depends on BR2_PACKAGE_HOST_GO_TARGET_ARCH_SUPPORTS") {
			t.Errorf("%s: Config.in must depend on BR2_PACKAGE_HOST_GO_TARGET_ARCH_SUPPORTS", name)
		}
		if vars[upper+"_GOMOD"] != module {
			t.Errorf("%s.mk: GOMOD %q, go.mod says %q", name, vars[upper+"_GOMOD"], module)
		}
		for _, target := range strings.Fields(vars[upper+"_BUILD_TARGETS"]) {
			if _, err := os.Stat(filepath.Join(tree, "..", target)); err != nil {
				t.Errorf("%s.mk: build target %s does not exist", name, target)
			}
		}
		if !strings.Contains(vars[upper+"_LDFLAGS"], "-X main.version=$("+upper+"_VERSION)") {
			t.Errorf("%s.mk: the binary is not stamped with its version (update bundles check it)", name)
		}
	}
}

type defconfig struct {
	name string
	opts map[string]string
}

func defconfigs(t *testing.T) []defconfig {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(tree, "configs", "*_defconfig"))
	if len(files) < 2 {
		t.Fatalf("want the emulated and the buildable terminal's defconfigs, have %v", files)
	}
	line := regexp.MustCompile(`^(BR2_[A-Za-z0-9_]+)=(y|"[^"]*"|[0-9]+)$`)
	var out []defconfig
	for _, f := range files {
		d := defconfig{name: filepath.Base(f), opts: map[string]string{}}
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		for n := 1; sc.Scan(); n++ {
			l := sc.Text()
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			m := line.FindStringSubmatch(l)
			if m == nil {
				t.Errorf("%s:%d: not an option line: %q", d.name, n, l)
				continue
			}
			d.opts[m[1]] = strings.Trim(m[2], `"`)
		}
		fh.Close()
		out = append(out, d)
	}
	return out
}

func TestDefconfigs(t *testing.T) {
	for _, d := range defconfigs(t) {
		for opt, v := range d.opts {
			for _, m := range extPath.FindAllStringSubmatch(v, -1) {
				inTree(t, m[1], d.name+" "+opt)
			}
		}
		for _, need := range []string{"BR2_PACKAGE_POS", "BR2_PACKAGE_HOST_GO", "BR2_INIT_BUSYBOX", "BR2_TARGET_ROOTFS_SQUASHFS", "BR2_PACKAGE_HOST_GENIMAGE", "BR2_LINUX_KERNEL"} {
			if d.opts[need] != "y" {
				t.Errorf("%s: %s is not y", d.name, need)
			}
		}
		board := d.opts["BR2_PACKAGE_POS_BOARD"]
		if _, err := os.Stat(filepath.Join(tree, "..", "board", "boards", board+".json")); err != nil {
			t.Errorf("%s: board %q is not in board/boards", d.name, board)
		}
		for _, s := range []string{"BR2_ROOTFS_POST_BUILD_SCRIPT", "BR2_ROOTFS_POST_IMAGE_SCRIPT"} {
			m := extPath.FindStringSubmatch(d.opts[s])
			if m == nil {
				t.Errorf("%s: %s is not in the tree", d.name, s)
				continue
			}
			checkScript(t, m[1])
		}
		// The genimage layout: the read-only root and the data partition
		// the journal and the slots live on, labelled as fstab mounts it.
		m := extPath.FindStringSubmatch(d.opts["BR2_ROOTFS_POST_SCRIPT_ARGS"])
		if m == nil {
			t.Errorf("%s: no genimage.cfg in BR2_ROOTFS_POST_SCRIPT_ARGS", d.name)
			continue
		}
		g := read(t, m[1])
		for _, want := range []string{"partition rootfs", `image = "rootfs.squashfs"`, "partition data", `label = "data"`} {
			if !strings.Contains(g, want) {
				t.Errorf("%s: %s lacks %s", d.name, m[1], want)
			}
		}
		frags := d.opts["BR2_LINUX_KERNEL_CONFIG_FRAGMENT_FILES"]
		if !strings.Contains(frags, "board/common/linux.fragment") {
			t.Errorf("%s: the terminal's kernel fragment is not used", d.name)
		}
		for _, m := range extPath.FindAllStringSubmatch(frags, -1) {
			checkFragment(t, m[1])
		}
	}
}

func checkScript(t *testing.T, path string) {
	t.Helper()
	st, err := os.Stat(filepath.Join(tree, path))
	if err != nil {
		t.Error(err)
		return
	}
	if st.Mode()&0o111 == 0 {
		t.Errorf("%s is not executable", path)
	}
	s := read(t, path)
	if !strings.HasPrefix(s, "#!/bin/sh\n") || !strings.Contains(s, "\nset -e") {
		t.Errorf("%s: want #!/bin/sh and set -e", path)
	}
	if out, err := exec.Command("sh", "-n", filepath.Join(tree, path)).CombinedOutput(); err != nil {
		t.Errorf("%s: %v %s", path, err, out)
	}
}

var fragLine = regexp.MustCompile(`^(# CONFIG_[A-Z0-9_]+ is not set|CONFIG_[A-Z0-9_]+=(y|m|[0-9]+|"[^"]*"))$`)

func checkFragment(t *testing.T, path string) {
	t.Helper()
	for i, l := range strings.Split(strings.TrimRight(read(t, path), "\n"), "\n") {
		if l != "" && !fragLine.MatchString(l) && !strings.HasPrefix(l, "# ") {
			t.Errorf("%s:%d: not a kernel option: %q", path, i+1, l)
		}
	}
}

// TestKernelHasTheTerminalsDevices: framebuffer panels, the GPIO matrix
// keypad, the USB printer class, CDC-ACM, the UVC camera, a watchdog,
// and what the read-only root and the data partition need.
func TestKernelHasTheTerminalsDevices(t *testing.T) {
	frag := read(t, "board/common/linux.fragment")
	for _, opt := range []string{"CONFIG_FB", "CONFIG_KEYBOARD_MATRIX", "CONFIG_INPUT_EVDEV", "CONFIG_USB_PRINTER", "CONFIG_USB_ACM",
		"CONFIG_USB_VIDEO_CLASS", "CONFIG_WATCHDOG", "CONFIG_GPIO_CDEV", "CONFIG_SQUASHFS", "CONFIG_EXT4_FS", "CONFIG_VFAT_FS", "CONFIG_USB_STORAGE"} {
		if !regexp.MustCompile(`(?m)^` + opt + `=[ym]$`).MatchString(frag) {
			t.Errorf("board/common/linux.fragment: %s is not on", opt)
		}
	}
}

// TestRootfsOverlay: init starts the terminal through pos boot from the
// data partition, and offers no login.
func TestRootfsOverlay(t *testing.T) {
	inittab := read(t, "board/common/rootfs-overlay/etc/inittab")
	if !strings.Contains(inittab, "::respawn:/usr/sbin/pos-start") {
		t.Error("inittab does not respawn pos-start")
	}
	if strings.Contains(inittab, "getty") || strings.Contains(inittab, "/bin/sh") {
		t.Error("inittab offers a shell or a login on a payment terminal")
	}
	checkScript(t, "board/common/rootfs-overlay/usr/sbin/pos-start")
	start := read(t, "board/common/rootfs-overlay/usr/sbin/pos-start")
	if !strings.Contains(start, "exec /usr/bin/pos boot") || !strings.Contains(start, "--data /data/pos") {
		t.Errorf("pos-start does not run pos boot on the data partition:\n%s", start)
	}
	fstab := read(t, "board/common/rootfs-overlay/etc/fstab")
	if !regexp.MustCompile(`(?m)^LABEL=data\s+/data\s+ext4\s`).MatchString(fstab) || !regexp.MustCompile(`(?m)^/dev/root\s+/\s+\S+\s+ro\s`).MatchString(fstab) {
		t.Errorf("fstab: want a read-only root and LABEL=data on /data:\n%s", fstab)
	}
	// rpi4-pos.json keeps its secrets and slots where the image puts them.
	board := read(t, "../board/boards/rpi4-pos.json")
	if !strings.Contains(board, `"slots": "/data/slots"`) || !strings.Contains(board, `"secrets": "/var/lib/pos-secure"`) {
		t.Error("board rpi4-pos: slots and secrets are not where the image keeps them")
	}
	if pb := read(t, "board/common/post-build.sh"); !strings.Contains(pb, `ln -sfn /data/secure "$TARGET/var/lib/pos-secure"`) {
		t.Error("post-build.sh does not put /var/lib/pos-secure on the data partition")
	}
}

// TestSourceTarballBuildsOffline: the package's source, made by
// `make source-dist`, compiles for the terminal with Buildroot's Go
// environment: vendored modules, no proxy.
func TestSourceTarballBuildsOffline(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	if err := exec.Command("git", "-C", "..", "rev-parse", "HEAD").Run(); err != nil {
		t.Skip("not a git checkout")
	}
	mk := read(t, "package/pos/pos.mk")
	if !strings.Contains(mk, "POS_SOURCE = pos-src-$(POS_VERSION).tar.gz") || !strings.Contains(mk, "POS_SITE = $(BR2_EXTERNAL_POS_PATH)/../dist") {
		t.Fatal("pos.mk does not build from make source-dist's tarball")
	}
	dir := t.TempDir()
	out, err := exec.Command("../scripts/source-dist.sh", dir, "1.2.3").CombinedOutput()
	if err != nil {
		t.Fatalf("source-dist: %v\n%s", err, out)
	}
	src := filepath.Join(dir, "src")
	os.Mkdir(src, 0o755)
	if out, err := exec.Command("tar", "-xzf", filepath.Join(dir, "pos-src-1.2.3.tar.gz"), "-C", src).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	bin := filepath.Join(dir, "pos")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w -X main.version=1.2.3", "-o", bin, "./cmd/pos")
	cmd.Dir = filepath.Join(src, "pos-src-1.2.3")
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=vendor", "GOPROXY=off", "GOARCH=arm", "GOARM=7", "CGO_ENABLED=0", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("offline build: %v\n%s", err, out)
	}
	if st, err := os.Stat(bin); err != nil || st.Size() < 1<<20 {
		t.Fatalf("no binary: %v", err)
	}
}
