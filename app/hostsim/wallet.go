package hostsim

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/shoukuan/pos/app/iso8583"
)

// Wallet request kinds, as FaultMatch.Kind names them.
const (
	kindWalletPay    = "walletpay"
	kindWalletQuery  = "walletquery"
	kindWalletCancel = "walletcancel"
	kindPrecreate    = "precreate"
	kindWalletClose  = "walletclose"
	kindWalletRefund = "walletrefund"
)

var walletKinds = map[string]string{
	iso8583.MsgTypeWalletPay:    kindWalletPay,
	iso8583.MsgTypeWalletQuery:  kindWalletQuery,
	iso8583.MsgTypeWalletCancel: kindWalletCancel,
	iso8583.MsgTypePrecreate:    kindPrecreate,
	iso8583.MsgTypeWalletClose:  kindWalletClose,
	iso8583.MsgTypeWalletRefund: kindWalletRefund,
}

// Wallet reply codes beyond the card ones.
const (
	rcUserPaying  = "UP"
	rcAlreadyPaid = "PD"
	rcBadAmount   = "64"
)

// Order states.
const (
	OrderPaid     = "PAID"
	OrderPaying   = "PAYING"
	OrderNotPaid  = "NOTPAID"
	OrderClosed   = "CLOSED"
	OrderRefunded = "REFUNDED"
)

// WalletAccount is a customer's wallet, found by the payment code the
// simulator's customer shows.
type WalletAccount struct {
	Code   string `json:"code"`   // payment code (digits, or fp+digits)
	Wallet string `json:"wallet"` // alipay, wechat, unionpay_qr
	Buyer  string `json:"buyer"`  // masked account shown on receipts
	// BalanceFen pays first; HuabeiCreditFen (Alipay) pays installments
	// and what the balance cannot.
	BalanceFen      int64 `json:"balance_fen"`
	HuabeiCreditFen int64 `json:"huabei_credit_fen"`
	// Confirm is how the customer answers: "instant" (or empty), "after:N"
	// (the phone asks; paid at the Nth query), "never", "refuse:N"
	// (closed at the Nth query).
	Confirm string `json:"confirm"`
}

// LoadWalletAccounts reads a JSON array of wallet accounts.
func LoadWalletAccounts(path string) ([]WalletAccount, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hostsim: wallets: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	var out []WalletAccount
	if err := dec.Decode(&out); err != nil {
		return nil, fmt.Errorf("hostsim: wallets %s: %w", path, err)
	}
	for i, a := range out {
		if err := a.check(); err != nil {
			return nil, fmt.Errorf("hostsim: wallets %s: entry %d: %w", path, i+1, err)
		}
	}
	return out, nil
}

func (a WalletAccount) check() error {
	if a.Code == "" || len(a.Code) > 32 {
		return errors.New("code: 1-32 characters")
	}
	switch a.Wallet {
	case "alipay", "wechat", "unionpay_qr":
	default:
		return fmt.Errorf("wallet %q: alipay, wechat or unionpay_qr", a.Wallet)
	}
	if a.BalanceFen < 0 || a.HuabeiCreditFen < 0 {
		return errors.New("balance_fen and huabei_credit_fen must not be negative")
	}
	if _, _, err := parseConfirm(a.Confirm); err != nil {
		return err
	}
	return nil
}

// parseConfirm reads WalletAccount.Confirm: mode instant|after|never|refuse.
func parseConfirm(s string) (mode string, n int, err error) {
	switch {
	case s == "" || s == "instant":
		return "instant", 0, nil
	case s == "never":
		return "never", 0, nil
	}
	m, v, ok := strings.Cut(s, ":")
	if ok && (m == "after" || m == "refuse") {
		if n, err := strconv.Atoi(v); err == nil && n >= 1 && n <= 100 {
			return m, n, nil
		}
	}
	return "", 0, fmt.Errorf("confirm %q: instant, never, after:N or refuse:N (N 1-100)", s)
}

