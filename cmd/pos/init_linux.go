package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pos as the first process of the terminal image (make image): the kernel
// runs /init, which is this binary. It mounts what the terminal needs,
// loads the kernel modules of the virtual or real hardware, mounts the
// data partition, and runs pos boot (the slot supervisor) on the console;
// when that ends, it syncs, unmounts and powers off. It never returns: a
// first process that exits panics the kernel.
//
// Kernel command line: pos.board=NAME (default qemu-virt), pos.data=DEV
// (default /dev/vda), pos.console=TTY (default ttyAMA0), pos.config=NAME
// (/usr/share/pos/NAME.json; default config, when the image has one),
// pos.ip=ADDR/BITS (eth0's address: the acquirer is on that network),
// pos.mutant=NAME (a planted bug, in a make mutants image only).

// initAssets is where the image keeps the board's relative paths
// (testdata/codes and the like for the emulated terminal's fakes).
const initAssets = "/usr/share/pos"

func isFirstProcess() bool {
	return os.Getpid() == 1 && filepath.Base(os.Args[0]) == "init"
}

func firstProcess(stderr io.Writer) int {
	start := time.Now()
	say := func(f string, a ...any) { fmt.Fprintf(stderr, "pos init: "+f+"\n", a...) }
	for _, m := range []struct{ src, dir, typ, opts string }{
		{"proc", "/proc", "proc", ""}, {"sysfs", "/sys", "sysfs", ""}, {"devtmpfs", "/dev", "devtmpfs", "mode=0755"},
		{"tmpfs", "/tmp", "tmpfs", "mode=1777"}, {"tmpfs", "/run", "tmpfs", "mode=0755"},
	} {
		os.MkdirAll(m.dir, 0o755)
		if err := syscall.Mount(m.src, m.dir, m.typ, syscall.MS_NOSUID, m.opts); err != nil && !errors.Is(err, syscall.EBUSY) {
			say("mount %s: %v", m.dir, err)
		}
	}
	params := kernelParams()
	board, dataDev, tty := params["pos.board"], params["pos.data"], params["pos.console"]
	if board == "" {
		board = "qemu-virt"
	}
	if dataDev == "" {
		dataDev = "/dev/vda"
	}
	if tty == "" {
		tty = "ttyAMA0"
	}
	loadModules(say)
	if ip := params["pos.ip"]; ip != "" {
		if err := configureNetwork("eth0", ip); err != nil {
			say("network: %v; the terminal will show the host as unreachable", err)
		}
	}
	if err := mountData(dataDev); err != nil {
		say("the data partition %s cannot be mounted: %v; the terminal cannot keep transactions and does not start", dataDev, err)
		powerOff(say, 30*time.Second)
	}
	say("up in %v, %s s after the kernel started; board %s", time.Since(start).Round(time.Millisecond), uptime(), board)
	cfg := params["pos.config"]
	if cfg == "" {
		cfg = "config"
	}
	code := superviseOnConsole(board, "/dev/"+tty, cfg, params["pos.mutant"], say)
	say("pos boot ended (%d); powering off", code)
	powerOff(say, 0)
	return 0
}

// uptime is /proc/uptime's seconds since the kernel started.
func uptime() string {
	b, _ := os.ReadFile("/proc/uptime")
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

func kernelParams() map[string]string {
	out := map[string]string{}
	b, _ := os.ReadFile("/proc/cmdline")
	for _, f := range strings.Fields(string(b)) {
		if k, v, ok := strings.Cut(f, "="); ok {
			out[k] = v
		}
	}
	return out
}

// loadModules loads /lib/modules/*.ko in the order /lib/modules/load
// lists them (the image builder resolved their dependencies).
func loadModules(say func(string, ...any)) {
	f, err := os.Open("/lib/modules/load")
	if err != nil {
		return // everything built in
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name := strings.TrimSpace(sc.Text())
		if name == "" || strings.HasPrefix(name, "#") {
			continue
		}
		m, err := os.Open(filepath.Join("/lib/modules", name+".ko"))
		if err != nil {
			say("module %s: %v", name, err)
			continue
		}
		if err := unix.FinitModule(int(m.Fd()), "", 0); err != nil && !errors.Is(err, unix.EEXIST) {
			say("module %s: %v", name, err)
		}
		m.Close()
	}
}

// mountData waits for the disk to appear (a module probes it) and mounts
// it with the journal's ordering guarantees.
func mountData(dev string) error {
	os.MkdirAll("/data", 0o755)
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if err = syscall.Mount(dev, "/data", "ext4", syscall.MS_NOATIME|syscall.MS_NODEV|syscall.MS_NOSUID, "data=ordered"); err == nil {
			for _, d := range []string{"/data/pos", "/data/slots", "/data/secure", "/data/home"} {
				os.MkdirAll(d, 0o700)
			}
			return nil
		}
	}
	return err
}

