package terminal

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/shoukuan/pos/app/operator"
	"github.com/shoukuan/pos/app/receipt"
	"github.com/shoukuan/pos/app/ui"
	"github.com/shoukuan/pos/hal"
)

func newMaintenanceMenu(t *Terminal) Screen {
	back := func(t *Terminal) { t.Show(newMaintenanceMenu(t)) }
	return &menu{
		title: mMaintenance,
		back:  toMain,
		items: []menuItem{
			{mSelfTest, func(t *Terminal) {
				// The keypad first: pressing every key is the technician's
				// part, then the devices test themselves.
				t.Show(newKeyTest(t.dev.Keypad, func(t *Terminal, keys hal.SelfTestResult) {
					t.Show(&selfTest{back: back, keys: &keys})
				}))
			}},
			{mOperators, func(t *Terminal) {
				if !t.isSupervisor() {
					t.showError(mOperators, E107, "", back)
					return
				}
				t.Show(newOperatorsMenu(t))
			}},
			{mVersionInfo, func(t *Terminal) {
				t.Show(&message{title: mVersionInfo, text: fmt.Sprintf("%s\n%s\n%s", t.build.Version, t.build.Commit, t.build.Platform), next: back})
			}},
			{mSignOn, func(t *Terminal) { t.startSignOn(back) }},
			{mSoftwareUpdate, func(t *Terminal) { t.startUpdate(back) }},
			{mBackup, func(t *Terminal) { t.startBackup(back) }},
		},
		header: func(t *Terminal) string {
			if t.eng != nil && t.eng.UpdateRequested() {
				return t.tr(mUpdateOffered)
			}
			return ""
		},
	}
}

// SelfTest runs every device's self-test, the ones that have it, in order,
// then the checks (host link, storage, clock, slots).
func SelfTest(ctx context.Context, d hal.Devices, checks ...Check) []hal.SelfTestResult {
	var out []hal.SelfTestResult
	for _, dev := range []struct {
		name string
		v    any
	}{
		{"display", d.Display}, {"keypad", d.Keypad}, {"scanner", d.Scanner},
		{"card reader", d.CardReader}, {"printer", d.Printer}, {"indicator", d.Indicator},
	} {
		if dev.v == nil {
			out = append(out, hal.SelfTestResult{Device: dev.name, Skipped: true, Detail: "absent: not on this board"})
			continue
		}
		st, ok := dev.v.(hal.SelfTester)
		if !ok {
			out = append(out, hal.SelfTestResult{Device: dev.name, Skipped: true, Detail: "not tested: its driver has no self-test"})
			continue
		}
		start := time.Now()
		tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		r := st.SelfTest(tctx)
		cancel()
		if r.Device == "" {
			r.Device = dev.name
		}
		if r.Took == 0 {
			r.Took = time.Since(start)
		}
		out = append(out, r)
	}
	for _, c := range checks {
		start := time.Now()
		r := c.Run(ctx)
		if r.Device == "" {
			r.Device = c.Name
		}
		if r.Took == 0 {
			r.Took = time.Since(start)
		}
		out = append(out, r)
	}
	return out
}

type selfTest struct {
	back     func(*Terminal)
	keys     *hal.SelfTestResult // the press-every-key check, when it ran
	results  []hal.SelfTestResult
	printErr error
	running  bool
	first    int // the first line shown
}

type selfTestOutcome struct {
	results  []hal.SelfTestResult
	printErr error
}

func (s *selfTest) enter(t *Terminal) {
	s.running = true
	now := t.clock.Now()
	t.Go(func() any {
		res := SelfTest(context.Background(), t.dev, t.checks()...)
		if s.keys != nil {
			res = WithKeyCheck(res, *s.keys)
		}
		if err := RecordSelfTest(t.db, now, t.build.Version, res); err != nil {
			t.log.Warn("self-test not recorded", "err", err)
		}
		// The slip is part of the test: a technician leaves it in the
		// service log, and it proves the printer prints.
		var perr error
		if t.dev.Printer != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			perr = t.dev.Printer.Print(ctx, receipt.SelfTest(t.receiptTerminal(), res, now))
			cancel()
		}
		return selfTestOutcome{res, perr}
	}, func(v any) {
		out := v.(selfTestOutcome)
		s.results, s.printErr, s.running = out.results, out.printErr, false
		if s.printErr != nil {
			t.log.Warn("self-test slip not printed", "err", s.printErr)
		}
		failed := 0
		for _, r := range s.results {
			if !r.OK {
				failed++
			}
			t.log.Info("self-test", "device", r.Device, "ok", r.OK, "detail", r.Detail)
		}
		if t.dev.Indicator != nil {
			if failed > 0 {
				t.dev.Indicator.Beep(hal.BeepError)
			} else {
				t.dev.Indicator.Beep(hal.BeepOK)
			}
		}
	})
}

// WithKeyCheck puts the press-every-key result in the keypad's place. The
// driver's own check (no key stuck, device still there) still counts: a
// keypad fails if either failed.
func WithKeyCheck(res []hal.SelfTestResult, keys hal.SelfTestResult) []hal.SelfTestResult {
	for i, r := range res {
		if r.Device != keys.Device {
			continue
		}
		if !r.OK && !r.Skipped {
			keys.OK, keys.Skipped = false, false
			keys.Detail = r.Detail + "; " + keys.Detail
		}
		keys.Took += r.Took
		res[i] = keys
	}
	return res
}

