package engine

import (
	"database/sql"
	"errors"
	"strings"
	"time"
)

const txnColumns = `id, kind, method, amount_fen, stan, batch, status, resp_code, rrn, auth_code, host_date, host_time,
	masked_pan, order_no, operator, coalesce(orig_id, 0), voided, refunded_fen, fee_fen, created,
	presented, buyer, trade_no, periods, seller_pct, install_fee_fen, announced, receipts_owed, chip`

func scanTxn(row interface{ Scan(...any) error }) (Txn, error) {
	var t Txn
	var created int64
	err := row.Scan(&t.ID, &t.Kind, &t.Method, &t.AmountFen, &t.STAN, &t.Batch, &t.Status, &t.RespCode, &t.RRN, &t.AuthCode,
		&t.HostDate, &t.HostTime, &t.MaskedPAN, &t.OrderNo, &t.Operator, &t.OrigID, &t.Voided, &t.RefundedFen, &t.FeeFen, &created,
		&t.Presented, &t.Buyer, &t.TradeNo, &t.Periods, &t.SellerPct, &t.InstallFeeFen, &t.Announced, &t.ReceiptsOwed, &t.Chip)
	t.Created = time.Unix(created, 0)
	return t, err
}

// Txn reads one transaction.
func (e *Engine) Txn(id int64) (Txn, error) {
	return scanTxn(e.db.QueryRow(`SELECT `+txnColumns+` FROM txns WHERE id = ?`, id))
}

func (e *Engine) findOne(where string, args ...any) (Txn, error) {
	return scanTxn(e.db.QueryRow(`SELECT `+txnColumns+` FROM txns `+where, args...))
}

// Filter selects transactions for the query screens. Zero fields match all.
type Filter struct {
	From, To time.Time // created in [From, To)
	Kind     Kind
	Method   Method
	STAN     string
	Batch    string
	Status   Status
	Limit    int
}

// QueryTotals sums the approved money in a query result.
type QueryTotals struct {
	SaleCount, RefundCount, VoidCount int
	SaleFen, RefundFen, VoidFen       int64
	FeeFen                            int64
}

// Query lists transactions, newest first, with totals of what they match.
func (e *Engine) Query(f Filter) ([]Txn, QueryTotals, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if !f.From.IsZero() {
		add("created >= ?", f.From.Unix())
	}
	if !f.To.IsZero() {
		add("created < ?", f.To.Unix())
	}
	if f.Kind != "" {
		add("kind = ?", f.Kind)
	}
	if f.Method != "" {
		add("method = ?", f.Method)
	}
	if f.STAN != "" {
		add("stan = ?", f.STAN)
	}
	if f.Batch != "" {
		add("batch = ?", f.Batch)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
	}
	q := `SELECT ` + txnColumns + ` FROM txns`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := e.db.Query(q, args...)
	if err != nil {
		return nil, QueryTotals{}, err
	}
	defer rows.Close()
	var out []Txn
	var tot QueryTotals
	for rows.Next() {
		t, err := scanTxn(rows)
		if err != nil {
			return nil, QueryTotals{}, err
		}
		out = append(out, t)
		if t.Status != StatusApproved {
			continue
		}
		switch t.Kind {
		case KindSale:
			// A voided sale is money that did not come in: counted as
			// the settlement counts it, with its void listed apart.
			if t.Voided {
				continue
			}
			tot.SaleCount++
			tot.SaleFen += t.AmountFen
			tot.FeeFen += t.FeeFen
		case KindRefund:
			tot.RefundCount++
			tot.RefundFen += t.AmountFen
		case KindVoid:
			tot.VoidCount++
			tot.VoidFen += t.AmountFen
		}
	}
	return out, tot, rows.Err()
}

// Last is the newest finished transaction, for the query screens.
func (e *Engine) Last() (Txn, error) {
	return e.findOne(`WHERE status != 'pending' AND kind != 'balance' ORDER BY id DESC LIMIT 1`)
}

// LastApproved is the newest approved transaction: what "reprint last"
// prints, even when a decline came after it.
func (e *Engine) LastApproved() (Txn, error) {
	t, err := e.findOne(`WHERE status = 'approved' AND kind IN ('sale', 'void', 'refund') ORDER BY id DESC LIMIT 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return t, ErrNotFound
	}
	return t, err
}

// ByTrace finds a transaction of any batch by its trace number, newest first.
func (e *Engine) ByTrace(stan string) (Txn, error) {
	t, err := e.findOne(`WHERE stan = ? ORDER BY id DESC LIMIT 1`, stan)
	if err == sql.ErrNoRows {
		return t, ErrNotFound
	}
	return t, err
}