// superviseOnConsole runs pos boot with the console as its controlling
// terminal (the screen and keys of the emulated terminal), and reaps
// every orphan until it ends.
func superviseOnConsole(board, tty, cfgName, mutant string, say func(string, ...any)) int {
	con, err := os.OpenFile(tty, os.O_RDWR, 0)
	if err != nil {
		say("console %s: %v", tty, err)
		return 1
	}
	defer con.Close()
	// A serial line has no size; the console screen needs one.
	unix.IoctlSetWinsize(int(con.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80})
	self, err := os.Executable()
	if err != nil {
		self = "/init"
	}
	args := []string{self, "boot", "--board", board, "--data", "/data/pos"}
	if cfg := filepath.Join(initAssets, cfgName+".json"); fileExists(cfg) {
		args = append(args, "--config", cfg)
	} else if cfgName != "config" {
		say("no configuration %s; starting on the defaults", cfg)
	}
	env := []string{"PATH=/usr/bin:/bin", "HOME=/data/home", "TERM=linux", "LANG=C.UTF-8"}
	if mutant != "" {
		env = append(env, "POS_MUTANT="+mutant)
	}
	p, err := os.StartProcess(self, args, &os.ProcAttr{
		Dir:   initAssets,
		Env:   env,
		Files: []*os.File{con, con, con},
		Sys:   &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0},
	})
	if err != nil {
		say("pos boot: %v", err)
		return 1
	}
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, 0, nil)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return 1
		}
		if pid == p.Pid {
			return ws.ExitStatus()
		}
	}
}

// configureNetwork brings lo and dev up with addr (a.b.c.d/bits), once
// the network driver has made dev appear. No route: the acquirer is on
// the link (qemu's user network forwards its address to the host).
func configureNetwork(dev, addr string) error {
	pfx, err := netip.ParsePrefix(addr)
	if err != nil || !pfx.Addr().Is4() {
		return fmt.Errorf("pos.ip=%s: want an IPv4 address with its prefix length, e.g. 10.0.2.15/24", addr)
	}
	for deadline := time.Now().Add(3 * time.Second); !fileExists("/sys/class/net/" + dev); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s (is virtio_net in the image?)", dev)
		}
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	up := func(name string) error {
		ifr, err := unix.NewIfreq(name)
		if err != nil {
			return err
		}
		if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
			return fmt.Errorf("%s flags: %w", name, err)
		}
		ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
		if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
			return fmt.Errorf("%s up: %w", name, err)
		}
		return nil
	}
	if err := up("lo"); err != nil {
		return err
	}
	set := func(req uint, ip net.IP) error {
		ifr, err := unix.NewIfreq(dev)
		if err != nil {
			return err
		}
		if err := ifr.SetInet4Addr(ip.To4()); err != nil {
			return err
		}
		return unix.IoctlIfreq(fd, req, ifr)
	}
	if err := set(unix.SIOCSIFADDR, pfx.Addr().AsSlice()); err != nil {
		return fmt.Errorf("%s address: %w", dev, err)
	}
	if err := set(unix.SIOCSIFNETMASK, net.IP(net.CIDRMask(pfx.Bits(), 32))); err != nil {
		return fmt.Errorf("%s netmask: %w", dev, err)
	}
	return up(dev)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func powerOff(say func(string, ...any), after time.Duration) {
	time.Sleep(after)
	unix.Sync()
	if err := syscall.Unmount("/data", 0); err != nil {
		say("unmount /data: %v", err)
	}
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {} // the first process never returns
}
