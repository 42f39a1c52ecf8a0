package hostsim

// The issuer and acquirer decisions: one function per request kind, each
// run inside the request's ledger transaction. A decline is a reply, not
// an error; an error is a ledger failure (reply 96, nothing committed).

import (
	"database/sql"
	"fmt"
	"strconv"

	"github.com/shoukuan/pos/app/iso8583"
	"github.com/shoukuan/pos/app/seckey"
)

// checkCard applies the issuer's card checks shared by sale and balance:
// status, expiry, then the PIN when one was entered. "" means pass.
func (s *Server) checkCard(tx *sql.Tx, req *request, a account) (string, error) {
	if a.status != StatusActive {
		return rcDoNotHonour, nil
	}
	exp := req.expiry()
	if exp == "" {
		exp = a.expiry
	}
	if exp < req.now.Format("0601") {
		return rcExpired, nil
	}
	block, ok := req.m.Fields[52]
	if !ok {
		return "", nil
	}
	// Once locked the card stays locked: a correct PIN does not unlock it.
	if a.pinTries >= maxPINTries {
		return rcPINTries, nil
	}
	good := false
	if a.pin != "" {
		// A block that does not decode (wrong PIK, corrupted) is a wrong PIN.
		if pin, err := seckey.DecodePINBlock(req.keys.PIK, block, a.pan); err == nil {
			ok, herr := pinMatches(a.pin, pin)
			if herr != nil {
				return "", herr
			}
			good = ok
		}
	}
	if good {
		if a.pinTries > 0 {
			_, err := tx.Exec(`UPDATE accounts SET pin_tries = 0 WHERE pan = ?`, a.pan)
			return "", err
		}
		return "", nil
	}
	_, err := tx.Exec(`UPDATE accounts SET pin_tries = pin_tries + 1 WHERE pan = ?`, a.pan)
	return rcWrongPIN, err
}

// recordExists guards the (TID, batch, STAN) identity: a second money
// request under a used trace is refused, not stored over the first.
func recordExists(tx *sql.Tx, req *request) (bool, error) {
	var n int
	err := tx.QueryRow(`SELECT count(*) FROM records WHERE tid = ? AND batch = ? AND stan = ?`, req.tid, req.batch, req.stan).Scan(&n)
	return n > 0, err
}

func (s *Server) sale(tx *sql.Tx, req *request) (*iso8583.Message, error) {
	amt, ok := req.amount()
	if !ok || !req.currencyOK() {
		return finReply(req, rcInvalidTxn), nil
	}
	pan, ok := req.pan()
	if !ok {
		return finReply(req, rcInvalidCard), nil
	}
	a, found, err := getAccount(tx, pan)
	if err != nil {
		return nil, err
	}
	if !found {
		return finReply(req, rcInvalidCard), nil
	}
	if code, err := s.checkCard(tx, req, a); err != nil || code != "" {
		return finReply(req, code), err
	}
	code, icc, mk, err := s.chipCheck(tx, req, pan)
	if err != nil || code != "" {
		return finReply(req, code), err
	}
	if a.balance < amt {
		return finReply(req, rcNoFunds), nil
	}
	if a.dailyLimit > 0 {
		var spent int64
		if err := tx.QueryRow(`SELECT coalesce(sum(amount_fen), 0) FROM records
			WHERE pan = ? AND host_day = ? AND kind = 'sale' AND status = 'approved'`,
			pan, req.now.Format("20060102")).Scan(&spent); err != nil {
			return nil, err
		}
		if spent+amt > a.dailyLimit {
			return finReply(req, rcOverLimit), nil
		}
	}
	if dup, err := recordExists(tx, req); err != nil || dup {
		return finReply(req, rcInvalidTxn), err
	}
	if err := addBalance(tx, pan, -amt); err != nil {
		return nil, err
	}
	reply, err := s.approve(tx, req, &record{kind: kindSale, pan: pan, amount: amt, class: classCard})
	if err == nil && icc != nil {
		err = s.chipReply(reply, icc, mk)
	}
	return reply, err
}

