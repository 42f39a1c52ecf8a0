package terminal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/shoukuan/pos/app/emv"
	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/app/receipt"
	"github.com/shoukuan/pos/app/ui"
	"github.com/shoukuan/pos/hal"
)

var (
	mPresentCard   = m("请插卡/挥卡/刷卡", "Insert, tap or swipe")
	mInsertCard    = m("请插卡", "Insert the card")
	mReadingCard   = m("读卡中,请勿移卡...", "Reading the card; keep it there...")
	mRemoveCard    = m("请移卡,处理中...", "Remove the card; processing...")
	mChooseApp     = m("请选择应用:", "Choose the application:")
	mOfflinePIN    = m("请输入脱机密码:", "Enter the card PIN:")
	mPINTriesLeft  = m("剩余%d次", "%d tries left")
	mWrongOffline  = m("密码错误,剩余%d次", "Wrong PIN, %d tries left")
	mPINBlockedCVM = m("脱机密码已锁,改用其他验证方式", "Card PIN blocked; verifying another way")
	mFallbackSwipe = m("芯片读卡失败,请刷卡", "The chip failed; swipe the card")
	mCardRefused   = m("卡片拒绝了主机的批准,冲正待发送", "The card refused the approval; the reversal is still to go")
)

// Card errors.
var (
	E122 = ErrCode{"E122", m("请插卡", "Chip card: insert it"),
		m("这是芯片卡,请插入芯片卡槽;芯片多次读卡失败后才能刷卡", "This is a chip card: insert it; it may be swiped only after its chip failed to read")}
	E123 = ErrCode{"E123", m("卡片已移开", "Card removed too early"),
		m("交易未发送,顾客未被扣款;请重新插卡或挥卡,读完再移开", "Nothing was sent; the customer was not charged. Present the card again and keep it there")}
	E124 = ErrCode{"E124", m("本卡不支持", "Card not accepted"),
		m("卡片没有本终端受理的应用(如境外卡、交通卡);请换卡或扫码", "The card has no application this terminal takes (a foreign or transit card); use another card or a QR code")}
	E125 = ErrCode{"E125", m("卡片应用已锁定", "Card application blocked"),
		m("请顾客联系发卡行,或换卡", "Ask the customer to call the issuer, or use another card")}
	E126 = ErrCode{"E126", m("芯片读卡失败", "Chip not read"),
		m("请重新插卡,芯片朝上插到底;多次失败后可刷卡", "Insert again, chip up and all the way in; after repeated failures the card may be swiped")}
	E127 = ErrCode{"E127", m("卡片拒绝交易", "Declined by the card"),
		m("交易未发送,顾客未被扣款;请换卡或扫码", "Nothing was sent; the customer was not charged. Use another card or a QR code")}
	E128 = ErrCode{"E128", m("卡片拒绝,已冲正", "Card refused; reversed"),
		m("主机已批准但卡片拒绝完成,交易已冲正,顾客未被扣款", "The host approved but the card refused to complete; the approval was reversed and the customer was not charged")}
	E129 = ErrCode{"E129", m("超过闪付限额", "Over the tap limit"),
		m("请插卡完成交易", "Insert the card instead")}
)

func init() {
	ErrCodes = append(ErrCodes, E122, E123, E124, E125, E126, E127, E128, E129)
}

var mOneCard = m("请只出示一张卡", "Present one card only")

// cardRefused says why a tap did nothing: a card that cannot pay, or two
// cards at once.
func (s *cardWait) cardRefused(t *Terminal, err error) {
	if errors.Is(err, hal.ErrTwoCards) {
		s.note = t.tr(mOneCard)
	} else {
		s.note = E124.Code + " " + t.tr(E124.Title)
	}
	t.Show(s)
}

// chipCard is a chip card's track 2: service code 2xx or 6xx.
func chipCard(track2 string) bool {
	i := strings.IndexAny(track2, "=D")
	if i < 0 || len(track2) < i+8 {
		return false
	}
	return track2[i+5] == '2' || track2[i+5] == '6'
}

