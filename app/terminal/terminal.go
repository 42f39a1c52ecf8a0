// Package terminal is the POS application: screens drawn on hal.Display,
// driven by hal.Keypad and the other input devices, over the journal and
// the operator store. It knows no device detail.
//
// Everything the application does runs on one goroutine (the loop), so
// screens need no locks. Device readers and slow jobs (self-test, later
// host requests) run on their own goroutines and post their results back
// to the loop. The loop counts work in flight; Idle tells the headless
// runner when the terminal has settled.
package terminal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoukuan/pos/app/config"
	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/app/operator"
	"github.com/shoukuan/pos/app/paycode"
	"github.com/shoukuan/pos/app/receipt"
	"github.com/shoukuan/pos/app/ui"
	"github.com/shoukuan/pos/hal"
)

// Clock gives the time; the headless runner's clock moves only when told.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Build is what `pos version` prints; the terminal info screen shows it.
type Build struct {
	Version, Commit, Platform string
}

// Options configures a Terminal.
type Options struct {
	Config  config.Config
	Devices hal.Devices
	Journal *journal.DB
	Clock   Clock // nil: the system clock
	Build   Build
	Log     *slog.Logger // nil: discard
	// Engine runs transactions; nil leaves the transaction menus showing
	// E201 (a terminal without an acquirer link).
	Engine *engine.Engine
	PINPad PINPad
	// Demo: no real payments (the in-process host simulator or the public
	// test key); every screen and receipt says so.
	Demo bool
	// Checks are self-tests beyond the devices, the host link, the
	// storage and the clock (which the terminal adds itself): the
	// software slots, for one.
	Checks []Check
	// Updater is the software update (nil: Maintenance offers none).
	Updater Updater
	// USBDir is where the USB stick mounts, for backup and export.
	USBDir string
	// RolledBack and Notice are shown once before the sign-in screen:
	// what the last software update did. The rollbacks are said in the
	// terminal's language; Notice is the rest, in the technician's
	// sentences (a damaged slot).
	Notice     string
	RolledBack []RollBack
}

// RollBack is new software that failed its trial: the version, the one
// that runs instead, and why.
type RollBack struct{ From, To, Reason string }

// PINPad turns a PIN into an encrypted PIN block; the PIN goes no further.
type PINPad interface {
	PINBlock(pin, pan string) ([]byte, error)
}

// Terminal is the running application.
type Terminal struct {
	cfg      config.Config
	payCodes *paycode.Classifier
	shownPic *hal.Bitmap // the picture on the display, if it has graphics
	dev      hal.Devices
	db       *journal.DB
	ops      *operator.Manager
	eng      *engine.Engine
	pinpad   PINPad
	clock    Clock
	build    Build
	log      *slog.Logger
	demo     bool
	extra    []Check
	updater  Updater
	usb      string
	notice   string
	rolled   []RollBack
	stopRun  context.CancelFunc
	restarts bool
	canvas   *ui.Canvas
	lang     Lang
	op       *operator.Operator // signed in, nil when nobody is
	screen   Screen
	events   chan func()
	pending  atomic.Int64
	// armed input devices, as the current screen wants them
	scanOn   bool
	cardMode hal.CardMode

	stopOnce     sync.Once
	shutdownWait time.Duration
}

// Screen is one state of the UI.
type Screen interface {
	Draw(t *Terminal, c *ui.Canvas)
	Key(t *Terminal, k hal.Key)
}

// Optional screen behaviour.
type (
	// enterer runs when the screen becomes current.
	enterer interface{ enter(t *Terminal) }
	// wantsInput says which input devices the screen listens to.
	wantsInput interface {
		inputs() (scanner bool, cards hal.CardMode)
	}
	codeTaker interface{ code(t *Terminal, c hal.Code) }
	cardTaker interface{ card(t *Terminal, c hal.Card) }
	// cardRefuser hears of a card the reader found but cannot use.
	cardRefuser interface{ cardRefused(t *Terminal, err error) }
)

