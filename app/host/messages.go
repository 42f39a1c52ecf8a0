package host

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/iso8583"
	"github.com/shoukuan/pos/app/mutant"
	"github.com/shoukuan/pos/app/seckey"
)

// SettleClasses is the order of the 31-digit groups of settlement field 48.
var SettleClasses = []string{"card", "alipay", "wechat", "unionpay_qr"}

// procCode and msgType are fields 3 and 60.1 of each financial kind.
func procCode(k engine.Kind) string {
	switch k {
	case engine.KindVoid, engine.KindRefund:
		return "200000"
	case engine.KindBalance:
		return "310000"
	}
	return "000000"
}

func msgType(k engine.Kind) string {
	switch k {
	case engine.KindVoid:
		return iso8583.MsgTypeVoid
	case engine.KindRefund:
		return iso8583.MsgTypeRefund
	case engine.KindBalance:
		return iso8583.MsgTypeBalance
	}
	return iso8583.MsgTypeSale
}

func entryMode(c *engine.Card) string {
	pin := "2"
	if len(c.PINBlock) > 0 {
		pin = "1"
	}
	switch c.Method {
	case engine.MethodChip:
		return "05" + pin
	case engine.MethodTap:
		return "07" + pin
	}
	return "02" + pin
}

// securityControl is field 53: PIN block format (2 = ANSI X9.8 with the
// PAN, 0 = no PIN), algorithm (6 = double-length 3DES), track data
// encrypted (1) or not (0).
func securityControl(pin, trackEncrypted bool) string {
	f := []byte("0600000000000000")
	if pin {
		f[0] = '2'
	}
	if trackEncrypted {
		f[2] = '1'
	}
	return string(f)
}

func operator3(op string) string {
	if len(op) >= 3 {
		return op[:3]
	}
	return strings.Repeat("0", 3-len(op)) + op
}

// build turns a request into a message; macked says whether it carries
// field 64.
func (c *Client) build(r engine.HostRequest) (*iso8583.Message, bool, error) {
	m := iso8583.NewMessage("")
	m.Set(11, r.STAN)
	m.Set(41, c.cfg.TerminalID)
	m.Set(42, c.cfg.MerchantID)
	if r.Operator != "" {
		m.Set(63, operator3(r.Operator))
	}
	field60 := func(t, net string) error {
		v, err := iso8583.Field60(t, r.Batch, net)
		m.Set(60, v)
		return err
	}
	money := func() {
		m.Set(4, fmt.Sprintf("%012d", r.AmountFen))
		m.Set(49, "156")
		m.Set(25, "00")
	}
	card := func() error {
		if r.Card == nil {
			return errors.New("card data missing")
		}
		m.Set(22, entryMode(r.Card))
		c.mu.Lock()
		tdk := c.keys.TDK
		c.mu.Unlock()
		encrypted := tdk != nil && !mutant.On("clear-track")
		if encrypted {
			// With a track key the card number travels only inside the
			// encrypted track, as CUP terminals send it.
			t2, err := seckey.EncryptTrack(tdk, r.Card.Track2)
			if err != nil {
				return err
			}
			m.Set(35, t2)
		} else {
			m.Set(2, r.PAN)
			m.Set(14, r.Expiry)
			m.Set(35, r.Card.Track2)
		}
		pin := len(r.Card.PINBlock) > 0
		if pin {
			m.Set(26, "12")
			m.SetBytes(52, r.Card.PINBlock)
		}
		if pin || encrypted {
			m.Set(53, securityControl(pin, encrypted))
		}
		if (r.Card.Method == engine.MethodChip || r.Card.Method == engine.MethodTap) && r.Card.Seq != "" {
			m.Set(23, r.Card.Seq)
		}
		if len(r.Card.ICC) > 0 {
			m.SetBytes(55, r.Card.ICC)
		}
		return nil
	}
	var err error
	switch r.Kind {
	case engine.HostSignOn:
		m.MTI = "0800"
		return m, false, field60("00", c.cfg.KeyMode.Code60_3())
	case engine.HostEcho:
		m.MTI = "0820"
		return m, false, field60("00", "301")
	case engine.HostSignOff:
		m.MTI = "0820"
		return m, false, field60("00", "002")
	case engine.HostSale, engine.HostBalance:
		m.MTI = "0200"
		kind := engine.KindSale
		if r.Kind == engine.HostBalance {
			kind = engine.KindBalance
		}
		m.Set(3, procCode(kind))
		if kind == engine.KindSale {
			money()
		} else {
			m.Set(49, "156")
			m.Set(25, "00")
		}
		if err = card(); err == nil {
			err = c.cardField60(m, msgType(kind), r)
		}
	case engine.HostVoid:
		m.MTI = "0200"
		m.Set(3, procCode(engine.KindVoid))
		money()
		m.Set(37, r.OrigRRN)
		if r.OrigAuth != "" {
			m.Set(38, r.OrigAuth)
		}
		err = errors.Join(field60(msgType(engine.KindVoid), ""), c.field61(m, r.OrigBatch, r.OrigSTAN, ""))
	case engine.HostRefund:
		m.MTI = "0220"
		m.Set(3, procCode(engine.KindRefund))
		money()
		m.Set(37, r.OrigRRN)
		err = errors.Join(field60(msgType(engine.KindRefund), ""), c.field61(m, "000000", "000000", r.OrigDate))
	case engine.HostReversal:
		m.MTI = "0400"
		m.Set(3, procCode(r.OrigKind))
		money()
		m.Set(39, r.ReversalReason)
		if len(r.ICC) > 0 {
			m.SetBytes(55, r.ICC)
		}
		err = errors.Join(field60(msgType(r.OrigKind), ""), c.field61(m, r.OrigBatch, r.OrigSTAN, ""))
	case engine.HostSettle:
		m.MTI = "0500"
		m.Set(49, "156")
		if r.Totals == nil {
			return nil, false, errors.New("host: settlement without totals")
		}
		m.Set(48, settleField48(r.Totals))
		err = field60("00", "201")
	case engine.HostUpload:
		m.MTI = "0320"
		if r.Upload == nil {
			return nil, false, errors.New("host: batch upload without a transaction")
		}
		kind := "00"
		if r.Upload.Kind == engine.KindRefund {
			kind = "25"
		}
		rrn := r.Upload.RRN
		if len(rrn) != 12 || strings.Trim(rrn, "0123456789") != "" {
			rrn = "000000000000"
		}
		m.Set(48, "01"+kind+r.Upload.STAN+fmt.Sprintf("%012d", r.Upload.AmountFen)+rrn)
		err = field60("00", "201")
	case engine.HostWalletPay, engine.HostPrecreate, engine.HostWalletQuery, engine.HostWalletCancel, engine.HostWalletClose, engine.HostWalletRefund:
		err = c.buildWallet(m, r, field60)
	default:
		return nil, false, fmt.Errorf("host: unknown request kind %q", r.Kind)
	}
	if err != nil {
		return nil, false, fmt.Errorf("host: %s: %w", r.Kind, err)
	}
	return m, true, nil
}