// approve stores a new approved record and builds the 00 reply.
func (s *Server) approve(tx *sql.Tx, req *request, r *record) (*iso8583.Message, error) {
	rrn, auth, err := nextRRN(tx, req.now)
	if err != nil {
		return nil, err
	}
	r.tid, r.mid, r.batch, r.stan = req.tid, req.mid, req.batch, req.stan
	r.status, r.rrn, r.authCode = StatusApproved, rrn, auth
	r.hostDay, r.hostTime = req.now.Format("20060102"), req.now.Format("150405")
	if err := insertRecord(tx, r); err != nil {
		return nil, err
	}
	reply := finReply(req, rcApproved)
	reply.Set(15, req.now.Format("0102"))
	reply.Set(37, rrn)
	reply.Set(38, auth)
	return reply, nil
}

func (s *Server) balance(tx *sql.Tx, req *request) (*iso8583.Message, error) {
	if !req.currencyOK() {
		return finReply(req, rcInvalidTxn), nil
	}
	pan, ok := req.pan()
	if !ok {
		return finReply(req, rcInvalidCard), nil
	}
	a, found, err := getAccount(tx, pan)
	if err != nil {
		return nil, err
	}
	if !found {
		return finReply(req, rcInvalidCard), nil
	}
	if code, err := s.checkCard(tx, req, a); err != nil || code != "" {
		return finReply(req, code), err
	}
	rrn, _, err := nextRRN(tx, req.now)
	if err != nil {
		return nil, err
	}
	sign, amt := "C", a.balance
	if amt < 0 {
		sign, amt = "D", -amt
	}
	r := finReply(req, rcApproved)
	r.Set(37, rrn)
	// 10 savings account, 02 available balance, currency, sign, n12.
	r.Set(54, fmt.Sprintf("1002%s%s%012d", currencyCNY, sign, amt%1_000_000_000_000))
	return r, nil
}

func (s *Server) void(tx *sql.Tx, req *request) (*iso8583.Message, error) {
	amt, ok := req.amount()
	if !ok || !req.currencyOK() {
		return finReply(req, rcInvalidTxn), nil
	}
	rrn, ok := req.m.Get(37)
	if !ok {
		return finReply(req, rcNotFound), nil
	}
	orig, found, err := findRecord(tx, `rrn = ? AND tid = ? AND kind = 'sale'`, rrn, req.tid)
	if err != nil {
		return nil, err
	}
	if !found {
		return finReply(req, rcNotFound), nil
	}
	if v, ok := req.m.Get(61); ok {
		ob, os, _, _, err := iso8583.ParseField61(v)
		if err != nil || ob != orig.batch || os != orig.stan {
			return finReply(req, rcNotFound), nil
		}
	}
	switch {
	case orig.status != StatusApproved, // already voided, or reversed
		orig.batch != req.batch, // voids only in the open batch
		orig.amount != amt,
		orig.refunded > 0:
		return finReply(req, rcInvalidTxn), nil
	}
	if dup, err := recordExists(tx, req); err != nil || dup {
		return finReply(req, rcInvalidTxn), err
	}
	if err := addBalance(tx, orig.pan, orig.amount); err != nil {
		return nil, err
	}
	if err := setStatus(tx, orig.id, StatusVoided); err != nil {
		return nil, err
	}
	return s.approve(tx, req, &record{kind: kindVoid, pan: orig.pan, amount: orig.amount, class: orig.class,
		origID: sql.NullInt64{Int64: orig.id, Valid: true}})
}

