package main

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/shoukuan/pos/app/bootslot"
	"github.com/shoukuan/pos/app/terminal"
	"github.com/shoukuan/pos/app/update"
)

const bundleUsage = `usage: pos bundle keygen PRIVATE.pem PUBLIC.pem
       pos bundle create --key PRIVATE.pem --version V --board B [--board B2 ...] [--arch OS/ARCH ...]
                         [--min-version V] [--floor V] [--notes FILE] [--created RFC3339] --out OUT.bundle POS_BINARY

keygen  makes an Ed25519 release key pair in PEM (openssl reads both).
create  signs POS_BINARY into an update bundle (docs/update-bundle.md). The
        architecture comes from the binary's ELF header unless --arch says;
        the binary must carry the version it is stamped with. --created
        (default: $SOURCE_DATE_EPOCH, else now) makes the bundle reproducible.
`

func cmdBundle(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "keygen" && args[0] != "create" {
		fmt.Fprint(stderr, bundleUsage)
		return flag.ErrHelp
	}
	if args[0] == "keygen" {
		if len(args) != 3 {
			fmt.Fprint(stderr, bundleUsage)
			return flag.ErrHelp
		}
		id, err := update.GenerateKeyFiles(args[1], args[2])
		if err != nil {
			return fmt.Errorf("bundle keygen: %w", err)
		}
		fmt.Fprintf(stdout, "key %s: private %s (keep it offline), public %s (add it to update.keys or the release keyring)\n", id, args[1], args[2])
		return nil
	}
	fs := newFlagSet("bundle create", stderr)
	key := fs.String("key", "", "private key (PEM)")
	ver := fs.String("version", "", "software version inside (MAJOR.MINOR.PATCH)")
	var boards, arches multiFlag
	fs.Var(&boards, "board", "a board the bundle is for (repeat)")
	fs.Var(&arches, "arch", "OS/ARCH it runs on (repeat; default: from the binary)")
	minVersion := fs.String("min-version", "", "oldest running version it may replace")
	floor := fs.String("floor", "", "version floor the terminal adopts once it is good (default: --version)")
	notesFile := fs.String("notes", "", "release notes file (UTF-8)")
	created := fs.String("created", "", "creation time, RFC 3339 (default: $SOURCE_DATE_EPOCH or now)")
	out := fs.String("out", "", "bundle to write")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 || *key == "" || *ver == "" || len(boards) == 0 || *out == "" {
		fmt.Fprint(stderr, bundleUsage)
		return flag.ErrHelp
	}
	priv, err := update.LoadPrivateKey(*key)
	if err != nil {
		return err
	}
	bin, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	v, err := update.ParseVersion(*ver)
	if err != nil {
		return fmt.Errorf("--version: %w", err)
	}
	// A binary stamped with another version would report the wrong one
	// and never mark itself good under the version it was installed as.
	if !bytes.Contains(bin, []byte(v.String())) {
		return fmt.Errorf("%s does not carry version %s: build it with -ldflags \"-X main.version=%s\" (make bundle VERSION=%s)", fs.Arg(0), v, v, v)
	}
	if len(arches) == 0 {
		a, err := elfPlatform(fs.Arg(0))
		if err != nil {
			return fmt.Errorf("%w; name it with --arch", err)
		}
		arches = multiFlag{a}
	}
	when, err := createdTime(*created)
	if err != nil {
		return err
	}
	var notes string
	if *notesFile != "" {
		b, err := os.ReadFile(*notesFile)
		if err != nil {
			return err
		}
		notes = string(b)
	}
	m := update.Manifest{Format: 1, Product: product, Version: v.String(), MinVersion: *minVersion, Floor: *floor,
		Boards: boards, Arch: arches, Created: when.UTC().Format(time.RFC3339), Notes: notes, Payload: update.Payload{Name: "pos"}}
	var buf bytes.Buffer
	m, err = update.Create(&buf, m, bytes.NewReader(bin), priv)
	if err != nil {
		return fmt.Errorf("bundle create: %w", err)
	}
	tmp := *out + ".part"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, *out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s %s for %s on %s, %d bytes (pos %d bytes), key %s\n", *out, product, m.Version,
		strings.Join(m.Boards, ","), strings.Join(m.Arch, ","), buf.Len(), m.Payload.InstalledSize, m.KeyID)
	return nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func createdTime(s string) (time.Time, error) {
	if s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return t, fmt.Errorf("--created: %w", err)
		}
		return t, nil
	}
	if e := os.Getenv("SOURCE_DATE_EPOCH"); e != "" {
		n, err := strconv.ParseInt(e, 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", e, err)
		}
		return time.Unix(n, 0), nil
	}
	return time.Now().Truncate(time.Second), nil
}

