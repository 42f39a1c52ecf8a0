package host

import (
	"fmt"
	"strconv"

	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/iso8583"
)

// buildWallet fills a scan-code message: 0200 for everything but the
// refund (0220), 60.1 naming the operation, field 59 the order.
func (c *Client) buildWallet(m *iso8583.Message, r engine.HostRequest, field60 func(t, net string) error) error {
	if r.OrderNo == "" {
		return fmt.Errorf("no order number")
	}
	tlv := iso8583.TLV{iso8583.TagOrderNo: r.OrderNo}
	m.MTI = "0200"
	money := func() {
		m.Set(4, fmt.Sprintf("%012d", r.AmountFen))
		m.Set(49, "156")
	}
	var typ string
	switch r.Kind {
	case engine.HostWalletPay:
		if r.PayCode == "" {
			return fmt.Errorf("no payment code")
		}
		m.Set(3, "000000")
		money()
		tlv[iso8583.TagPayCode] = r.PayCode
		typ = iso8583.MsgTypeWalletPay
	case engine.HostPrecreate:
		m.Set(3, "000000")
		money()
		typ = iso8583.MsgTypePrecreate
	case engine.HostWalletQuery:
		m.Set(3, "300000")
		typ = iso8583.MsgTypeWalletQuery
	case engine.HostWalletCancel:
		m.Set(3, "200000")
		typ = iso8583.MsgTypeWalletCancel
	case engine.HostWalletClose:
		m.Set(3, "200000")
		typ = iso8583.MsgTypeWalletClose
	case engine.HostWalletRefund:
		if r.RefundNo == "" {
			return fmt.Errorf("no refund number")
		}
		m.MTI = "0220"
		m.Set(3, "200000")
		money()
		tlv[iso8583.TagRefundNo] = r.RefundNo
		typ = iso8583.MsgTypeWalletRefund
	}
	if r.Wallet != "" && (r.Kind == engine.HostWalletPay || r.Kind == engine.HostPrecreate) {
		tlv[iso8583.TagWallet] = string(r.Wallet)
	}
	if r.Periods > 0 {
		tlv[iso8583.TagPeriods] = fmt.Sprintf("%02d", r.Periods)
		tlv[iso8583.TagSellerPct] = fmt.Sprintf("%03d", r.SellerPct)
	}
	b, err := tlv.Bytes()
	if err != nil {
		return err
	}
	m.SetBytes(59, b)
	return field60(typ, "")
}

// parseWallet reads field 59 of a reply. Values are checked as tightly as
// the engine relies on them: a malformed reply is no reply.
func parseWallet(out *engine.HostReply, v []byte) error {
	tlv, err := iso8583.ParseTLV(v)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadReply, err)
	}
	out.OrderStatus = tlv[iso8583.TagStatus]
	switch out.OrderStatus {
	case "", engine.OrderPaid, engine.OrderPaying, engine.OrderNotPaid, engine.OrderClosed, engine.OrderRefunded:
	default:
		return fmt.Errorf("%w: unknown order status %q", ErrBadReply, out.OrderStatus)
	}
	if w := engine.Method(tlv[iso8583.TagWallet]); w != "" {
		if !w.IsWallet() || w == engine.MethodQR {
			return fmt.Errorf("%w: unknown wallet %q", ErrBadReply, w)
		}
		out.Wallet = w
	}
	out.Buyer = tlv[iso8583.TagBuyer]
	out.TradeNo = tlv[iso8583.TagTradeNo]
	out.QRPayload = tlv[iso8583.TagQRPayload]
	out.WalletCode = tlv[iso8583.TagWalletCode]
	out.Retry = tlv[iso8583.TagRetry] == "1"
	if f, ok := tlv[iso8583.TagInstallFee]; ok {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil || n < 0 || len(f) > 12 {
			return fmt.Errorf("%w: installment fee %q", ErrBadReply, f)
		}
		out.InstallFeeFen = n
	}
	for _, s := range []string{out.Buyer, out.TradeNo} {
		if len(s) > 64 {
			return fmt.Errorf("%w: buyer or trade number over 64 bytes", ErrBadReply)
		}
	}
	return nil
}
