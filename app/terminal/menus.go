package terminal

import (
	"fmt"

	"github.com/shoukuan/pos/app/ui"
	"github.com/shoukuan/pos/hal"
)

// mainMenu is the menu every flow comes back to; coming back, it prints
// what is owed if the printer is ready again.
type mainMenu struct {
	*menu
	noAuto bool // just came from printing what is owed: do not try again
}

func (s *mainMenu) enter(t *Terminal) {
	if s.noAuto {
		return
	}
	t.printOwedIfReady(func(t *Terminal) { t.Show(&mainMenu{menu: newMainMenu(t).(*mainMenu).menu, noAuto: true}) })
}

func newMainMenu(t *Terminal) Screen {
	return &mainMenu{menu: &menu{
		title:  mMainTitle,
		header: func(t *Terminal) string { return t.tr(mOperatorLine, t.Operator()) },
		items: []menuItem{
			{mTransaction, func(t *Terminal) { t.Show(newTransactionMenu(t)) }},
			{mQuery, func(t *Terminal) { t.Show(newQueryMenu(t)) }},
			{mSettings, func(t *Terminal) { t.Show(newSettingsMenu(t)) }},
			{mMaintenance, func(t *Terminal) { t.Show(newMaintenanceMenu(t)) }},
			{mSignOff, func(t *Terminal) {
				t.log.Info("operator signed off", "operator", t.Operator())
				t.Show(newSignIn(t))
			}},
		},
	}}
}

func toMain(t *Terminal) { t.Show(newMainMenu(t)) }

// notAvailable is the honest answer for functions this build does not
// have yet: the cashier sees a code to report, nothing is sent anywhere.
func notAvailable(title msg, back func(*Terminal)) func(*Terminal) {
	return func(t *Terminal) { t.showError(title, E201, "", back) }
}

func newTransactionMenu(t *Terminal) Screen {
	back := func(t *Terminal) { t.Show(newTransactionMenu(t)) }
	item := func(title msg, start func(*Terminal)) menuItem {
		if t.eng == nil {
			return menuItem{title, notAvailable(title, back)}
		}
		return menuItem{title, start}
	}
	return &menu{
		title: mTransaction,
		back:  toMain,
		items: []menuItem{
			item(mSale, (*Terminal).startSale),
			item(mVoid, (*Terminal).startVoid),
			item(mRefund, (*Terminal).startRefund),
			item(mBalance, (*Terminal).startBalance),
			item(mSettle, (*Terminal).startSettle),
			item(mScanPay, (*Terminal).startScanPay),
			item(mShowQR, (*Terminal).startShowQR),
			item(mHuabei, (*Terminal).startHuabei),
			item(mQRRefund, (*Terminal).startQRRefund),
		},
	}
}

func newSettingsMenu(t *Terminal) Screen {
	back := func(t *Terminal) { t.Show(newSettingsMenu(t)) }
	return &menu{
		title: mSettings,
		back:  toMain,
		items: []menuItem{
			{mChangePassword, func(t *Terminal) { t.Show(newPasswordChange(t, "", mChangeTitle, back, back)) }},
			{mLanguage, func(t *Terminal) {
				next := EN
				if t.lang == EN {
					next = ZH
				}
				if err := t.setLang(next); err != nil {
					t.storageFailed(mSettings, err, back)
					return
				}
				t.log.Info("language changed", "lang", next)
				t.showDone(mSettings, t.tr(mLangSet), back)
			}},
			{mTerminalInfo, func(t *Terminal) { t.Show(&terminalInfo{back: back}) }},
		},
	}
}

type terminalInfo struct{ back func(*Terminal) }

func (s *terminalInfo) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(mTerminalInfo))
	cfg := t.cfg.Terminal
	name := cfg.MerchantName
	if t.lang == EN && cfg.MerchantNameEN != "" {
		name = cfg.MerchantNameEN
	}
	c.Pair(2, t.tr(mTerminalID), cfg.TerminalID, 0)
	c.Pair(3, t.tr(mMerchantID), cfg.MerchantID, 0)
	c.Text(0, 4, t.tr(mMerchantName), 0)
	c.Right(5, name, 0)
	c.Pair(6, t.tr(mHost), t.cfg.Host.Address, 0)
	c.Pair(7, t.tr(mVersion), t.build.Version, 0)
	c.Footer(t.tr(mContinueHint))
}

func (s *terminalInfo) Key(t *Terminal, k hal.Key) {
	if k == hal.KeyEnter || k == hal.KeyCancel {
		s.back(t)
	}
}

// amountEntry takes an amount the way bank POS keypads do: digits shift in
// from the right in fen, so 1 2 3 4 reads ¥12.34.
type amountEntry struct {
	title msg
	fen   int64
	note  string
	back  func(*Terminal)
	ok    func(*Terminal, int64)
}

func newAmountEntry(t *Terminal, title msg, back func(*Terminal), ok func(*Terminal, int64)) *amountEntry {
	return &amountEntry{title: title, back: back, ok: ok}
}

// maxAmountDigits keeps amounts inside ISO 8583 field 4 (12 digits).
const maxAmountFen = 999999999999

func (s *amountEntry) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(s.title))
	c.Text(0, 2, t.tr(mAmountTitle), 0)
	c.Right(4, ui.Yuan(s.fen), hal.AttrBold)
	if s.note != "" {
		c.Paragraph(6, c.Rows()-1, s.note, hal.AttrError)
	}
	c.Footer(t.tr(mAmountHint))
}

func (s *amountEntry) Key(t *Terminal, k hal.Key) {
	push := func(d int64) {
		if v := s.fen*10 + d; v <= maxAmountFen {
			s.fen = v
		}
	}
	switch k {
	case hal.KeyCancel:
		if s.fen != 0 {
			s.fen, s.note = 0, ""
			return
		}
		s.back(t)
	case hal.KeyClear:
		s.fen /= 10
	case hal.Key00:
		push(0)
		push(0)
	case hal.KeyEnter:
		switch {
		case s.fen == 0:
			s.note = E110.Code + " " + t.tr(E110.Title)
		case s.fen > t.cfg.Limits.PerTransactionFen:
			s.note = fmt.Sprintf("%s %s (%s)", E111.Code, t.tr(E111.Title), ui.Yuan(t.cfg.Limits.PerTransactionFen))
		default:
			s.ok(t, s.fen)
			return
		}
		if t.dev.Indicator != nil {
			t.dev.Indicator.Beep(hal.BeepError)
		}
	default:
		if d, ok := k.Digit(); ok {
			push(int64(d))
			s.note = ""
		}
	}
}

// confirm shows the amount once more before anything is sent, with the
// merchant's fee when there is one.
type confirm struct {
	title  msg
	fen    int64
	fee    int64
	detail string // already translated
	back   func(*Terminal)
	ok     func(*Terminal)
}

func (s *confirm) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(s.title))
	c.Text(0, 2, t.tr(mConfirmTitle), 0)
	c.Pair(4, t.tr(mAmount), ui.Yuan(s.fen), hal.AttrBold)
	y := 5
	if s.fee > 0 {
		c.Pair(y, t.tr(mFee), ui.Yuan(s.fee), hal.AttrDim)
		y++
	}
	if s.detail != "" {
		c.Paragraph(y+1, c.Rows()-1, s.detail, 0)
	}
	c.Footer(t.tr(mConfirmHint))
}

func (s *confirm) Key(t *Terminal, k hal.Key) {
	switch k {
	case hal.KeyEnter:
		s.ok(t)
	case hal.KeyCancel:
		s.back(t)
	}
}
