package seckey

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestPINBlockKnownAnswer(t *testing.T) {
	// PIN field 041234FFFFFFFFFF XOR PAN field 0000111111111111
	// (PAN 4111111111111111: rightmost 12 digits before the check digit).
	clearBlock := unhex(t, "041225EEEEEEEEEE")
	for _, pik := range [][]byte{unhex(t, "0123456789ABCDEF"), unhex(t, "0123456789ABCDEFFEDCBA9876543210")} {
		var want []byte
		if len(pik) == 8 {
			want = desEnc(t, pik, clearBlock)
		} else {
			want = tdesEnc(t, pik, clearBlock)
		}
		got, err := PINBlock(pik, "1234", "4111111111111111")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("PIK len %d: PIN block = %X, want %X", len(pik), got, want)
		}
		pin, err := DecodePINBlock(pik, got, "4111111111111111")
		if err != nil || pin != "1234" {
			t.Errorf("DecodePINBlock = %q, %v", pin, err)
		}
	}
}

func TestPINBlockPANField(t *testing.T) {
	// 19-digit PAN: the field takes digits 7..18 (before the check digit).
	pik := Key(unhex(t, "0123456789ABCDEF"))
	pan := "6222021234567890123"
	pinF := unhex(t, "06123456FFFFFFFF")
	// PAN minus check digit: 622202123456789012; rightmost 12: 123456789012.
	panF := unhex(t, "0000123456789012")
	clr := make([]byte, 8)
	for i := range clr {
		clr[i] = pinF[i] ^ panF[i]
	}
	got, err := PINBlock(pik, "123456", pan)
	if err != nil {
		t.Fatal(err)
	}
	if want := desEnc(t, pik, clr); !bytes.Equal(got, want) {
		t.Fatalf("PIN block = %X, want %X", got, want)
	}
	// A 13-digit PAN is the shortest accepted.
	if _, err := PINBlock(pik, "123456", "1234567890123"); err != nil {
		t.Errorf("13-digit PAN rejected: %v", err)
	}
	// 12-digit PIN fills the field with no F.
	got, err = PINBlock(pik, "987654321098", "4111111111111111")
	if err != nil {
		t.Fatal(err)
	}
	if pin, err := DecodePINBlock(pik, got, "4111111111111111"); err != nil || pin != "987654321098" {
		t.Errorf("12-digit PIN round trip = %q, %v", pin, err)
	}
}

func TestPINBlockErrors(t *testing.T) {
	pik := Key(unhex(t, "0123456789ABCDEF"))
	pan := "4111111111111111"
	for _, pin := range []string{"", "123", "1234567890123", "12a4", "12 34", "１２３４", "-1234"} {
		_, err := PINBlock(pik, pin, pan)
		if !errors.Is(err, ErrPINFormat) {
			t.Errorf("PIN %q: err = %v, want ErrPINFormat", pin, err)
			continue
		}
		if pin != "" && strings.Contains(err.Error(), pin) {
			t.Errorf("error contains the PIN: %v", err)
		}
	}
	for _, p := range []string{"", "411111111111", "41111111111111111111", "411111111111111X"} {
		_, err := PINBlock(pik, "1234", p)
		if !errors.Is(err, ErrPANFormat) {
			t.Errorf("PAN %q: err = %v, want ErrPANFormat", p, err)
		} else if len(p) > 6 && strings.Contains(err.Error(), p[:6]) {
			t.Errorf("error contains the PAN: %v", err)
		}
	}
	if _, err := PINBlock(Key{1, 2}, "1234", pan); !errors.Is(err, ErrKeyLength) {
		t.Errorf("bad PIK: err = %v", err)
	}
	// PIN secret must not show up even when both PIN and PAN are bad.
	if _, err := PINBlock(pik, "98765", "12"); err == nil || strings.Contains(err.Error(), "98765") {
		t.Errorf("err = %v", err)
	}
}

func TestDecodePINBlockRejects(t *testing.T) {
	pik := Key(unhex(t, "0123456789ABCDEFFEDCBA9876543210"))
	pan := "4111111111111111"
	encClear := func(h string) []byte { return tdesEnc(t, pik, unhex(t, h)) }
	panF := unhex(t, "0000111111111111")
	withPAN := func(pinField string) []byte {
		f := unhex(t, pinField)
		for i := range f {
			f[i] ^= panF[i]
		}
		return tdesEnc(t, pik, f)
	}
	for name, block := range map[string][]byte{
		"control nibble 1": withPAN("141234FFFFFFFFFF"),
		"length 3":         withPAN("03123FFFFFFFFFFF"),
		"length 13":        withPAN("0D1234567890123F"),
		"non-digit":        withPAN("04123AFFFFFFFFFF"),
		"bad fill":         withPAN("041234FFFFFFFFFE"),
		"random":           encClear("0123456789ABCDEF"),
	} {
		if _, err := DecodePINBlock(pik, block, pan); !errors.Is(err, ErrPINBlock) {
			t.Errorf("%s: err = %v, want ErrPINBlock", name, err)
		}
	}
	good := withPAN("041234FFFFFFFFFF")
	if pin, err := DecodePINBlock(pik, good, pan); err != nil || pin != "1234" {
		t.Fatalf("good block: %q, %v", pin, err)
	}
	if _, err := DecodePINBlock(pik, good, "4111111111111129"); !errors.Is(err, ErrPINBlock) {
		t.Errorf("wrong PAN: err = %v", err)
	}
	if _, err := DecodePINBlock(pik, good[:7], pan); !errors.Is(err, ErrPINBlock) {
		t.Errorf("short block: err = %v", err)
	}
	if _, err := DecodePINBlock(pik, good, "123"); !errors.Is(err, ErrPANFormat) {
		t.Errorf("short PAN: err = %v", err)
	}
}

func TestVerifyPINBlock(t *testing.T) {
	pik, _ := GenerateKey(16)
	pan := "6212261202011111118"
	block, err := PINBlock(pik, "000000", pan)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		expected string
		ok       bool
	}{{"000000", true}, {"000001", false}, {"0000000", false}, {"123456", false}} {
		ok, err := VerifyPINBlock(pik, block, pan, tc.expected)
		if err != nil || ok != tc.ok {
			t.Errorf("expected %q: ok=%v err=%v, want %v", tc.expected, ok, err, tc.ok)
		}
	}
	if _, err := VerifyPINBlock(pik, block, pan, "12"); !errors.Is(err, ErrPINFormat) {
		t.Errorf("invalid expected PIN: err = %v", err)
	}
	other, _ := GenerateKey(16)
	if ok, err := VerifyPINBlock(other, block, pan, "000000"); ok || err == nil {
		t.Errorf("wrong PIK: ok=%v err=%v (want format error almost surely)", ok, err)
	}
}
