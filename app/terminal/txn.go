package terminal

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/host"
	"github.com/shoukuan/pos/app/operator"
	"github.com/shoukuan/pos/app/receipt"
	"github.com/shoukuan/pos/app/ui"
	"github.com/shoukuan/pos/hal"
)

var (
	mSignOn        = m("POS签到", "Sign on to host")
	mSigningOn     = m("正在签到...", "Signing on...")
	mSignedOn      = m("签到成功", "Signed on")
	mSettle        = m("结算", "Settlement")
	mSettling      = m("正在结算...", "Settling...")
	mSwipe         = m("请刷卡", "Swipe the card")
	mCardHint      = m("取消=返回", "Cancel=back")
	mEnterPIN      = m("请持卡人输入密码:", "Cardholder, enter PIN:")
	mPINHint       = m("确认=完成 清除=退格", "Enter=done Clear=delete")
	mApproved      = m("交易成功", "Approved")
	mAuthCode      = m("授权码", "Auth code")
	mTrace         = m("凭证号", "Voucher no.")
	mRefNo         = m("参考号", "Ref. no.")
	mFee           = m("手续费", "Fee")
	mSupervisorPW  = m("主管密码:", "Supervisor password:")
	mOrigTrace     = m("原凭证号:", "Original voucher no.:")
	mOrigRRN       = m("原参考号(12位):", "Original ref. no. (12):")
	mOrigDate      = m("原交易日期(MMDD):", "Original date (MMDD):")
	mBalanceIs     = m("余额", "Balance")
	mRiskAlert     = m("风险提示: %s", "Risk alert: %s")
	mRiskDeclines  = m("连续%d笔被拒", "%d declines in a row")
	mRiskSameCard  = m("同一卡%d秒内重复交易", "same card again within %ds")
	mNoTxns        = m("无交易记录", "No transactions")
	mTotalLine     = m("消费%d笔 %s", "Sales %d %s")
	mRefundLine    = m("退货%d笔 %s", "Refunds %d %s")
	mSettleConfirm = m("确认结算本批次?", "Settle this batch?")
	mBalanced      = m("对账平", "Balanced")
	mUnbalanced    = m("对账不平,已批上送", "Unbalanced; batch uploaded")
	mReprintLast   = m("重打最后一笔", "Reprint last")
	mReprintTrace  = m("重打任意一笔", "Reprint by voucher")
	mReprintSettle = m("重打结算单", "Reprint settlement")
	mQueryDetail   = m("交易明细", "Transactions")
	mQuerySummary  = m("交易汇总", "Totals")
	mCardOnly      = m("本机暂只支持刷卡", "Swipe only for now")
	mUnknownAnswer = m("主机应答%s,结果不明", "The host answered %s: outcome unknown")
)

// txnReady runs what must happen before any money moves: reversals owed
// are sent, wallet orders left open are resolved, what the cashier has not
// seen is shown and printed, and the terminal signs on if it has not
// today or the host asked. Then next runs.
func (t *Terminal) txnReady(title msg, back func(*Terminal), next func(*Terminal)) {
	if t.eng == nil {
		t.showError(title, E201, "", back)
		return
	}
	t.work(title, mProcessing, func(ctx context.Context) any {
		recovered, err := t.eng.Recover(ctx)
		if err != nil {
			return readyResult{recovered: recovered, err: err}
		}
		if !t.eng.SignedOn() {
			if err := t.eng.SignOn(ctx); err != nil {
				return readyResult{recovered: recovered, err: fmt.Errorf("%w: %w", engine.ErrNotSignedOn, err)}
			}
		}
		return readyResult{recovered: recovered}
	}, func(v any) {
		r := v.(readyResult)
		// What the cashier must know comes first, whatever else failed.
		t.announce(title, func(t *Terminal) {
			if r.err != nil {
				t.recoveryFailed(title, r.err, back)
				return
			}
			next(t)
		})
	})
}

type readyResult struct {
	recovered []engine.Recovered
	err       error
}

// recoveryFailed says why nothing new can start.
func (t *Terminal) recoveryFailed(title msg, err error, back func(*Terminal)) {
	switch {
	case errors.Is(err, engine.ErrReversalOwed):
		t.showError(title, E402, "", back)
	case errors.Is(err, engine.ErrWalletOpen):
		t.showError(title, E409, "", back)
	case errors.Is(err, host.ErrNoMasterKey):
		t.showError(title, E410, "", back)
	case errors.Is(err, engine.ErrNotSignedOn):
		t.showError(title, E403, "", back)
	default:
		t.storageFailed(title, err, back)
	}
}

