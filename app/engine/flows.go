package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/shoukuan/pos/app/mutant"
)

// ErrReplyMAC is what a host client wraps when a reply's MAC fails: the
// reply is treated as none, and the reversal says why (field 39 "A0").
var ErrReplyMAC = errors.New("reply MAC invalid")

// SaleInput is a card sale as the UI collected it.
type SaleInput struct {
	AmountFen int64
	Card      Card
	Operator  string
	// Chip completes a chip card's transaction after the host's answer;
	// nil for swipe and contactless.
	Chip ChipCompleter
}

// Sale charges a card.
func (e *Engine) Sale(ctx context.Context, in SaleInput) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	pan, expiry, _, err := cardFromTrack2(in.Card.Track2)
	if err != nil {
		return Result{}, err
	}
	if mutant.On("sale-refused-before-host") {
		return Result{}, &DeclinedError{Code: "05"}
	}
	if err := e.ready(ctx); err != nil {
		return Result{}, err
	}
	if err := e.checkLimits(in.Card.Method, in.AmountFen); err != nil {
		return Result{}, err
	}
	batch, err := e.currentBatch()
	if err != nil {
		return Result{}, err
	}
	t := &Txn{Kind: KindSale, Method: in.Card.Method, AmountFen: in.AmountFen, Batch: batch,
		MaskedPAN: MaskPAN(pan), Operator: in.Operator, FeeFen: e.Fee(in.Card.Method, in.AmountFen), Chip: in.Card.Info}
	card := in.Card
	return e.exchangeChip(ctx, t, HostRequest{Kind: HostSale, AmountFen: in.AmountFen, Card: &card, PAN: pan, Expiry: expiry, Operator: in.Operator}, in.Chip)
}

// ready pays owed reversals and checks the sign-on: nothing new goes out
// while the host may still hold a charge the terminal does not.
func (e *Engine) ready(ctx context.Context) error {
	if _, err := e.recover(ctx); err != nil {
		return err
	}
	if !e.SignedOn() {
		return ErrNotSignedOn
	}
	return nil
}

// Void cancels a sale of the open batch, in full.
func (e *Engine) Void(ctx context.Context, origSTAN, operator string) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.ready(ctx); err != nil {
		return Result{}, err
	}
	batch, err := e.currentBatch()
	if err != nil {
		return Result{}, err
	}
	orig, err := e.findOne(`WHERE stan = ? AND batch = ? AND kind = 'sale' ORDER BY id DESC LIMIT 1`, origSTAN, batch)
	if errors.Is(err, sql.ErrNoRows) {
		return Result{}, fmt.Errorf("%w: no sale with trace %s in batch %s", ErrNotFound, origSTAN, batch)
	} else if err != nil {
		return Result{}, err
	}
	switch {
	case orig.Method.IsWallet():
		return Result{}, fmt.Errorf("%w: wallet payments are refunded by order number, not voided", ErrNotVoidable)
	case orig.Status != StatusApproved:
		return Result{}, fmt.Errorf("%w: it is %s", ErrNotVoidable, orig.Status)
	case orig.Voided:
		return Result{}, fmt.Errorf("%w: already voided", ErrNotVoidable)
	case orig.RefundedFen > 0:
		return Result{}, fmt.Errorf("%w: already partly refunded", ErrNotVoidable)
	}
	t := &Txn{Kind: KindVoid, Method: orig.Method, AmountFen: orig.AmountFen, Batch: batch,
		MaskedPAN: orig.MaskedPAN, Operator: operator, OrigID: orig.ID, OrderNo: orig.OrderNo}
	return e.exchange(ctx, t, HostRequest{Kind: HostVoid, AmountFen: orig.AmountFen, Operator: operator,
		OrigSTAN: orig.STAN, OrigBatch: orig.Batch, OrigRRN: orig.RRN, OrigAuth: orig.AuthCode, OrigDate: orig.HostDate})
}

