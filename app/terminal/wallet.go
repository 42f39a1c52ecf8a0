package terminal

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/paycode"
	"github.com/shoukuan/pos/app/ui"
	"github.com/shoukuan/pos/hal"
)

var (
	mScanPay      = m("扫码收款", "Scan customer code")
	mShowQR       = m("二维码收款", "Show QR to customer")
	mHuabei       = m("花呗分期", "Huabei installments")
	mQRRefund     = m("扫码退货", "QR payment refund")
	mOrderQuery   = m("订单查询", "Order query")
	mScanPrompt   = m("请扫顾客付款码", "Scan the customer's code")
	mScanHint     = m("也可手输付款码 确认=完成", "or key it in  Enter=done")
	mWallet       = m("支付方式", "Wallet")
	mUserPaying   = m("请顾客在手机上确认支付", "Customer: confirm on the phone")
	mWaitPay      = m("等待付款", "Waiting for payment")
	mSecondsLeft  = m("剩余%d秒  取消=撤单", "%ds left  Cancel=cancel")
	mScanToPay    = m("请顾客用手机扫码付款", "Customer: scan this code")
	mNoPicture    = m("屏幕不能显示二维码,已打印", "Screen cannot show codes; printed")
	mPeriodsMenu  = m("分期期数", "Installments")
	mPeriodsN     = m("%d期 (费率%s)", "%d periods (fee %s)")
	mFeePayer     = m("手续费承担", "Who pays the fee")
	mBuyerPays    = m("顾客承担", "Customer pays")
	mSellerPays   = m("商户承担", "Merchant pays")
	mHowPay       = m("收款方式", "How to collect")
	mTerms        = m("分%d期 每期%s\n手续费%s(%s)", "%d periods of %s\nfee %s (%s)")
	mOrderNo      = m("订单号", "Order no.")
	mOrderPrompt  = m("扫描或输入订单号:", "Scan or key the order no.:")
	mTracePrompt  = m("凭证号(空=最近一笔):", "Voucher no. (empty=last):")
	mOrderStatus  = m("订单状态", "Order status")
	mBuyer        = m("付款账号", "Buyer")
	mWalletQR     = m("二维码收款单", "QR payment")
	mWalletStates = map[string]msg{
		engine.OrderPaid:     m("已支付", "Paid"),
		engine.OrderPaying:   m("等待顾客确认", "Customer confirming"),
		engine.OrderNotPaid:  m("未支付", "Not paid"),
		engine.OrderClosed:   m("已关闭", "Closed"),
		engine.OrderRefunded: m("已全额退款", "Refunded"),
	}
	walletNames = map[engine.Method]msg{
		engine.MethodAlipay: m("支付宝", "Alipay"),
		engine.MethodWeChat: m("微信支付", "WeChat Pay"),
		engine.MethodUPQR:   m("银联二维码", "UnionPay QR"),
		engine.MethodQR:     m("扫码支付", "QR payment"),
	}
)

// walletChoice is what the cashier chose before the money moves.
type walletChoice struct {
	fen                int64
	periods, sellerPct int
}

// startScanPay: amount, then the customer's code, then confirm.
func (t *Terminal) startScanPay() {
	back := func(t *Terminal) { t.Show(newTransactionMenu(t)) }
	t.txnReady(mScanPay, back, func(t *Terminal) {
		t.Show(newAmountEntry(t, mScanPay, back, func(t *Terminal, fen int64) {
			t.scanCustomer(mScanPay, walletChoice{fen: fen}, back)
		}))
	})
}

// startShowQR: amount, then the QR on the screen.
func (t *Terminal) startShowQR() {
	back := func(t *Terminal) { t.Show(newTransactionMenu(t)) }
	t.txnReady(mShowQR, back, func(t *Terminal) {
		t.Show(newAmountEntry(t, mShowQR, back, func(t *Terminal, fen int64) {
			t.showMerchantQR(mShowQR, walletChoice{fen: fen}, back)
		}))
	})
}