// elfPlatform reads OS/ARCH from a Linux executable's header.
func elfPlatform(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s is not a Linux executable", path)
	}
	defer f.Close()
	arch := map[elf.Machine]string{elf.EM_ARM: "arm", elf.EM_AARCH64: "arm64", elf.EM_X86_64: "amd64", elf.EM_386: "386", elf.EM_RISCV: "riscv64"}[f.Machine]
	if arch == "" {
		return "", fmt.Errorf("%s: machine %v unknown", path, f.Machine)
	}
	return "linux/" + arch, nil
}

const updateUsage = `usage: pos update verify BUNDLE [--board B] [--config F] [--data DIR]
       pos update apply [--json] SOURCE [--board B] [--config F] [--data DIR]
       pos update status [--json] [--board B] [--data DIR]

verify  says whether this terminal would accept BUNDLE (exit 0) or why not.
apply   installs from SOURCE: a bundle file, a directory (a mounted USB
        stick: its newest bundle for this terminal), an http(s) URL of a
        bundle, or the update server's address (default: update.server).
        The new version runs on trial at the next start through pos boot.
status  the software slots, the trial, the version floor and what happened.
`

func cmdUpdate(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "verify" && args[0] != "apply" && args[0] != "status" {
		fmt.Fprint(stderr, updateUsage)
		return flag.ErrHelp
	}
	verb := args[0]
	fs := newFlagSet("update "+verb, stderr)
	var c common
	c.register(fs, "posdata")
	asJSON := fs.Bool("json", false, "JSON: the status, or a progress stream, one object per line")
	if err := fs.Parse(reorder(args[1:], fs)); err != nil {
		return err
	}
	cfg, desc, err := c.load()
	if err != nil {
		return err
	}
	u, err := openUpdater(cfg, desc, c.dataDir, nil)
	if err != nil {
		return err
	}
	switch verb {
	case "status":
		return updateStatus(u, *asJSON, stdout)
	case "verify":
		if fs.NArg() != 1 {
			fmt.Fprint(stderr, updateUsage)
			return flag.ErrHelp
		}
		return updateVerify(u, fs.Arg(0), stdout)
	}
	source := cfg.Update.Server
	if fs.NArg() == 1 {
		source = fs.Arg(0)
	}
	if fs.NArg() > 1 || source == "" {
		fmt.Fprint(stderr, updateUsage)
		return flag.ErrHelp
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep := newReporter(stdout, stderr, *asJSON)
	err = updateApply(ctx, u, source, rep)
	if err != nil {
		rep.fail(err)
	}
	return err
}

// reorder puts flags before the positional arguments, so
// "pos update apply FILE --json" reads as a technician means it.
func reorder(args []string, fs *flag.FlagSet) []string {
	var flags, rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			rest = append(rest, args[i+1:]...)
			break
		}
		if strings.HasPrefix(a, "-") {
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if f := fs.Lookup(name); f != nil && !strings.Contains(a, "=") {
				if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !bf.IsBoolFlag() {
					if i+1 < len(args) {
						flags = append(flags, args[i+1])
						i++
					}
				}
			}
			continue
		}
		rest = append(rest, a)
	}
	return append(flags, rest...)
}

