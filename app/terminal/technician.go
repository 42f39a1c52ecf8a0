package terminal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/app/ui"
	"github.com/shoukuan/pos/hal"
)

// The technician's screens: software update from the acquirer's update
// server, journal backup and transaction export to a USB stick.

// Updater is the software update as the terminal drives it; cmd/pos wires
// it to the update server, the bundle checks and the software slots.
type Updater interface {
	// Check asks the update server whether there is newer software.
	Check(ctx context.Context) (UpdateOffer, error)
	// Fetch downloads the offered bundle and verifies it while it
	// streams; progress is called off the loop.
	Fetch(ctx context.Context, o UpdateOffer, progress func(UpdateProgress)) (bundle string, err error)
	// Install writes a verified bundle into the slot not running and
	// makes the next start a trial of it.
	Install(ctx context.Context, bundle string, progress func(UpdateProgress)) (version string, err error)
}

// UpdateOffer is what the update server has for this terminal.
type UpdateOffer struct {
	Available bool
	Version   string
	Notes     string
	Size      int64
	URL       string
}

// UpdateProgress is how far a download or an install is.
type UpdateProgress struct {
	Done, Total int64
	BytesPerSec float64
	Left        time.Duration
}

// Refusal is an error that says in a few Chinese words why a bundle was
// refused (signature, board, version...).
type Refusal interface {
	error
	Chinese() string
}

// Technician errors.
var (
	E601 = ErrCode{"E601", m("更新被拒绝", "Update refused"),
		m("软件包未通过检查,未安装任何内容;请联系收单机构", "The bundle failed its checks and nothing was installed; contact the acquirer")}
	E602 = ErrCode{"E602", m("更新失败", "Update failed"),
		m("未安装任何内容,当前版本继续使用;检查网络后重试", "Nothing was installed and this version stays; check the network and try again")}
	E603 = ErrCode{"E603", m("请先完成未完成的交易", "Work is outstanding"),
		m("冲正、扫码订单、小票或结算未完成;处理完(先结算)再更新或恢复", "Reversals, QR orders, receipts or settlement are outstanding; finish them (settle first), then update")}
	E604 = ErrCode{"E604", m("未插入U盘", "No USB stick"),
		m("插入U盘后重试", "Insert a USB stick and try again")}
	E605 = ErrCode{"E605", m("备份失败", "Backup failed"),
		m("检查U盘空间后重试;交易记录未改变", "Check the stick has room and try again; the journal is unchanged")}
)

func init() { ErrCodes = append(ErrCodes, E601, E602, E603, E604, E605) }

// ErrRestart is what Run returns when the technician restarts the
// terminal into newly installed software.
var ErrRestart = errors.New("terminal: restart into the new software")

// outstanding says why an update must wait, "" when nothing is owed.
func (t *Terminal) outstanding() (string, error) {
	if t.eng == nil {
		return "", nil
	}
	o, err := t.eng.Outstanding()
	if err != nil {
		return "", err
	}
	return o.Blocking(t.cfg.Update.AllowOpenBatch), nil
}

func (t *Terminal) startUpdate(back func(*Terminal)) {
	if t.updater == nil {
		t.showError(mSoftwareUpdate, E201, "", back)
		return
	}
	if !t.isSupervisor() {
		t.showError(mSoftwareUpdate, E107, "", back)
		return
	}
	why, err := t.outstanding()
	if err != nil {
		t.storageFailed(mSoftwareUpdate, err, back)
		return
	}
	if why != "" {
		t.showError(mSoftwareUpdate, E603, why, back)
		return
	}
	t.work(mSoftwareUpdate, mCheckingUpdate, func(ctx context.Context) any {
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		o, err := t.updater.Check(ctx)
		if err != nil {
			return err
		}
		return o
	}, func(v any) {
		if err, ok := v.(error); ok {
			t.log.Warn("update check failed", "err", err)
			t.showError(mSoftwareUpdate, E602, ui.Truncate(err.Error(), 120), back)
			return
		}
		if t.eng != nil {
			t.eng.UpdateHandled()
		}
		o := v.(UpdateOffer)
		if !o.Available {
			t.showDone(mSoftwareUpdate, t.tr(mUpToDate, t.build.Version), back)
			return
		}
		t.Show(&updateOffer{offer: o, back: back})
	})
}

type updateOffer struct {
	offer UpdateOffer
	back  func(*Terminal)
}

func (s *updateOffer) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(mSoftwareUpdate))
	c.Pair(1, t.tr(mRunningVersion), t.build.Version, 0)
	c.Pair(2, t.tr(mNewVersion), s.offer.Version, hal.AttrBold)
	c.Pair(3, t.tr(mSize), fmt.Sprintf("%.1f MB", float64(s.offer.Size)/1e6), 0)
	c.Paragraph(4, c.Rows()-2, s.offer.Notes, hal.AttrDim)
	c.Footer(t.tr(mInstallHint))
}