// startHuabei: amount, periods, who pays the fee, the terms, then either
// way of collecting.
func (t *Terminal) startHuabei() {
	back := func(t *Terminal) { t.Show(newTransactionMenu(t)) }
	if len(t.cfg.Huabei.Periods()) == 0 || !t.cfg.Huabei.Enabled {
		t.showError(mHuabei, E133, "", back)
		return
	}
	t.txnReady(mHuabei, back, func(t *Terminal) {
		var amount *amountEntry
		amount = newAmountEntry(t, mHuabei, back, func(t *Terminal, fen int64) {
			// The amount first: no periods to choose for one that cannot
			// be split.
			if note := t.huabeiAmountNote(fen); note != "" {
				amount.note = note
				if t.dev.Indicator != nil {
					t.dev.Indicator.Beep(hal.BeepError)
				}
				return
			}
			var items []menuItem
			for _, n := range t.cfg.Huabei.Periods() {
				n := n
				rate := t.cfg.Huabei.RatesBP[fmt.Sprint(n)]
				items = append(items, menuItem{m(fmt.Sprintf(mPeriodsN.zh, n, pct(rate)), fmt.Sprintf(mPeriodsN.en, n, pct(rate))), func(t *Terminal) {
					t.Show(&menu{title: mFeePayer, back: back, items: []menuItem{
						{mBuyerPays, func(t *Terminal) { t.huabeiTerms(walletChoice{fen: fen, periods: n}, back) }},
						{mSellerPays, func(t *Terminal) { t.huabeiTerms(walletChoice{fen: fen, periods: n, sellerPct: 100}, back) }},
					}})
				}})
			}
			t.Show(&menu{title: mPeriodsMenu, back: back, items: items})
		})
		t.Show(amount)
	})
}

var (
	mHuabeiMin   = m("花呗分期最低%s,请改用普通收款", "Huabei needs at least %s; take a normal payment")
	mHuabeiLimit = m("花呗分期最高%s", "Huabei takes at most %s")
)

// huabeiAmountNote says, in the screen's language and in yuan, why an
// amount cannot be split; "" when it can.
func (t *Terminal) huabeiAmountNote(fen int64) string {
	var ae *engine.HuabeiAmountError
	if err := t.eng.HuabeiAmount(fen); errors.As(err, &ae) {
		if fen < ae.MinFen {
			return E133.Code + " " + t.tr(mHuabeiMin, ui.Yuan(ae.MinFen))
		}
		return E133.Code + " " + t.tr(mHuabeiLimit, ui.Yuan(ae.LimitFen))
	}
	return ""
}

func pct(bp int64) string { return fmt.Sprintf("%d.%02d%%", bp/100, bp%100) }

func (t *Terminal) huabeiTerms(c walletChoice, back func(*Terminal)) {
	in, err := t.eng.Huabei(c.fen, c.periods, c.sellerPct)
	if err != nil {
		t.log.Info("Huabei refused", "err", err)
		t.showError(mHuabei, E133, t.huabeiAmountNote(c.fen), back)
		return
	}
	payer := mBuyerPays
	if c.sellerPct == 100 {
		payer = mSellerPays
	}
	detail := t.tr(mTerms, in.Periods, ui.Yuan(in.EachFen), ui.Yuan(in.FeeFen), t.tr(payer))
	if in.FirstFen != in.EachFen {
		detail += "\n" + fmt.Sprintf("1: %s", ui.Yuan(in.FirstFen))
	}
	t.Show(&confirm{title: mHuabei, fen: c.fen, detail: detail, back: back, ok: func(t *Terminal) {
		t.Show(&menu{title: mHowPay, back: back, items: []menuItem{
			{mScanPay, func(t *Terminal) { t.scanCustomer(mHuabei, c, back) }},
			{mShowQR, func(t *Terminal) { t.showMerchantQR(mHuabei, c, back) }},
		}})
	}})
}

// scanWait arms the scanner for the customer's payment code; digits keyed
// on the keypad are the fallback when the scanner cannot read the phone.
type scanWait struct {
	title msg
	c     walletChoice
	typed string
	note  string
	back  func(*Terminal)
	got   func(t *Terminal, code string, wallet engine.Method)
}

func (s *scanWait) inputs() (bool, hal.CardMode) { return true, hal.CardNone }

func (s *scanWait) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(s.title))
	c.Pair(2, t.tr(mAmount), ui.Yuan(s.c.fen), hal.AttrBold)
	c.Center(4, t.tr(mScanPrompt), hal.AttrBold)
	if s.typed != "" {
		c.Text(0, 6, s.typed+"_", hal.AttrBold)
	}
	if s.note != "" {
		c.Paragraph(7, c.Rows()-1, s.note, hal.AttrError)
	}
	c.Footer(t.tr(mScanHint))
}

