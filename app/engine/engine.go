package engine

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/app/mutant"
)

// Limit is a risk limit in fen.
type Limit struct {
	PerTxnFen int64
	DailyFen  int64
}

// Config is the engine's share of the terminal configuration.
type Config struct {
	Default Limit
	Limits  map[string]Limit // by Method.LimitClass(); missing classes use Default
	FeeBP   map[string]int64 // merchant discount rate in basis points, by class
	// ReversalRetries is how many times one Recover pass sends a reversal.
	ReversalRetries int
	// RiskDeclines raises an alert after this many declines in a row.
	RiskDeclines int
	// RiskSameCard raises an alert when one card pays twice this close.
	RiskSameCard time.Duration
	// TerminalID starts every wallet order number.
	TerminalID string
	Wallet     WalletConfig
	Huabei     HuabeiConfig
	// Codes says which reply codes are definite declines; the zero value
	// means DefaultReplyCodes.
	Codes ReplyCodes
	// ReceiptCopies is how many receipts an approved transaction owes
	// the paper until the terminal says they printed (1 when 0).
	ReceiptCopies int
}

// Engine runs transactions. Its methods are safe for concurrent use but
// serialised: a terminal does one transaction at a time.
type Engine struct {
	db   *sql.DB
	jdb  *journal.DB
	host Host
	now  func() time.Time
	cfg  Config
	log  *slog.Logger

	commits atomic.Int64 // durable writes, for the syncs-per-sale figure

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt

	mu       sync.Mutex
	declines int
	lastCard map[string]time.Time

	crashAt   string
	crashHook func(point string)
}