var walletSchema = []string{
	`CREATE TABLE IF NOT EXISTS wallet_accounts(
		code TEXT PRIMARY KEY,
		wallet TEXT NOT NULL,
		buyer TEXT NOT NULL,
		balance_fen INTEGER NOT NULL,
		huabei_fen INTEGER NOT NULL,
		confirm TEXT NOT NULL)`,
	// One row per order number the host has seen, paid or not: the order
	// number is the wallet's idempotency key, and a cancelled number can
	// never pay.
	`CREATE TABLE IF NOT EXISTS orders(
		order_no TEXT PRIMARY KEY,
		tid TEXT NOT NULL,
		batch TEXT NOT NULL,
		stan TEXT NOT NULL,
		presented TEXT NOT NULL,        -- customer, merchant
		wallet TEXT NOT NULL DEFAULT '', -- '' any (merchant-presented)
		code TEXT NOT NULL DEFAULT '',
		amount_fen INTEGER NOT NULL,
		periods INTEGER NOT NULL DEFAULT 0,
		seller_pct INTEGER NOT NULL DEFAULT 0,
		install_fee_fen INTEGER NOT NULL DEFAULT 0,
		funding TEXT NOT NULL DEFAULT '', -- balance, huabei
		status TEXT NOT NULL,
		queries INTEGER NOT NULL DEFAULT 0,
		trade_no TEXT NOT NULL DEFAULT '',
		payload TEXT NOT NULL DEFAULT '',
		record_id INTEGER REFERENCES records(id))`,
	`CREATE TABLE IF NOT EXISTS wallet_refunds(
		refund_no TEXT PRIMARY KEY,
		order_no TEXT NOT NULL REFERENCES orders(order_no),
		amount_fen INTEGER NOT NULL,
		record_id INTEGER NOT NULL REFERENCES records(id))`,
}

func seedWallets(db *sql.DB, accts []WalletAccount) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i, a := range accts {
		if err := a.check(); err != nil {
			return fmt.Errorf("hostsim: wallet account %d: %w", i+1, err)
		}
		if _, err := tx.Exec(`INSERT OR IGNORE INTO wallet_accounts(code, wallet, buyer, balance_fen, huabei_fen, confirm) VALUES(?, ?, ?, ?, ?, ?)`,
			a.Code, a.Wallet, a.Buyer, a.BalanceFen, a.HuabeiCreditFen, a.Confirm); err != nil {
			return err
		}
	}
	return tx.Commit()
}

type order struct {
	no, tid, batch, stan, presented, wallet, code string
	amount, installFee                            int64
	periods, sellerPct, queries                   int
	funding, status, tradeNo, payload             string
	recordID                                      sql.NullInt64
}

func getOrder(tx *sql.Tx, no string) (order, bool, error) {
	var o order
	err := tx.QueryRow(`SELECT order_no, tid, batch, stan, presented, wallet, code, amount_fen, install_fee_fen, periods, seller_pct, queries,
		funding, status, trade_no, payload, record_id FROM orders WHERE order_no = ?`, no).Scan(
		&o.no, &o.tid, &o.batch, &o.stan, &o.presented, &o.wallet, &o.code, &o.amount, &o.installFee, &o.periods, &o.sellerPct, &o.queries,
		&o.funding, &o.status, &o.tradeNo, &o.payload, &o.recordID)
	if errors.Is(err, sql.ErrNoRows) {
		return o, false, nil
	}
	return o, err == nil, err
}

func setOrder(tx *sql.Tx, o *order) error {
	_, err := tx.Exec(`UPDATE orders SET status = ?, queries = ?, code = ?, wallet = ?, funding = ?, install_fee_fen = ?, record_id = ? WHERE order_no = ?`,
		o.status, o.queries, o.code, o.wallet, o.funding, o.installFee, o.recordID, o.no)
	return err
}

// walletReq is a wallet request's field 59.
func walletReq(req *request) (iso8583.TLV, bool) {
	v, ok := req.m.GetBytes(59)
	if !ok {
		return nil, false
	}
	t, err := iso8583.ParseTLV(v)
	if err != nil || t[iso8583.TagOrderNo] == "" || len(t[iso8583.TagOrderNo]) > 64 {
		return nil, false
	}
	return t, true
}

