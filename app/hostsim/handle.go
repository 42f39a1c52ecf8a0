package hostsim

import (
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shoukuan/pos/app/iso8583"
	"github.com/shoukuan/pos/app/seckey"
)

// Request kinds, as FaultMatch.Kind names them.
const (
	kindSale     = "sale"
	kindVoid     = "void"
	kindRefund   = "refund"
	kindBalance  = "balance"
	kindReversal = "reversal"
	kindSettle   = "settle"
	kindUpload   = "upload"
	kindSignOn   = "signon"
	kindEcho     = "echo"
	kindSignOff  = "signoff"
)

// Response codes (field 39) this host gives.
const (
	rcApproved     = "00"
	rcDoNotHonour  = "05"
	rcInvalidTxn   = "12"
	rcInvalidCard  = "14"
	rcNotFound     = "25"
	rcNoFunds      = "51"
	rcExpired      = "54"
	rcWrongPIN     = "55"
	rcOverLimit    = "61"
	rcPINTries     = "75"
	rcSystemError  = "96"
	rcMACError     = "A0"
	maxPINTries    = 3
	classCard      = "card"
	currencyCNY    = "156"
	settleGroupLen = 31
)

// settleClasses is the order of the groups in field 48 of a settlement.
var settleClasses = []string{"card", "alipay", "wechat", "unionpay_qr"}

// request is a decoded request and what every handler needs from it.
type request struct {
	m                       *iso8583.Message
	body                    []byte
	kind                    string
	tid, mid, stan          string
	has60                   bool
	msgType, batch, netCode string
	keys                    seckey.WorkingKeys // loaded when the request is MACed
	now                     time.Time
}

func parseRequest(m *iso8583.Message, body []byte, now time.Time) *request {
	r := &request{m: m, body: body, now: now}
	r.tid, _ = m.Get(41)
	r.mid, _ = m.Get(42)
	r.stan, _ = m.Get(11)
	if v, ok := m.Get(60); ok {
		if mt, b, nc, _, err := iso8583.ParseField60(v); err == nil {
			r.has60, r.msgType, r.batch, r.netCode = true, mt, b, nc
		}
	}
	proc, hasProc := m.Get(3)
	switch m.MTI {
	case "0800":
		r.kind = kindSignOn
	case "0820":
		r.kind = kindEcho
		if r.netCode == "002" {
			r.kind = kindSignOff
		}
	case "0200":
		switch proc {
		case "000000":
			r.kind = kindSale
		case "200000":
			r.kind = kindVoid
		case "310000":
			r.kind = kindBalance
		}
	case "0220":
		if !hasProc || proc == "200000" {
			r.kind = kindRefund
		}
	case "0400":
		r.kind = kindReversal
	case "0500":
		r.kind = kindSettle
	case "0320":
		r.kind = kindUpload
	}
	// Scan-code messages share MTIs with cards; 60.1 tells them apart.
	if k, ok := walletKinds[r.msgType]; ok && r.has60 && (m.MTI == "0200" || m.MTI == "0220" && k == kindWalletRefund) {
		r.kind = k
	}
	return r
}

// openTrack decrypts track 2 when field 53 says it was encrypted under
// the terminal's TDK; false means it cannot be read.
func (r *request) openTrack() bool {
	sec, ok := r.m.Get(53)
	if !ok || len(sec) < 3 || sec[2] != '1' {
		// Once the acquirer has issued a track key it takes no clear
		// track: a terminal that sends one is broken or tampered with.
		_, hasTrack := r.m.Get(35)
		return !hasTrack || r.keys.TDK == nil
	}
	t2, ok := r.m.Get(35)
	if !ok || r.keys.TDK == nil {
		return false
	}
	clearT2, err := seckey.DecryptTrack(r.keys.TDK, t2)
	if err != nil {
		return false
	}
	r.m.Set(35, clearT2)
	return true
}

// macked reports whether the doc requires field 64 on this request: all
// but sign-on, echo and sign-off.
func (r *request) macked() bool {
	switch r.kind {
	case kindSignOn, kindEcho, kindSignOff:
		return false
	}
	return true
}