// New makes an engine over the journal and the host.
func New(db *journal.DB, host Host, now func() time.Time, cfg Config, log *slog.Logger) *Engine {
	if cfg.ReversalRetries <= 0 {
		cfg.ReversalRetries = 3
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Codes.Card == nil && cfg.Codes.WalletPay == nil && cfg.Codes.WalletRefund == nil {
		cfg.Codes = DefaultReplyCodes()
	}
	if cfg.ReceiptCopies <= 0 {
		cfg.ReceiptCopies = 1
	}
	e := &Engine{db: db.SQL(), jdb: db, host: host, now: now, cfg: cfg, log: log, lastCard: map[string]time.Time{}, stmts: map[string]*sql.Stmt{},
		crashAt: CrashAt}
	for _, q := range hotQueries {
		if _, err := e.stmt(nil, q); err != nil {
			// Not fatal: stmt prepares it per transaction instead.
			log.Warn("prepare", "err", err)
		}
	}
	return e
}

// The sale path's statements, prepared once in New: preparing costs more
// than running them, and the journal has one connection, so a statement
// cannot be prepared while a transaction holds it.
const (
	qGetSTAN        = `SELECT value FROM counters WHERE name = 'stan'`
	qSetSTAN        = `INSERT INTO counters(name, value) VALUES('stan', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`
	qGetBatch       = `SELECT value FROM counters WHERE name = 'batch'`
	qSetting        = `SELECT value FROM settings WHERE key = ?`
	qDeleteReversal = `DELETE FROM reversals WHERE txn_id = ?`
	qOwed           = `SELECT txn_id, reason FROM reversals ORDER BY txn_id`
	qOweReversal    = `INSERT INTO reversals(txn_id, reason, created) VALUES(?, '98', ?)`
	qIntent         = `INSERT INTO txns(kind, method, amount_fen, stan, batch, status, masked_pan, order_no, operator, orig_id, fee_fen, created, updated,
		presented, periods, seller_pct, announced, chip, reversal_icc)
		VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?)`
	qOweWallet = `INSERT INTO wallet_open(txn_id, created) VALUES(?, ?)`
	qOutcome   = `UPDATE txns SET status = ?, resp_code = ?, rrn = ?, auth_code = ?, host_date = ?, host_time = ?, updated = ?, receipts_owed = ? WHERE id = ?`
	qGetTraces = `SELECT value FROM counters WHERE name = 'traces'`
	qSetTraces = `INSERT INTO counters(name, value) VALUES('traces', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`
	qAddDaily  = `INSERT INTO daily_totals(day, class, fen) VALUES(?, ?, ?)
		ON CONFLICT(day, class) DO UPDATE SET fen = fen + excluded.fen`
)

var hotQueries = []string{qGetSTAN, qSetSTAN, qGetBatch, qSetting, qDeleteReversal, qOwed, qOweReversal, qOweWallet, qIntent, qOutcome, qAddDaily,
	qGetTraces, qSetTraces}

// stmt returns the query prepared once: preparing costs more than running
// on the sale path. With tx set, the statement runs inside it.
func (e *Engine) stmt(tx *sql.Tx, query string) (*sql.Stmt, error) {
	e.stmtMu.Lock()
	st, ok := e.stmts[query]
	if !ok && tx != nil {
		e.stmtMu.Unlock()
		return tx.Prepare(query)
	}
	if !ok {
		var err error
		if st, err = e.db.Prepare(query); err != nil {
			e.stmtMu.Unlock()
			return nil, err
		}
		e.stmts[query] = st
	}
	e.stmtMu.Unlock()
	if tx != nil {
		return tx.Stmt(st), nil
	}
	return st, nil
}

// exec runs a cached statement inside tx.
func (e *Engine) exec(tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := e.stmt(tx, query)
	if err != nil {
		return nil, err
	}
	return st.Exec(args...)
}

// Result is what a transaction ended as, with what the cashier should know.
type Result struct {
	Txn    Txn
	Alerts []Alert // risk alerts, already logged
}

// AlertKind is a risk rule that fired.
type AlertKind int

const (
	AlertDeclines AlertKind = iota + 1 // Count declines in a row
	AlertSameCard                      // MaskedPAN paid again within Window
)

// Alert is a risk alert for the cashier and the merchant's risk log.
type Alert struct {
	Kind      AlertKind
	Count     int
	MaskedPAN string
	Window    time.Duration
}

func (a Alert) String() string {
	if a.Kind == AlertDeclines {
		return fmt.Sprintf("%d declines in a row", a.Count)
	}
	return fmt.Sprintf("card %s used again within %v", a.MaskedPAN, a.Window)
}

// Recovered is a reversal the host took: a transaction that did not happen.
type Recovered struct{ Txn Txn }

// ---- sign-on state ---------------------------------------------------

const settingSignOn = "signon_date"

// SignedOn reports whether the terminal signed on today and the host has
// not asked for a new sign-on since.
func (e *Engine) SignedOn() bool {
	st, err := e.stmt(nil, qSetting)
	if err != nil {
		return false
	}
	var v string
	return st.QueryRow(settingSignOn).Scan(&v) == nil && v == e.now().Format("2006-01-02")
}

// SignOn fetches new working keys from the host (the host client installs
// them) and opens the day.
func (e *Engine) SignOn(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	stan, err := e.nextSTAN()
	if err != nil {
		return err
	}
	batch, err := e.currentBatch()
	if err != nil {
		return err
	}
	reply, err := e.host.Exchange(ctx, HostRequest{Kind: HostSignOn, STAN: stan, Batch: batch})
	if err != nil {
		return fmt.Errorf("sign-on: %w", err)
	}
	if reply.Code != "00" {
		return &DeclinedError{Code: reply.Code}
	}
	e.log.Info("signed on", "stan", stan, "tms_download", reply.TMSDownload)
	e.noteSignOn(reply)
	return e.jdb.SetSetting(settingSignOn, e.now().Format("2006-01-02"))
}

func (e *Engine) requireSignOn() {
	if _, err := e.db.Exec(`DELETE FROM settings WHERE key = ?`, settingSignOn); err != nil {
		e.log.Error("cannot clear sign-on", "err", err)
	}
}

// ---- counters ---------------------------------------------------------

// nextSTAN takes the next system trace audit number, 000001..999999.
func (e *Engine) nextSTAN() (string, error) {
	tx, err := e.db.Begin()
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	s, err := e.nextSTANTx(tx)
	if err != nil {
		return "", err
	}
	return s, tx.Commit()
}

func (e *Engine) nextSTANTx(tx *sql.Tx) (string, error) {
	var v int64
	get, err := e.stmt(tx, qGetSTAN)
	if err != nil {
		return "", err
	}
	err = get.QueryRow().Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		v = 0
	} else if err != nil {
		return "", err
	}
	v = v%999999 + 1
	if _, err := e.exec(tx, qSetSTAN, v); err != nil {
		return "", err
	}
	// The running count of trace numbers ever taken: the journal's marker
	// reserves them ahead, so a journal that lost commits is noticed and
	// a number is never given out twice.
	var total int64
	getT, err := e.stmt(tx, qGetTraces)
	if err != nil {
		return "", err
	}
	if err := getT.QueryRow().Scan(&total); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	total++
	if _, err := e.exec(tx, qSetTraces, total); err != nil {
		return "", err
	}
	if err := e.jdb.ReserveTraces(total); err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", v), nil
}