// ---- sale ----------------------------------------------------------------

func (t *Terminal) startSale() {
	back := func(t *Terminal) { t.Show(newTransactionMenu(t)) }
	t.txnReady(mSale, back, func(t *Terminal) {
		t.Show(newAmountEntry(t, mSale, back, func(t *Terminal, fen int64) {
			// The customer reads this screen: the merchant's own fee is
			// on the merchant copy and the settlement slip, not here.
			t.Show(&confirm{title: mSale, fen: fen, back: back, ok: func(t *Terminal) {
				t.Show(&cardWait{title: mSale, kind: engine.KindSale, fen: fen, back: back, got: func(t *Terminal, c hal.Card, pan string, fallback bool) {
					t.askPIN(mSale, fen, pan, back, func(t *Terminal, block []byte) {
						card := engine.Card{Method: engine.MethodSwipe, Track2: c.Track2, PINBlock: block, Fallback: fallback}
						if fallback {
							card.Info = fallbackInfo
						}
						t.work(mSale, mProcessing, func(ctx context.Context) any {
							res, err := t.eng.Sale(ctx, engine.SaleInput{AmountFen: fen, Card: card, Operator: t.Operator()})
							return txnOutcome{res, err}
						}, func(v any) { t.finish(mSale, v.(txnOutcome), back) })
					})
				}})
			}})
		}))
	})
}

// fallbackInfo marks a swipe that stood in for a chip that failed.
const fallbackInfo = `{"mode":"fallback"}`

type txnOutcome struct {
	res engine.Result
	err error
}

// cardWait arms the reader (insert, tap and swipe: the first card
// presented wins) and waits for a card.
type cardWait struct {
	title  msg
	kind   engine.Kind // sale or balance
	fen    int64
	note   string
	back   func(*Terminal)
	modes  hal.CardMode // zero: all three
	prompt msg
	// failures counts chip reads that failed in a row; at the limit the
	// card may be swiped as a fallback.
	failures int
	fallback bool
	got      func(t *Terminal, c hal.Card, pan string, fallback bool) // a swipe
}

func (s *cardWait) inputs() (bool, hal.CardMode) {
	if s.modes == hal.CardNone {
		return false, hal.CardAny
	}
	return false, s.modes
}

func (s *cardWait) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(s.title))
	if s.fen > 0 {
		c.Pair(2, t.tr(mAmount), ui.Yuan(s.fen), hal.AttrBold)
	}
	prompt := s.prompt
	if prompt.zh == "" {
		prompt = mPresentCard
	}
	c.Center(5, t.tr(prompt), hal.AttrBold)
	if s.note != "" {
		c.Paragraph(7, c.Rows()-1, s.note, hal.AttrError)
	}
	c.Footer(t.tr(mCardHint))
}

func (s *cardWait) Key(t *Terminal, k hal.Key) {
	if k == hal.KeyCancel {
		s.back(t)
	}
}

func (s *cardWait) card(t *Terminal, c hal.Card) {
	if c.Mode != hal.CardMagstripe {
		s.readChip(t, c)
		return
	}
	pan, ok := panOf(c.Track2)
	if !ok {
		s.note = E120.Code + " " + t.tr(E120.Title)
		if t.dev.Indicator != nil {
			t.dev.Indicator.Beep(hal.BeepError)
		}
		return
	}
	if chipCard(c.Track2) && !s.fallback {
		// A chip card is read by its chip: the swipe is refused until
		// the chip has failed (fallback).
		s.note, s.modes, s.prompt = E122.Code+" "+t.tr(E122.Title), hal.CardChip|hal.CardContactless, mInsertCard
		if t.dev.Indicator != nil {
			t.dev.Indicator.Beep(hal.BeepError)
		}
		t.Show(s)
		return
	}
	if t.dev.Indicator != nil {
		t.dev.Indicator.Beep(hal.BeepOK)
	}
	s.got(t, c, pan, s.fallback)
}