// cardField60 is field 60 of a card request: 60.4 says the terminal reads
// chip and contactless cards ("6"), 60.5 whether a swipe is a fallback
// after the chip failed ("2") or not ("0").
func (c *Client) cardField60(m *iso8583.Message, msgType string, r engine.HostRequest) error {
	cond := "0"
	if r.Card != nil && r.Card.Fallback {
		cond = "2"
	}
	v, err := iso8583.Field60(msgType, r.Batch, "000", "6", cond)
	m.Set(60, v)
	return err
}

func (c *Client) field61(m *iso8583.Message, batch, trace, date string) error {
	v, err := iso8583.Field61(batch, trace, date)
	m.Set(61, v)
	return err
}

// settleField48 writes the 31-digit group of each class.
func settleField48(t *engine.BatchTotals) string {
	var b strings.Builder
	for _, class := range SettleClasses {
		var g engine.ClassTotals
		for _, c := range t.Classes {
			if c.Class == class {
				g = c
			}
		}
		fmt.Fprintf(&b, "%012d%03d%012d%03d0", g.DebitFen, g.DebitCount%1000, g.CreditFen, g.CreditCount%1000)
	}
	return b.String()
}

// parse reads what the engine needs from a reply.
func (c *Client) parse(r engine.HostRequest, m *iso8583.Message) (engine.HostReply, error) {
	var out engine.HostReply
	code, ok := m.Get(39)
	if !ok || len(code) != 2 {
		return out, fmt.Errorf("%w: no response code", ErrBadReply)
	}
	out.Code = code
	out.RRN, _ = m.Get(37)
	out.AuthCode, _ = m.Get(38)
	out.AuthCode = strings.TrimSpace(out.AuthCode)
	out.Date, _ = m.Get(13)
	out.Time, _ = m.Get(12)
	if v, ok := m.GetBytes(55); ok && len(v) > 0 {
		out.ICC = append([]byte(nil), v...)
	}
	if r.Kind == engine.HostBalance && code == "00" {
		v, ok := m.Get(54)
		if !ok || len(v) != 20 || (v[7] != 'C' && v[7] != 'D') {
			return out, fmt.Errorf("%w: balance (field 54) missing or malformed", ErrBadReply)
		}
		n, err := strconv.ParseInt(v[8:], 10, 64)
		if err != nil {
			return out, fmt.Errorf("%w: balance amount", ErrBadReply)
		}
		if v[7] == 'D' {
			n = -n
		}
		out.BalanceFen = n
	}
	if v, ok := m.GetBytes(59); ok {
		if err := parseWallet(&out, v); err != nil {
			return out, err
		}
	}
	if r.Kind == engine.HostWalletQuery && code == "00" && out.OrderStatus == "" {
		return out, fmt.Errorf("%w: order query without a status", ErrBadReply)
	}
	if r.Kind == engine.HostPrecreate && code == "00" && out.QRPayload == "" {
		return out, fmt.Errorf("%w: precreate without a QR", ErrBadReply)
	}
	if r.Kind == engine.HostSettle && code == "00" {
		v, ok := m.Get(48)
		if !ok || len(v) < 31*len(SettleClasses) {
			return out, fmt.Errorf("%w: settlement result (field 48) missing", ErrBadReply)
		}
		out.SettleResult = engine.SettleBalanced
		for i := range SettleClasses {
			switch v[31*i+30] {
			case '1':
			case '2':
				out.SettleResult = engine.SettleUnbalanced
			default:
				return out, fmt.Errorf("%w: settlement result digit %q", ErrBadReply, v[31*i+30])
			}
		}
	}
	return out, nil
}