// kernel is the card kernel's configuration for today.
func (t *Terminal) kernel() (*emv.Config, error) {
	cfg, err := t.cfg.EMV.Kernel(t.demo || t.cfg.Demo, t.clock.Now())
	if err != nil {
		return nil, err
	}
	cfg.IFDSerial = t.cfg.Terminal.TerminalID
	cfg.MerchantName = t.cfg.Terminal.MerchantNameEN
	return cfg, nil
}

// chipRun is one chip or contactless card from the read to the outcome.
type chipRun struct {
	wait   *cardWait
	tx     *emv.Transaction
	rec    *emv.Recorder
	method engine.Method
}

// readChip starts the kernel on a card that was inserted or tapped.
func (s *cardWait) readChip(t *Terminal, c hal.Card) {
	cfg, err := t.kernel()
	if err != nil {
		t.log.Error("card kernel configuration", "err", err)
		t.showError(s.title, E201, err.Error(), s.back)
		return
	}
	mode, method := emv.Contact, engine.MethodChip
	if c.Mode == hal.CardContactless {
		mode, method = emv.Contactless, engine.MethodTap
	}
	card := c.APDU
	var rec *emv.Recorder
	if dir := t.cfg.EMV.RecordTraces; dir != "" {
		rec = emv.NewRecorder(card, mode, t.cfg.EMV.RecordUnmasked)
		card = rec
	}
	typ := emv.TypePurchase
	if s.kind == engine.KindBalance {
		typ = emv.TypeBalance
	}
	tx, err := emv.New(cfg, card, emv.Input{Mode: mode, AmountFen: s.fen, Type: typ, Now: t.clock.Now()})
	if err != nil {
		t.showError(s.title, E201, err.Error(), s.back)
		return
	}
	r := &chipRun{wait: s, tx: tx, rec: rec, method: method}
	r.read(t, -1)
}

// cardReadTimeout bounds a card read: a reader that stops answering ends
// the read with an error instead of holding the terminal.
const cardReadTimeout = 30 * time.Second

func (r *chipRun) read(t *Terminal, choice int) {
	t.work(r.wait.title, mReadingCard, func(ctx context.Context) any {
		ctx, cancel := context.WithTimeout(ctx, cardReadTimeout)
		defer cancel()
		return r.tx.Read(ctx, choice)
	}, func(v any) {
		err, _ := v.(error)
		r.afterRead(t, err)
	})
}

func (r *chipRun) afterRead(t *Terminal, err error) {
	s := r.wait
	switch {
	case errors.Is(err, emv.ErrChoose):
		t.Show(&appChoice{run: r})
		return
	case err != nil:
		r.record(t)
		s.cardFailed(t, err, r.tx.Selected(), r.tx.Mode() == emv.Contact)
		return
	}
	s.failures = 0
	if t.dev.Indicator != nil {
		t.dev.Indicator.Beep(hal.BeepOK) // a tap: the card may leave now
	}
	r.verify(t, "")
}

// cardFailed goes back to the card prompt saying why, or ends the
// transaction when no card will do.
func (s *cardWait) cardFailed(t *Terminal, err error, selected, contact bool) {
	t.log.Info("card not read", "err", err)
	if t.dev.Indicator != nil {
		t.dev.Indicator.Beep(hal.BeepError)
	}
	again := func(e ErrCode, modes hal.CardMode, prompt msg) {
		s.note, s.modes, s.prompt = e.Code+" "+t.tr(e.Title), modes, prompt
		t.Show(s)
	}
	switch {
	case errors.Is(err, emv.ErrCardRemoved):
		again(E123, s.modes, s.prompt)
	case errors.Is(err, emv.ErrUseContact):
		again(E129, hal.CardChip, mInsertCard)
	case errors.Is(err, emv.ErrNoApplication):
		t.showError(s.title, E124, "", s.back)
	case errors.Is(err, emv.ErrAppBlocked):
		t.showError(s.title, E125, "", s.back)
	case errors.Is(err, context.Canceled):
		s.back(t)
	case selected:
		// The chip works but its data does not: no fallback to the
		// stripe for a card that could force one this way.
		t.showError(s.title, E126, "", s.back)
	case !contact:
		// A tap that did not read: tap again, or insert. Only a chip
		// that fails in the slot opens the stripe.
		again(E126, s.modes, s.prompt)
	default:
		s.failures++
		if s.failures >= t.cfg.EMV.FallbackAfterFailures {
			// The chip is dead: the card may be swiped, and the host is
			// told it is a fallback.
			s.fallback = true
			s.note = E126.Code + " " + t.tr(mFallbackSwipe)
			s.modes, s.prompt = hal.CardMagstripe, mSwipe
			t.Show(s)
			return
		}
		again(E126, s.modes, s.prompt)
	}
}

