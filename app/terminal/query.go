package terminal

import (
	"fmt"
	"time"

	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/ui"
	"github.com/shoukuan/pos/hal"
)

var (
	mQueryHint   = m("F1类型 F2方式 F3日期 确认=详情", "F1 type F2 method F3 date Enter=detail")
	mDetailHint  = m("1=重打印 确认/取消=返回", "1=reprint Enter/Cancel=back")
	mAllKinds    = m("全部", "all")
	mToday       = m("今天", "today")
	mDays        = m("%d天", "%d days")
	mStatus      = m("状态", "Status")
	mVoidedTag   = m("已撤销", "voided")
	mRefundedTag = m("已退%s", "refunded %s")
	mBatchTotals = m("本批次汇总 %s", "Batch %s totals")
	mFeeLine     = m("手续费 %s", "Fees %s")
	mVoidLine    = m("撤销%d笔 %s", "Voids %d %s")
)

var kindNames = map[engine.Kind]msg{
	engine.KindSale: mSale, engine.KindVoid: mVoid, engine.KindRefund: mRefund,
}

var statusNames = map[engine.Status]msg{
	engine.StatusApproved:  m("成功", "approved"),
	engine.StatusDeclined:  m("拒绝", "declined"),
	engine.StatusReversed:  m("已冲正", "reversed"),
	engine.StatusPending:   m("未完成", "pending"),
	engine.StatusCancelled: m("已撤单", "cancelled"),
}

// methodNames say how a customer paid, as the cashier speaks of it.
var methodNames = map[engine.Method]msg{
	engine.MethodSwipe:  m("刷卡", "swipe"),
	engine.MethodChip:   m("插卡", "chip"),
	engine.MethodTap:    m("闪付", "tap"),
	engine.MethodAlipay: m("支付宝", "Alipay"),
	engine.MethodWeChat: m("微信", "WeChat"),
	engine.MethodUPQR:   m("银联二维码", "UnionPay QR"),
	engine.MethodQR:     m("扫码", "QR"),
}

// classNames name the settlement classes on the screen.
var classNames = map[string]msg{
	"card":        m("银行卡", "Cards"),
	"alipay":      m("支付宝", "Alipay"),
	"wechat":      m("微信", "WeChat"),
	"unionpay_qr": m("银联二维码", "UnionPay QR"),
}

var (
	mOwedMenu    = m("待打印签购单", "Receipts owed")
	mOperatorNo2 = m("操作员", "Operator")
)

func (t *Terminal) methodName(x engine.Method) string {
	if v, ok := methodNames[x]; ok {
		return t.tr(v)
	}
	return string(x)
}

func newQueryMenu(t *Terminal) Screen {
	back := func(t *Terminal) { t.Show(newQueryMenu(t)) }
	needEngine := func(title msg, f func(t *Terminal)) func(*Terminal) {
		if t.eng == nil {
			return notAvailable(title, back)
		}
		return f
	}
	return &menu{
		title: mQuery,
		back:  toMain,
		items: []menuItem{
			{mQueryDetail, needEngine(mQueryDetail, func(t *Terminal) { t.Show(newTxnList(t, back)) })},
			{mQueryTrace, needEngine(mQueryTrace, func(t *Terminal) {
				t.Show(&entry{title: mQueryTrace, prompt: t.tr(mOrigTrace), max: 6, hint: mEnterHint,
					cancel: func(t *Terminal, _ *entry) { back(t) },
					ok: func(t *Terminal, s *entry) {
						if s.value == "" {
							return
						}
						x, err := t.eng.ByTrace(fmt.Sprintf("%06s", s.value))
						if err != nil {
							s.fail(t, E130.Code+" "+t.tr(E130.Title))
							return
						}
						t.Show(&txnDetail{txn: x, back: back})
					}})
			})},
			{mQuerySummary, needEngine(mQuerySummary, func(t *Terminal) { t.Show(newBatchSummary(t, back)) })},
			{mReprint, func(t *Terminal) { t.Show(newReprintMenu(t)) }},
			{mOrderQuery, needEngine(mOrderQuery, func(t *Terminal) { t.startOrderQuery(back) })},
			{mOwedMenu, needEngine(mOwedMenu, func(t *Terminal) {
				w, err := t.owed()
				if err != nil {
					t.storageFailed(mOwedMenu, err, back)
					return
				}
				t.Show(&owedList{w: w, back: back})
			})},
			{mExport, func(t *Terminal) { t.startExport(back) }},
		},
	}
}

// txnList is the transaction query: newest first, filtered by type,
// method and date range, with the totals of what it shows.
type txnList struct {
	back   func(*Terminal)
	kind   int // index into listKinds
	method int // index into listMethods
	days   int // index into listDays
	sel    int
	txns   []engine.Txn
	tot    engine.QueryTotals
	err    error
}

