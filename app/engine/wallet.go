package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/shoukuan/pos/app/mutant"
)

// WalletConfig is the QR payment policy.
type WalletConfig struct {
	PollEvery     time.Duration // query this often while the customer confirms
	Wait          time.Duration // then cancel (customer-presented)
	MerchantQRFor time.Duration // how long a shown QR stays payable
	CancelRetries int
	// Sleep waits d or until ctx ends. The scenario rig moves its virtual
	// clock instead of sleeping, so a 30 s wait takes no time in a test.
	Sleep func(ctx context.Context, d time.Duration) error
}

// HuabeiConfig is what the merchant's contract allows for Huabei.
type HuabeiConfig struct {
	Enabled  bool
	MinFen   int64
	LimitFen int64
	RatesBP  map[int]int64 // fee per number of periods
}

// Installment is what a Huabei split costs and who pays it.
type Installment struct {
	Periods      int
	SellerPct    int   // 0: the buyer pays the fee; 100: the merchant does
	FeeFen       int64 // the whole installment fee
	BuyerFeeFen  int64
	SellerFeeFen int64
	EachFen      int64 // the buyer's instalment, periods 2..n
	FirstFen     int64 // the first takes the rounding remainder
}

// HuabeiTerms splits amount into periods at rateBP, the fee rounded half
// up to the fen; the buyer's instalments add up to amount + buyer fee
// exactly.
func HuabeiTerms(amount int64, periods int, rateBP int64, sellerPct int) Installment {
	fee := (amount*rateBP + 5000) / 10000
	seller := fee * int64(sellerPct) / 100
	in := Installment{Periods: periods, SellerPct: sellerPct, FeeFen: fee, SellerFeeFen: seller, BuyerFeeFen: fee - seller}
	total := amount + in.BuyerFeeFen
	in.EachFen = total / int64(periods)
	in.FirstFen = total - in.EachFen*int64(periods-1)
	return in
}

// Huabei checks an installment choice against the merchant's contract and
// prices it, for the confirm screen.
func (e *Engine) Huabei(amount int64, periods, sellerPct int) (Installment, error) {
	h := e.cfg.Huabei
	rate, ok := h.RatesBP[periods]
	switch {
	case !h.Enabled:
		return Installment{}, fmt.Errorf("%w: not enabled for this merchant", ErrHuabei)
	case !ok:
		return Installment{}, fmt.Errorf("%w: %d periods not offered", ErrHuabei, periods)
	case sellerPct != 0 && sellerPct != 100:
		return Installment{}, fmt.Errorf("%w: the seller pays 0%% or 100%% of the fee", ErrHuabei)
	}
	if err := e.HuabeiAmount(amount); err != nil {
		return Installment{}, err
	}
	return HuabeiTerms(amount, periods, rate, sellerPct), nil
}

// HuabeiAmountError is an amount outside what the merchant's contract
// lets be split into installments.
type HuabeiAmountError struct {
	AmountFen, MinFen, LimitFen int64
}

func (e *HuabeiAmountError) Error() string {
	if e.AmountFen < e.MinFen {
		return fmt.Sprintf("%v: %d fen is under the minimum %d", ErrHuabei, e.AmountFen, e.MinFen)
	}
	return fmt.Sprintf("%v: %d fen is over the merchant's Huabei limit %d", ErrHuabei, e.AmountFen, e.LimitFen)
}

func (e *HuabeiAmountError) Unwrap() error { return ErrHuabei }

// HuabeiAmount checks an amount against the contract's Huabei range, the
// first thing the cashier learns after keying it.
func (e *Engine) HuabeiAmount(amount int64) error {
	h := e.cfg.Huabei
	if amount < h.MinFen || amount > h.LimitFen {
		return &HuabeiAmountError{AmountFen: amount, MinFen: h.MinFen, LimitFen: h.LimitFen}
	}
	return nil
}

// Waiter shows a payment the customer has yet to confirm and hears the
// cashier. Waiting is called about once a second with the time left and,
// for a merchant-presented order, the QR content to show; it returns true
// when the cashier pressed Cancel.
type Waiter interface {
	Waiting(left time.Duration, qr string) (cancel bool)
}