func (s *scanWait) Key(t *Terminal, k hal.Key) {
	switch k {
	case hal.KeyCancel:
		if s.typed != "" {
			s.typed = ""
			return
		}
		s.back(t)
	case hal.KeyClear:
		if s.typed != "" {
			s.typed = s.typed[:len(s.typed)-1]
		}
	case hal.KeyEnter:
		if s.typed != "" {
			s.take(t, s.typed)
		}
	default:
		if d, ok := k.Digit(); ok && len(s.typed) < paycode.MaxCodeLen {
			s.typed += string(rune('0' + d))
		}
	}
}

func (s *scanWait) code(t *Terminal, c hal.Code) { s.take(t, c.Text) }

// refuse names why a code cannot pay here and waits for another.
func (s *scanWait) refuse(t *Terminal, note string) {
	s.note, s.typed = note, ""
	if t.dev.Indicator != nil {
		t.dev.Indicator.Beep(hal.BeepError)
	}
}

// take classifies a code; anything not a payment code is named and
// nothing is sent.
func (s *scanWait) take(t *Terminal, code string) {
	w, err := t.payCodes.Classify(code)
	if err != nil {
		t.log.Info("not a payment code", "code", paycode.Mask(code), "why", err)
		s.refuse(t, E121.Code+" "+t.tr(E121.Title)+": "+t.tr(codeReason(err)))
		return
	}
	if s.c.periods > 0 && engine.Method(w) != engine.MethodAlipay {
		// Only Alipay splits into Huabei installments: the customer
		// opens Alipay and shows that code instead.
		s.refuse(t, E133.Code+" "+t.tr(mHuabeiAlipayOnly, t.tr(walletNames[engine.Method(w)])))
		return
	}
	if t.dev.Indicator != nil {
		t.dev.Indicator.Beep(hal.BeepOK)
	}
	s.got(t, code, engine.Method(w))
}

var (
	mCodeEmpty   = m("未读到内容", "nothing read")
	mCodeLink    = m("这是网址,请顾客打开付款码", "a link; ask for the payment code")
	mCodeProduct = m("这是商品条码", "a product barcode")
	mCodeUnknown = m("不支持的付款码", "not a supported payment code")
)

func codeReason(err error) msg {
	switch {
	case errors.Is(err, paycode.ErrEmpty):
		return mCodeEmpty
	case errors.Is(err, paycode.ErrLink):
		return mCodeLink
	case errors.Is(err, paycode.ErrProductCode):
		return mCodeProduct
	}
	return mCodeUnknown
}

func (t *Terminal) scanCustomer(title msg, c walletChoice, back func(*Terminal)) {
	t.Show(&scanWait{title: title, c: c, back: back, got: func(t *Terminal, code string, w engine.Method) {
		detail := t.tr(mWallet) + ": " + t.tr(walletNames[w])
		t.Show(&confirm{title: title, fen: c.fen, detail: detail, back: back, ok: func(t *Terminal) {
			ws := &payWait{title: title, fen: c.fen}
			t.Show(ws)
			t.Go(func() any {
				res, err := t.eng.WalletPay(context.Background(), engine.WalletInput{AmountFen: c.fen, Code: code, Wallet: w,
					Periods: c.periods, SellerPct: c.sellerPct, Operator: t.Operator()}, ws.waiter(t))
				return txnOutcome{res, err}
			}, func(v any) { t.finishWallet(title, v.(txnOutcome), back) })
		}})
	}})
}

var mHuabeiAlipayOnly = m("这是%s付款码;花呗分期只收支付宝付款码,请顾客打开支付宝再扫", "That is a %s code; Huabei takes only Alipay: ask for the Alipay code and scan again")

func (t *Terminal) showMerchantQR(title msg, c walletChoice, back func(*Terminal)) {
	wallet := engine.Method("")
	if c.periods > 0 {
		wallet = engine.MethodAlipay
	}
	ws := &payWait{title: title, fen: c.fen, merchant: true}
	t.Show(ws)
	t.Go(func() any {
		res, err := t.eng.MerchantQR(context.Background(), engine.WalletInput{AmountFen: c.fen, Wallet: wallet,
			Periods: c.periods, SellerPct: c.sellerPct, Operator: t.Operator()}, ws.waiter(t))
		return txnOutcome{res, err}
	}, func(v any) { t.finishWallet(title, v.(txnOutcome), back) })
}

// payWait is shown while a wallet order waits for the customer: the time
// left, the QR for a merchant-presented order, and Cancel.
type payWait struct {
	title     msg
	fen       int64
	merchant  bool
	left      time.Duration
	qr        string
	pic       *hal.Bitmap
	printed   bool
	cancelled atomic.Bool
}

// waiter is the engine's side: it runs off the loop and posts to it.
func (s *payWait) waiter(t *Terminal) engine.Waiter { return waiterFunc{s: s, t: t} }

