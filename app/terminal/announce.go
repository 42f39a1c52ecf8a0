package terminal

import (
	"context"
	"errors"

	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/mutant"
	"github.com/shoukuan/pos/app/ui"
	"github.com/shoukuan/pos/hal"
)

// The cashier always learns the outcome. A payment the host took but the
// cashier never saw (the terminal died between the approval and the
// screen) is the way customers get charged twice: the cashier, seeing
// nothing, charges again. So whatever the journal holds unannounced or
// with receipts owed is printed and shown at the start and before
// anything new, and marked only once it was.

var (
	mLastResults     = m("上次交易结果", "Unfinished transactions")
	mResultsHint     = m("请告知顾客 确认=继续", "Tell the customer  Enter=go on")
	mOutSaleOK       = m("%s成功 %s 凭证%s", "%s approved %s voucher %s")
	mOutReversed     = m("%s已冲正 %s 凭证%s 未扣款", "%s reversed %s voucher %s, not charged")
	mOutDeclined     = m("%s未成功 %s 凭证%s", "%s failed %s voucher %s")
	mOutCancelled    = m("%s已撤单 %s 凭证%s 未扣款", "%s cancelled %s voucher %s, not charged")
	mReceiptsOwed    = m("签购单待打印%d张,装纸后自动打印", "%d receipts owed; they print once the printer is ready")
	mReceiptsPrinted = m("签购单已打印", "Receipts printed")
	mOwedReceipts    = m("待打印签购单(%d)", "Receipts owed (%d)")
	mNoneOwed        = m("没有待打印的签购单", "No receipts owed")
	mPrintOwedHint   = m("确认=打印 取消=返回", "Enter=print Cancel=back")
	mApprovedOwed    = m("交易成功,签购单未打印", "Approved; receipt not printed")
	mPrintNowHint    = m("确认=打印 取消=稍后打印", "Enter=print Cancel=print later")
)

// owedWork is what announce found: outcomes to show, receipts and a
// settlement slip to print.
type owedWork struct {
	outcomes []engine.Txn
	receipts []engine.Txn
	slip     *engine.Settlement
}

func (w owedWork) empty() bool { return len(w.outcomes) == 0 && len(w.receipts) == 0 && w.slip == nil }

func (t *Terminal) owed() (owedWork, error) {
	var w owedWork
	if t.eng == nil {
		return w, nil
	}
	var err error
	if w.outcomes, err = t.eng.Unannounced(); err != nil {
		return w, err
	}
	if w.receipts, err = t.eng.OwedReceipts(); err != nil {
		return w, err
	}
	s, ok, err := t.eng.OwedSlip()
	if err != nil {
		return w, err
	}
	if ok {
		w.slip = &s
	}
	return w, nil
}

// announce prints what is owed and shows what the cashier has not seen,
// then runs next.
func (t *Terminal) announce(title msg, next func(*Terminal)) {
	if mutant.On("no-announce") {
		next(t)
		return
	}
	w, err := t.owed()
	if err != nil {
		// Nothing new before what is owed is known: back to the menu.
		t.storageFailed(title, err, toMain)
		return
	}
	if w.empty() {
		next(t)
		return
	}
	t.log.Info("announcing what the cashier has not seen", "outcomes", len(w.outcomes), "receipts", len(w.receipts), "slip", w.slip != nil)
	t.printOwed(title, w, func(t *Terminal, left int) {
		if len(w.outcomes) == 0 {
			if left > 0 {
				t.showError(title, E301, t.tr(mReceiptsOwed, left), next)
				return
			}
			next(t)
			return
		}
		t.Show(&outcomes{list: w.outcomes, left: left, next: next})
	})
}

// printOwed prints every owed receipt and slip off the loop, marking each
// that came out; done gets how many documents are still owed.
func (t *Terminal) printOwed(title msg, w owedWork, done func(*Terminal, int)) {
	if t.dev.Printer == nil || len(w.receipts) == 0 && w.slip == nil {
		left := 0
		for _, x := range w.receipts {
			left += x.ReceiptsOwed
		}
		done(t, left)
		return
	}
	t.work(title, mPrinting, func(ctx context.Context) any {
		left := 0
		var failed error
		for _, x := range w.receipts {
			if failed != nil {
				left += x.ReceiptsOwed
				continue
			}
			n, err := t.printReceipts(ctx, x, true)
			left += n
			failed = err
		}
		if w.slip != nil && failed == nil {
			if err := t.dev.Printer.Print(ctx, t.settlementSlip(*w.slip, false)); err != nil {
				left++
			} else if err := t.eng.SlipPrinted(w.slip.Totals.Batch); err != nil {
				t.log.Error("slip mark not written", "err", err)
			}
		}
		if failed != nil {
			t.log.Warn("owed receipts not printed", "err", failed, "left", left)
		}
		return left
	}, func(v any) { done(t, v.(int)) })
}