func (s *updateOffer) Key(t *Terminal, k hal.Key) {
	switch k {
	case hal.KeyCancel:
		s.back(t)
	case hal.KeyEnter:
		p := &updateProgress{stage: mDownloading}
		t.Show(p)
		report := func(stage msg) func(UpdateProgress) {
			return func(u UpdateProgress) { t.post(func() { p.stage, p.p = stage, u }) }
		}
		t.Go(func() any {
			ctx := context.Background()
			bundle, err := t.updater.Fetch(ctx, s.offer, report(mDownloading))
			if err != nil {
				return err
			}
			v, err := t.updater.Install(ctx, bundle, report(mInstalling))
			if err != nil {
				return err
			}
			return v
		}, func(v any) {
			if err, ok := v.(error); ok {
				t.log.Warn("update not installed", "err", err)
				var r Refusal
				if errors.As(err, &r) {
					t.showError(mSoftwareUpdate, E601, r.Chinese()+"\n"+ui.Truncate(err.Error(), 100), s.back)
					return
				}
				t.showError(mSoftwareUpdate, E602, ui.Truncate(err.Error(), 120), s.back)
				return
			}
			t.log.Info("update installed, trial on restart", "version", v)
			t.Show(&updateDone{version: v.(string), back: s.back})
		})
	}
}

type updateProgress struct {
	stage msg
	p     UpdateProgress
}

func (s *updateProgress) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(mSoftwareUpdate))
	c.Center(2, t.tr(s.stage), hal.AttrBold)
	c.Center(4, ProgressBar(s.p, c.Cols()-6), 0)
	line := fmt.Sprintf("%.1f/%.1f MB", float64(s.p.Done)/1e6, float64(s.p.Total)/1e6)
	if s.p.BytesPerSec > 0 {
		line += fmt.Sprintf(" %.0f KB/s", s.p.BytesPerSec/1e3)
	}
	c.Center(5, line, hal.AttrDim)
	if s.p.Left > 0 {
		c.Center(6, t.tr(mTimeLeft, formatLeft(s.p.Left)), hal.AttrDim)
	}
	c.Footer(t.tr(mDoNotPowerOff))
}

func (s *updateProgress) Key(*Terminal, hal.Key) {}

// ProgressBar draws done/total as a bar with the percent after it.
func ProgressBar(p UpdateProgress, width int) string {
	pct := 0
	if p.Total > 0 {
		pct = int(min(100, p.Done*100/p.Total))
	}
	n := max(4, width-5)
	full := pct * n / 100
	return strings.Repeat("█", full) + strings.Repeat("░", n-full) + fmt.Sprintf(" %3d%%", pct)
}

func formatLeft(d time.Duration) string {
	d = d.Round(time.Second)
	return fmt.Sprintf("%d:%02d", int(d.Minutes()), int(d.Seconds())%60)
}

type updateDone struct {
	version string
	back    func(*Terminal)
}

func (s *updateDone) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(mSoftwareUpdate))
	c.Paragraph(2, c.Rows()-2, t.tr(mUpdateInstalled, s.version), hal.AttrOK)
	c.Footer(t.tr(mRestartHint))
}

func (s *updateDone) Key(t *Terminal, k hal.Key) {
	switch k {
	case hal.KeyEnter:
		t.log.Info("restarting into the new software", "version", s.version)
		t.restart()
	case hal.KeyCancel:
		s.back(t)
	}
}

// usbDir is the mounted USB stick, or E604's reason.
func (t *Terminal) usbDir() (string, bool) {
	if t.usb == "" {
		return "", false
	}
	st, err := os.Stat(t.usb)
	return t.usb, err == nil && st.IsDir()
}

func (t *Terminal) startBackup(back func(*Terminal)) {
	// The journal leaves the terminal: the supervisor's decision.
	if !t.isSupervisor() {
		t.showError(mBackup, E107, "", back)
		return
	}
	dir, ok := t.usbDir()
	if !ok {
		t.showError(mBackup, E604, t.usb, back)
		return
	}
	t.work(mBackup, mBackingUp, func(context.Context) any {
		info, err := t.db.Backup(dir, journal.BackupMeta{SoftwareVersion: t.build.Version}, t.clock.Now())
		if err != nil {
			return err
		}
		return info
	}, func(v any) {
		if err, ok := v.(error); ok {
			t.log.Warn("backup failed", "err", err)
			t.showError(mBackup, E605, ui.Truncate(err.Error(), 120), back)
			return
		}
		info := v.(journal.BackupInfo)
		t.log.Info("journal backed up", "dir", info.Dir)
		t.showDone(mBackup, t.tr(mBackedUp, filepath.Base(info.Dir), info.Manifest.Transactions), back)
	})
}

// startExport writes the last 31 days of transactions to the stick as CSV
// (what a merchant's bookkeeper asks for).
func (t *Terminal) startExport(back func(*Terminal)) {
	// The journal leaves the terminal: the supervisor's decision.
	if !t.isSupervisor() {
		t.showError(mExport, E107, "", back)
		return
	}
	dir, ok := t.usbDir()
	if !ok {
		t.showError(mExport, E604, t.usb, back)
		return
	}
	now := t.clock.Now().In(t.zone())
	from := now.AddDate(0, 0, -30)
	name := fmt.Sprintf("pos-%s-%s-%s.csv", t.cfg.Terminal.TerminalID, from.Format("20060102"), now.Format("20060102"))
	t.work(mExport, mExporting, func(context.Context) any {
		n, err := exportFile(t.db, filepath.Join(dir, name), from, now)
		if err != nil {
			return err
		}
		return n
	}, func(v any) {
		if err, ok := v.(error); ok {
			t.log.Warn("export failed", "err", err)
			t.showError(mExport, E605, ui.Truncate(err.Error(), 120), back)
			return
		}
		t.showDone(mExport, t.tr(mExported, v.(int), name), back)
	})
}

// exportFile writes an export beside its final name and renames it, so a
// stick pulled out half-way never holds a file that looks complete.
func exportFile(db *journal.DB, path string, from, to time.Time) (int, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	n, err := db.Export(f, from, to, "csv")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	return n, err
}