// panOf takes the PAN from track 2 for the PIN block; the engine checks
// the track fully.
func panOf(t2 string) (string, bool) {
	i := strings.IndexAny(t2, "=D")
	if i < 13 || i > 19 {
		return "", false
	}
	return t2[:i], true
}

// askPIN collects the PIN with masked echo and hands on only the block.
// The cardholder sees what the PIN authorises: the amount (none for a
// balance inquiry) and the card.
func (t *Terminal) askPIN(title msg, fen int64, pan string, back func(*Terminal), done func(*Terminal, []byte)) {
	lines := []string{engine.MaskPAN(pan)}
	if fen > 0 {
		lines = []string{t.tr(mAmount) + " " + ui.Yuan(fen), engine.MaskPAN(pan)}
	}
	t.Show(&entry{
		title:  title,
		lines:  lines,
		prompt: t.tr(mEnterPIN),
		max:    12,
		masked: true,
		hint:   mPINHint,
		cancel: func(t *Terminal, _ *entry) { back(t) },
		ok: func(t *Terminal, s *entry) {
			if len(s.value) < 4 {
				return
			}
			block, err := t.pinpad.PINBlock(s.value, pan)
			s.value = "" // the PIN lives no longer than this
			if err != nil {
				t.log.Error("PIN block failed", "err", err)
				t.showError(title, E403, "", back)
				return
			}
			done(t, block)
		},
	})
}

// finish shows a transaction's outcome and prints its receipts.
func (t *Terminal) finish(title msg, o txnOutcome, back func(*Terminal)) {
	var d *engine.DeclinedError
	if o.err != nil {
		// Whatever the screen says next is the cashier's news of it.
		t.announced(o.res.Txn)
	}
	switch {
	case o.err == nil:
		t.finishApproved(title, o.res.Txn, o.res.Alerts, back)
	case errors.As(o.err, &d):
		reason := hostReasons[d.Code]
		text := d.Code
		if reason.zh != "" {
			text = t.tr(reason)
		}
		if len(o.res.Alerts) > 0 {
			text += "\n" + t.alertText(o.res.Alerts)
		}
		t.showError(title, E404, text, back)
	case errors.Is(o.err, engine.ErrCardDeclined) && o.res.Txn.Status == engine.StatusReversed:
		t.showError(title, E128, "", back)
	case errors.Is(o.err, engine.ErrCardDeclined):
		t.showError(title, E402, t.tr(mCardRefused), back)
	case errors.Is(o.err, engine.ErrReversalOwed):
		t.showError(title, E402, "", back)
	case errors.Is(o.err, engine.ErrNoReply):
		detail := ""
		var ua *engine.UnknownAnswerError
		if errors.As(o.err, &ua) {
			detail = t.tr(mUnknownAnswer, ua.Code)
		}
		if o.res.Txn.Status == engine.StatusReversed {
			t.showError(title, E401, detail, back)
		} else {
			t.showError(title, E402, detail, back)
		}
	case errors.Is(o.err, engine.ErrNotSignedOn):
		t.showError(title, E403, "", back)
	case errors.Is(o.err, engine.ErrLimit):
		t.showError(title, E111, "", back)
	case errors.Is(o.err, engine.ErrDailyLimit):
		t.showError(title, E112, "", back)
	case errors.Is(o.err, engine.ErrBadCard):
		t.showError(title, E120, "", back)
	case errors.Is(o.err, engine.ErrNotFound):
		t.showError(title, E130, "", back)
	case errors.Is(o.err, engine.ErrNotVoidable):
		t.showError(title, E131, "", back)
	case errors.Is(o.err, engine.ErrRefundTooLarge):
		t.showError(title, E132, "", back)
	default:
		t.storageFailed(title, o.err, back)
	}
}

// alertText says the risk alerts in the UI language.
func (t *Terminal) alertText(alerts []engine.Alert) string {
	var parts []string
	for _, a := range alerts {
		if a.Kind == engine.AlertDeclines {
			parts = append(parts, t.tr(mRiskDeclines, a.Count))
		} else {
			parts = append(parts, t.tr(mRiskSameCard, int(a.Window.Seconds())))
		}
	}
	return t.tr(mRiskAlert, strings.Join(parts, "; "))
}

type approved struct {
	title  msg
	txn    engine.Txn
	alerts []engine.Alert
	next   func(*Terminal)
}