// currentBatch is the open batch number, 000001 on a new terminal.
func (e *Engine) currentBatch() (string, error) {
	var v int64
	get, err := e.stmt(nil, qGetBatch)
	if err != nil {
		return "", err
	}
	err = get.QueryRow().Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		v = 1
	} else if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", v), nil
}

// CurrentBatch is the open batch number.
func (e *Engine) CurrentBatch() (string, error) { return e.currentBatch() }

// ---- the two durable writes -------------------------------------------

// intent writes the pending row and the reversal it may need, in one
// transaction: the first durable write of a transaction.
func (e *Engine) intent(t *Txn, reversalICC []byte) error {
	tx, err := e.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if t.STAN, err = e.nextSTANTx(tx); err != nil {
		return err
	}
	now := e.now().Unix()
	wallet := t.Method.IsWallet()
	if wallet && t.OrderNo == "" {
		// Fresh for every payment and refund, saved before it is sent,
		// and reused only to query or cancel this same order.
		t.OrderNo = e.cfg.TerminalID + e.now().Format("060102150405") + t.STAN
	}
	status := StatusPending
	if mutant.On("outcome-before-intent") && t.Kind == KindSale && !wallet {
		status = StatusApproved
	}
	res, err := e.exec(tx, qIntent,
		t.Kind, t.Method, t.AmountFen, t.STAN, t.Batch, status, t.MaskedPAN, t.OrderNo, t.Operator, nullID(t.OrigID), t.FeeFen, now, now,
		t.Presented, t.Periods, t.SellerPct, t.Chip, reversalICC)
	if err != nil {
		return err
	}
	if t.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	// Owed from now on: if the request goes out and nothing comes back,
	// or we die, the host may have charged the card (a reversal undoes
	// it) or the wallet (a query, then a cancel, settles it).
	owe := qOweReversal
	if wallet {
		owe = qOweWallet
	}
	if status == StatusPending {
		if _, err := e.exec(tx, owe, t.ID, now); err != nil {
			return err
		}
	}
	t.Status = StatusPending
	t.Created = time.Unix(now, 0)
	return e.commit(tx)
}

// outcome records the host's answer and settles the reversal: the second
// durable write.
func (e *Engine) outcome(t *Txn, r HostReply) error {
	tx, err := e.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	status := StatusDeclined
	if r.Code == "00" {
		status = StatusApproved
	}
	if _, err := e.exec(tx, qOutcome,
		status, r.Code, r.RRN, r.AuthCode, r.Date, r.Time, e.now().Unix(), e.receiptsFor(t.Kind, status), t.ID); err != nil {
		return err
	}
	if _, err := e.exec(tx, qDeleteReversal, t.ID); err != nil {
		return err
	}
	if status == StatusApproved && t.Kind == KindSale {
		if err := e.addDaily(tx, t.Created, t.Method, t.AmountFen); err != nil {
			return err
		}
	}
	if status == StatusApproved && t.OrigID != 0 {
		switch t.Kind {
		case KindVoid:
			var created int64
			if err := tx.QueryRow(`SELECT created FROM txns WHERE id = ?`, t.OrigID).Scan(&created); err != nil {
				return err
			}
			if err := e.addDaily(tx, time.Unix(created, 0), t.Method, -t.AmountFen); err != nil {
				return err
			}
			_, err = tx.Exec(`UPDATE txns SET voided = 1, updated = ? WHERE id = ?`, e.now().Unix(), t.OrigID)
		case KindRefund:
			_, err = tx.Exec(`UPDATE txns SET refunded_fen = refunded_fen + ?, updated = ? WHERE id = ?`, t.AmountFen, e.now().Unix(), t.OrigID)
			if err == nil && mutant.On("refund-journaled-twice") {
				_, err = tx.Exec(`UPDATE txns SET refunded_fen = refunded_fen + ? WHERE id = ?`, t.AmountFen, t.OrigID)
			}
		}
		if err != nil {
			return err
		}
	}
	if err := e.commit(tx); err != nil {
		return err
	}
	t.Status, t.RespCode, t.RRN, t.AuthCode, t.HostDate, t.HostTime = status, r.Code, r.RRN, r.AuthCode, r.Date, r.Time
	t.ReceiptsOwed = e.receiptsFor(t.Kind, status)
	return nil
}

// receiptsFor is how many receipts an outcome owes the paper: an approved
// sale, void or refund prints its copies; nothing else prints.
func (e *Engine) receiptsFor(k Kind, s Status) int {
	if s != StatusApproved || k == KindBalance {
		return 0
	}
	return e.cfg.ReceiptCopies
}