// printReceipts prints the receipts x still owes, marking the count after
// each, and returns how many are still owed.
func (t *Terminal) printReceipts(ctx context.Context, x engine.Txn, recovered bool) (int, error) {
	docs := t.receipts(x, false, recovered)
	owed := min(x.ReceiptsOwed, len(docs))
	for i := len(docs) - owed; i < len(docs); i++ {
		if err := t.dev.Printer.Print(ctx, docs[i]); err != nil {
			return len(docs) - i, err
		}
		left := len(docs) - i - 1
		if left == 0 {
			// Printed, not yet marked: a crash here prints it again.
			t.eng.CrashPoint("receipt.printed")
		}
		if err := t.eng.SetReceiptsOwed(x.ID, left); err != nil {
			return left, err
		}
	}
	return 0, nil
}

// outcomes lists transactions whose end the cashier did not see.
type outcomes struct {
	list []engine.Txn
	left int
	top  int
	next func(*Terminal)
}

func (s *outcomes) lines(t *Terminal) []string {
	var out []string
	for _, x := range s.list {
		out = append(out, t.outcomeLine(x))
	}
	if s.left > 0 {
		out = append(out, t.tr(mReceiptsOwed, s.left))
	}
	return out
}

// outcomeLine says in one line how a transaction ended.
func (t *Terminal) outcomeLine(x engine.Txn) string {
	kind := t.tr(kindNames[x.Kind])
	if x.Method.IsWallet() && x.Kind == engine.KindSale {
		kind = t.tr(walletNames[x.Method])
	}
	amount := ui.Yuan(x.AmountFen)
	switch x.Status {
	case engine.StatusApproved:
		return t.tr(mOutSaleOK, kind, amount, x.STAN)
	case engine.StatusReversed:
		return t.tr(mOutReversed, kind, amount, x.STAN)
	case engine.StatusCancelled:
		return t.tr(mOutCancelled, kind, amount, x.STAN)
	}
	return t.tr(mOutDeclined, kind, amount, x.STAN)
}

func (s *outcomes) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(mLastResults))
	var rows []string
	for _, l := range s.lines(t) {
		rows = append(rows, ui.Wrap(l, c.Cols())...)
	}
	room := c.Rows() - 2
	if s.top > len(rows)-room {
		s.top = max(len(rows)-room, 0)
	}
	for i := 0; i < room && s.top+i < len(rows); i++ {
		c.Text(0, 1+i, rows[s.top+i], hal.AttrBold)
	}
	c.Footer(t.tr(mResultsHint))
}

func (s *outcomes) Key(t *Terminal, k hal.Key) {
	switch k {
	case hal.KeyDown:
		s.top++
	case hal.KeyUp:
		if s.top > 0 {
			s.top--
		}
	case hal.KeyEnter:
		t.eng.CrashPoint("announce.shown")
		ids := make([]int64, len(s.list))
		for i, x := range s.list {
			ids[i] = x.ID
		}
		if err := t.eng.Announce(ids...); err != nil {
			t.storageFailed(mLastResults, err, s.next)
			return
		}
		s.next(t)
	}
}

// announced marks a transaction's outcome seen; a journal that cannot
// take the mark only means the outcome is shown again at the next start.
func (t *Terminal) announced(x engine.Txn) {
	// A pending one is not over: how it ends is shown when it does.
	if t.eng == nil || x.ID == 0 || x.Status == engine.StatusPending {
		return
	}
	if err := t.eng.Announce(x.ID); err != nil {
		t.log.Error("outcome mark not written", "stan", x.STAN, "err", err)
	}
}

// approvedOwed is the result of an approved payment whose receipts did not
// print: the payment stands, and the screen says so before anything else.
type approvedOwed struct {
	title msg
	txn   engine.Txn
	code  ErrCode
	retry func(*Terminal)
	next  func(*Terminal)
}

func (s *approvedOwed) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(s.title))
	c.Center(1, t.tr(mApproved), hal.AttrOK|hal.AttrBold)
	c.Pair(2, t.tr(mAmount), ui.Yuan(s.txn.AmountFen), hal.AttrBold)
	c.Pair(3, t.tr(mTrace), s.txn.STAN, 0)
	c.Text(0, 5, s.code.Code+" "+t.tr(s.code.Title), hal.AttrError|hal.AttrBold)
	y := c.Paragraph(6, c.Rows()-1, t.tr(mApprovedOwed), hal.AttrError)
	c.Paragraph(y, c.Rows()-1, t.tr(s.code.Fix), 0)
	c.Footer(t.tr(mPrintNowHint))
}