// cached kinds answer a repeat of the same (TID, batch, STAN, MTI) with the
// reply already given. Reversals are not cached: their state (12 once
// reversed) already makes them idempotent.
func (r *request) cached() bool {
	switch r.kind {
	case kindSale, kindVoid, kindRefund, kindBalance, kindSettle, kindUpload:
		return true
	}
	return false
}

// wantMsgType is the 60.1 each kind must carry.
var wantMsgType = map[string]string{
	kindSale:    iso8583.MsgTypeSale,
	kindVoid:    iso8583.MsgTypeVoid,
	kindRefund:  iso8583.MsgTypeRefund,
	kindBalance: iso8583.MsgTypeBalance,
	kindSettle:  iso8583.MsgTypeNetwork,
	kindUpload:  iso8583.MsgTypeNetwork,
}

func (r *request) amount() (int64, bool) {
	v, ok := r.m.Get(4)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n > 0
}

func (r *request) currencyOK() bool {
	v, ok := r.m.Get(49)
	return !ok || v == currencyCNY
}

// pan is field 2, or the PAN of track 2; both present must agree.
func (r *request) pan() (string, bool) {
	p2, ok2 := r.m.Get(2)
	t2, ok35 := r.m.Get(35)
	var tp string
	if ok35 {
		tp, _, _ = strings.Cut(t2, "=")
	}
	switch {
	case ok2 && ok35 && p2 != tp:
		return "", false
	case ok2:
		return p2, p2 != ""
	case ok35:
		return tp, tp != ""
	}
	return "", false
}

// expiry is field 14, else the YYMM after '=' in track 2, else "".
func (r *request) expiry() string {
	if v, ok := r.m.Get(14); ok {
		return v
	}
	if t2, ok := r.m.Get(35); ok {
		if _, after, found := strings.Cut(t2, "="); found && len(after) >= 4 {
			return after[:4]
		}
	}
	return ""
}

func isRequestMTI(mti string) bool {
	return len(mti) == 4 && (mti[2]-'0')%2 == 0
}

func replyMTI(mti string) string {
	return mti[:2] + string(mti[2]+1) + mti[3:]
}

// handle turns one frame into what to send back. An error means the
// request could not be understood at all; the connection is then closed.
func (s *Server) handle(f iso8583.Frame) (outcome, error) {
	m, err := iso8583.CUP.Unpack(f.Body)
	if err != nil {
		return outcome{}, fmt.Errorf("undecodable request: %w", err)
	}
	if !isRequestMTI(m.MTI) {
		s.log.Warn("hostsim: ignoring a message that is not a request", "msg", iso8583.Dump(m))
		return outcome{}, nil
	}
	req := parseRequest(m, f.Body, s.o.Now())
	if req.tid == "" || req.stan == "" {
		return outcome{}, fmt.Errorf("request %s without field 11 or 41", m.MTI)
	}
	s.log.Debug("hostsim: request", "msg", iso8583.Dump(m))

	fault, delay := s.pickFault(m.MTI, req.kind)
	if fault == DropBefore {
		s.log.Info("hostsim: fault", "fault", fault, "kind", req.kind, "tid", req.tid, "stan", req.stan)
		return outcome{closeConn: true}, nil
	}
	var reply *iso8583.Message
	var mak seckey.Key
	if code, ok := fault.declineCode(); ok {
		reply, mak = s.declineUnprocessed(req, code)
	} else {
		reply, mak = s.process(req)
		if code, ok := fault.answerCode(); ok {
			// Done, but answered with another code: the reply keeps
			// its fields (and a fresh MAC) and only field 39 lies.
			reply = reply.Clone()
			reply.Set(39, code)
		}
	}
	code, _ := reply.Get(39)
	s.log.Info("hostsim: handled", "kind", req.kind, "tid", req.tid, "stan", req.stan, "code", code, "fault", string(fault))
	s.log.Debug("hostsim: reply", "msg", iso8583.Dump(reply))
	if fault == DropAfter {
		return outcome{closeConn: true}, nil
	}

	hdr := f.Header
	hdr.ProcessingRequirement = iso8583.ProcNone
	if fault == SignOnAgain {
		hdr.ProcessingRequirement = iso8583.ProcSignOnAgain
	} else if req.kind == kindSignOn && s.o.TMSDownload != nil && s.o.TMSDownload(req.tid) {
		hdr.ProcessingRequirement = iso8583.ProcTMSDownload
	}
	encode := func(msg *iso8583.Message, key seckey.Key, corrupt bool) ([]byte, error) {
		body, err := s.pack(msg, key, corrupt)
		if err != nil {
			return nil, err
		}
		return iso8583.EncodeFrame(iso8583.Frame{TPDU: f.TPDU.Swap(), Header: hdr, Body: body})
	}
	frame, err := encode(reply, mak, fault == BadMAC)
	if err != nil {
		// Our own reply does not pack: a simulator bug, not the client's.
		s.log.Error("hostsim: reply does not pack", "kind", req.kind, "err", err)
		return outcome{closeConn: true}, nil
	}
	prev, hadPrev := s.swapLastReply(req.tid, sentReply{msg: reply, mak: mak})

	switch fault {
	case Delay:
		return outcome{delay: delay, frames: [][]byte{frame}}, nil
	case Disconnect:
		return outcome{frames: [][]byte{frame}, half: true, closeConn: true}, nil
	case Garbage:
		return outcome{frames: [][]byte{s.garbage()}}, nil
	case Duplicate:
		return outcome{frames: [][]byte{frame, frame}}, nil
	case Late:
		if !hadPrev {
			prev = sentReply{msg: reply, mak: mak}
		}
		stale := prev.msg.Clone()
		if st, _ := stale.Get(11); st == req.stan {
			stale.Set(11, otherSTAN(req.stan))
		}
		sf, err := encode(stale, prev.mak, false)
		if err != nil {
			return outcome{frames: [][]byte{frame}}, nil
		}
		return outcome{frames: [][]byte{sf, frame}}, nil
	}
	return outcome{frames: [][]byte{frame}}, nil
}