func updateVerify(u *updater, path string, stdout io.Writer) error {
	p, err := u.policy()
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if m, _, err := update.ReadManifest(f); err == nil {
		fmt.Fprintf(stdout, "%s %s for %s on %s, signed by key %s, created %s\n", m.Product, m.Version,
			strings.Join(m.Boards, ","), strings.Join(m.Arch, ","), m.KeyID, m.Created)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	start := time.Now()
	m, err := update.Verify(f, p)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "accepted: this terminal (%s, %s, running %s) would install %s; verified in %v\n",
		u.desc.Name, platform(), version, m.Version, time.Since(start).Round(time.Millisecond))
	return nil
}

func updateApply(ctx context.Context, u *updater, source string, rep *reporter) error {
	// Nothing owed, before a byte is downloaded.
	if why, err := u.blocking(); err != nil {
		return err
	} else if why != "" {
		return &outstandingError{why}
	}
	bundle := source
	if strings.HasPrefix(source, "http://") && !u.cfg.Update.AllowHTTP {
		return fmt.Errorf("%s: plain http only with update.allow_http (a test bench); use https", source)
	}
	switch {
	case strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://"):
		o := terminal.UpdateOffer{Available: true, URL: source}
		if !strings.HasSuffix(strings.SplitN(source, "?", 2)[0], ".bundle") {
			var err error
			if o, err = u.check(ctx, source); err != nil {
				return err
			}
			if !o.Available {
				rep.event(map[string]any{"stage": "up-to-date", "version": version}, "up to date: the update server has nothing newer than "+version)
				return nil
			}
			rep.event(map[string]any{"stage": "offer", "version": o.Version, "size": o.Size}, fmt.Sprintf("the update server offers %s (%d bytes)", o.Version, o.Size))
		}
		var err error
		if bundle, err = u.Fetch(ctx, o, rep.progress("download")); err != nil {
			return err
		}
	default:
		st, err := os.Stat(source)
		if err != nil {
			return err
		}
		if st.IsDir() {
			if bundle, err = newestOnStick(u, source); err != nil {
				return err
			}
			rep.event(map[string]any{"stage": "found", "bundle": bundle}, "found "+bundle)
		}
	}
	m, slot, err := u.install(bundle, rep.progress("install"))
	if err != nil {
		return err
	}
	rep.event(map[string]any{"stage": "installed", "version": m.Version, "slot": slot, "trial_boots": u.cfg.Update.TrialBoots},
		fmt.Sprintf("installed %s in slot %s: the next start through pos boot runs it on trial (%d starts to pass its self-test)", m.Version, slot, u.cfg.Update.TrialBoots))
	return nil
}

// newestOnStick is the highest version bundle in dir meant for this
// terminal; the others are named in the error when none fits.
func newestOnStick(u *updater, dir string) (string, error) {
	names, _ := filepath.Glob(filepath.Join(dir, "*.bundle"))
	type cand struct {
		path string
		v    update.Version
	}
	var fits []cand
	var seen []string
	for _, n := range names {
		f, err := os.Open(n)
		if err != nil {
			continue
		}
		m, _, err := update.ReadManifest(f)
		f.Close()
		if err != nil {
			seen = append(seen, filepath.Base(n)+": "+err.Error())
			continue
		}
		v, err := update.ParseVersion(m.Version)
		if err != nil || !slices.Contains(m.Boards, u.desc.Name) || !slices.Contains(m.Arch, platform()) {
			seen = append(seen, fmt.Sprintf("%s: %s for %s on %s", filepath.Base(n), m.Version, strings.Join(m.Boards, ","), strings.Join(m.Arch, ",")))
			continue
		}
		fits = append(fits, cand{n, v})
	}
	if len(fits) == 0 {
		return "", fmt.Errorf("no bundle for board %s on %s in %s (%s)", u.desc.Name, platform(), dir, strings.Join(seen, "; "))
	}
	sort.Slice(fits, func(i, j int) bool { return update.Compare(fits[i].v, fits[j].v) > 0 })
	return fits[0].path, nil
}

