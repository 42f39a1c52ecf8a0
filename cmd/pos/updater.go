package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/shoukuan/pos/app/bootslot"
	"github.com/shoukuan/pos/app/config"
	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/app/mutant"
	"github.com/shoukuan/pos/app/terminal"
	"github.com/shoukuan/pos/app/update"
	"github.com/shoukuan/pos/board"
)

// product is what every bundle for this software names.
const product = "shoukuan-pos"

// updater installs signed bundles into the software slots, from a file, a
// USB stick or the acquirer's update server. The terminal's menu and
// `pos update` both use it.
type updater struct {
	cfg     config.Config
	desc    *board.Desc
	dataDir string
	log     *slog.Logger
	slots   *bootslot.Slots
	client  *http.Client
}

func newUpdater(cfg config.Config, desc *board.Desc, dataDir string, _ *stack, log *slog.Logger) terminal.Updater {
	u, err := openUpdater(cfg, desc, dataDir, log)
	if err != nil {
		log.Warn("software update unavailable", "err", err)
		return nil
	}
	return u
}

func openUpdater(cfg config.Config, desc *board.Desc, dataDir string, log *slog.Logger) (*updater, error) {
	slots, _, err := slotsOf(desc, dataDir)
	var se *bootslot.StateError
	if err != nil && !errors.As(err, &se) {
		return nil, err
	}
	client, err := updateClient(cfg)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &updater{cfg: cfg, desc: desc, dataDir: dataDir, log: log, slots: slots, client: client}, nil
}