// walletReply is a financial reply with the order's field 59.
func walletReply(req *request, code string, o *order, extra iso8583.TLV) (*iso8583.Message, error) {
	r := finReply(req, code)
	t := iso8583.TLV{}
	if o != nil {
		t[iso8583.TagOrderNo] = o.no
		if o.wallet != "" {
			t[iso8583.TagWallet] = o.wallet
		}
		if o.tradeNo != "" {
			t[iso8583.TagTradeNo] = o.tradeNo
		}
		if o.installFee > 0 {
			t[iso8583.TagInstallFee] = strconv.FormatInt(o.installFee, 10)
		}
	}
	for k, v := range extra {
		t[k] = v
	}
	b, err := t.Bytes()
	if err != nil {
		return nil, err
	}
	r.SetBytes(59, b)
	return r, nil
}

func (s *Server) walletDispatch(tx *sql.Tx, req *request) (*iso8583.Message, error) {
	t, ok := walletReq(req)
	if !ok {
		return finReply(req, rcInvalidTxn), nil
	}
	switch req.kind {
	case kindWalletPay:
		return s.walletPay(tx, req, t)
	case kindPrecreate:
		return s.precreate(tx, req, t)
	case kindWalletQuery:
		return s.walletQuery(tx, req, t)
	case kindWalletCancel, kindWalletClose:
		return s.walletCancel(tx, req, t)
	case kindWalletRefund:
		return s.walletRefund(tx, req, t)
	}
	return finReply(req, rcInvalidTxn), nil
}

func orderTerms(req *request, t iso8583.TLV) (amount int64, periods, sellerPct int, ok bool) {
	amount, ok = req.amount()
	if !ok || !req.currencyOK() || amount <= 0 {
		return 0, 0, 0, false
	}
	if p, has := t[iso8583.TagPeriods]; has {
		periods, _ = strconv.Atoi(p)
		sellerPct, _ = strconv.Atoi(t[iso8583.TagSellerPct])
		if periods != 3 && periods != 6 && periods != 12 || sellerPct != 0 && sellerPct != 100 {
			return 0, 0, 0, false
		}
	}
	return amount, periods, sellerPct, true
}