// New prepares a terminal; Run starts it.
func New(o Options) (*Terminal, error) {
	if o.Journal == nil {
		return nil, errors.New("terminal: no journal")
	}
	if o.Devices.Display == nil || o.Devices.Keypad == nil {
		return nil, errors.New("terminal: a display and a keypad are required")
	}
	clock := o.Clock
	if clock == nil {
		clock = systemClock{}
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ops, err := operator.NewManager(o.Journal, clock.Now, operator.Policy{
		MaxFailures: o.Config.Operators.MaxFailures,
		LockFor:     o.Config.Operators.LockFor(),
	})
	if err != nil {
		return nil, fmt.Errorf("terminal: operators: %w", err)
	}
	rules := o.Config.PaymentCodes
	if len(rules) == 0 {
		rules = paycode.DefaultRules()
	}
	codes, err := paycode.New(rules)
	if err != nil {
		return nil, fmt.Errorf("terminal: payment_codes: %w", err)
	}
	t := &Terminal{
		payCodes: codes,
		cfg:      o.Config,
		dev:      o.Devices,
		db:       o.Journal,
		ops:      ops,
		eng:      o.Engine,
		pinpad:   o.PINPad,
		clock:    clock,
		build:    o.Build,
		log:      log,
		demo:     o.Demo,
		extra:    o.Checks,
		updater:  o.Updater,
		usb:      o.USBDir,
		notice:   o.Notice,
		rolled:   o.RolledBack,
		canvas:   ui.NewCanvas(o.Devices.Display),
		lang:     Lang(o.Config.Language),
		events:   make(chan func(), 64),
		// A host exchange is bounded by the host timeout; a stop waits
		// that long for a payment to end rather than cut it.
		shutdownWait: o.Config.Host.Timeout() + 5*time.Second,
	}
	// The language chosen on the terminal outlives a restart and wins over
	// the configured default.
	if l, ok, err := o.Journal.Setting("language"); err == nil && ok && (Lang(l) == ZH || Lang(l) == EN) {
		t.lang = Lang(l)
	}
	t.setDemoTag()
	// Queued now, not in Run, so the terminal is busy (not Idle) from the
	// start until the first screen is drawn.
	t.post(func() {
		if t.notice != "" || len(t.rolled) > 0 {
			var lines []string
			for _, r := range t.rolled {
				lines = append(lines, t.tr(mRolledBack, r.From, r.To, r.Reason))
			}
			if t.notice != "" {
				lines = append(lines, t.notice)
			}
			t.Show(&message{title: mSoftwareUpdate, text: strings.Join(lines, "\n"), attr: hal.AttrError, next: func(t *Terminal) { t.Show(newSignIn(t)) }})
			return
		}
		t.Show(newSignIn(t))
	})
	return t, nil
}

// Run shows the sign-in screen and serves events until ctx ends.
func (t *Terminal) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	t.stopRun = cancel
	go pump(t, ctx, "keypad", t.dev.Keypad.ReadKey, func(ev hal.KeyEvent) { t.onKey(ev.Key) })
	if t.dev.Scanner != nil {
		go pump(t, ctx, "scanner", t.dev.Scanner.Read, t.onCode)
	}
	if t.dev.CardReader != nil {
		go pump(t, ctx, "card reader", t.dev.CardReader.Read, t.onCard)
	}
	for {
		select {
		case <-ctx.Done():
			t.disarm()
			t.finishJobs()
			if t.restarts {
				return ErrRestart
			}
			return nil
		case fn := <-t.events:
			fn()
			t.render()
			t.pending.Add(-1)
		}
	}
}

// finishJobs lets work in flight end (a payment waiting for the host, a
// receipt printing) before Run returns and the journal closes behind it,
// for at most ShutdownWait. Keys are no longer taken.
func (t *Terminal) finishJobs() {
	deadline := time.NewTimer(t.shutdownWait)
	defer deadline.Stop()
	for t.pending.Load() > 0 {
		select {
		case fn := <-t.events:
			fn()
			t.pending.Add(-1)
		case <-deadline.C:
			t.log.Warn("stopped with work in flight", "pending", t.pending.Load())
			return
		}
	}
}

// SetShutdownWait bounds how long Run waits for work in flight once its
// context ends (the scenario rig's power cut waits for nothing).
func (t *Terminal) SetShutdownWait(d time.Duration) { t.shutdownWait = d }

// restart ends Run with ErrRestart, once work in flight is done.
func (t *Terminal) restart() {
	t.restarts = true
	if t.stopRun != nil {
		t.stopRun()
	}
}

// Idle reports whether nothing is queued or running in the application.
func (t *Terminal) Idle() bool { return t.pending.Load() == 0 }

// Pending is the number of queued events and running jobs.
func (t *Terminal) Pending() int64 { return t.pending.Load() }

// post queues fn to run on the loop.
func (t *Terminal) post(fn func()) {
	t.pending.Add(1)
	t.events <- fn
}

// Go runs job off the loop and then done(result) on it: for work that
// takes long enough to freeze the screen.
func (t *Terminal) Go(job func() any, done func(any)) {
	t.pending.Add(1)
	go func() {
		v := job()
		t.events <- func() { done(v) }
	}()
}

// pump reads one input device until ctx ends and hands each input to the
// loop.
func pump[T any](t *Terminal, ctx context.Context, device string, read func(context.Context) (T, error), deliver func(T)) {
	for {
		v, err := read(ctx)
		if err != nil {
			if ctx.Err() != nil || t.deviceFailed(ctx, device, err) {
				return
			}
			continue
		}
		t.post(func() { deliver(v) })
	}
}