// updateClient trusts the configured CA for the update server.
func updateClient(cfg config.Config) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.Update.CAFile != "" {
		pem, err := config.ReadLimited(cfg.Update.CAFile, 1<<20)
		if err != nil {
			return nil, fmt.Errorf("update.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("update.ca_file %s: no PEM certificate in it", cfg.Update.CAFile)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	// No overall timeout: a bundle over a slow link takes minutes. The
	// dial and the first byte are bounded; Download retries the rest.
	tr.ResponseHeaderTimeout = 30 * time.Second
	return &http.Client{Transport: tr}, nil
}

// keyring is the release keys built in plus the configured ones.
func (u *updater) keyring() (*update.Keyring, error) {
	kr, err := update.ReleaseKeyring()
	if err != nil {
		return nil, err
	}
	for _, f := range u.cfg.Update.Keys {
		pem, err := config.ReadLimited(f, 64<<10)
		if err != nil {
			return nil, fmt.Errorf("update.keys: %w", err)
		}
		if err := kr.AddPEM(filepath.Base(f), pem); err != nil {
			return nil, fmt.Errorf("update.keys %s: %w", f, err)
		}
	}
	return kr, nil
}

// policy is what this terminal accepts: its product, board, platform,
// keys, and nothing below its version floor.
func (u *updater) policy() (update.Policy, error) {
	kr, err := u.keyring()
	if err != nil {
		return update.Policy{}, err
	}
	running, err := update.ParseVersion(version)
	if err != nil {
		return update.Policy{}, err
	}
	var floor update.Version
	if f := u.slots.Status().Floor; f != "" {
		if floor, err = update.ParseVersion(f); err != nil {
			return update.Policy{}, fmt.Errorf("version floor %q in the slot state: %w", f, err)
		}
	}
	return update.Policy{Product: product, Board: u.desc.Name, Arch: platform(), Running: running, Floor: floor, Keyring: kr}, nil
}

// blocking says why an update must wait: reversals, open orders or
// receipts owed, an unsettled batch. It reads the journal without its
// lock, so it works while the terminal runs.
func (u *updater) blocking() (string, error) {
	path := filepath.Join(u.dataDir, journal.JournalFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return "", nil // a terminal that never ran owes nothing
	}
	db, err := journal.OpenReadOnly(path)
	if err != nil {
		return "", fmt.Errorf("cannot read the journal to see what is owed: %w", err)
	}
	defer db.Close()
	o, err := engine.ReadOutstanding(db.SQL())
	if err != nil {
		return "", err
	}
	if mutant.On("update-ignores-owed") {
		return "", nil
	}
	return o.Blocking(u.cfg.Update.AllowOpenBatch), nil
}

// Check asks the update server.
func (u *updater) Check(ctx context.Context) (terminal.UpdateOffer, error) {
	if u.cfg.Update.Server == "" {
		return terminal.UpdateOffer{}, errors.New("no update server configured (update.server)")
	}
	return u.check(ctx, u.cfg.Update.Server)
}

func (u *updater) check(ctx context.Context, server string) (terminal.UpdateOffer, error) {
	q := url.Values{"product": {product}, "board": {u.desc.Name}, "arch": {platform()}, "version": {version}, "terminal": {u.cfg.Terminal.TerminalID}}
	base, err := url.Parse(server)
	if err != nil {
		return terminal.UpdateOffer{}, fmt.Errorf("update server %q: %w", server, err)
	}
	checkURL := base.JoinPath("pos/v1/check")
	checkURL.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, checkURL.String(), nil)
	if err != nil {
		return terminal.UpdateOffer{}, err
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return terminal.UpdateOffer{}, fmt.Errorf("update server: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return terminal.UpdateOffer{}, fmt.Errorf("update server: %s", resp.Status)
	}
	var r hostsim.CheckReply
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&r); err != nil {
		return terminal.UpdateOffer{}, fmt.Errorf("update server: unreadable answer: %w", err)
	}
	o := terminal.UpdateOffer{Available: r.Available, Version: r.Version, Notes: r.Notes, Size: r.Size}
	if r.Available {
		ref, err := url.Parse(r.URL)
		if err != nil {
			return o, fmt.Errorf("update server: bundle URL %q: %w", r.URL, err)
		}
		o.URL = base.ResolveReference(ref).String()
	}
	return o, nil
}

// downloads is where bundles are fetched to: beside the slots, on the
// same filesystem, so a resumed download survives a restart.
func (u *updater) downloads() string { return filepath.Join(u.slots.Root(), "download") }

// Fetch downloads a bundle, checking it while it streams: a bundle the
// terminal would refuse stops after its manifest.
func (u *updater) Fetch(ctx context.Context, o terminal.UpdateOffer, progress func(terminal.UpdateProgress)) (string, error) {
	p, err := u.policy()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(u.downloads(), 0o700); err != nil {
		return "", err
	}
	name := path.Base(o.URL)
	if i := strings.IndexAny(name, "?#"); i >= 0 {
		name = name[:i]
	}
	if !strings.HasSuffix(name, ".bundle") || strings.HasPrefix(name, ".") {
		name = "update.bundle"
	}
	dest := filepath.Join(u.downloads(), name)
	err = update.Download(ctx, u.client, o.URL, dest, update.DownloadOptions{
		NewCheck: func() *update.StreamCheck { return update.NewStreamCheck(p) },
		Progress: func(pr update.Progress) {
			if progress != nil {
				progress(terminal.UpdateProgress{Done: pr.Done, Total: pr.Total, BytesPerSec: pr.BytesPerSec, Left: pr.Left})
			}
		},
	})
	if err != nil {
		return "", err
	}
	return dest, nil
}

// Install verifies a bundle again as it is written into the slot that is
// not running, keeps its manifest beside it, and makes the next start a
// trial of it. Before anything is written, nothing may be owed.
func (u *updater) Install(ctx context.Context, bundle string, progress func(terminal.UpdateProgress)) (string, error) {
	m, slot, err := u.install(bundle, progress)
	if err != nil {
		return "", err
	}
	u.log.Info("update installed", "version", m.Version, "slot", slot)
	return m.Version, nil
}

func (u *updater) install(bundle string, progress func(terminal.UpdateProgress)) (update.Manifest, string, error) {
	if why, err := u.blocking(); err != nil {
		return update.Manifest{}, "", err
	} else if why != "" {
		return update.Manifest{}, "", &outstandingError{why}
	}
	p, err := u.policy()
	if err != nil {
		return update.Manifest{}, "", err
	}
	f, err := os.Open(bundle)
	if err != nil {
		return update.Manifest{}, "", err
	}
	defer f.Close()
	b, err := update.Open(f, p)
	if err != nil {
		return update.Manifest{}, "", err
	}
	m := b.Manifest()
	if u.slots.Empty() {
		// The running software becomes slot A: it is what a failed
		// trial goes back to.
		exe, err := os.Executable()
		if err != nil {
			return m, "", err
		}
		if err := u.slots.Adopt(exe, version); err != nil {
			return m, "", err
		}
	}
	total := m.Payload.InstalledSize
	start := time.Now()
	slot, err := u.slots.Install(m.Version, b.Payload(), total, m.Payload.InstalledSHA256, func(done int64) {
		if progress != nil {
			progress(progressOf(done, total, start))
		}
	})
	if err != nil {
		return m, "", err
	}
	if err := writeSlotManifest(u.slots, slot, m); err != nil {
		return m, slot, err
	}
	if err := u.slots.ArmTrial(u.cfg.Update.TrialBoots); err != nil {
		return m, slot, err
	}
	if strings.HasPrefix(bundle, u.downloads()+string(filepath.Separator)) {
		os.Remove(bundle) // installed: the space is the next download's
	}
	return m, slot, nil
}

func progressOf(done, total int64, start time.Time) terminal.UpdateProgress {
	p := terminal.UpdateProgress{Done: done, Total: total}
	if el := time.Since(start).Seconds(); el > 0 {
		p.BytesPerSec = float64(done) / el
		if p.BytesPerSec > 0 && total > done {
			p.Left = time.Duration(float64(total-done) / p.BytesPerSec * float64(time.Second))
		}
	}
	return p
}

// outstandingError is an update refused because the terminal owes the
// host or the cashier something.
type outstandingError struct{ why string }

func (e *outstandingError) Error() string {
	return "update not started: " + e.why + "; finish these on the terminal first"
}
