package iso8583

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Field 59 carries scan-code payment data as a list of TLVs: a 2-character
// tag, a 3-digit decimal length of the value in bytes, then the value. The
// tags are this dialect's (docs/host-protocol.md).
const (
	TagPayCode    = "A1" // customer's payment code (request)
	TagOrderNo    = "A2" // terminal's order number
	TagWallet     = "A3" // alipay, wechat, unionpay_qr
	TagPeriods    = "A4" // Huabei installments: 03, 06, 12
	TagSellerPct  = "A5" // share of the installment fee the seller pays: 000 or 100
	TagBuyer      = "A6" // masked buyer account (reply)
	TagTradeNo    = "A7" // wallet's trade number (reply)
	TagQRPayload  = "A8" // merchant-presented QR content (precreate reply)
	TagStatus     = "A9" // order status (query reply): PAID, PAYING, CLOSED, NOTPAID, REFUNDED
	TagRefundNo   = "B1" // terminal's refund request number
	TagInstallFee = "B2" // installment fee the buyer pays, fen (reply)
	TagRetry      = "B3" // "1": cancel not done yet, try again (cancel reply)
	TagWalletCode = "B4" // the wallet's own result code, for the log (reply)
)

// TLV is field 59's content.
type TLV map[string]string

var errTLV = errors.New("iso8583: field 59")

// ParseTLV decodes field 59. A tag twice, a length running past the end
// or a malformed header is an error: the field is the money's context.
func ParseTLV(b []byte) (TLV, error) {
	out := TLV{}
	for i := 0; i < len(b); {
		if len(b)-i < 5 {
			return nil, fmt.Errorf("%w: %d bytes left at offset %d, a TLV header needs 5", errTLV, len(b)-i, i)
		}
		tag := string(b[i : i+2])
		if checkChars(KindAN, []byte(tag)) >= 0 {
			return nil, fmt.Errorf("%w: tag at offset %d is not 2 letters or digits", errTLV, i)
		}
		ls := string(b[i+2 : i+5])
		if checkChars(KindN, []byte(ls)) >= 0 {
			return nil, fmt.Errorf("%w: tag %s: length %q is not 3 digits", errTLV, tag, ls)
		}
		n, _ := strconv.Atoi(ls)
		i += 5
		if n > len(b)-i {
			return nil, fmt.Errorf("%w: tag %s: length %d runs past the end", errTLV, tag, n)
		}
		if _, dup := out[tag]; dup {
			return nil, fmt.Errorf("%w: tag %s twice", errTLV, tag)
		}
		out[tag] = string(b[i : i+n])
		i += n
	}
	return out, nil
}

// Bytes encodes the TLVs in tag order, so equal content packs equally
// (the MAC covers it).
func (t TLV) Bytes() ([]byte, error) {
	tags := make([]string, 0, len(t))
	for k := range t {
		tags = append(tags, k)
	}
	sort.Strings(tags)
	var b strings.Builder
	for _, k := range tags {
		v := t[k]
		if len(k) != 2 || checkChars(KindAN, []byte(k)) >= 0 {
			return nil, fmt.Errorf("%w: tag %q is not 2 letters or digits", errTLV, k)
		}
		if len(v) > 999 {
			return nil, fmt.Errorf("%w: tag %s: value of %d bytes, at most 999", errTLV, k, len(v))
		}
		fmt.Fprintf(&b, "%s%03d%s", k, len(v), v)
	}
	if b.Len() > 999 {
		return nil, fmt.Errorf("%w: %d bytes, at most 999", errTLV, b.Len())
	}
	return []byte(b.String()), nil
}

// dumpTLV shows field 59 with the payment code masked: a customer's code
// is a bearer token while it is valid.
func dumpTLV(v []byte) string {
	t, err := ParseTLV(v)
	if err != nil {
		return fmt.Sprintf("<%d bytes, not TLV>", len(v))
	}
	tags := make([]string, 0, len(t))
	for k := range t {
		tags = append(tags, k)
	}
	sort.Strings(tags)
	var parts []string
	for _, k := range tags {
		val := t[k]
		switch {
		case k == TagPayCode:
			val = maskMiddle(val)
		case checkChars(KindANS, []byte(val)) >= 0:
			val = fmt.Sprintf("<%d bytes>", len(val))
		}
		parts = append(parts, k+":"+val)
	}
	return "{" + strings.Join(parts, " ") + "}"
}

func maskMiddle(s string) string {
	if len(s) <= 10 {
		return strings.Repeat("*", len(s))
	}
	return s[:6] + strings.Repeat("*", len(s)-10) + s[len(s)-4:]
}