// otherSTAN is the trace before stan, wrapping 000001 to 999999.
func otherSTAN(stan string) string {
	n, _ := strconv.Atoi(stan)
	n--
	if n < 1 {
		n = 999999
	}
	return fmt.Sprintf("%06d", n)
}

func (s *Server) swapLastReply(tid string, r sentReply) (sentReply, bool) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	prev, ok := s.lastReply[tid]
	s.lastReply[tid] = r
	return prev, ok
}

// pack packs a reply, with a MAC under mak when mak is set. corrupt makes
// the MAC wrong (adding a bogus one to a reply that has none).
func (s *Server) pack(msg *iso8583.Message, mak seckey.Key, corrupt bool) ([]byte, error) {
	if mak == nil {
		if corrupt {
			c := msg.Clone()
			c.SetBytes(64, []byte("BADMAC!!"))
			return iso8583.CUP.Pack(c)
		}
		return iso8583.CUP.Pack(msg)
	}
	return iso8583.CUP.PackWithMAC(msg, func(data []byte) ([]byte, error) {
		mac, err := seckey.ComputeMAC(s.o.MAC, mak, data)
		if err == nil && corrupt {
			mac[0] ^= 0x01
		}
		return mac, err
	})
}

// newReply starts a reply: MTI + 10, field 39, and 11, 41, 42 plus the
// extra fields listed copied from the request when present.
func newReply(req *request, code string, echo ...int) *iso8583.Message {
	r := iso8583.NewMessage(replyMTI(req.m.MTI))
	for _, n := range append([]int{11, 41, 42}, echo...) {
		if v, ok := req.m.Fields[n]; ok {
			r.SetBytes(n, v)
		}
	}
	r.Set(39, code)
	return r
}

func stamp(r *iso8583.Message, now time.Time) {
	r.Set(12, now.Format("150405"))
	r.Set(13, now.Format("0102"))
}

// financial reply: the fields of a sale reply that the request carried.
var financialEcho = []int{3, 4, 25, 49, 60}

func finReply(req *request, code string) *iso8583.Message {
	r := newReply(req, code, financialEcho...)
	stamp(r, req.now)
	return r
}