// WalletInput is a QR payment as the UI collected it.
type WalletInput struct {
	AmountFen int64
	Code      string // customer-presented: the scanned payment code
	Wallet    Method // customer-presented: from the code; merchant: "" any wallet
	Periods   int    // Huabei installments, 0 none
	SellerPct int
	Operator  string
}

// WalletPay charges a customer's payment code: the order is journaled
// before it is sent; "user paying" is polled, then cancelled; no reply is
// queried, then cancelled. The order number never pays twice.
func (e *Engine) WalletPay(ctx context.Context, in WalletInput, w Waiter) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if in.Code == "" || !in.Wallet.IsWallet() || in.Wallet == MethodQR {
		return Result{}, ErrBadCode
	}
	t, err := e.walletIntent(ctx, in, PresentedCustomer)
	if err != nil {
		return Result{}, err
	}
	e.crashPoint("wallet.intent")
	reply, err := e.host.Exchange(ctx, HostRequest{Kind: HostWalletPay, STAN: t.STAN, Batch: t.Batch, AmountFen: t.AmountFen,
		PayCode: in.Code, OrderNo: t.OrderNo, Wallet: t.Method, Periods: t.Periods, SellerPct: t.SellerPct, Operator: t.Operator})
	e.crashPoint("wallet.reply")
	if err == nil {
		if reply.SignOnAgain {
			e.requireSignOn()
		}
		switch {
		case reply.Code == CodeUserPaying:
			// The customer confirms on the phone: poll, never success.
		case e.cfg.Codes.Verdict(FamilyWalletPay, reply.Code) != Unknown:
			return e.walletFinal(t, reply)
		default:
			// SYSTEM_ERROR and its kin: the wallet may have taken the
			// money. Query, then cancel, as after a lost reply.
			e.log.Warn("wallet payment answered with an unknown outcome; querying", "order", t.OrderNo, "code", reply.Code)
		}
	} else {
		e.log.Warn("no reply to wallet payment; querying", "order", t.OrderNo, "err", err)
	}
	return e.await(ctx, t, w, "", e.cfg.Wallet.Wait)
}

// MerchantQR asks the host for a QR the customer scans, shows it through
// w until it is paid, the time is up or the cashier cancels, then closes
// the order.
func (e *Engine) MerchantQR(ctx context.Context, in WalletInput, w Waiter) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if in.Wallet == "" {
		in.Wallet = MethodQR
	}
	if !in.Wallet.IsWallet() {
		return Result{}, ErrBadCode
	}
	t, err := e.walletIntent(ctx, in, PresentedMerchant)
	if err != nil {
		return Result{}, err
	}
	e.crashPoint("precreate.intent")
	reply, err := e.host.Exchange(ctx, HostRequest{Kind: HostPrecreate, STAN: t.STAN, Batch: t.Batch, AmountFen: t.AmountFen,
		OrderNo: t.OrderNo, Wallet: walletFilter(t.Method), Periods: t.Periods, SellerPct: t.SellerPct, Operator: t.Operator})
	e.crashPoint("precreate.reply")
	if err != nil {
		// No QR was shown, but the host may have created the order:
		// close it so nothing can pay it later.
		// What the close finds is the outcome: closed (nobody paid),
		// or paid after all.
		e.log.Warn("no reply to precreate; closing", "order", t.OrderNo, "err", err)
		return e.giveUp(ctx, t)
	}
	if reply.SignOnAgain {
		e.requireSignOn()
	}
	if reply.Code != "00" && e.cfg.Codes.Verdict(FamilyWalletPay, reply.Code) == Declined {
		return e.walletFinal(t, reply)
	}
	if reply.Code != "00" || reply.QRPayload == "" {
		// The host may hold an order we cannot show: close it so that
		// nobody can pay it later.
		e.log.Warn("precreate without a usable QR; closing", "order", t.OrderNo, "code", reply.Code)
		return e.giveUp(ctx, t)
	}
	return e.await(ctx, t, w, reply.QRPayload, e.cfg.Wallet.MerchantQRFor)
}