func (s *selfTest) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(mSelfTest))
	if s.running {
		c.Center(3, t.tr(mTesting), 0)
		return
	}
	// One line per result, a second for what failed; more than the screen
	// holds scroll with the arrows.
	type line struct {
		left, right string
		a           hal.Attr
		detail      bool
	}
	var lines []line
	for _, r := range s.results {
		status, a := t.tr(mPass), hal.AttrOK
		switch {
		case r.Skipped:
			status, a = t.tr(mNotTested), hal.AttrDim
		case !r.OK:
			status, a = t.tr(mFail), hal.AttrError
		}
		lines = append(lines, line{left: r.Device, right: status, a: a})
		if !r.OK && !r.Skipped {
			lines = append(lines, line{left: ui.Truncate(r.Detail, c.Cols()-1), a: hal.AttrDim, detail: true})
		}
	}
	if s.printErr != nil {
		code := printCode(s.printErr)
		lines = append(lines, line{left: code.Code + " " + t.tr(code.Title), a: hal.AttrError, detail: true})
	}
	room := c.Rows() - 3
	s.first = max(0, min(s.first, len(lines)-room))
	y := 1
	for i := s.first; i < len(lines) && y <= room; i++ {
		l := lines[i]
		if l.detail {
			c.Text(1, y, l.left, l.a)
		} else {
			c.Pair(y, l.left, l.right, l.a)
		}
		y++
	}
	passed, failed, _ := Tally(s.results)
	c.Center(c.Rows()-2, t.tr(mSelfTestDone, passed, failed), hal.AttrBold)
	if len(lines) > room {
		c.Footer(t.tr(mScrollHint))
	} else {
		c.Footer(t.tr(mContinueHint))
	}
}

func (s *selfTest) Key(t *Terminal, k hal.Key) {
	if s.running {
		return
	}
	switch k {
	case hal.KeyDown:
		s.first++
	case hal.KeyUp:
		if s.first > 0 {
			s.first--
		}
	case hal.KeyEnter, hal.KeyCancel:
		s.back(t)
	}
}

func newOperatorsMenu(t *Terminal) Screen {
	back := func(t *Terminal) { t.Show(newOperatorsMenu(t)) }
	act := func(title msg, do func(by operator.Operator, no string) error, done msg) func(*Terminal) {
		return func(t *Terminal) {
			t.Show(&entry{
				title:  title,
				prompt: t.tr(mWhichOperator),
				max:    2,
				hint:   mEnterHint,
				cancel: func(t *Terminal, _ *entry) { back(t) },
				ok: func(t *Terminal, s *entry) {
					no := s.value
					if len(no) != 2 {
						s.fail(t, E101.Code+" "+t.tr(E101.Fix))
						return
					}
					err := do(*t.op, no)
					switch {
					case err == nil:
						t.log.Info("operator admin", "action", title.en, "operator", no, "by", t.op.No)
						t.showDone(title, t.tr(done, no), back)
					case errors.Is(err, operator.ErrUnknown):
						s.fail(t, E104.Code+" "+t.tr(E104.Title))
					case errors.Is(err, operator.ErrExists):
						s.fail(t, E108.Code+" "+t.tr(E108.Title))
					case errors.Is(err, operator.ErrCannotRemoveSupervisor):
						s.fail(t, E109.Code+" "+t.tr(E109.Title))
					case errors.Is(err, operator.ErrBadNumber):
						s.fail(t, E101.Code+" "+t.tr(E101.Fix))
					case errors.Is(err, operator.ErrNotSupervisor):
						t.showError(title, E107, "", back)
					default:
						t.storageFailed(title, err, back)
					}
				},
			})
		}
	}
	return &menu{
		title: mOperators,
		back:  func(t *Terminal) { t.Show(newMaintenanceMenu(t)) },
		items: []menuItem{
			{mAddCashier, act(mAddCashier, t.ops.Add, mAdded)},
			{mRemoveCashier, act(mRemoveCashier, t.ops.Remove, mRemoved)},
			{mUnlock, act(mUnlock, t.ops.Unlock, mUnlocked)},
			{mResetPassword, act(mResetPassword, t.ops.ResetPassword, mReset)},
			{mListOperators, func(t *Terminal) {
				list, err := t.ops.List()
				if err != nil {
					t.storageFailed(mListOperators, err, back)
					return
				}
				t.Show(&operatorList{list: list, back: back})
			}},
		},
	}
}

type operatorList struct {
	list  []operator.Info
	first int
	back  func(*Terminal)
}

func (s *operatorList) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(mListOperators))
	sort.Slice(s.list, func(i, j int) bool { return s.list[i].No < s.list[j].No })
	now := t.clock.Now()
	y := 1
	for i := s.first; i < len(s.list) && y < c.Rows()-1; i++ {
		o := s.list[i]
		role := t.tr(mCashier)
		if o.Role == operator.Supervisor {
			role = t.tr(mSupervisor)
		}
		state := ""
		switch {
		case o.LockedUntil.After(now):
			state = t.tr(mLockedShort) + " " + o.LockedUntil.In(t.zone()).Format("15:04")
		case o.MustChange:
			state = t.tr(mMustChangeTag)
		}
		c.Pair(y, o.No+" "+role, state, 0)
		y++
	}
	c.Footer(t.tr(mContinueHint))
}

func (s *operatorList) Key(t *Terminal, k hal.Key) {
	switch k {
	case hal.KeyDown:
		if s.first < len(s.list)-1 {
			s.first++
		}
	case hal.KeyUp:
		if s.first > 0 {
			s.first--
		}
	case hal.KeyEnter, hal.KeyCancel:
		s.back(t)
	}
}