func (s *Server) walletPay(tx *sql.Tx, req *request, t iso8583.TLV) (*iso8583.Message, error) {
	no := t[iso8583.TagOrderNo]
	o, found, err := getOrder(tx, no)
	if err != nil {
		return nil, err
	}
	if found {
		// The same order again (a resend after a lost reply): the same
		// answer, no new charge.
		return s.orderAnswer(tx, req, &o)
	}
	amount, periods, sellerPct, ok := orderTerms(req, t)
	if !ok {
		return finReply(req, rcInvalidTxn), nil
	}
	trade, err := newTradeNo(tx, req)
	if err != nil {
		return nil, err
	}
	o = order{no: no, tid: req.tid, batch: req.batch, stan: req.stan, presented: "customer", wallet: t[iso8583.TagWallet],
		code: t[iso8583.TagPayCode], amount: amount, periods: periods, sellerPct: sellerPct, status: OrderNotPaid, tradeNo: trade}
	if _, err := tx.Exec(`INSERT INTO orders(order_no, tid, batch, stan, presented, wallet, code, amount_fen, periods, seller_pct, status, trade_no)
		VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, o.no, o.tid, o.batch, o.stan, o.presented, o.wallet, o.code, o.amount, o.periods, o.sellerPct, o.status, o.tradeNo); err != nil {
		return nil, err
	}
	code, err := s.charge(tx, req, &o)
	if err != nil || code != "" {
		if code != rcUserPaying {
			o.status = OrderClosed
			if err := setOrder(tx, &o); err != nil {
				return nil, err
			}
		}
		if err != nil {
			return nil, err
		}
		return walletReply(req, code, &o, nil)
	}
	return s.orderAnswer(tx, req, &o)
}

// orderAnswer replies to a pay or precreate for an order already known.
func (s *Server) orderAnswer(tx *sql.Tx, req *request, o *order) (*iso8583.Message, error) {
	switch o.status {
	case OrderPaid, OrderRefunded:
		return s.paidReply(tx, req, o)
	case OrderPaying:
		return walletReply(req, rcUserPaying, o, nil)
	case OrderNotPaid:
		if o.presented == "merchant" {
			return walletReply(req, rcApproved, o, iso8583.TLV{iso8583.TagQRPayload: o.payload})
		}
	}
	return walletReply(req, rcInvalidTxn, o, nil)
}

func (s *Server) paidReply(tx *sql.Tx, req *request, o *order) (*iso8583.Message, error) {
	rec, ok, err := orderRecord(tx, o)
	if err != nil {
		return nil, err
	}
	extra := iso8583.TLV{iso8583.TagStatus: o.status}
	if ok && rec.buyer != "" {
		extra[iso8583.TagBuyer] = rec.buyer
	}
	r, err := walletReply(req, rcApproved, o, extra)
	if err != nil {
		return nil, err
	}
	if ok {
		r.Set(37, rec.rrn)
		r.Set(38, rec.auth)
	}
	return r, nil
}

type orderRec struct{ rrn, auth, buyer string }

// orderRecord finds the settlement record of a paid order and its buyer.
func orderRecord(tx *sql.Tx, o *order) (orderRec, bool, error) {
	if !o.recordID.Valid {
		return orderRec{}, false, nil
	}
	var r orderRec
	err := tx.QueryRow(`SELECT r.rrn, r.auth_code, coalesce(a.buyer, '') FROM records r LEFT JOIN wallet_accounts a ON a.code = r.pan WHERE r.id = ?`,
		o.recordID.Int64).Scan(&r.rrn, &r.auth, &r.buyer)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	return r, err == nil, err
}

// charge moves the money of an order from the account of o.code, or
// leaves it PAYING when the customer must confirm. It returns a decline
// code, "" when paid.
func (s *Server) charge(tx *sql.Tx, req *request, o *order) (string, error) {
	var a WalletAccount
	err := tx.QueryRow(`SELECT code, wallet, buyer, balance_fen, huabei_fen, confirm FROM wallet_accounts WHERE code = ?`, o.code).Scan(
		&a.Code, &a.Wallet, &a.Buyer, &a.BalanceFen, &a.HuabeiCreditFen, &a.Confirm)
	if errors.Is(err, sql.ErrNoRows) {
		return rcInvalidCard, nil // expired or unknown payment code
	}
	if err != nil {
		return "", err
	}
	if o.wallet != "" && o.wallet != a.Wallet {
		return rcInvalidCard, nil
	}
	o.wallet = a.Wallet
	if o.periods > 0 {
		if a.Wallet != "alipay" {
			return rcInvalidTxn, nil
		}
		if a.HuabeiCreditFen < o.amount {
			return rcOverLimit, nil // over the customer's Huabei credit line
		}
		o.funding = "huabei"
		rate := s.o.HuabeiRatesBP[o.periods]
		fee := (o.amount*rate + 5000) / 10000
		o.installFee = fee - fee*int64(o.sellerPct)/100
	} else {
		switch {
		case a.BalanceFen >= o.amount:
			o.funding = "balance"
		case a.Wallet == "alipay" && a.HuabeiCreditFen >= o.amount:
			o.funding = "huabei"
		default:
			return rcNoFunds, nil
		}
	}
	mode, _, _ := parseConfirm(a.Confirm)
	if mode != "instant" && o.status != OrderPaying {
		o.status = OrderPaying
		return rcUserPaying, setOrder(tx, o)
	}
	return "", s.settleOrder(tx, req, o, &a)
}

// moveFunds changes the order's source of funds (balance or Huabei line)
// by delta fen.
func moveFunds(tx *sql.Tx, o *order, delta int64) error {
	col := "balance_fen"
	if o.funding == "huabei" {
		col = "huabei_fen"
	}
	_, err := tx.Exec(`UPDATE wallet_accounts SET `+col+` = `+col+` + ? WHERE code = ?`, delta, o.code)
	return err
}

// settleOrder takes the money and writes the settlement record under the
// request that created the order.
func (s *Server) settleOrder(tx *sql.Tx, req *request, o *order, a *WalletAccount) error {
	if err := moveFunds(tx, o, -o.amount); err != nil {
		return err
	}
	rrn, auth, err := nextRRN(tx, req.now)
	if err != nil {
		return err
	}
	rec := &record{tid: o.tid, mid: req.mid, batch: o.batch, stan: o.stan, kind: kindSale, class: o.wallet, pan: a.Code, amount: o.amount,
		status: StatusApproved, rrn: rrn, authCode: auth, hostDay: req.now.Format("20060102"), hostTime: req.now.Format("150405")}
	if err := insertRecord(tx, rec); err != nil {
		return err
	}
	o.status = OrderPaid
	o.recordID = sql.NullInt64{Int64: rec.id, Valid: true}
	return setOrder(tx, o)
}

// newTradeNo is the wallet's own number for an order: date + sequence.
func newTradeNo(tx *sql.Tx, req *request) (string, error) {
	seq, err := nextCounter(tx, "trade")
	if err != nil {
		return "", err
	}
	return req.now.Format("20060102") + fmt.Sprintf("%08d", seq), nil
}

func (s *Server) precreate(tx *sql.Tx, req *request, t iso8583.TLV) (*iso8583.Message, error) {
	no := t[iso8583.TagOrderNo]
	o, found, err := getOrder(tx, no)
	if err != nil {
		return nil, err
	}
	if found {
		return s.orderAnswer(tx, req, &o)
	}
	amount, periods, sellerPct, ok := orderTerms(req, t)
	wallet := t[iso8583.TagWallet]
	if !ok || periods > 0 && wallet != "alipay" {
		return finReply(req, rcInvalidTxn), nil
	}
	trade, err := newTradeNo(tx, req)
	if err != nil {
		return nil, err
	}
	host := map[string]string{"alipay": "qr.alipay.com/bax", "wechat": "wxpay.example/q/", "unionpay_qr": "qr.95516.com/00010000/"}[wallet]
	if host == "" {
		host = "pay.hostsim.example/qr/"
	}
	o = order{no: no, tid: req.tid, batch: req.batch, stan: req.stan, presented: "merchant", wallet: wallet, amount: amount,
		periods: periods, sellerPct: sellerPct, status: OrderNotPaid, tradeNo: trade, payload: "https://" + host + trade}
	if _, err := tx.Exec(`INSERT INTO orders(order_no, tid, batch, stan, presented, wallet, amount_fen, periods, seller_pct, status, trade_no, payload)
		VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, o.no, o.tid, o.batch, o.stan, o.presented, o.wallet, o.amount, o.periods, o.sellerPct, o.status, o.tradeNo, o.payload); err != nil {
		return nil, err
	}
	return walletReply(req, rcApproved, &o, iso8583.TLV{iso8583.TagQRPayload: o.payload})
}