type waiterFunc struct {
	s *payWait
	t *Terminal
}

func (w waiterFunc) Waiting(left time.Duration, qr string) bool {
	w.t.post(func() { w.s.update(w.t, left, qr) })
	return w.s.cancelled.Load()
}

func (s *payWait) update(t *Terminal, left time.Duration, qr string) {
	s.left = left
	if qr != "" && qr != s.qr {
		s.qr = qr
		b, err := ui.QR(qr)
		if err != nil {
			t.log.Error("QR not encodable", "err", err)
			return
		}
		s.pic = b
		if _, ok := t.dev.Display.(hal.PictureDisplay); !ok && !s.printed && t.dev.Printer != nil {
			// No graphics on this screen: the customer scans the paper.
			s.printed = true
			doc := hal.Document{Title: "qr " + qr, Elements: []hal.Element{
				hal.Text(t.tr(mScanToPay)), {Kind: hal.KindText, Text: ui.Yuan(s.fen), Style: hal.TextStyle{Bold: true, Size: hal.SizeDouble}},
				{Kind: hal.KindQR, Text: qr}, {Kind: hal.KindCut}}}
			go func() {
				if err := t.dev.Printer.Print(context.Background(), doc); err != nil {
					t.log.Warn("QR slip not printed", "err", err)
				}
			}()
		}
	}
}

func (s *payWait) picture() *hal.Bitmap { return s.pic }

func (s *payWait) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(s.title))
	c.Pair(2, t.tr(mAmount), ui.Yuan(s.fen), hal.AttrBold)
	switch {
	case s.merchant && s.qr != "":
		c.Center(4, t.tr(mScanToPay), hal.AttrBold)
		if _, ok := t.dev.Display.(hal.PictureDisplay); !ok {
			c.Center(5, t.tr(mNoPicture), hal.AttrDim)
		}
	case s.merchant:
		c.Center(4, t.tr(mProcessing), hal.AttrBold)
	default:
		c.Center(4, t.tr(mUserPaying), hal.AttrBold)
	}
	if s.left > 0 {
		c.Center(7, t.tr(mSecondsLeft, int(s.left.Round(time.Second)/time.Second)), 0)
	}
	c.Footer(t.tr(mWaitPay))
}

func (s *payWait) Key(t *Terminal, k hal.Key) {
	if k == hal.KeyCancel {
		s.cancelled.Store(true)
	}
}

// finishWallet shows how a wallet order ended.
func (t *Terminal) finishWallet(title msg, o txnOutcome, back func(*Terminal)) {
	var d *engine.DeclinedError
	if o.err != nil {
		t.announced(o.res.Txn)
	}
	switch {
	case errors.Is(o.err, engine.ErrCancelled):
		t.showError(title, E407, "", back)
	case errors.Is(o.err, engine.ErrWalletOpen):
		t.showError(title, E406, t.tr(mOrderNo)+" "+o.res.Txn.OrderNo, back)
	case errors.Is(o.err, engine.ErrHuabei):
		t.log.Info("Huabei refused", "err", o.err)
		t.showError(title, E133, t.huabeiAmountNote(o.res.Txn.AmountFen), back)
	case errors.Is(o.err, engine.ErrBadCode):
		t.showError(title, E121, "", back)
	case errors.As(o.err, &d):
		reason, ok := walletReasons[d.Code]
		if !ok {
			reason, ok = hostReasons[d.Code]
		}
		text := d.Code
		if ok {
			text = t.tr(reason)
		}
		t.showError(title, E404, text, back)
	default:
		t.finish(title, o, back)
	}
}

var walletReasons = map[string]msg{
	"14": m("14 付款码无效或已过期,请顾客刷新", "14 Code invalid or expired; customer refreshes it"),
	"51": m("51 余额不足,请顾客换付款方式", "51 Insufficient balance; customer pays another way"),
	"61": m("61 超出花呗额度", "61 Over the Huabei credit line"),
	"64": m("64 金额不符", "64 Amount mismatch"),
}