func (s *Server) refund(tx *sql.Tx, req *request) (*iso8583.Message, error) {
	amt, ok := req.amount()
	if !ok || !req.currencyOK() {
		return finReply(req, rcInvalidTxn), nil
	}
	rrn, ok := req.m.Get(37)
	if !ok {
		return finReply(req, rcNotFound), nil
	}
	orig, found, err := findRecord(tx, `rrn = ? AND kind = 'sale'`, rrn)
	if err != nil {
		return nil, err
	}
	if !found {
		return finReply(req, rcNotFound), nil
	}
	if v, ok := req.m.Get(61); ok {
		ob, os, od, _, err := iso8583.ParseField61(v)
		switch {
		case err != nil,
			od != "" && od != orig.hostDay[4:],
			ob != "000000" && ob != orig.batch,
			os != "000000" && os != orig.stan:
			return finReply(req, rcNotFound), nil
		}
	}
	if p, ok := req.m.Get(2); ok && p != orig.pan {
		return finReply(req, rcInvalidCard), nil
	}
	if orig.status != StatusApproved {
		return finReply(req, rcInvalidTxn), nil
	}
	if orig.refunded+amt > orig.amount {
		return finReply(req, rcOverLimit), nil
	}
	if dup, err := recordExists(tx, req); err != nil || dup {
		return finReply(req, rcInvalidTxn), err
	}
	if err := addBalance(tx, orig.pan, amt); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(`UPDATE records SET refunded_fen = refunded_fen + ? WHERE id = ?`, amt, orig.id); err != nil {
		return nil, err
	}
	return s.approve(tx, req, &record{kind: kindRefund, pan: orig.pan, amount: amt, class: orig.class,
		origID: sql.NullInt64{Int64: orig.id, Valid: true}})
}

// kindOfMsgType maps the 60.1 a reversal repeats to the record kind.
var kindOfMsgType = map[string]string{
	iso8583.MsgTypeSale:   kindSale,
	iso8583.MsgTypeVoid:   kindVoid,
	iso8583.MsgTypeRefund: kindRefund,
}

func (s *Server) reversal(tx *sql.Tx, req *request) (*iso8583.Message, error) {
	reply := func(code string) (*iso8583.Message, error) { return newReply(req, code), nil }
	batch, stan := req.batch, req.stan
	if v, ok := req.m.Get(61); ok {
		ob, os, _, _, err := iso8583.ParseField61(v)
		if err != nil {
			return reply(rcNotFound)
		}
		batch, stan = ob, os
	}
	if batch == "" {
		return reply(rcNotFound)
	}
	r, found, err := findRecord(tx, `tid = ? AND batch = ? AND stan = ?`, req.tid, batch, stan)
	if err != nil {
		return nil, err
	}
	if !found || (req.has60 && kindOfMsgType[req.msgType] != r.kind) {
		return reply(rcNotFound)
	}
	if r.status == StatusReversed {
		return reply(rcInvalidTxn)
	}
	switch r.kind {
	case kindSale:
		// A sale already voided or refunded has been answered for by
		// those; undoing it too would pay the money back twice.
		if r.status != StatusApproved || r.refunded > 0 {
			return reply(rcInvalidTxn)
		}
		err = addBalance(tx, r.pan, r.amount)
	case kindVoid:
		if err = addBalance(tx, r.pan, -r.amount); err == nil && r.origID.Valid {
			err = setStatus(tx, r.origID.Int64, StatusApproved)
		}
	case kindRefund:
		if err = addBalance(tx, r.pan, -r.amount); err == nil && r.origID.Valid {
			_, err = tx.Exec(`UPDATE records SET refunded_fen = refunded_fen - ? WHERE id = ?`, r.amount, r.origID.Int64)
		}
	}
	if err != nil {
		return nil, err
	}
	if err := setStatus(tx, r.id, StatusReversed); err != nil {
		return nil, err
	}
	return reply(rcApproved)
}

// totals is one settlement group.
type totals struct {
	debitFen, creditFen int64
	debitN, creditN     int64
}

func parseTotals(g string) (totals, bool) {
	var t totals
	var err [4]error
	t.debitFen, err[0] = strconv.ParseInt(g[0:12], 10, 64)
	t.debitN, err[1] = strconv.ParseInt(g[12:15], 10, 64)
	t.creditFen, err[2] = strconv.ParseInt(g[15:27], 10, 64)
	t.creditN, err[3] = strconv.ParseInt(g[27:30], 10, 64)
	return t, err[0] == nil && err[1] == nil && err[2] == nil && err[3] == nil
}