func (s *approved) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(s.title))
	c.Center(1, t.tr(mApproved), hal.AttrOK|hal.AttrBold)
	c.Pair(3, t.tr(mAmount), ui.Yuan(s.txn.AmountFen), hal.AttrBold)
	if s.txn.MaskedPAN != "" {
		c.Right(4, s.txn.MaskedPAN, 0)
	}
	if s.txn.Method.IsWallet() {
		c.Right(4, t.tr(walletNames[s.txn.Method])+" "+s.txn.Buyer, 0)
	}
	c.Pair(5, t.tr(mTrace), s.txn.STAN, 0)
	c.Pair(6, t.tr(mRefNo), s.txn.RRN, 0)
	if s.txn.AuthCode != "" {
		c.Pair(7, t.tr(mAuthCode), s.txn.AuthCode, 0)
	}
	if len(s.alerts) > 0 {
		c.Paragraph(8, c.Rows()-1, t.alertText(s.alerts), hal.AttrError)
	}
	c.Footer(t.tr(mContinueHint))
}

func (s *approved) Key(t *Terminal, k hal.Key) {
	if k == hal.KeyEnter || k == hal.KeyCancel {
		s.next(t)
	}
}

// receipts builds the copies the configuration asks for; recovered ones
// say they were printed after a restart.
func (t *Terminal) receipts(x engine.Txn, reprint, recovered bool) []hal.Document {
	rt := receipt.Txn{Kind: string(x.Kind), Method: string(x.Method), AmountFen: x.AmountFen, MaskedPAN: x.MaskedPAN,
		STAN: x.STAN, Batch: x.Batch, RRN: x.RRN, AuthCode: x.AuthCode, Operator: x.Operator, At: x.Created,
		OrderNo: x.OrderNo, Reprint: reprint, Buyer: x.Buyer, TradeNo: x.TradeNo, Periods: x.Periods, SellerPct: x.SellerPct,
		InstallFeeFen: x.InstallFeeFen, FeeFen: x.FeeFen, Recovered: recovered, Chip: receiptChip(x.Chip), Fallback: x.Chip == fallbackInfo}
	if x.OrigID != 0 && t.eng != nil {
		if o, err := t.eng.Txn(x.OrigID); err == nil {
			rt.OrigSTAN, rt.OrigRRN = o.STAN, o.RRN
			if x.Method.IsWallet() {
				rt.OrigOrderNo = o.OrderNo
			}
		}
	}
	term := t.receiptTerminal()
	if reprint {
		return []hal.Document{receipt.Transaction(term, rt, receipt.MerchantCopy)}
	}
	// 1 copy: the customer's; 2: merchant's then customer's; 3: one more
	// merchant copy for the merchant's bookkeeping.
	var docs []hal.Document
	if t.cfg.Receipt.Copies >= 2 {
		docs = append(docs, receipt.Transaction(term, rt, receipt.MerchantCopy))
	}
	docs = append(docs, receipt.Transaction(term, rt, receipt.CustomerCopy))
	if t.cfg.Receipt.Copies >= 3 {
		docs = append(docs, receipt.Transaction(term, rt, receipt.MerchantCopy))
	}
	return docs
}

// ---- supervisor-authorised flows ----------------------------------------

// withSupervisor asks for the supervisor's password before next.
func (t *Terminal) withSupervisor(title msg, back func(*Terminal), next func(*Terminal)) {
	t.Show(&entry{
		title:  title,
		prompt: t.tr(mSupervisorPW),
		max:    operator.PasswordLength(operator.Supervisor),
		masked: true,
		hint:   mEnterHint,
		cancel: func(t *Terminal, _ *entry) { back(t) },
		ok: func(t *Terminal, s *entry) {
			sup, err := t.ops.SignIn(operator.SupervisorNo, s.value)
			var locked *operator.LockedError
			var wrong *operator.WrongPasswordError
			switch {
			case err == nil && sup.MustChange:
				// A password printed in every manual authorises nothing.
				t.showError(title, E113, "", back)
			case err == nil:
				next(t)
			case errors.As(err, &locked):
				t.showError(title, E103, t.tr(mLockedUntil, locked.Until.In(t.zone()).Format("15:04")), back)
			case errors.As(err, &wrong):
				s.fail(t, E102.Code+" "+t.tr(mWrongPassword, wrong.Remaining))
			default:
				t.storageFailed(title, err, back)
			}
		},
	})
}