// Refund returns money for an earlier sale, found by its reference number
// and date; partial and repeated refunds add up to at most the original.
func (e *Engine) Refund(ctx context.Context, origRRN, origDate string, amountFen int64, operator string) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if amountFen <= 0 {
		return Result{}, ErrBadAmount
	}
	if err := e.ready(ctx); err != nil {
		return Result{}, err
	}
	orig, err := e.findOne(`WHERE rrn = ? AND host_date = ? AND kind = 'sale' AND status = 'approved' ORDER BY id DESC LIMIT 1`, origRRN, origDate)
	if errors.Is(err, sql.ErrNoRows) {
		return Result{}, fmt.Errorf("%w: no approved sale with reference %s on %s", ErrNotFound, origRRN, origDate)
	} else if err != nil {
		return Result{}, err
	}
	if orig.Method.IsWallet() {
		return Result{}, fmt.Errorf("%w: reference %s is a wallet payment; refund it by order number", ErrNotFound, origRRN)
	}
	if orig.Voided {
		return Result{}, fmt.Errorf("%w: the sale was voided", ErrRefundTooLarge)
	}
	if left := orig.AmountFen - orig.RefundedFen; amountFen > left {
		return Result{}, fmt.Errorf("%w: %d fen left of %d", ErrRefundTooLarge, left, orig.AmountFen)
	}
	batch, err := e.currentBatch()
	if err != nil {
		return Result{}, err
	}
	t := &Txn{Kind: KindRefund, Method: orig.Method, AmountFen: amountFen, Batch: batch,
		MaskedPAN: orig.MaskedPAN, Operator: operator, OrigID: orig.ID, OrderNo: orig.OrderNo}
	return e.exchange(ctx, t, HostRequest{Kind: HostRefund, AmountFen: amountFen, Operator: operator,
		OrigSTAN: orig.STAN, OrigBatch: orig.Batch, OrigRRN: orig.RRN, OrigAuth: orig.AuthCode, OrigDate: orig.HostDate})
}

// Balance asks the issuer for the card's balance. No money moves, so
// nothing is journaled and nothing is reversed.
func (e *Engine) Balance(ctx context.Context, card Card, operator string) (int64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	pan, expiry, _, err := cardFromTrack2(card.Track2)
	if err != nil {
		return 0, err
	}
	if err := e.ready(ctx); err != nil {
		return 0, err
	}
	stan, err := e.nextSTAN()
	if err != nil {
		return 0, err
	}
	batch, err := e.currentBatch()
	if err != nil {
		return 0, err
	}
	reply, err := e.host.Exchange(ctx, HostRequest{Kind: HostBalance, STAN: stan, Batch: batch, Card: &card, PAN: pan, Expiry: expiry, Operator: operator})
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNoReply, err)
	}
	if reply.SignOnAgain {
		e.requireSignOn()
	}
	if reply.Code != "00" {
		return 0, &DeclinedError{Code: reply.Code}
	}
	return reply.BalanceFen, nil
}

// ---- limits, fees, risk ------------------------------------------------

func (e *Engine) limit(m Method) Limit {
	if l, ok := e.cfg.Limits[m.LimitClass()]; ok {
		return l
	}
	return e.cfg.Default
}

func (e *Engine) checkLimits(m Method, amount int64) error {
	if amount <= 0 {
		return ErrBadAmount
	}
	l := e.limit(m)
	if l.PerTxnFen > 0 && amount > l.PerTxnFen {
		return fmt.Errorf("%w: %d fen > %d fen per transaction", ErrLimit, amount, l.PerTxnFen)
	}
	if l.DailyFen > 0 {
		used, err := e.todaysSales(m.LimitClass())
		if err != nil {
			return err
		}
		if used+amount > l.DailyFen {
			return fmt.Errorf("%w: %d fen today + %d > %d", ErrDailyLimit, used, amount, l.DailyFen)
		}
	}
	return nil
}

func (e *Engine) todaysSales(class string) (int64, error) {
	var sum int64
	st, err := e.stmt(nil, `SELECT fen FROM daily_totals WHERE day = ? AND class = ?`)
	if err != nil {
		return 0, err
	}
	err = st.QueryRow(e.now().Format("2006-01-02"), class).Scan(&sum)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return sum, err
}

// Fee is the merchant discount on an amount, rounded half up to the fen.
func (e *Engine) Fee(m Method, amount int64) int64 {
	bp := e.cfg.FeeBP[m.LimitClass()]
	return (amount*bp + 5000) / 10000
}

// risk updates the decline streak and the same-card window and returns
// alerts for the cashier. It logs them for the merchant's risk officer.
func (e *Engine) risk(t *Txn) []Alert {
	var alerts []Alert
	if t.Kind != KindSale {
		return nil
	}
	if t.Status == StatusApproved {
		e.declines = 0
	} else {
		e.declines++
		if e.cfg.RiskDeclines > 0 && e.declines >= e.cfg.RiskDeclines {
			alerts = append(alerts, Alert{Kind: AlertDeclines, Count: e.declines})
		}
	}
	if t.MaskedPAN != "" && e.cfg.RiskSameCard > 0 {
		now := e.now()
		if last, ok := e.lastCard[t.MaskedPAN]; ok && now.Sub(last) < e.cfg.RiskSameCard {
			alerts = append(alerts, Alert{Kind: AlertSameCard, MaskedPAN: t.MaskedPAN, Window: e.cfg.RiskSameCard})
		}
		e.lastCard[t.MaskedPAN] = now
		for k, v := range e.lastCard { // keep the map small on a long day
			if now.Sub(v) > e.cfg.RiskSameCard {
				delete(e.lastCard, k)
			}
		}
	}
	for _, a := range alerts {
		e.log.Warn("risk alert", "alert", a.String(), "stan", t.STAN)
	}
	return alerts
}