func (s *Server) walletQuery(tx *sql.Tx, req *request, t iso8583.TLV) (*iso8583.Message, error) {
	o, found, err := getOrder(tx, t[iso8583.TagOrderNo])
	if err != nil {
		return nil, err
	}
	if !found {
		return newReply(req, rcNotFound), nil
	}
	if p := s.merchantPayer(); p.code != "" && p.after > 0 && o.presented == "merchant" && o.status == OrderNotPaid {
		o.queries++
		if o.queries >= p.after {
			if _, err := s.payMerchantOrder(tx, &o, p.code, req.now); err != nil {
				return nil, err
			}
		} else if err := setOrder(tx, &o); err != nil {
			return nil, err
		}
	}
	if o.status == OrderPaying {
		o.queries++
		var confirm string
		if err := tx.QueryRow(`SELECT confirm FROM wallet_accounts WHERE code = ?`, o.code).Scan(&confirm); err != nil {
			return nil, err
		}
		mode, n, _ := parseConfirm(confirm)
		switch {
		case mode == "after" && o.queries >= n:
			var a WalletAccount
			if err := tx.QueryRow(`SELECT code, balance_fen, huabei_fen FROM wallet_accounts WHERE code = ?`, o.code).Scan(&a.Code, &a.BalanceFen, &a.HuabeiCreditFen); err != nil {
				return nil, err
			}
			have := a.BalanceFen
			if o.funding == "huabei" {
				have = a.HuabeiCreditFen
			}
			if have < o.amount { // spent elsewhere meanwhile
				o.status = OrderClosed
			} else if err := s.settleOrder(tx, req, &o, &a); err != nil {
				return nil, err
			}
		case mode == "refuse" && o.queries >= n:
			o.status = OrderClosed
		}
		if err := setOrder(tx, &o); err != nil {
			return nil, err
		}
	}
	if o.status == OrderPaid || o.status == OrderRefunded {
		return s.paidReply(tx, req, &o)
	}
	return walletReply(req, rcApproved, &o, iso8583.TLV{iso8583.TagStatus: o.status})
}