func (t *Terminal) onCode(c hal.Code) {
	if s, ok := t.screen.(codeTaker); ok && t.scanOn {
		s.code(t, c)
	}
}

func (t *Terminal) onCard(c hal.Card) {
	if s, ok := t.screen.(cardTaker); ok && t.cardMode&c.Mode != 0 {
		s.card(t, c)
	}
}

// deviceFailed logs a device read error and waits before the next try so a
// dead device does not spin. It reports whether to stop.
func (t *Terminal) deviceFailed(ctx context.Context, dev string, err error) bool {
	if errors.Is(err, hal.ErrCardNotSupported) || errors.Is(err, hal.ErrTwoCards) {
		// The cashier must know why the tap did nothing.
		t.post(func() {
			if s, ok := t.screen.(cardRefuser); ok {
				s.cardRefused(t, err)
			}
		})
	}
	if errors.Is(err, hal.ErrBadRead) {
		// A garbled scan: the cashier scans again at once, no pause.
		t.log.Info("unreadable input", "device", dev, "err", err)
		t.post(func() {
			if t.dev.Indicator != nil {
				t.dev.Indicator.Beep(hal.BeepError)
			}
		})
		return ctx.Err() != nil
	}
	t.log.Warn("device read failed", "device", dev, "err", err)
	select {
	case <-ctx.Done():
		return true
	case <-time.After(time.Second):
		return false
	}
}

func (t *Terminal) onKey(k hal.Key) {
	if t.dev.Indicator != nil {
		t.dev.Indicator.Beep(hal.BeepKey)
	}
	if t.screen != nil {
		t.screen.Key(t, k)
	}
}

// Show makes s the current screen and arms the devices it listens to.
func (t *Terminal) Show(s Screen) {
	t.screen = s
	scan, cards := false, hal.CardNone
	if w, ok := s.(wantsInput); ok {
		scan, cards = w.inputs()
	}
	t.arm(scan, cards)
	if e, ok := s.(enterer); ok {
		e.enter(t)
	}
}

func (t *Terminal) arm(scan bool, cards hal.CardMode) {
	if t.dev.Scanner != nil && scan != t.scanOn {
		if err := t.dev.Scanner.Enable(scan); err != nil {
			t.log.Warn("scanner enable failed", "err", err)
		}
	}
	if t.dev.CardReader != nil && cards != t.cardMode {
		if err := t.dev.CardReader.Enable(cards); err != nil {
			t.log.Warn("card reader enable failed", "err", err)
		}
	}
	t.scanOn, t.cardMode = scan, cards
}

func (t *Terminal) disarm() {
	t.stopOnce.Do(func() { t.arm(false, hal.CardNone) })
}

func (t *Terminal) render() {
	if t.screen == nil {
		return
	}
	t.canvas.Clear()
	t.screen.Draw(t, t.canvas)
	if err := t.canvas.Flush(); err != nil {
		t.log.Error("display flush failed", "err", err)
	}
	if pd, ok := t.dev.Display.(hal.PictureDisplay); ok {
		var pic *hal.Bitmap
		if p, ok := t.screen.(interface{ picture() *hal.Bitmap }); ok {
			pic = p.picture()
		}
		if pic != t.shownPic {
			pd.ShowPicture(pic)
			t.shownPic = pic
		}
	}
}

// tr translates a UI text into the current language.
func (t *Terminal) tr(v msg, args ...any) string { return v.in(t.lang, args...) }

// Lang is the current UI language.
func (t *Terminal) Lang() Lang { return t.lang }

// Operator is the signed-in operator number, "" when nobody is.
func (t *Terminal) Operator() string {
	if t.op == nil {
		return ""
	}
	return t.op.No
}

func (t *Terminal) setLang(l Lang) error {
	if err := t.db.SetSetting("language", string(l)); err != nil {
		return err
	}
	t.lang = l
	t.setDemoTag()
	return nil
}

var mDemoTag = m("演示", "DEMO")

// setDemoTag marks every title bar of a demo terminal.
func (t *Terminal) setDemoTag() {
	t.canvas.Tag = ""
	if t.demo {
		t.canvas.Tag = t.tr(mDemoTag)
	}
}

func (t *Terminal) receiptTerminal() receipt.Terminal {
	c := t.cfg.Terminal
	return receipt.Terminal{MerchantName: c.MerchantName, MerchantID: c.MerchantID, TerminalID: c.TerminalID, Version: t.build.Version, Demo: t.demo}
}

func (t *Terminal) isSupervisor() bool { return t.op != nil && t.op.Role == operator.Supervisor }
