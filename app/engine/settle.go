package engine

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// ClassTotals are one payment class's settlement totals: debits are money
// in (sales not voided), credits money out (refunds).
type ClassTotals struct {
	Class       string `json:"class"`
	DebitCount  int    `json:"debit_count"`
	DebitFen    int64  `json:"debit_fen"`
	CreditCount int    `json:"credit_count"`
	CreditFen   int64  `json:"credit_fen"`
	FeeFen      int64  `json:"fee_fen"`
}

// BatchTotals is what a settlement reports to the host.
type BatchTotals struct {
	Batch   string        `json:"batch"`
	Classes []ClassTotals `json:"classes"`
}

// Total sums all classes.
func (b BatchTotals) Total() ClassTotals {
	var t ClassTotals
	for _, c := range b.Classes {
		t.DebitCount += c.DebitCount
		t.DebitFen += c.DebitFen
		t.CreditCount += c.CreditCount
		t.CreditFen += c.CreditFen
		t.FeeFen += c.FeeFen
	}
	return t
}

// BatchTotals computes the open batch's totals with one indexed query.
func (e *Engine) BatchTotals(batch string) (BatchTotals, error) {
	rows, err := e.db.Query(`SELECT method, kind, count(*), coalesce(sum(amount_fen), 0), coalesce(sum(fee_fen), 0) FROM txns
		WHERE batch = ? AND status = 'approved' AND kind IN ('sale', 'refund') AND voided = 0
		GROUP BY method, kind`, batch)
	if err != nil {
		return BatchTotals{}, err
	}
	defer rows.Close()
	by := map[string]*ClassTotals{}
	for rows.Next() {
		var m Method
		var k Kind
		var n int
		var sum, fee int64
		if err := rows.Scan(&m, &k, &n, &sum, &fee); err != nil {
			return BatchTotals{}, err
		}
		c := by[m.LimitClass()]
		if c == nil {
			c = &ClassTotals{Class: m.LimitClass()}
			by[m.LimitClass()] = c
		}
		if k == KindSale {
			c.DebitCount += n
			c.DebitFen += sum
			c.FeeFen += fee
		} else {
			c.CreditCount += n
			c.CreditFen += sum
		}
	}
	out := BatchTotals{Batch: batch}
	for _, c := range by {
		out.Classes = append(out.Classes, *c)
	}
	sort.Slice(out.Classes, func(i, j int) bool { return out.Classes[i].Class < out.Classes[j].Class })
	return out, rows.Err()
}

// Settlement is a closed batch.
type Settlement struct {
	Totals   BatchTotals
	Balanced bool // the host agreed (at once, or after the batch upload)
	Uploaded int  // transactions sent in the batch upload
	// At is when the batch closed (terminal clock): the slip and its
	// reprints show this time, not the time of printing.
	At time.Time
}

// Settle closes the batch: reversals first, then totals to the host; if
// the host disagrees, every transaction is uploaded and the batch settled
// again. The batch closes and the next one opens in one write.
func (e *Engine) Settle(ctx context.Context, operator string) (Settlement, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.ready(ctx); err != nil {
		return Settlement{}, err
	}
	batch, err := e.currentBatch()
	if err != nil {
		return Settlement{}, err
	}
	tot, err := e.BatchTotals(batch)
	if err != nil {
		return Settlement{}, err
	}
	s := Settlement{Totals: tot}
	reply, err := e.settleOnce(ctx, batch, &tot, operator)
	if err != nil {
		return s, err
	}
	e.crashPoint("settle.reply")
	switch reply.SettleResult {
	case SettleBalanced:
		s.Balanced = true
	case SettleUnbalanced:
		n, err := e.upload(ctx, batch, operator)
		s.Uploaded = n
		if err != nil {
			return s, err
		}
		e.crashPoint("settle.upload")
		reply, err = e.settleOnce(ctx, batch, &tot, operator)
		if err != nil {
			return s, err
		}
		s.Balanced = reply.SettleResult == SettleBalanced
	default:
		return s, fmt.Errorf("settlement: host reported an error (code %s)", reply.Code)
	}
	s.At = time.Unix(e.now().Unix(), 0)
	if err := e.closeBatch(batch, s); err != nil {
		return s, err
	}
	if err := e.jdb.NoteBatch(); err != nil {
		e.log.Error("journal marker not updated", "err", err)
	}
	e.crashPoint("settle.outcome")
	e.log.Info("batch settled", "batch", batch, "balanced", s.Balanced, "uploaded", s.Uploaded)
	return s, nil
}