var (
	listKinds   = []engine.Kind{"", engine.KindSale, engine.KindVoid, engine.KindRefund}
	listMethods = []engine.Method{"", engine.MethodSwipe, engine.MethodChip, engine.MethodTap, engine.MethodAlipay, engine.MethodWeChat, engine.MethodUPQR}
	listDays    = []int{1, 7, 30}
)

func newTxnList(t *Terminal, back func(*Terminal)) *txnList {
	s := &txnList{back: back}
	s.load(t)
	return s
}

func (s *txnList) load(t *Terminal) {
	now := t.clock.Now()
	y, mo, d := now.Date()
	from := time.Date(y, mo, d, 0, 0, 0, 0, now.Location()).AddDate(0, 0, 1-listDays[s.days])
	s.txns, s.tot, s.err = t.eng.Query(engine.Filter{From: from, Kind: listKinds[s.kind], Method: listMethods[s.method], Limit: 500})
	s.sel = 0
}

func (s *txnList) filterLine(t *Terminal) string {
	kind := t.tr(mAllKinds)
	if k := listKinds[s.kind]; k != "" {
		kind = t.tr(kindNames[k])
	}
	method := t.tr(mAllKinds)
	if m := listMethods[s.method]; m != "" {
		method = t.methodName(m)
	}
	days := t.tr(mToday)
	if listDays[s.days] > 1 {
		days = t.tr(mDays, listDays[s.days])
	}
	return kind + "/" + method + "/" + days
}

func (s *txnList) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(mQueryDetail))
	c.Text(0, 1, s.filterLine(t), hal.AttrDim)
	if s.err != nil {
		c.Text(0, 3, E901.Code+" "+t.tr(E901.Title), hal.AttrError)
		return
	}
	if len(s.txns) == 0 {
		c.Center(4, t.tr(mNoTxns), 0)
	}
	room := c.Rows() - 5
	first := 0
	if s.sel >= room {
		first = s.sel - room + 1
	}
	y := 2
	for i := first; i < len(s.txns) && y < 2+room; i++ {
		x := s.txns[i]
		a := hal.AttrNone
		if i == s.sel {
			a = hal.AttrReverse
			c.Fill(y, a)
		}
		// What happened to it after, as the totals below count it.
		status := ""
		switch {
		case x.Status != engine.StatusApproved:
			status = " " + t.tr(statusNames[x.Status])
		case x.Voided:
			status = " " + t.tr(mVoidedTag)
		}
		c.Pair(y, x.STAN+" "+t.tr(kindNames[x.Kind])+status, ui.Yuan(x.AmountFen), a)
		y++
	}
	c.Text(0, c.Rows()-3, t.tr(mTotalLine, s.tot.SaleCount, ui.Yuan(s.tot.SaleFen)), 0)
	c.Text(0, c.Rows()-2, t.tr(mRefundLine, s.tot.RefundCount, ui.Yuan(s.tot.RefundFen)), 0)
	if s.tot.VoidCount > 0 {
		c.Right(c.Rows()-2, t.tr(mVoidLine, s.tot.VoidCount, ui.Yuan(s.tot.VoidFen)), 0)
	}
	c.Footer(t.tr(mQueryHint))
}

func (s *txnList) Key(t *Terminal, k hal.Key) {
	switch k {
	case hal.KeyUp:
		if s.sel > 0 {
			s.sel--
		}
	case hal.KeyDown:
		if s.sel < len(s.txns)-1 {
			s.sel++
		}
	case hal.KeyF1:
		s.kind = (s.kind + 1) % len(listKinds)
		s.load(t)
	case hal.KeyF2:
		s.method = (s.method + 1) % len(listMethods)
		s.load(t)
	case hal.KeyF3:
		s.days = (s.days + 1) % len(listDays)
		s.load(t)
	case hal.KeyEnter:
		if s.sel < len(s.txns) {
			t.Show(&txnDetail{txn: s.txns[s.sel], back: func(t *Terminal) { t.Show(s) }})
		}
	case hal.KeyCancel:
		s.back(t)
	}
}

type txnDetail struct {
	txn  engine.Txn
	back func(*Terminal)
}