// startQRRefund refunds a wallet payment by its order number, scanned
// from the receipt or keyed in, with the supervisor's password.
func (t *Terminal) startQRRefund() {
	back := func(t *Terminal) { t.Show(newTransactionMenu(t)) }
	t.withSupervisor(mQRRefund, back, func(t *Terminal) {
		t.Show(&orderEntry{title: mQRRefund, back: back, got: func(t *Terminal, order string) {
			t.Show(newAmountEntry(t, mQRRefund, back, func(t *Terminal, fen int64) {
				t.Show(&confirm{title: mQRRefund, fen: fen, detail: t.tr(mOrderNo) + " " + order, back: back, ok: func(t *Terminal) {
					t.txnReady(mQRRefund, back, func(t *Terminal) {
						t.work(mQRRefund, mProcessing, func(ctx context.Context) any {
							res, err := t.eng.WalletRefund(ctx, order, fen, t.Operator())
							return txnOutcome{res, err}
						}, func(v any) { t.finishWallet(mQRRefund, v.(txnOutcome), back) })
					})
				}})
			}))
		}})
	})
}

// orderEntry takes an order number from the scanner (the receipt's code)
// or the keypad.
type orderEntry struct {
	title msg
	typed string
	back  func(*Terminal)
	got   func(*Terminal, string)
}

func (s *orderEntry) inputs() (bool, hal.CardMode) { return true, hal.CardNone }

func (s *orderEntry) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(s.title))
	c.Text(0, 2, t.tr(mOrderPrompt), 0)
	c.Paragraph(3, c.Rows()-1, s.typed+"_", hal.AttrBold)
	c.Footer(t.tr(mEnterHint))
}

func (s *orderEntry) Key(t *Terminal, k hal.Key) {
	switch k {
	case hal.KeyCancel:
		s.back(t)
	case hal.KeyClear:
		if s.typed != "" {
			s.typed = s.typed[:len(s.typed)-1]
		}
	case hal.KeyEnter:
		if s.typed != "" {
			s.got(t, s.typed)
		}
	default:
		if d, ok := k.Digit(); ok && len(s.typed) < 64 {
			s.typed += string(rune('0' + d))
		}
	}
}

func (s *orderEntry) code(t *Terminal, c hal.Code) {
	if c.Text != "" && len(c.Text) <= 64 {
		s.got(t, c.Text)
	}
}

// startOrderQuery asks the host about a wallet order, picked by voucher
// number (empty: the newest), and records what the host says if the
// order was still open.
func (t *Terminal) startOrderQuery(back func(*Terminal)) {
	t.Show(&entry{title: mOrderQuery, prompt: t.tr(mTracePrompt), max: 6, hint: mEnterHint,
		cancel: func(t *Terminal, _ *entry) { back(t) },
		ok: func(t *Terminal, s *entry) {
			stan := s.value
			t.work(mOrderQuery, mProcessing, func(ctx context.Context) any {
				f := engine.Filter{Kind: engine.KindSale, STAN: stan, Limit: 50}
				list, _, err := t.eng.Query(f)
				if err != nil {
					return orderQueryResult{err: err}
				}
				for _, x := range list {
					if x.Method.IsWallet() {
						tx, status, err := t.eng.OrderStatus(ctx, x.OrderNo)
						return orderQueryResult{txn: tx, status: status, err: err}
					}
				}
				return orderQueryResult{err: engine.ErrNotFound}
			}, func(v any) {
				r := v.(orderQueryResult)
				switch {
				case errors.Is(r.err, engine.ErrNotFound):
					t.showError(mOrderQuery, E130, "", back)
				case errors.Is(r.err, engine.ErrNoReply):
					t.showError(mOrderQuery, E408, "", back)
				case r.err != nil:
					t.storageFailed(mOrderQuery, r.err, back)
				default:
					t.Show(&orderShown{r: r, back: back})
				}
			})
		}})
}

type orderQueryResult struct {
	txn    engine.Txn
	status string
	err    error
}

type orderShown struct {
	r    orderQueryResult
	back func(*Terminal)
}

func (s *orderShown) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(mOrderQuery))
	x := s.r.txn
	c.Paragraph(1, 3, x.OrderNo, 0)
	c.Pair(4, t.tr(mAmount), ui.Yuan(x.AmountFen), hal.AttrBold)
	c.Pair(5, t.tr(mWallet), t.tr(walletNames[x.Method]), 0)
	state := s.r.status
	if v, ok := mWalletStates[state]; ok {
		state = t.tr(v)
	}
	c.Pair(6, t.tr(mOrderStatus), state, hal.AttrBold)
	c.Pair(7, t.tr(mTrace), x.STAN, 0)
	if x.Buyer != "" {
		c.Pair(8, t.tr(mBuyer), x.Buyer, 0)
	}
	c.Footer(t.tr(mContinueHint))
}

func (s *orderShown) Key(t *Terminal, k hal.Key) {
	if k == hal.KeyEnter || k == hal.KeyCancel {
		s.back(t)
	}
}