func (e *Engine) settleOnce(ctx context.Context, batch string, tot *BatchTotals, operator string) (HostReply, error) {
	stan, err := e.nextSTAN()
	if err != nil {
		return HostReply{}, err
	}
	reply, err := e.host.Exchange(ctx, HostRequest{Kind: HostSettle, STAN: stan, Batch: batch, Totals: tot, Operator: operator})
	if err != nil {
		// Settlement moves no money: no reversal, just try again later.
		return reply, fmt.Errorf("settlement: %w: %w", ErrNoReply, err)
	}
	if reply.SignOnAgain {
		e.requireSignOn()
	}
	if reply.Code != "00" {
		return reply, &DeclinedError{Code: reply.Code}
	}
	return reply, nil
}

func (e *Engine) upload(ctx context.Context, batch, operator string) (int, error) {
	txns, _, err := e.Query(Filter{Batch: batch, Status: StatusApproved})
	if err != nil {
		return 0, err
	}
	n := 0
	for i := len(txns) - 1; i >= 0; i-- { // oldest first
		t := txns[i]
		if t.Kind != KindSale && t.Kind != KindRefund || t.Voided {
			continue
		}
		stan, err := e.nextSTAN()
		if err != nil {
			return n, err
		}
		reply, err := e.host.Exchange(ctx, HostRequest{Kind: HostUpload, STAN: stan, Batch: batch, Upload: &t, Operator: operator})
		if err != nil {
			return n, fmt.Errorf("batch upload: %w: %w", ErrNoReply, err)
		}
		if reply.Code != "00" {
			return n, &DeclinedError{Code: reply.Code}
		}
		n++
	}
	return n, nil
}

func (e *Engine) closeBatch(batch string, s Settlement) error {
	summary, err := json.Marshal(s.Totals)
	if err != nil {
		return err
	}
	tx, err := e.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := s.At.Unix()
	// slip_owed: the slip is printed after this write; a crash before it
	// prints leaves the slip owed for the next start.
	if _, err := tx.Exec(`INSERT INTO batches(batch, opened, settled, balanced, summary, uploaded, slip_owed) VALUES(?, ?, ?, ?, ?, ?, 1)
		ON CONFLICT(batch) DO UPDATE SET settled = excluded.settled, balanced = excluded.balanced, summary = excluded.summary,
		uploaded = excluded.uploaded, slip_owed = 1`,
		batch, now, now, s.Balanced, string(summary), s.Uploaded); err != nil {
		return err
	}
	var v int64
	err = tx.QueryRow(`SELECT value FROM counters WHERE name = 'batch'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		v = 1
	} else if err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO counters(name, value) VALUES('batch', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`, v%999999+1); err != nil {
		return err
	}
	return tx.Commit()
}

// LastSettlement reads the most recently settled batch, for the slip reprint.
func (e *Engine) LastSettlement() (Settlement, error) {
	return e.settlementWhere(`WHERE settled > 0 ORDER BY settled DESC, batch DESC LIMIT 1`)
}

func (e *Engine) settlementWhere(where string) (Settlement, error) {
	var summary string
	var balanced bool
	var settled int64
	var s Settlement
	err := e.db.QueryRow(`SELECT summary, balanced, settled, uploaded FROM batches `+where).Scan(&summary, &balanced, &settled, &s.Uploaded)
	if err != nil {
		return Settlement{}, err
	}
	s.Balanced = balanced
	s.At = time.Unix(settled, 0)
	return s, json.Unmarshal([]byte(summary), &s.Totals)
}