func walletFilter(m Method) Method {
	if m == MethodQR {
		return ""
	}
	return m
}

// walletIntent checks and journals a new wallet sale.
func (e *Engine) walletIntent(ctx context.Context, in WalletInput, presented string) (*Txn, error) {
	if in.AmountFen <= 0 {
		return nil, ErrBadAmount
	}
	if err := e.ready(ctx); err != nil {
		return nil, err
	}
	if err := e.checkLimits(in.Wallet, in.AmountFen); err != nil {
		return nil, err
	}
	if in.Periods > 0 {
		if in.Wallet != MethodAlipay {
			return nil, fmt.Errorf("%w: only Alipay pays by Huabei", ErrHuabei)
		}
		if _, err := e.Huabei(in.AmountFen, in.Periods, in.SellerPct); err != nil {
			return nil, err
		}
	} else {
		in.SellerPct = 0
	}
	batch, err := e.currentBatch()
	if err != nil {
		return nil, err
	}
	t := &Txn{Kind: KindSale, Method: in.Wallet, AmountFen: in.AmountFen, Batch: batch, Operator: in.Operator,
		FeeFen: e.Fee(in.Wallet, in.AmountFen), Presented: presented, Periods: in.Periods, SellerPct: in.SellerPct}
	if err := e.intent(t, nil); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	return t, nil
}

// await polls the order until it is paid or closed, the time is up or the
// cashier cancels; then it gives up on the order (cancel or close).
func (e *Engine) await(ctx context.Context, t *Txn, w Waiter, qr string, wait time.Duration) (Result, error) {
	every := e.cfg.Wallet.PollEvery
	if every <= 0 {
		every = 5 * time.Second
	}
	var elapsed, sincePoll time.Duration
	for elapsed < wait {
		if w != nil && w.Waiting(wait-elapsed, qr) {
			e.log.Info("cashier cancelled the wallet order", "order", t.OrderNo)
			break
		}
		step := min(time.Second, wait-elapsed)
		if err := e.sleep(ctx, step); err != nil {
			// Shutting down: the order stays open and the next start
			// resolves it, exactly as after a power cut.
			*t, _ = e.Txn(t.ID)
			return Result{Txn: *t}, fmt.Errorf("%w: order %s: %w", ErrWalletOpen, t.OrderNo, err)
		}
		elapsed += step
		sincePoll += step
		if sincePoll < every && elapsed < wait {
			continue
		}
		sincePoll = 0
		r, err := e.walletQuery(ctx, t)
		e.crashPoint("wallet.query")
		if err != nil {
			e.log.Warn("order query failed", "order", t.OrderNo, "err", err)
			continue
		}
		if res, done, err := e.settleByStatus(t, r); done {
			return res, err
		}
	}
	return e.giveUp(ctx, t)
}

