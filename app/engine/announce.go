package engine

import (
	"database/sql"
	"errors"
	"fmt"
)

// The cashier must learn every outcome. A transaction row is written
// unannounced (the intent) and its approved outcome owes its receipts; the
// terminal marks both once the result was on the screen and the paper.
// What a crash or a power cut left unannounced, or owed, is shown and
// printed at the next start before anything new, so nobody charges a
// customer again for a payment the terminal took.
//
// These marks are written lazily (journal.ExecLazy): losing one to a power
// cut means a result shown twice or a receipt printed twice, never money.

// Unannounced lists the finished transactions whose outcome the cashier
// has not seen, oldest first.
func (e *Engine) Unannounced() ([]Txn, error) {
	return e.list(`WHERE announced = 0 AND status != 'pending' ORDER BY id`)
}

// OwedReceipts lists the approved transactions whose receipts have not
// all printed, oldest first.
func (e *Engine) OwedReceipts() ([]Txn, error) {
	return e.list(`WHERE receipts_owed > 0 AND status = 'approved' ORDER BY id`)
}

func (e *Engine) list(where string, args ...any) ([]Txn, error) {
	rows, err := e.db.Query(`SELECT `+txnColumns+` FROM txns `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Txn
	for rows.Next() {
		t, err := scanTxn(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Announce records that the cashier has seen how these transactions
// ended.
func (e *Engine) Announce(ids ...int64) error {
	for _, id := range ids {
		if err := e.jdb.ExecLazy(`UPDATE txns SET announced = 1 WHERE id = ?`, id); err != nil {
			return fmt.Errorf("journal: %w", err)
		}
	}
	return nil
}

// SetReceiptsOwed records how many of a transaction's receipts are still
// to print (0: all printed).
func (e *Engine) SetReceiptsOwed(id int64, n int) error {
	if n < 0 {
		n = 0
	}
	if err := e.jdb.ExecLazy(`UPDATE txns SET receipts_owed = ? WHERE id = ?`, n, id); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}

// OwedSlip is the settled batch whose slip did not print, if any.
func (e *Engine) OwedSlip() (Settlement, bool, error) {
	s, err := e.settlementWhere(`WHERE settled > 0 AND slip_owed = 1 ORDER BY settled DESC, batch DESC LIMIT 1`)
	if errors.Is(err, sql.ErrNoRows) {
		return Settlement{}, false, nil
	}
	return s, err == nil, err
}

// SlipPrinted records that a batch's settlement slip came out.
func (e *Engine) SlipPrinted(batch string) error {
	if err := e.jdb.ExecLazy(`UPDATE batches SET slip_owed = 0 WHERE batch = ?`, batch); err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return nil
}