// verify does the cardholder verification the kernel chose.
func (r *chipRun) verify(t *Terminal, note string) {
	s := r.wait
	pan, _ := r.tx.PAN()
	cvm := r.tx.CVM()
	if s.kind == engine.KindBalance && cvm != emv.CVMOfflinePIN {
		cvm = emv.CVMOnlinePIN // the issuer shows a balance only to the PIN's holder
	}
	switch cvm {
	case emv.CVMOnlinePIN:
		t.askPIN(s.title, s.fen, pan, s.back, func(t *Terminal, block []byte) {
			r.tx.OnlinePINEntered()
			r.online(t, block)
		})
	case emv.CVMOfflinePIN:
		r.offlinePIN(t, note)
	default:
		r.online(t, nil)
	}
}

// offlinePIN asks for the PIN the card checks itself (VERIFY), with the
// tries the card has left.
func (r *chipRun) offlinePIN(t *Terminal, note string) {
	s := r.wait
	t.work(s.title, mReadingCard, func(ctx context.Context) any { return r.tx.PINTries(ctx) }, func(v any) {
		left := v.(int)
		pan, _ := r.tx.PAN()
		lines := []string{t.tr(mAmount) + " " + ui.Yuan(s.fen), engine.MaskPAN(pan)}
		if left > 0 {
			lines = append(lines, t.tr(mPINTriesLeft, left))
		}
		t.Show(&entry{title: s.title, lines: lines, prompt: t.tr(mOfflinePIN), max: 12, masked: true, hint: mPINHint, note: note, noteAttr: hal.AttrError,
			cancel: func(t *Terminal, _ *entry) { s.back(t) },
			ok: func(t *Terminal, e *entry) {
				if len(e.value) < 4 {
					return
				}
				pin := e.value
				e.value = ""
				t.work(s.title, mProcessing, func(ctx context.Context) any { return r.tx.VerifyOfflinePIN(ctx, pin) }, func(v any) {
					err, _ := v.(error)
					var wrong *emv.WrongPINError
					switch {
					case err == nil:
						r.online(t, nil)
					case errors.As(err, &wrong):
						r.offlinePIN(t, t.tr(mWrongOffline, wrong.Left))
					case errors.Is(err, emv.ErrPINBlocked):
						r.verify(t, t.tr(mPINBlockedCVM))
					default:
						s.cardFailed(t, err, true, true)
					}
				})
			}})
	})
}

// chipSale is what goes to the engine after the card's cryptogram.
type chipOutcome struct {
	txn     txnOutcome
	balance *balanceResult
	offline error
}