// walletCancel is cancel (customer-presented: a paid order is refunded in
// full) and close (merchant-presented: a paid order stays paid, "PD").
// An order never seen is recorded closed, so a late request cannot pay.
func (s *Server) walletCancel(tx *sql.Tx, req *request, t iso8583.TLV) (*iso8583.Message, error) {
	no := t[iso8583.TagOrderNo]
	o, found, err := getOrder(tx, no)
	if err != nil {
		return nil, err
	}
	if !found {
		if _, err := tx.Exec(`INSERT INTO orders(order_no, tid, batch, stan, presented, amount_fen, status) VALUES(?, ?, ?, ?, 'none', 0, ?)`,
			no, req.tid, req.batch, req.stan, OrderClosed); err != nil {
			return nil, err
		}
		return newReply(req, rcApproved), nil
	}
	if p := s.merchantPayer(); p.code != "" && p.atClose && req.kind == kindWalletClose && o.presented == "merchant" && o.status == OrderNotPaid {
		if _, err := s.payMerchantOrder(tx, &o, p.code, req.now); err != nil {
			return nil, err
		}
	}
	switch o.status {
	case OrderPaid:
		if req.kind == kindWalletClose {
			return walletReply(req, rcAlreadyPaid, &o, nil)
		}
		var refunded int64
		if err := tx.QueryRow(`SELECT coalesce(sum(amount_fen), 0) FROM wallet_refunds WHERE order_no = ?`, no).Scan(&refunded); err != nil {
			return nil, err
		}
		if refunded > 0 {
			return walletReply(req, rcInvalidTxn, &o, nil) // partly refunded: refund the rest instead
		}
		if err := moveFunds(tx, &o, o.amount); err != nil {
			return nil, err
		}
		if err := setStatus(tx, o.recordID.Int64, StatusReversed); err != nil {
			return nil, err
		}
		o.status = OrderClosed
	case OrderPaying, OrderNotPaid:
		o.status = OrderClosed
	case OrderRefunded:
		return walletReply(req, rcInvalidTxn, &o, nil)
	}
	if err := setOrder(tx, &o); err != nil {
		return nil, err
	}
	return walletReply(req, rcApproved, &o, iso8583.TLV{iso8583.TagStatus: o.status})
}

func (s *Server) walletRefund(tx *sql.Tx, req *request, t iso8583.TLV) (*iso8583.Message, error) {
	refundNo := t[iso8583.TagRefundNo]
	amount, ok := req.amount()
	if refundNo == "" || !ok || amount <= 0 || !req.currencyOK() {
		return finReply(req, rcInvalidTxn), nil
	}
	o, found, err := getOrder(tx, t[iso8583.TagOrderNo])
	if err != nil {
		return nil, err
	}
	if !found || (o.status != OrderPaid && o.status != OrderRefunded) {
		return finReply(req, rcNotFound), nil
	}
	var prevOrder string
	var prevAmount, recID int64
	err = tx.QueryRow(`SELECT order_no, amount_fen, record_id FROM wallet_refunds WHERE refund_no = ?`, refundNo).Scan(&prevOrder, &prevAmount, &recID)
	switch {
	case err == nil:
		if prevOrder != o.no || prevAmount != amount {
			return finReply(req, rcInvalidTxn), nil // a refund number reused for something else
		}
		var rrn, auth string
		if err := tx.QueryRow(`SELECT rrn, auth_code FROM records WHERE id = ?`, recID).Scan(&rrn, &auth); err != nil {
			return nil, err
		}
		r, err := walletReply(req, rcApproved, &o, nil)
		if r != nil {
			r.Set(37, rrn)
			r.Set(38, auth)
		}
		return r, err
	case !errors.Is(err, sql.ErrNoRows):
		return nil, err
	}
	var refunded int64
	if err := tx.QueryRow(`SELECT coalesce(sum(amount_fen), 0) FROM wallet_refunds WHERE order_no = ?`, o.no).Scan(&refunded); err != nil {
		return nil, err
	}
	if refunded+amount > o.amount {
		return walletReply(req, rcBadAmount, &o, nil)
	}
	if err := moveFunds(tx, &o, amount); err != nil {
		return nil, err
	}
	rrn, auth, err := nextRRN(tx, req.now)
	if err != nil {
		return nil, err
	}
	rec := &record{tid: req.tid, mid: req.mid, batch: req.batch, stan: req.stan, kind: kindRefund, class: o.wallet, pan: o.code, amount: amount,
		status: StatusApproved, rrn: rrn, authCode: auth, hostDay: req.now.Format("20060102"), hostTime: req.now.Format("150405"), origID: o.recordID}
	if err := insertRecord(tx, rec); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`UPDATE records SET refunded_fen = refunded_fen + ? WHERE id = ?`, amount, o.recordID.Int64); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`INSERT INTO wallet_refunds(refund_no, order_no, amount_fen, record_id) VALUES(?, ?, ?, ?)`, refundNo, o.no, amount, rec.id); err != nil {
		return nil, err
	}
	if refunded+amount == o.amount {
		o.status = OrderRefunded
		if err := setOrder(tx, &o); err != nil {
			return nil, err
		}
	}
	r, err := walletReply(req, rcApproved, &o, nil)
	if r != nil {
		r.Set(37, rrn)
		r.Set(38, auth)
	}
	return r, err
}