func (s *approvedOwed) Key(t *Terminal, k hal.Key) {
	switch k {
	case hal.KeyEnter:
		s.retry(t)
	case hal.KeyCancel:
		s.next(t)
	}
}

// printCode is the error code a failed print shows.
func printCode(err error) ErrCode {
	switch {
	case errors.Is(err, hal.ErrNoPaper):
		return E301
	case errors.Is(err, hal.ErrCoverOpen):
		return E303
	}
	return E302
}

// finishApproved prints an approved transaction's receipts and shows its
// result; receipts that did not print stay owed and the result says so.
func (t *Terminal) finishApproved(title msg, x engine.Txn, alerts []engine.Alert, back func(*Terminal)) {
	if t.dev.Printer == nil {
		t.announced(x)
		t.Show(&approved{title: title, txn: x, alerts: alerts, next: back})
		return
	}
	t.work(title, mPrinting, func(ctx context.Context) any {
		left, err := t.printReceipts(ctx, x, false)
		return receiptStop{left: left, err: err}
	}, func(v any) {
		st := v.(receiptStop)
		t.announced(x)
		if st.err == nil {
			if t.dev.Indicator != nil {
				t.dev.Indicator.Beep(hal.BeepOK)
			}
			t.Show(&approved{title: title, txn: x, alerts: alerts, next: back})
			return
		}
		t.log.Warn("receipts not printed", "stan", x.STAN, "err", st.err, "left", st.left)
		if t.dev.Indicator != nil {
			t.dev.Indicator.Beep(hal.BeepAttention)
		}
		x.ReceiptsOwed = st.left
		retry := func(t *Terminal) { t.finishApproved(title, x, alerts, back) }
		if mutant.On("paper-out-hides-approval") {
			t.Show(&printRetry{title: title, code: printCode(st.err), retry: retry, skip: back})
			return
		}
		t.Show(&approvedOwed{title: title, txn: x, code: printCode(st.err), retry: retry, next: back})
	})
}

type receiptStop struct {
	left int
	err  error
}

// owedList is the query menu's list of receipts still owed.
type owedList struct {
	w    owedWork
	back func(*Terminal)
}

func (s *owedList) Draw(t *Terminal, c *ui.Canvas) {
	n := 0
	for _, x := range s.w.receipts {
		n += x.ReceiptsOwed
	}
	c.Title(t.tr(mOwedReceipts, n))
	if len(s.w.receipts) == 0 && s.w.slip == nil {
		c.Center(4, t.tr(mNoneOwed), 0)
		c.Footer(t.tr(mContinueHint))
		return
	}
	y := 1
	for _, x := range s.w.receipts {
		if y >= c.Rows()-1 {
			break
		}
		c.Pair(y, x.STAN+" "+t.tr(kindNames[x.Kind]), ui.Yuan(x.AmountFen), 0)
		y++
	}
	if s.w.slip != nil && y < c.Rows()-1 {
		c.Text(0, y, t.tr(mSettle)+" "+s.w.slip.Totals.Batch, 0)
	}
	c.Footer(t.tr(mPrintOwedHint))
}

func (s *owedList) Key(t *Terminal, k hal.Key) {
	switch k {
	case hal.KeyEnter:
		if s.w.empty() {
			s.back(t)
			return
		}
		t.printOwed(mReprint, s.w, func(t *Terminal, left int) {
			if left > 0 {
				t.showError(mReprint, E301, t.tr(mReceiptsOwed, left), s.back)
				return
			}
			t.showDone(mReprint, t.tr(mReceiptsPrinted), s.back)
		})
	case hal.KeyCancel:
		s.back(t)
	}
}

// printOwedIfReady prints what is owed when the printer has paper again,
// then shows next; it is what makes owed receipts come out by themselves.
func (t *Terminal) printOwedIfReady(next func(*Terminal)) bool {
	if t.eng == nil || t.dev.Printer == nil || !t.dev.Printer.Status().Ready() {
		return false
	}
	w, err := t.owed()
	if err != nil || len(w.receipts) == 0 && w.slip == nil {
		return false
	}
	w.outcomes = nil
	t.printOwed(mMainTitle, w, func(t *Terminal, left int) { next(t) })
	return true
}
