package paycode

import (
	"errors"
	"strings"
	"testing"
)

func classifier(t testing.TB) *Classifier {
	c, err := New(DefaultRules())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClassify(t *testing.T) {
	c := classifier(t)
	for _, tc := range []struct {
		code   string
		wallet string
		err    error
	}{
		{"281234567890123456", Alipay, nil},
		{"2512345678901234", Alipay, nil},             // 16: shortest Alipay
		{"301234567890123456789012", Alipay, nil},     // 24: longest
		{"3012345678901234567890123", "", ErrUnknown}, // 25: too long
		{"251234567890123", "", ErrUnknown},           // 15: too short
		{"fp1234567890123456", Alipay, nil},
		{"fpx234567890123456", "", ErrUnknown},
		{"134567890123456789", WeChat, nil},
		{"104567890123456789", WeChat, nil},
		{"16456789012345678", "", ErrUnknown},
		{"1345678901234567890", "", ErrUnknown}, // 19 digits with a WeChat prefix
		{"6212345678901234567", UnionPay, nil},
		{"621234567890123456", "", ErrUnknown},
		{"https://qr.alipay.com/bax01234", "", ErrLink},
		{"HTTPS://WX.TENPAY.COM/x", "", ErrLink},
		{"www.example.com", "", ErrLink},
		{"6901234567892", "", ErrProductCode}, // EAN-13 with a good check digit
		{"6901234567891", "", ErrUnknown},     // bad check digit: just not a code
		{"", "", ErrEmpty},
		{" 281234567890123456", "", ErrUnknown}, // exact text: no trimming
		{"28123456789012345\n", "", ErrUnknown},
		{"２８１２３４５６７８９０１２３４５６", "", ErrUnknown}, // full-width digits
		{"0281234567890123456", "", ErrUnknown},
		{strings.Repeat("2", 200), "", ErrUnknown},
		{"28\xff4567890123456789", "", ErrUnknown},
	} {
		w, err := c.Classify(tc.code)
		if w != tc.wallet || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
			t.Errorf("Classify(%q) = %q, %v; want %q, %v", tc.code, w, err, tc.wallet, tc.err)
		}
	}
}

// Leading zeros are part of a code: a configured range starting with 0
// must keep them.
func TestLeadingZeroRule(t *testing.T) {
	c, err := New([]Rule{{Wallet: WeChat, Prefixes: []string{"09"}, MinLen: 18, MaxLen: 18}})
	if err != nil {
		t.Fatal(err)
	}
	if w, err := c.Classify("091234567890123456"); w != WeChat || err != nil {
		t.Fatalf("got %q %v", w, err)
	}
	if _, err := c.Classify("91234567890123456"); err == nil {
		t.Fatal("code without its leading zero accepted")
	}
}

func TestRulesValidated(t *testing.T) {
	for _, tc := range []struct {
		rule Rule
		want string
	}{
		{Rule{Wallet: "paypal", Prefixes: []string{"1"}, MinLen: 10, MaxLen: 12}, `wallet "paypal"`},
		{Rule{Wallet: Alipay, MinLen: 10, MaxLen: 12}, "at least one prefix"},
		{Rule{Wallet: Alipay, Prefixes: []string{"2-"}, MinLen: 10, MaxLen: 12}, `prefix "2-"`},
		{Rule{Wallet: Alipay, Prefixes: []string{"25"}, MinLen: 12, MaxLen: 10}, "min_len 12, max_len 10"},
		{Rule{Wallet: Alipay, Prefixes: []string{"25"}, MinLen: 4, MaxLen: 10}, "min_len 4"},
		{Rule{Wallet: Alipay, Prefixes: []string{"123456789"}, MinLen: 10, MaxLen: 20}, `prefix "123456789"`},
	} {
		_, err := New([]Rule{tc.rule})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", tc.rule, err, tc.want)
		}
	}
	if _, err := New(nil); err == nil {
		t.Error("no rules accepted")
	}
}

func TestMask(t *testing.T) {
	if got := Mask("281234567890123456"); got != "281234********3456" {
		t.Fatalf("Mask = %q", got)
	}
	if got := Mask("12345"); got != "*****" {
		t.Fatalf("Mask short = %q", got)
	}
}

func FuzzClassify(f *testing.F) {
	for _, s := range []string{"281234567890123456", "fp1234567890123456", "134567890123456789", "6212345678901234567",
		"https://qr.alipay.com/x", "6901234567892", "", "\x00", "fp", "62"} {
		f.Add(s)
	}
	c := classifier(f)
	f.Fuzz(func(t *testing.T, code string) {
		w, err := c.Classify(code)
		if (w == "") == (err == nil) {
			t.Fatalf("Classify(%q) = %q, %v: exactly one of wallet and error", code, w, err)
		}
		if err == nil {
			// A code accepted is digits after an alphanumeric prefix and
			// within the bounds of some rule.
			if len(code) < 16 || len(code) > 24 || strings.TrimLeft(code[2:], "0123456789") != "" {
				t.Fatalf("accepted %q as %s", code, w)
			}
		}
		if m := Mask(code); len(m) != len(code) && len(code) <= MaxCodeLen {
			t.Fatalf("Mask changed the length of %q", code)
		}
	})
}