func (t *Terminal) startVoid() {
	back := func(t *Terminal) { t.Show(newTransactionMenu(t)) }
	t.withSupervisor(mVoid, back, func(t *Terminal) {
		t.Show(&entry{title: mVoid, prompt: t.tr(mOrigTrace), max: 6, hint: mEnterHint,
			cancel: func(t *Terminal, _ *entry) { back(t) },
			ok: func(t *Terminal, s *entry) {
				if s.value == "" {
					return
				}
				trace := fmt.Sprintf("%06s", s.value)
				orig, err := t.eng.ByTrace(trace)
				if err != nil || orig.Kind != engine.KindSale {
					s.fail(t, E130.Code+" "+t.tr(E130.Title))
					return
				}
				t.Show(&confirm{title: mVoid, fen: orig.AmountFen, detail: orig.MaskedPAN + " " + t.tr(mTrace) + " " + orig.STAN, back: back, ok: func(t *Terminal) {
					t.txnReady(mVoid, back, func(t *Terminal) {
						t.work(mVoid, mProcessing, func(ctx context.Context) any {
							res, err := t.eng.Void(ctx, trace, t.Operator())
							return txnOutcome{res, err}
						}, func(v any) { t.finish(mVoid, v.(txnOutcome), back) })
					})
				}})
			}})
	})
}

func (t *Terminal) startRefund() {
	back := func(t *Terminal) { t.Show(newTransactionMenu(t)) }
	t.withSupervisor(mRefund, back, func(t *Terminal) {
		t.Show(&entry{title: mRefund, prompt: t.tr(mOrigRRN), max: 12, hint: mEnterHint,
			cancel: func(t *Terminal, _ *entry) { back(t) },
			ok: func(t *Terminal, s *entry) {
				if len(s.value) != 12 {
					return
				}
				rrn := s.value
				t.Show(&entry{title: mRefund, prompt: t.tr(mOrigDate), max: 4, hint: mEnterHint,
					cancel: func(t *Terminal, _ *entry) { back(t) },
					ok: func(t *Terminal, d *entry) {
						if !validMMDD(d.value) {
							d.fail(t, t.tr(mOrigDate))
							return
						}
						date := d.value
						t.Show(newAmountEntry(t, mRefund, back, func(t *Terminal, fen int64) {
							t.Show(&confirm{title: mRefund, fen: fen, detail: t.tr(mRefNo) + " " + rrn, back: back, ok: func(t *Terminal) {
								t.txnReady(mRefund, back, func(t *Terminal) {
									t.work(mRefund, mProcessing, func(ctx context.Context) any {
										res, err := t.eng.Refund(ctx, rrn, date, fen, t.Operator())
										return txnOutcome{res, err}
									}, func(v any) { t.finish(mRefund, v.(txnOutcome), back) })
								})
							}})
						}))
					}})
			}})
	})
}

func validMMDD(s string) bool {
	if len(s) != 4 {
		return false
	}
	mm, dd := s[:2], s[2:]
	return mm >= "01" && mm <= "12" && dd >= "01" && dd <= "31"
}

func (t *Terminal) startBalance() {
	back := func(t *Terminal) { t.Show(newTransactionMenu(t)) }
	t.txnReady(mBalance, back, func(t *Terminal) {
		t.Show(&cardWait{title: mBalance, kind: engine.KindBalance, back: back, got: func(t *Terminal, c hal.Card, pan string, fallback bool) {
			t.askPIN(mBalance, 0, pan, back, func(t *Terminal, block []byte) {
				card := engine.Card{Method: engine.MethodSwipe, Track2: c.Track2, PINBlock: block, Fallback: fallback}
				t.work(mBalance, mProcessing, func(ctx context.Context) any {
					fen, err := t.eng.Balance(ctx, card, t.Operator())
					return balanceResult{fen, err}
				}, func(v any) {
					r := v.(balanceResult)
					if r.err != nil {
						t.finish(mBalance, txnOutcome{err: r.err}, back)
						return
					}
					t.Show(&message{title: mBalance, text: t.tr(mBalanceIs) + " " + ui.Yuan(r.fen), attr: hal.AttrBold, next: back})
				})
			})
		}})
	})
}

type balanceResult struct {
	fen int64
	err error
}

// ---- settlement ------------------------------------------------------------