// hostTotals is the acquirer's view of a batch: the uploaded records once
// the terminal has uploaded any, else the host's own records.
func hostTotals(tx *sql.Tx, tid, batch string) (map[string]totals, error) {
	var uploaded int
	if err := tx.QueryRow(`SELECT count(*) FROM uploads WHERE tid = ? AND batch = ?`, tid, batch).Scan(&uploaded); err != nil {
		return nil, err
	}
	q := `SELECT class, kind, count(*), sum(amount_fen) FROM records
		WHERE tid = ? AND batch = ? AND status = 'approved' AND forgotten = 0 AND kind IN ('sale', 'refund')
		GROUP BY class, kind`
	if uploaded > 0 {
		q = `SELECT class, kind, count(*), sum(amount_fen) FROM uploads WHERE tid = ? AND batch = ? GROUP BY class, kind`
	}
	rows, err := tx.Query(q, tid, batch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]totals{}
	for rows.Next() {
		var class, kind string
		var n, sum int64
		if err := rows.Scan(&class, &kind, &n, &sum); err != nil {
			return nil, err
		}
		t := out[class]
		if kind == kindSale {
			t.debitN, t.debitFen = t.debitN+n, t.debitFen+sum
		} else {
			t.creditN, t.creditFen = t.creditN+n, t.creditFen+sum
		}
		out[class] = t
	}
	return out, rows.Err()
}

func (s *Server) settle(tx *sql.Tx, req *request) (*iso8583.Message, error) {
	v, ok := req.m.Get(48)
	if !ok || len(v) == 0 || len(v)%settleGroupLen != 0 || len(v)/settleGroupLen > len(settleClasses) {
		return newReply(req, rcInvalidTxn), nil
	}
	host, err := hostTotals(tx, req.tid, req.batch)
	if err != nil {
		return nil, err
	}
	out := []byte(v)
	balanced := true
	for i := 0; i < len(v)/settleGroupLen; i++ {
		g := v[i*settleGroupLen : (i+1)*settleGroupLen]
		res := byte('1')
		if t, ok := parseTotals(g); !ok {
			res = '3'
		} else if t != host[settleClasses[i]] {
			res = '2'
		}
		out[(i+1)*settleGroupLen-1] = res
		balanced = balanced && res == '1'
	}
	// A class the request did not list must be empty at the host too.
	for i := len(v) / settleGroupLen; i < len(settleClasses); i++ {
		if host[settleClasses[i]] != (totals{}) {
			balanced = false
		}
	}
	s.log.Info("hostsim: settlement", "tid", req.tid, "batch", req.batch, "balanced", balanced)
	r := newReply(req, rcApproved)
	r.Set(48, string(out))
	return r, nil
}

func (s *Server) upload(tx *sql.Tx, req *request) (*iso8583.Message, error) {
	// 48 = entry count n2, then per entry kind n2 + STAN n6 + amount n12 + RRN n12.
	const entryLen = 2 + 6 + 12 + 12
	v, ok := req.m.Get(48)
	if !ok || len(v) < 2 {
		return newReply(req, rcInvalidTxn), nil
	}
	n, err := strconv.Atoi(v[:2])
	if err != nil || n < 1 || len(v) != 2+n*entryLen {
		return newReply(req, rcInvalidTxn), nil
	}
	for i := 0; i < n; i++ {
		e := v[2+i*entryLen : 2+(i+1)*entryLen]
		var kind string
		switch e[:2] {
		case "00":
			kind = kindSale
		case "25":
			kind = kindRefund
		default:
			return newReply(req, rcInvalidTxn), nil
		}
		stan, rrn := e[2:8], e[20:32]
		amt, err := strconv.ParseInt(e[8:20], 10, 64)
		if err != nil {
			return newReply(req, rcInvalidTxn), nil
		}
		class := classCard
		if r, found, err := findRecord(tx, `rrn = ?`, rrn); err != nil {
			return nil, err
		} else if found {
			class = r.class
		}
		if _, err := tx.Exec(`INSERT INTO uploads(tid, batch, stan, kind, class, amount_fen, rrn) VALUES(?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT(tid, batch, stan) DO UPDATE SET kind = excluded.kind, class = excluded.class,
			amount_fen = excluded.amount_fen, rrn = excluded.rrn`,
			req.tid, req.batch, stan, kind, class, amt, rrn); err != nil {
			return nil, err
		}
	}
	return newReply(req, rcApproved), nil
}