func updateStatus(u *updater, asJSON bool, w io.Writer) error {
	st := u.slots.Status()
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		type slotJSON struct {
			State, Version, Reason string
			Installed              string `json:",omitempty"`
		}
		out := map[string]any{"running": version, "platform": platform(), "board": u.desc.Name, "slots_dir": st.Root, "set_up": !st.Empty,
			"active": st.Active, "floor": st.Floor, "trial": st.Trial, "events": st.Events,
			"A": slotJSON{st.A.State, st.A.Version, st.A.Reason, stamp(st.A.Installed)}, "B": slotJSON{st.B.State, st.B.Version, st.B.Reason, stamp(st.B.Installed)}}
		if st.Err != nil {
			out["error"] = st.Err.Error()
		}
		return enc.Encode(out)
	}
	fmt.Fprintf(w, "running %s on %s (board %s)\n", version, platform(), u.desc.Name)
	if st.Empty {
		fmt.Fprintf(w, "no software slots in %s yet: the first pos boot or update sets them up\n", st.Root)
		return nil
	}
	if st.Err != nil {
		fmt.Fprintln(w, "boot state damaged:", st.Err)
	}
	for _, s := range []struct {
		name string
		info bootslot.SlotInfo
	}{{"A", st.A}, {"B", st.B}} {
		mark := " "
		if s.name == st.Active {
			mark = "*"
		}
		line := fmt.Sprintf("%s slot %s: %-7s %s", mark, s.name, s.info.State, s.info.Version)
		if s.info.Reason != "" {
			line += " (" + s.info.Reason + ")"
		}
		fmt.Fprintln(w, line)
	}
	if st.Trial != nil {
		fmt.Fprintf(w, "trial: %s in slot %s, %d of %d starts used\n", st.Trial.Version, st.Trial.Slot, st.Trial.BootsDone, st.Trial.MaxBoots)
	}
	if st.Floor != "" {
		fmt.Fprintf(w, "version floor: %s (nothing older installs)\n", st.Floor)
	}
	for _, e := range st.Events {
		fmt.Fprintf(w, "%s  %s\n", e.Time.Local().Format("2006-01-02 15:04:05"), e.String())
	}
	return nil
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// reporter shows an update's progress: a bar on the technician's terminal,
// or one JSON object per line for a script.
type reporter struct {
	out, errOut io.Writer
	json        bool
	last        time.Time
}

func newReporter(out, errOut io.Writer, asJSON bool) *reporter {
	return &reporter{out: out, errOut: errOut, json: asJSON}
}

func (r *reporter) event(v map[string]any, text string) {
	if r.json {
		json.NewEncoder(r.out).Encode(v)
		return
	}
	fmt.Fprintln(r.out, text)
}

func (r *reporter) progress(stage string) func(terminal.UpdateProgress) {
	return func(p terminal.UpdateProgress) {
		done := p.Total > 0 && p.Done >= p.Total
		if !done && time.Since(r.last) < 200*time.Millisecond {
			return
		}
		r.last = time.Now()
		if r.json {
			json.NewEncoder(r.out).Encode(map[string]any{"stage": stage, "done": p.Done, "total": p.Total,
				"bytes_per_sec": int64(p.BytesPerSec), "left_s": p.Left.Seconds()})
			return
		}
		fmt.Fprintf(r.errOut, "\r%-8s %s", stage, update.FormatProgress(update.Progress{Done: p.Done, Total: p.Total, BytesPerSec: p.BytesPerSec, Left: p.Left}, 30))
		if done {
			fmt.Fprintln(r.errOut)
		}
	}
}

func (r *reporter) fail(err error) {
	if !r.json {
		return
	}
	ev := map[string]any{"stage": "failed", "error": err.Error()}
	var re *update.RefusedError
	if errors.As(err, &re) {
		ev["stage"], ev["reason"] = "refused", re.Reason.String()
	}
	json.NewEncoder(r.out).Encode(ev)
}