func (t *Terminal) startSettle() {
	back := toMain
	if t.eng == nil {
		t.showError(mSettle, E201, "", back)
		return
	}
	batch, err := t.eng.CurrentBatch()
	if err != nil {
		t.storageFailed(mSettle, err, back)
		return
	}
	tot, err := t.eng.BatchTotals(batch)
	if err != nil {
		t.storageFailed(mSettle, err, back)
		return
	}
	all := tot.Total()
	t.Show(&confirm{title: mSettle, fen: all.DebitFen - all.CreditFen,
		detail: t.tr(mSettleConfirm) + "\n" + t.tr(mTotalLine, all.DebitCount, ui.Yuan(all.DebitFen)) + "\n" + t.tr(mRefundLine, all.CreditCount, ui.Yuan(all.CreditFen)),
		back:   back, ok: func(t *Terminal) {
			t.txnReady(mSettle, back, func(t *Terminal) {
				t.work(mSettle, mSettling, func(ctx context.Context) any {
					s, err := t.eng.Settle(ctx, t.Operator())
					return settleResult{s, err}
				}, func(v any) {
					r := v.(settleResult)
					if r.err != nil {
						t.log.Warn("settlement failed", "err", r.err)
						t.showError(mSettle, E405, "", back)
						return
					}
					text := t.tr(mBalanced)
					if !r.s.Balanced || r.s.Uploaded > 0 {
						text = t.tr(mUnbalanced)
					}
					slip := t.settlementSlip(r.s, false)
					t.printDocs(mSettle, []hal.Document{slip}, func(t *Terminal) {
						if err := t.eng.SlipPrinted(r.s.Totals.Batch); err != nil {
							t.log.Error("slip mark not written", "err", err)
						}
						t.showDone(mSettle, text, back)
					}, func(t *Terminal) {
						// Left for later: it prints with what else is owed.
						t.showDone(mSettle, text+"\n"+t.tr(mReceiptsOwed, 1), back)
					})
				})
			})
		}})
}

type settleResult struct {
	s   engine.Settlement
	err error
}

func (t *Terminal) settlementSlip(s engine.Settlement, reprint bool) hal.Document {
	at := s.At
	if at.IsZero() {
		at = t.clock.Now()
	}
	rs := receipt.Settlement{Batch: s.Totals.Batch, At: at, Operator: t.Operator(), Balanced: s.Balanced, Uploaded: s.Uploaded, Reprint: reprint}
	for _, c := range s.Totals.Classes {
		rs.Classes = append(rs.Classes, receipt.ClassTotals{Class: c.Class, DebitCount: c.DebitCount, DebitFen: c.DebitFen, CreditCount: c.CreditCount, CreditFen: c.CreditFen, FeeFen: c.FeeFen})
	}
	return receipt.SettlementSlip(t.receiptTerminal(), rs)
}

// ---- sign-on and recovery at sign-in --------------------------------------

func (t *Terminal) startSignOn(back func(*Terminal)) {
	if t.eng == nil {
		t.showError(mSignOn, E201, "", back)
		return
	}
	t.work(mSignOn, mSigningOn, func(ctx context.Context) any {
		return t.eng.SignOn(ctx)
	}, func(v any) {
		if err, _ := v.(error); err != nil {
			t.log.Warn("sign-on failed", "err", err)
			t.showError(mSignOn, E403, "", back)
			return
		}
		text := t.tr(mSignedOn)
		if t.eng.UpdateRequested() {
			text += "\n" + t.tr(mUpdateOffered)
		}
		t.showDone(mSignOn, text, back)
	})
}

// afterSignIn settles what a crash or power cut left open before the
// cashier can start anything new: reversals and open wallet orders go to
// the host, and every outcome the cashier has not seen is shown, with its
// receipts printed, even when the host cannot be reached.
func (t *Terminal) afterSignIn() {
	if t.eng == nil {
		t.Show(newMainMenu(t))
		return
	}
	t.work(mMainTitle, mProcessing, func(ctx context.Context) any {
		recovered, err := t.eng.Recover(ctx)
		return readyResult{recovered: recovered, err: err}
	}, func(v any) {
		r := v.(readyResult)
		t.announce(mMainTitle, func(t *Terminal) {
			if r.err != nil {
				t.recoveryFailed(mMainTitle, r.err, toMain)
				return
			}
			toMain(t)
		})
	})
}