// commit ends a journal transaction; with synchronous=FULL each commit is
// one fsync of the write-ahead log.
func (e *Engine) commit(tx *sql.Tx) error {
	if err := tx.Commit(); err != nil {
		return err
	}
	e.commits.Add(1)
	return nil
}

// Commits counts durable writes since the engine started.
func (e *Engine) Commits() int64 { return e.commits.Load() }

// addDaily moves the day's running sale total of a method class.
func (e *Engine) addDaily(tx *sql.Tx, day time.Time, m Method, fen int64) error {
	_, err := e.exec(tx, qAddDaily, day.Format("2006-01-02"), m.LimitClass(), fen)
	return err
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// exchange runs one money transaction through intent, host and outcome.
func (e *Engine) exchange(ctx context.Context, t *Txn, req HostRequest) (Result, error) {
	return e.exchangeChip(ctx, t, req, nil)
}

// exchangeChip is exchange with a chip to complete after the host's
// answer: the approval stands only if the card takes it too.
func (e *Engine) exchangeChip(ctx context.Context, t *Txn, req HostRequest, chip ChipCompleter) (Result, error) {
	var revICC []byte
	if req.Card != nil {
		revICC = req.Card.ReversalICC
	}
	if err := e.intent(t, revICC); err != nil {
		return Result{}, fmt.Errorf("journal: %w", err)
	}
	e.crashPoint(string(t.Kind) + ".intent")
	req.STAN, req.Batch = t.STAN, t.Batch
	reply, err := e.host.Exchange(ctx, req)
	e.crashPoint(string(t.Kind) + ".reply")
	if err == nil && e.cfg.Codes.Verdict(FamilyCard, reply.Code) == Unknown {
		// The host may have done it: undo it as after a lost reply.
		if reply.SignOnAgain {
			e.requireSignOn()
		}
		err = &UnknownAnswerError{Code: reply.Code}
		if _, uerr := e.db.Exec(`UPDATE reversals SET reason = '06' WHERE txn_id = ?`, t.ID); uerr != nil {
			e.log.Error("reversal reason not recorded", "err", uerr)
		}
	}
	if err != nil {
		e.log.Warn("no usable reply; reversing", "kind", t.Kind, "stan", t.STAN, "err", err)
		if errors.Is(err, ErrReplyMAC) {
			if _, uerr := e.db.Exec(`UPDATE reversals SET reason = 'A0' WHERE txn_id = ?`, t.ID); uerr != nil {
				e.log.Error("reversal reason not recorded", "err", uerr)
			}
		}
		if mutant.On("reversal-skipped") {
			if rerr := e.reversed(t.ID); rerr != nil {
				e.log.Error("reversal not recorded", "err", rerr)
			}
			*t, _ = e.Txn(t.ID)
			return Result{Txn: *t}, fmt.Errorf("%w: %w", ErrNoReply, err)
		}
		// Try at once: the customer is still at the counter. What the
		// reversal could not settle stays owed for the next Recover.
		if _, rerr := e.recover(ctx); rerr != nil {
			e.log.Warn("reversal still owed", "err", rerr)
		}
		*t, _ = e.Txn(t.ID)
		return Result{Txn: *t}, fmt.Errorf("%w: %w", ErrNoReply, err)
	}
	if reply.SignOnAgain {
		e.requireSignOn()
	}
	if chip != nil {
		approved := reply.Code == "00"
		info, revICC, cerr := chip.Complete(ctx, approved, reply.ICC)
		e.crashPoint(string(t.Kind) + ".card")
		if info != "" || revICC != nil {
			if info != "" {
				t.Chip = info
			}
			if _, uerr := e.db.Exec(`UPDATE txns SET chip = ?, reversal_icc = coalesce(?, reversal_icc) WHERE id = ?`, t.Chip, revICC, t.ID); uerr != nil {
				e.log.Error("chip summary not recorded", "err", uerr)
			}
		}
		if approved && cerr != nil && !mutant.On("card-decline-ignored") {
			// The card refused what the host approved (AAC at the second
			// GENERATE AC, or it was pulled out): CUP wants the approval
			// reversed at once. The reversal row is still owed.
			e.log.Warn("card declined after approval; reversing", "stan", t.STAN, "err", cerr)
			if _, uerr := e.db.Exec(`UPDATE reversals SET reason = '06' WHERE txn_id = ?`, t.ID); uerr != nil {
				e.log.Error("reversal reason not recorded", "err", uerr)
			}
			if _, rerr := e.recover(ctx); rerr != nil {
				e.log.Warn("reversal still owed", "err", rerr)
			}
			*t, _ = e.Txn(t.ID)
			return Result{Txn: *t}, fmt.Errorf("%w: %w", ErrCardDeclined, cerr)
		}
	}
	if err := e.outcome(t, reply); err != nil {
		// The host answered but we could not record it: the reversal row
		// is still there, so the next Recover undoes the host's side.
		return Result{Txn: *t}, fmt.Errorf("journal: %w", err)
	}
	e.crashPoint(string(t.Kind) + ".outcome")
	res := Result{Txn: *t}
	res.Alerts = e.risk(t)
	if t.Status != StatusApproved {
		return res, &DeclinedError{Code: reply.Code, Txn: *t}
	}
	return res, nil
}

// ---- recovery ---------------------------------------------------------

// Recover sends every reversal owed to the host, oldest first; it runs at
// start, before every transaction and before settlement. It returns what
// it reversed; ErrReversalOwed if some could not be sent.
func (e *Engine) Recover(ctx context.Context) ([]Recovered, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.recover(ctx)
}

// reversalAccepted are the replies that settle a reversal: done (00),
// already reversed or invalid (12), original not found (25) — in every
// case the host holds no charge.
func reversalAccepted(code string) bool { return code == "00" || code == "12" || code == "25" }

func (e *Engine) recover(ctx context.Context) ([]Recovered, error) {
	owedQ, err := e.stmt(nil, qOwed)
	if err != nil {
		return nil, err
	}
	rows, err := owedQ.Query()
	if err != nil {
		return nil, err
	}
	type owed struct {
		id     int64
		reason string
	}
	var list []owed
	for rows.Next() {
		var o owed
		if err := rows.Scan(&o.id, &o.reason); err != nil {
			rows.Close()
			return nil, err
		}
		list = append(list, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var done []Recovered
	for _, o := range list {
		t, err := e.Txn(o.id)
		if err != nil {
			return done, err
		}
		var last error
		settled := false
		for attempt := 0; attempt < e.cfg.ReversalRetries && !settled; attempt++ {
			if ctx.Err() != nil {
				break
			}
			if _, err := e.db.Exec(`UPDATE reversals SET attempts = attempts + 1 WHERE txn_id = ?`, o.id); err != nil {
				return done, err
			}
			stan, amount := t.STAN, t.AmountFen
			if mutant.On("wrong-sale-reversed") {
				var s string
				var a int64
				if e.db.QueryRow(`SELECT stan, amount_fen FROM txns WHERE kind = 'sale' AND status = 'approved' AND id != ? ORDER BY id DESC LIMIT 1`, t.ID).Scan(&s, &a) == nil {
					stan, amount = s, a
				}
			}
			var icc []byte
			if err := e.db.QueryRow(`SELECT reversal_icc FROM txns WHERE id = ?`, o.id).Scan(&icc); err != nil {
				return done, err
			}
			reply, err := e.host.Exchange(ctx, HostRequest{
				Kind: HostReversal, STAN: stan, Batch: t.Batch, AmountFen: amount, ICC: icc,
				OrigRRN: t.RRN, ReversalReason: o.reason, Operator: t.Operator, OrigSTAN: stan, OrigBatch: t.Batch, OrigKind: t.Kind,
			})
			e.crashPoint("reversal.reply")
			switch {
			case err != nil:
				last = err
			case reversalAccepted(reply.Code):
				settled = true
			default:
				last = fmt.Errorf("host refused the reversal: code %s", reply.Code)
			}
		}
		if !settled {
			return done, fmt.Errorf("%w: trace %s: %v", ErrReversalOwed, t.STAN, last)
		}
		if err := e.reversed(o.id); err != nil {
			return done, err
		}
		e.crashPoint("reversal.outcome")
		t.Status = StatusReversed
		e.log.Info("reversal done", "stan", t.STAN, "amount_fen", t.AmountFen)
		done = append(done, Recovered{Txn: t})
	}
	more, err := e.resolveWallets(ctx)
	return append(done, more...), err
}

func (e *Engine) reversed(id int64) error {
	tx, err := e.db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.Exec(`UPDATE txns SET status = 'reversed', updated = ? WHERE id = ?`, e.now().Unix(), id); err != nil {
		return err
	}
	if _, err := tx.Exec(qDeleteReversal, id); err != nil {
		return err
	}
	return tx.Commit()
}

// OwedReversals is the number of reversals not yet taken by the host.
func (e *Engine) OwedReversals() (int, error) {
	var n int
	err := e.db.QueryRow(`SELECT count(*) FROM reversals`).Scan(&n)
	return n, err
}