// merchantPayer is a customer who scans every QR a terminal shows and
// pays it from the wallet of code: at the terminal's Nth order query, or
// (atClose) just before the terminal's close of the order arrives, the
// race a cashier's cancel runs against a customer's phone.
type merchantPayer struct {
	code    string
	after   int
	atClose bool
}

// SetMerchantPayer makes the customer behind code pay merchant-presented
// orders on their own: at the afterQueries-th query (0: not on queries),
// or with atClose just before a close. An empty code stops it.
func (s *Server) SetMerchantPayer(code string, afterQueries int, atClose bool) {
	s.fmu.Lock()
	s.payer = merchantPayer{code: code, after: afterQueries, atClose: atClose}
	s.fmu.Unlock()
}

func (s *Server) merchantPayer() merchantPayer {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.payer
}

// payMerchantOrder is the phone paying an unpaid merchant-presented order
// from code's wallet; it returns the wallet's decline code, "" when paid.
func (s *Server) payMerchantOrder(tx *sql.Tx, o *order, code string, now time.Time) (string, error) {
	o.code = code
	o.status = OrderPaying // the customer confirmed on the phone: no second step
	req := &request{now: now, tid: o.tid, batch: o.batch, stan: o.stan}
	c, err := s.charge(tx, req, o)
	if err != nil || c != "" {
		o.code, o.status = "", OrderNotPaid
		if err == nil {
			err = setOrder(tx, o)
		}
	}
	return c, err
}

// ErrNoOrder is returned by CustomerPays for a QR the host never issued.
var ErrNoOrder = errors.New("hostsim: no open order behind this QR")

// CustomerPays is the customer's phone: it scans a merchant-presented QR
// (its exact content) and pays it from the wallet account of code. It
// returns the host's verdict as the customer would see it.
func (s *Server) CustomerPays(payload, code string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var no string
	if err := tx.QueryRow(`SELECT order_no FROM orders WHERE payload = ? AND payload != ''`, payload).Scan(&no); errors.Is(err, sql.ErrNoRows) {
		return ErrNoOrder
	} else if err != nil {
		return err
	}
	o, _, err := getOrder(tx, no)
	if err != nil {
		return err
	}
	if o.status != OrderNotPaid {
		return fmt.Errorf("hostsim: order is %s", strings.ToLower(o.status))
	}
	if c, err := s.payMerchantOrder(tx, &o, code, s.o.Now()); err != nil {
		return err
	} else if c != "" {
		return fmt.Errorf("hostsim: the wallet declined the payment (code %s)", c)
	}
	return tx.Commit()
}

// WalletBalance returns a wallet account's balance and Huabei credit.
func (s *Server) WalletBalance(code string) (balance, huabei int64, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	err = s.db.QueryRow(`SELECT balance_fen, huabei_fen FROM wallet_accounts WHERE code = ?`, code).Scan(&balance, &huabei)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, 0, ErrUnknownAccount
	}
	return balance, huabei, err
}