func (s *txnDetail) Draw(t *Terminal, c *ui.Canvas) {
	x := s.txn
	c.Title(t.tr(kindNames[x.Kind]))
	c.Pair(1, t.tr(mAmount), ui.Yuan(x.AmountFen), hal.AttrBold)
	status := t.tr(statusNames[x.Status])
	if x.Voided {
		status += " " + t.tr(mVoidedTag)
	}
	if x.RefundedFen > 0 {
		status += " " + t.tr(mRefundedTag, ui.Yuan(x.RefundedFen))
	}
	c.Pair(2, t.tr(mStatus), status, 0)
	c.Right(3, x.MaskedPAN+x.OrderNo, 0)
	c.Pair(4, t.tr(mTrace), x.STAN, 0)
	c.Pair(5, t.tr(mRefNo), x.RRN, 0)
	c.Pair(6, t.tr(mAuthCode), x.AuthCode, 0)
	c.Right(7, x.Created.In(t.zone()).Format("2006-01-02 15:04:05"), 0)
	c.Pair(8, t.methodName(x.Method), t.tr(mOperatorNo2)+" "+x.Operator, hal.AttrDim)
	c.Footer(t.tr(mDetailHint))
}

func (s *txnDetail) Key(t *Terminal, k hal.Key) {
	switch k {
	case hal.Key1:
		if s.txn.Status == engine.StatusApproved {
			t.printDocs(mReprint, t.receipts(s.txn, true, false), func(t *Terminal) { t.Show(s) })
		}
	case hal.KeyEnter, hal.KeyCancel:
		s.back(t)
	}
}

type batchSummary struct {
	batch string
	tot   engine.BatchTotals
	err   error
	back  func(*Terminal)
}

func newBatchSummary(t *Terminal, back func(*Terminal)) *batchSummary {
	s := &batchSummary{back: back}
	if s.batch, s.err = t.eng.CurrentBatch(); s.err == nil {
		s.tot, s.err = t.eng.BatchTotals(s.batch)
	}
	return s
}

func (s *batchSummary) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(mQuerySummary))
	if s.err != nil {
		c.Text(0, 2, E901.Code+" "+t.tr(E901.Title), hal.AttrError)
		return
	}
	c.Text(0, 1, t.tr(mBatchTotals, s.batch), hal.AttrBold)
	y := 2
	for _, cl := range s.tot.Classes {
		if y >= c.Rows()-4 {
			break
		}
		name := cl.Class
		if v, ok := classNames[cl.Class]; ok {
			name = t.tr(v)
		}
		c.Text(0, y, name, hal.AttrDim)
		c.Right(y, t.tr(mTotalLine, cl.DebitCount, ui.Yuan(cl.DebitFen)), 0)
		y++
	}
	all := s.tot.Total()
	c.Text(0, c.Rows()-4, t.tr(mTotalLine, all.DebitCount, ui.Yuan(all.DebitFen)), 0)
	c.Text(0, c.Rows()-3, t.tr(mRefundLine, all.CreditCount, ui.Yuan(all.CreditFen)), 0)
	c.Text(0, c.Rows()-2, t.tr(mFeeLine, ui.Yuan(all.FeeFen)), 0)
	c.Footer(t.tr(mContinueHint))
}

func (s *batchSummary) Key(t *Terminal, k hal.Key) {
	if k == hal.KeyEnter || k == hal.KeyCancel {
		s.back(t)
	}
}

func newReprintMenu(t *Terminal) Screen {
	back := func(t *Terminal) { t.Show(newReprintMenu(t)) }
	if t.eng == nil {
		return &menu{title: mReprint, back: func(t *Terminal) { t.Show(newQueryMenu(t)) }, items: []menuItem{
			{mReprintLast, notAvailable(mReprint, back)},
		}}
	}
	return &menu{
		title: mReprint,
		back:  func(t *Terminal) { t.Show(newQueryMenu(t)) },
		items: []menuItem{
			{mReprintLast, func(t *Terminal) {
				// The last receipt there is: a decline after it printed none.
				x, err := t.eng.LastApproved()
				if err != nil {
					t.showError(mReprint, E130, "", back)
					return
				}
				t.printDocs(mReprint, t.receipts(x, true, false), back)
			}},
			{mReprintTrace, func(t *Terminal) {
				t.Show(&entry{title: mReprint, prompt: t.tr(mOrigTrace), max: 6, hint: mEnterHint,
					cancel: func(t *Terminal, _ *entry) { back(t) },
					ok: func(t *Terminal, s *entry) {
						x, err := t.eng.ByTrace(fmt.Sprintf("%06s", s.value))
						if s.value == "" || err != nil || x.Status != engine.StatusApproved {
							s.fail(t, E130.Code+" "+t.tr(E130.Title))
							return
						}
						t.printDocs(mReprint, t.receipts(x, true, false), back)
					}})
			}},
			{mReprintSettle, func(t *Terminal) {
				st, err := t.eng.LastSettlement()
				if err != nil {
					t.showError(mReprint, E130, "", back)
					return
				}
				t.printDocs(mReprint, []hal.Document{t.settlementSlip(st, true)}, back)
			}},
		},
	}
}