// online asks the card for its cryptogram and sends the transaction.
func (r *chipRun) online(t *Terminal, block []byte) {
	s := r.wait
	busy := mProcessing
	if r.tx.Mode() == emv.Contactless {
		busy = mRemoveCard // the tap is read: the card may go
	}
	t.work(s.title, busy, func(ctx context.Context) any {
		on, err := r.tx.RequestOnline(ctx)
		if err != nil {
			return chipOutcome{offline: err}
		}
		info, _ := json.Marshal(r.tx.Summary())
		card := engine.Card{Method: r.method, Track2: r.tx.Track2(), PINBlock: block, ICC: on.Field55, Seq: r.tx.PSN(),
			Info: string(info), ReversalICC: r.tx.ReversalICC()}
		if s.kind == engine.KindBalance {
			fen, err := t.eng.Balance(ctx, card, t.Operator())
			if r.tx.Mode() == emv.Contact {
				r.tx.Complete(ctx, false, nil) // nothing to approve: the card closes with an AAC
			}
			return chipOutcome{balance: &balanceResult{fen, err}}
		}
		var done engine.ChipCompleter
		if r.tx.Mode() == emv.Contact {
			done = chipCompleter{r.tx}
		}
		res, err := t.eng.Sale(ctx, engine.SaleInput{AmountFen: s.fen, Card: card, Operator: t.Operator(), Chip: done})
		return chipOutcome{txn: txnOutcome{res, err}}
	}, func(v any) {
		o := v.(chipOutcome)
		r.record(t)
		switch {
		case o.offline != nil && errors.Is(o.offline, emv.ErrDeclinedOffline):
			detail := ""
			if r.tx.Expired() {
				detail = t.tr(hostReasons["54"])
			}
			t.showError(s.title, E127, detail, s.back)
		case o.offline != nil:
			s.cardFailed(t, o.offline, true, r.tx.Mode() == emv.Contact)
		case o.balance != nil && o.balance.err != nil:
			t.finish(s.title, txnOutcome{err: o.balance.err}, s.back)
		case o.balance != nil:
			t.Show(&message{title: s.title, text: t.tr(mBalanceIs) + " " + ui.Yuan(o.balance.fen), attr: hal.AttrBold, next: s.back})
		default:
			t.finish(s.title, o.txn, s.back)
		}
	})
}

// chipCompleter gives the host's answer to the card for the engine.
type chipCompleter struct{ tx *emv.Transaction }

func (c chipCompleter) Complete(ctx context.Context, approved bool, icc []byte) (string, []byte, error) {
	_, err := c.tx.Complete(ctx, approved, icc)
	info, _ := json.Marshal(c.tx.Summary())
	return string(info), c.tx.ReversalICC(), err
}

// record writes the card's exchange for the technician, when asked.
func (r *chipRun) record(t *Terminal) {
	if r.rec == nil {
		return
	}
	dir := t.cfg.EMV.RecordTraces
	b, err := json.MarshalIndent(r.rec.Trace(r.tx), "", " ")
	if err == nil {
		err = journal.SecureDir(dir)
	}
	if err == nil {
		name := filepath.Join(dir, fmt.Sprintf("card-%s.json", t.clock.Now().Format("20060102-150405.000")))
		err = os.WriteFile(name, append(b, '\n'), 0o600)
	}
	if err != nil {
		t.log.Warn("card trace not written", "err", err)
	}
}

// appChoice lets the cardholder choose among the card's applications.
type appChoice struct{ run *chipRun }

func (s *appChoice) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(s.run.wait.title))
	c.Text(0, 1, t.tr(mChooseApp), hal.AttrBold)
	for i, a := range s.run.tx.Candidates {
		if 2+i >= c.Rows()-1 {
			break
		}
		c.Text(0, 2+i, itemNumber(i)+"."+a.Label, hal.AttrNone)
	}
	c.Footer(t.tr(mMenuHint))
}

func (s *appChoice) Key(t *Terminal, k hal.Key) {
	if k == hal.KeyCancel {
		s.run.wait.back(t)
		return
	}
	if d, ok := k.Digit(); ok && d >= 1 && d <= len(s.run.tx.Candidates) {
		s.run.read(t, d-1)
	}
}

// receiptChip is the slip's view of a journaled chip summary.
func receiptChip(info string) *receipt.Chip {
	if info == "" {
		return nil
	}
	var sum emv.Summary
	if json.Unmarshal([]byte(info), &sum) != nil || sum.AID == "" {
		return nil
	}
	return &receipt.Chip{Label: sum.Label, AID: sum.AID, ACType: sum.ACType, Cryptogram: sum.Cryptogram, TVR: sum.TVR, TSI: sum.TSI,
		ATC: sum.ATC, NoCVM: sum.NoCVMLimit, Device: sum.CVM == "device", Signature: sum.CVM == "signature"}
}
