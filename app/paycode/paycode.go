// Package paycode tells which wallet a scanned customer payment code
// belongs to. The rules are data (config "payment_codes"), because the
// wallets change their number ranges; codes stay strings throughout, as a
// leading zero or the length is part of the code.
package paycode

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Wallet names, as the engine's payment methods spell them.
const (
	Alipay   = "alipay"
	WeChat   = "wechat"
	UnionPay = "unionpay_qr"
)

// Rule matches one family of codes: a prefix, then digits only, with the
// whole code between MinLen and MaxLen characters.
type Rule struct {
	Wallet   string   `json:"wallet"`
	Prefixes []string `json:"prefixes"`
	MinLen   int      `json:"min_len"`
	MaxLen   int      `json:"max_len"`
}

// DefaultRules are the published ranges: Alipay 25-30 with 16-24 digits
// and face-pay codes "fp"+digits; WeChat Pay 10-15 with 18 digits;
// UnionPay QR 62 with 19 digits.
func DefaultRules() []Rule {
	return []Rule{
		{Wallet: Alipay, Prefixes: []string{"25", "26", "27", "28", "29", "30"}, MinLen: 16, MaxLen: 24},
		{Wallet: Alipay, Prefixes: []string{"fp"}, MinLen: 18, MaxLen: 24},
		{Wallet: WeChat, Prefixes: []string{"10", "11", "12", "13", "14", "15"}, MinLen: 18, MaxLen: 18},
		{Wallet: UnionPay, Prefixes: []string{"62"}, MinLen: 19, MaxLen: 19},
	}
}

// MaxCodeLen bounds what is even looked at: payment codes are short.
const MaxCodeLen = 64

// Reasons a scan is not a payment code; the UI says each in words.
var (
	ErrEmpty       = errors.New("nothing scanned")
	ErrLink        = errors.New("a web link, not a payment code (the customer should open the payment code in the wallet app)")
	ErrProductCode = errors.New("a product barcode, not a payment code")
	ErrUnknown     = errors.New("not a payment code of a supported wallet")
)

// Classifier applies rules in order; the first match wins.
type Classifier struct{ rules []Rule }

// New checks the rules: a bad rule is a configuration error, named.
func New(rules []Rule) (*Classifier, error) {
	if len(rules) == 0 {
		return nil, errors.New("no rules")
	}
	for i, r := range rules {
		switch r.Wallet {
		case Alipay, WeChat, UnionPay:
		default:
			return nil, fmt.Errorf("rule %d: wallet %q: must be %s, %s or %s", i+1, r.Wallet, Alipay, WeChat, UnionPay)
		}
		if len(r.Prefixes) == 0 {
			return nil, fmt.Errorf("rule %d: needs at least one prefix", i+1)
		}
		for _, p := range r.Prefixes {
			if p == "" || len(p) > 8 || !isAlnumASCII(p) {
				return nil, fmt.Errorf("rule %d: prefix %q: must be 1-8 letters or digits", i+1, p)
			}
			if len(p) >= r.MinLen {
				return nil, fmt.Errorf("rule %d: prefix %q leaves no room for digits under min_len %d", i+1, p, r.MinLen)
			}
		}
		if r.MinLen < 8 || r.MaxLen < r.MinLen || r.MaxLen > MaxCodeLen {
			return nil, fmt.Errorf("rule %d: min_len %d, max_len %d: need 8 <= min_len <= max_len <= %d", i+1, r.MinLen, r.MaxLen, MaxCodeLen)
		}
	}
	return &Classifier{rules: append([]Rule(nil), rules...)}, nil
}

// Classify returns the wallet of a payment code, or why it is not one.
// The text is taken exactly as scanned: no trimming, no number parsing.
func (c *Classifier) Classify(code string) (string, error) {
	if code == "" {
		return "", ErrEmpty
	}
	if len(code) > MaxCodeLen || !utf8.ValidString(code) {
		return "", ErrUnknown
	}
	for _, r := range c.rules {
		for _, p := range r.Prefixes {
			if strings.HasPrefix(code, p) && len(code) >= r.MinLen && len(code) <= r.MaxLen && allDigits(code[len(p):]) {
				return r.Wallet, nil
			}
		}
	}
	lower := strings.ToLower(code)
	switch {
	case strings.Contains(lower, "://") || strings.HasPrefix(lower, "www."):
		return "", ErrLink
	case allDigits(code) && (len(code) == 8 || len(code) == 12 || len(code) == 13 || len(code) == 14) && gs1CheckOK(code):
		return "", ErrProductCode
	}
	return "", ErrUnknown
}

// Mask hides the middle of a code for logs and screens: a payment code is
// a bearer token for a minute, so it is never logged whole.
func Mask(code string) string {
	if len(code) <= 10 {
		return strings.Repeat("*", len(code))
	}
	return code[:6] + strings.Repeat("*", len(code)-10) + code[len(code)-4:]
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isAlnumASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if !(b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z') {
			return false
		}
	}
	return true
}

// gs1CheckOK is the EAN/UPC/GTIN mod-10 check, weights 3 and 1 from the
// right: a product barcode passes it, so the cashier hears "that's the
// goods, not the phone".
func gs1CheckOK(s string) bool {
	sum := 0
	for i := len(s) - 2; i >= 0; i-- {
		d := int(s[i] - '0')
		if (len(s)-2-i)%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return (10-sum%10)%10 == int(s[len(s)-1]-'0')
}