// declineUnprocessed answers the Decline fault: the code, nothing else.
func (s *Server) declineUnprocessed(req *request, code string) (*iso8583.Message, seckey.Key) {
	r := finReply(req, code)
	if !req.macked() || code == rcMACError {
		return r, nil
	}
	s.mu.Lock()
	keys, ok, err := loadKeys(s.db, req.tid)
	s.mu.Unlock()
	if err != nil || !ok {
		return r, nil
	}
	return r, keys.MAK
}

// process runs a request against the ledger in one transaction and
// returns the reply and the MAK to MAC it with (nil: no MAC).
func (s *Server) process(req *request) (*iso8583.Message, seckey.Key) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sysErr := func(mak seckey.Key, err error) (*iso8583.Message, seckey.Key) {
		s.log.Error("hostsim: ledger error", "kind", req.kind, "tid", req.tid, "stan", req.stan, "err", err)
		return newReply(req, rcSystemError), mak
	}
	tx, err := s.db.Begin()
	if err != nil {
		return sysErr(nil, err)
	}
	defer tx.Rollback()

	var mak seckey.Key
	if req.macked() {
		keys, ok, err := loadKeys(tx, req.tid)
		if err != nil {
			return sysErr(nil, err)
		}
		if !ok || !s.macValid(req, keys.MAK) {
			// No MAC on an A0 reply: the terminal cannot trust our key.
			return newReply(req, rcMACError), nil
		}
		req.keys, mak = keys, keys.MAK
		if !req.openTrack() {
			return finReply(req, rcInvalidTxn), mak
		}
	}

	var digest []byte
	if req.cached() {
		digest = requestDigest(req.m)
		var d, body []byte
		err := tx.QueryRow(`SELECT digest, body FROM replies WHERE tid = ? AND batch = ? AND stan = ? AND mti = ?`,
			req.tid, req.batch, req.stan, req.m.MTI).Scan(&d, &body)
		switch {
		case err == nil:
			if string(d) != string(digest) {
				// Same trace, different content: a terminal reusing a
				// STAN, which is a bug worth making loud.
				s.log.Warn("hostsim: trace reused with different content", "tid", req.tid, "batch", req.batch, "stan", req.stan)
				return newReply(req, rcInvalidTxn), mak
			}
			prev, err := iso8583.CUP.Unpack(body)
			if err != nil {
				return sysErr(mak, err)
			}
			s.log.Info("hostsim: repeated request, same reply", "kind", req.kind, "tid", req.tid, "stan", req.stan)
			return prev, mak
		case !errors.Is(err, sql.ErrNoRows):
			return sysErr(mak, err)
		}
	}

	reply, err := s.dispatch(tx, req)
	if err != nil {
		return sysErr(mak, err)
	}
	if req.cached() {
		body, err := iso8583.CUP.Pack(reply)
		if err != nil {
			return sysErr(mak, err)
		}
		if _, err := tx.Exec(`INSERT INTO replies(tid, batch, stan, mti, digest, body) VALUES(?, ?, ?, ?, ?, ?)`,
			req.tid, req.batch, req.stan, req.m.MTI, digest, body); err != nil {
			return sysErr(mak, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return sysErr(mak, err)
	}
	return reply, mak
}

func (s *Server) macValid(req *request, mak seckey.Key) bool {
	mac, ok := req.m.Fields[64]
	if !ok {
		return false
	}
	data, err := iso8583.CUP.MACData(req.body)
	if err != nil {
		return false
	}
	return seckey.VerifyMAC(s.o.MAC, mak, data, mac)
}

// requestDigest covers the fields that say what a request does; the PIN
// block and MAC are left out because they change with new working keys.
func requestDigest(m *iso8583.Message) []byte {
	h := sha256.New()
	h.Write([]byte(m.MTI))
	for _, n := range []int{2, 3, 4, 14, 35, 37, 48, 49, 60, 61} {
		v, ok := m.Fields[n]
		if !ok {
			continue
		}
		var hdr [6]byte
		binary.BigEndian.PutUint16(hdr[:2], uint16(n))
		binary.BigEndian.PutUint32(hdr[2:], uint32(len(v)))
		h.Write(hdr[:])
		h.Write(v)
	}
	return h.Sum(nil)
}

func (s *Server) dispatch(tx *sql.Tx, req *request) (*iso8583.Message, error) {
	if want, ok := wantMsgType[req.kind]; ok && (!req.has60 || req.msgType != want) {
		return finReply(req, rcInvalidTxn), nil
	}
	switch req.kind {
	case kindSignOn:
		return s.signOn(tx, req)
	case kindEcho, kindSignOff:
		// Sign-off keeps the keys: a terminal that transacts without
		// signing on again is the engine's concern, not the ledger's.
		return newReply(req, rcApproved), nil
	case kindSale:
		return s.sale(tx, req)
	case kindBalance:
		return s.balance(tx, req)
	case kindVoid:
		return s.void(tx, req)
	case kindRefund:
		return s.refund(tx, req)
	case kindReversal:
		return s.reversal(tx, req)
	case kindSettle:
		return s.settle(tx, req)
	case kindUpload:
		return s.upload(tx, req)
	case kindWalletPay, kindWalletQuery, kindWalletCancel, kindPrecreate, kindWalletClose, kindWalletRefund:
		return s.walletDispatch(tx, req)
	}
	return newReply(req, rcInvalidTxn), nil
}

func (s *Server) signOn(tx *sql.Tx, req *request) (*iso8583.Message, error) {
	mode := s.o.KeyMode
	if m, err := seckey.ParseKeyMode(req.netCode); err == nil {
		mode = m
	}
	var wk seckey.WorkingKeys
	var f62 []byte
	var err error
	// BuildField62 refuses a rare double MAK whose ciphertext would read
	// as single-length; a fresh key fixes it.
	for try := 0; try < 8; try++ {
		wk, err = s.newKeys(mode)
		if err != nil {
			return nil, err
		}
		if f62, err = seckey.BuildField62(s.o.TMK, wk, mode); err == nil {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	if err := storeKeys(tx, req.tid, mode, wk, req.now.Unix()); err != nil {
		return nil, err
	}
	rrn, _, err := nextRRN(tx, req.now)
	if err != nil {
		return nil, err
	}
	r := newReply(req, rcApproved, 60)
	stamp(r, req.now)
	r.Set(37, rrn)
	r.SetBytes(62, f62)
	s.log.Info("hostsim: new working keys", "tid", req.tid, "mode", mode.String(), "keys", wk)
	return r, nil
}

// newKeys draws the working keys for mode. X9.19 needs a double-length
// MAK; the CUP ECB MAC uses a single one, as CUP hosts commonly send.
func (s *Server) newKeys(mode seckey.KeyMode) (seckey.WorkingKeys, error) {
	pikLen, makLen := seckey.DoubleLen, seckey.SingleLen
	if mode == seckey.Single {
		pikLen = seckey.SingleLen
	} else if s.o.MAC == seckey.MACANSIX919 {
		makLen = seckey.DoubleLen
	}
	var wk seckey.WorkingKeys
	var err error
	if wk.PIK, err = seckey.GenerateKey(pikLen); err != nil {
		return wk, err
	}
	if wk.MAK, err = seckey.GenerateKey(makLen); err != nil {
		return wk, err
	}
	if mode == seckey.DoubleWithTDK {
		if wk.TDK, err = seckey.GenerateKey(seckey.DoubleLen); err != nil {
			return wk, err
		}
	}
	return wk, nil
}

// nextRRN returns a fresh RRN (host date YYMMDD + 6-digit sequence,
// skipping any already on a record) and an auth code.
func nextRRN(tx *sql.Tx, now time.Time) (rrn, auth string, err error) {
	for range 1000 {
		seq, err := nextCounter(tx, "rrn")
		if err != nil {
			return "", "", err
		}
		rrn = now.Format("060102") + fmt.Sprintf("%06d", seq%1000000)
		auth = fmt.Sprintf("%06d", (seq*7919+104729)%1000000)
		var n int
		if err := tx.QueryRow(`SELECT count(*) FROM records WHERE rrn = ?`, rrn).Scan(&n); err != nil {
			return "", "", err
		}
		if n == 0 {
			return rrn, auth, nil
		}
	}
	return "", "", errors.New("no free RRN")
}