func (e *Engine) sleep(ctx context.Context, d time.Duration) error {
	if e.cfg.Wallet.Sleep != nil {
		return e.cfg.Wallet.Sleep(ctx, d)
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}

func (e *Engine) walletQuery(ctx context.Context, t *Txn) (HostReply, error) {
	stan, err := e.nextSTAN()
	if err != nil {
		return HostReply{}, err
	}
	return e.host.Exchange(ctx, HostRequest{Kind: HostWalletQuery, STAN: stan, Batch: t.Batch, OrderNo: t.OrderNo, Operator: t.Operator})
}

// settleByStatus applies a query reply that ends the order.
func (e *Engine) settleByStatus(t *Txn, r HostReply) (Result, bool, error) {
	if r.Code != "00" {
		return Result{}, false, nil
	}
	switch r.OrderStatus {
	case OrderPaid:
		if mutant.On("merchant-paid-as-cancelled") && t.Presented == PresentedMerchant {
			res, err := e.walletCancelled(t, r)
			return res, true, err
		}
		res, err := e.walletFinal(t, r)
		return res, true, err
	case OrderClosed, OrderRefunded:
		res, err := e.walletCancelled(t, r)
		return res, true, err
	}
	return Result{}, false, nil
}

// giveUp ends an order the customer has not paid: a customer-presented
// order is cancelled (if the wallet charged meanwhile, the cancel gives
// the money back), a merchant-presented one is closed (if it was paid
// meanwhile, the payment stands). Tried while the host says retry; what
// stays unknown stays in wallet_open for Recover.
func (e *Engine) giveUp(ctx context.Context, t *Txn) (Result, error) {
	kind := HostWalletCancel
	if t.Presented == PresentedMerchant {
		kind = HostWalletClose
	}
	tries := max(e.cfg.Wallet.CancelRetries, 1)
	var last error
	for i := 0; i < tries; i++ {
		if i > 0 {
			if err := e.sleep(ctx, time.Second); err != nil {
				break
			}
		}
		if _, err := e.db.Exec(`UPDATE wallet_open SET attempts = attempts + 1 WHERE txn_id = ?`, t.ID); err != nil {
			return Result{Txn: *t}, err
		}
		stan, err := e.nextSTAN()
		if err != nil {
			return Result{Txn: *t}, err
		}
		r, err := e.host.Exchange(ctx, HostRequest{Kind: kind, STAN: stan, Batch: t.Batch, OrderNo: t.OrderNo, Operator: t.Operator})
		e.crashPoint("wallet.cancel")
		switch {
		case err != nil:
			last = err
		case r.Code == "00" || r.Code == "25":
			// Cancelled, closed, or never reached the host (a cancel of
			// an unknown order bars it from ever being paid).
			return e.walletCancelled(t, r)
		case r.Code == CodeAlreadyPaid:
			q, err := e.walletQuery(ctx, t)
			if err == nil {
				if res, done, err := e.settleByStatus(t, q); done {
					return res, err
				}
			}
			last = fmt.Errorf("close refused as paid, but the query says %q", q.OrderStatus)
		case r.Code == CodeRetry:
			last = errors.New("host asks to retry the cancel")
		default:
			last = fmt.Errorf("host refused the cancel: code %s", r.Code)
		}
	}
	e.log.Error("wallet order unresolved", "order", t.OrderNo, "err", last)
	*t, _ = e.Txn(t.ID)
	return Result{Txn: *t}, fmt.Errorf("%w: order %s: %v", ErrWalletOpen, t.OrderNo, last)
}

// walletFinal records a final answer to a payment or refund: approved on
// 00, else declined.
func (e *Engine) walletFinal(t *Txn, r HostReply) (Result, error) {
	status := StatusDeclined
	if r.Code == "00" {
		status = StatusApproved
	}
	if err := e.walletOutcome(t, status, r); err != nil {
		return Result{Txn: *t}, fmt.Errorf("journal: %w", err)
	}
	e.crashPoint("wallet.outcome")
	res := Result{Txn: *t}
	res.Alerts = e.risk(t)
	if status != StatusApproved {
		return res, &DeclinedError{Code: r.Code, Txn: *t}
	}
	return res, nil
}

func (e *Engine) walletCancelled(t *Txn, r HostReply) (Result, error) {
	if err := e.walletOutcome(t, StatusCancelled, r); err != nil {
		return Result{Txn: *t}, fmt.Errorf("journal: %w", err)
	}
	e.crashPoint("wallet.outcome")
	return Result{Txn: *t}, ErrCancelled
}

// walletOutcome is a wallet order's second durable write.
func (e *Engine) walletOutcome(t *Txn, status Status, r HostReply) error {
	tx, err := e.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	method := t.Method
	if method == MethodQR && r.Wallet.IsWallet() && r.Wallet != MethodQR && status == StatusApproved {
		method = r.Wallet
	}
	// The discount rate is the paying wallet's, known only now for a
	// merchant-presented order.
	fee := t.FeeFen
	if t.Kind == KindSale {
		fee = e.Fee(method, t.AmountFen)
	}
	if _, err := tx.Exec(`UPDATE txns SET status = ?, method = ?, resp_code = ?, rrn = ?, auth_code = ?, host_date = ?, host_time = ?,
		buyer = ?, trade_no = ?, install_fee_fen = ?, fee_fen = ?, updated = ?, receipts_owed = ? WHERE id = ?`,
		status, method, r.Code, r.RRN, r.AuthCode, r.Date, r.Time, r.Buyer, r.TradeNo, r.InstallFeeFen,
		fee, e.now().Unix(), e.receiptsFor(t.Kind, status), t.ID); err != nil {
		return err
	}
	if _, err := tx.Exec(`DELETE FROM wallet_open WHERE txn_id = ?`, t.ID); err != nil {
		return err
	}
	if status == StatusApproved {
		switch {
		case t.Kind == KindSale:
			if err := e.addDaily(tx, t.Created, method, t.AmountFen); err != nil {
				return err
			}
		case t.Kind == KindRefund && t.OrigID != 0:
			if _, err := tx.Exec(`UPDATE txns SET refunded_fen = refunded_fen + ?, updated = ? WHERE id = ?`, t.AmountFen, e.now().Unix(), t.OrigID); err != nil {
				return err
			}
			if mutant.On("refund-journaled-twice") {
				if _, err := tx.Exec(`UPDATE txns SET refunded_fen = refunded_fen + ? WHERE id = ?`, t.AmountFen, t.OrigID); err != nil {
					return err
				}
			}
		}
	}
	if err := e.commit(tx); err != nil {
		return err
	}
	t.Status, t.Method, t.RespCode, t.RRN, t.AuthCode, t.HostDate, t.HostTime = status, method, r.Code, r.RRN, r.AuthCode, r.Date, r.Time
	t.Buyer, t.TradeNo, t.InstallFeeFen = r.Buyer, r.TradeNo, r.InstallFeeFen
	t.FeeFen = fee
	t.ReceiptsOwed = e.receiptsFor(t.Kind, status)
	return nil
}

// WalletRefund returns money for a wallet payment found by its order
// number; partial and repeated refunds add up to at most the original.
// The refund number is fresh and saved before sending, so a resend after
// a lost reply cannot refund twice.
func (e *Engine) WalletRefund(ctx context.Context, orderNo string, amountFen int64, operator string) (Result, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if amountFen <= 0 {
		return Result{}, ErrBadAmount
	}
	if err := e.ready(ctx); err != nil {
		return Result{}, err
	}
	orig, err := e.findOne(`WHERE order_no = ? AND kind = 'sale' AND status = 'approved' ORDER BY id DESC LIMIT 1`, orderNo)
	if errors.Is(err, sql.ErrNoRows) || err == nil && !orig.Method.IsWallet() {
		return Result{}, fmt.Errorf("%w: no paid wallet order %s", ErrNotFound, orderNo)
	} else if err != nil {
		return Result{}, err
	}
	if left := orig.AmountFen - orig.RefundedFen; amountFen > left {
		return Result{}, fmt.Errorf("%w: %d fen left of %d", ErrRefundTooLarge, left, orig.AmountFen)
	}
	batch, err := e.currentBatch()
	if err != nil {
		return Result{}, err
	}
	t := &Txn{Kind: KindRefund, Method: orig.Method, AmountFen: amountFen, Batch: batch, Operator: operator,
		OrigID: orig.ID, Presented: orig.Presented}
	if err := e.intent(t, nil); err != nil {
		return Result{}, fmt.Errorf("journal: %w", err)
	}
	e.crashPoint("walletrefund.intent")
	reply, err := e.sendRefund(ctx, t, orig.OrderNo)
	e.crashPoint("walletrefund.reply")
	if err == nil && e.refundUnknown(reply.Code) {
		err = &UnknownAnswerError{Code: reply.Code}
	}
	if err != nil {
		// The same refund number again: the host refunds it once.
		e.log.Warn("no definite answer to wallet refund; resending", "refund", t.OrderNo, "err", err)
		reply, err = e.sendRefund(ctx, t, orig.OrderNo)
		if err == nil && e.refundUnknown(reply.Code) {
			err = &UnknownAnswerError{Code: reply.Code}
		}
		if err != nil {
			*t, _ = e.Txn(t.ID)
			return Result{Txn: *t}, fmt.Errorf("%w: refund %s will be resent: %w", ErrWalletOpen, t.OrderNo, err)
		}
	}
	return e.walletFinal(t, reply)
}

func (e *Engine) sendRefund(ctx context.Context, t *Txn, origOrder string) (HostReply, error) {
	return e.host.Exchange(ctx, HostRequest{Kind: HostWalletRefund, STAN: t.STAN, Batch: t.Batch, AmountFen: t.AmountFen,
		OrderNo: origOrder, RefundNo: t.OrderNo, Operator: t.Operator})
}

// resolveWallets settles every open wallet order, oldest first: a payment
// is queried and, unless paid or closed, cancelled; a refund is resent
// under its own refund number.
func (e *Engine) resolveWallets(ctx context.Context) ([]Recovered, error) {
	rows, err := e.db.Query(`SELECT txn_id FROM wallet_open ORDER BY txn_id`)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var done []Recovered
	for _, id := range ids {
		t, err := e.Txn(id)
		if err != nil {
			return done, err
		}
		var res Result
		if t.Kind == KindRefund {
			orig, err := e.Txn(t.OrigID)
			if err != nil {
				return done, err
			}
			r, err := e.sendRefund(ctx, &t, orig.OrderNo)
			if err == nil && e.refundUnknown(r.Code) {
				err = &UnknownAnswerError{Code: r.Code}
			}
			if err != nil {
				return done, fmt.Errorf("%w: refund %s: %v", ErrWalletOpen, t.OrderNo, err)
			}
			res, err = e.walletFinal(&t, r)
			if !final(err) {
				return done, err
			}
		} else {
			r, err := e.walletQuery(ctx, &t)
			settled := false
			if err == nil {
				res, settled, err = e.settleByStatus(&t, r)
			}
			if !settled {
				res, err = e.giveUp(ctx, &t)
			}
			if !final(err) {
				return done, err
			}
		}
		e.log.Info("wallet order resolved", "order", res.Txn.OrderNo, "status", res.Txn.Status)
		done = append(done, Recovered{Txn: res.Txn})
	}
	return done, nil
}

// refundUnknown: the reply does not say whether the refund was done, so
// it stays open and the same refund number is sent again.
func (e *Engine) refundUnknown(code string) bool {
	return e.cfg.Codes.Verdict(FamilyWalletRefund, code) == Unknown
}

// final reports whether a wallet flow's error still means the order
// ended with its outcome recorded: approved, declined or cancelled.
func final(err error) bool {
	var d *DeclinedError
	return err == nil || errors.Is(err, ErrCancelled) || errors.As(err, &d)
}

// OpenWalletOrders is the number of wallet orders whose outcome is unknown.
func (e *Engine) OpenWalletOrders() (int, error) {
	var n int
	err := e.db.QueryRow(`SELECT count(*) FROM wallet_open`).Scan(&n)
	return n, err
}

// OrderStatus is the cashier's manual query: the host's word on an order.
// An open order the host reports paid or closed is recorded as such.
func (e *Engine) OrderStatus(ctx context.Context, orderNo string) (Txn, string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, err := e.findOne(`WHERE order_no = ? ORDER BY id DESC LIMIT 1`, orderNo)
	if errors.Is(err, sql.ErrNoRows) {
		return Txn{}, "", fmt.Errorf("%w: no order %s on this terminal", ErrNotFound, orderNo)
	} else if err != nil {
		return Txn{}, "", err
	}
	if !t.Method.IsWallet() || t.Kind != KindSale {
		return t, "", fmt.Errorf("%w: %s is not a wallet payment", ErrNotFound, orderNo)
	}
	r, err := e.walletQuery(ctx, &t)
	if err != nil {
		return t, "", fmt.Errorf("%w: %w", ErrNoReply, err)
	}
	if r.Code != "00" {
		return t, r.Code, nil
	}
	if t.Status == StatusPending {
		if res, done, err := e.settleByStatus(&t, r); done {
			if !final(err) {
				return t, r.OrderStatus, err
			}
			t = res.Txn
		}
	}
	return t, r.OrderStatus, nil
}

// SetSleep replaces how the wallet flows wait between queries: the
// scenario rig passes a virtual clock so that waits cost no real time.
func (e *Engine) SetSleep(fn func(ctx context.Context, d time.Duration) error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cfg.Wallet.Sleep = fn
}
