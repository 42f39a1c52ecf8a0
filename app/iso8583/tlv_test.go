package iso8583

import (
	"bytes"
	"strings"
	"testing"
)

func TestTLVRoundTrip(t *testing.T) {
	in := TLV{TagPayCode: "281234567890123456", TagOrderNo: "T1000000120261122000001", TagQRPayload: "https://qr.alipay.com/bax01"}
	b, err := in.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	if want := "A1018281234567890123456A2023T1000000120261122000001A8027https://qr.alipay.com/bax01"; string(b) != want {
		t.Fatalf("Bytes = %s\nwant    %s", b, want)
	}
	out, err := ParseTLV(b)
	if err != nil || len(out) != 3 || out[TagQRPayload] != in[TagQRPayload] {
		t.Fatalf("ParseTLV = %v, %v", out, err)
	}
}

func TestTLVErrors(t *testing.T) {
	for in, want := range map[string]string{
		"A1":           "a TLV header needs 5",
		"A1005abc":     "runs past the end",
		"A1x05abcde":   "not 3 digits",
		"*1003abc":     "not 2 letters or digits",
		"A1001xA1001y": "A1 twice",
	} {
		if _, err := ParseTLV([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseTLV(%q) = %v, want %q", in, err, want)
		}
	}
	if _, err := (TLV{"A1": strings.Repeat("9", 1000)}).Bytes(); err == nil {
		t.Error("over-long value packed")
	}
}

func TestDumpMasksPaymentCode(t *testing.T) {
	m := NewMessage("0200")
	b, _ := TLV{TagPayCode: "281234567890123456", TagOrderNo: "O1"}.Bytes()
	m.SetBytes(59, b)
	d := Dump(m)
	if strings.Contains(d, "281234567890123456") || !strings.Contains(d, "A1:281234********3456") {
		t.Fatalf("dump leaks or lost the code: %s", d)
	}
}

func FuzzParseTLV(f *testing.F) {
	for _, s := range []string{"", "A1018281234567890123456A2002O1", "A1", "A1999", "A1000B2003123", "A1001xA1001y"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tlv, err := ParseTLV(b)
		if err != nil {
			return
		}
		// What parses re-packs to the same content (order may differ).
		again, err := tlv.Bytes()
		if err != nil {
			if len(b) <= 999 {
				t.Fatalf("parsed %q but cannot pack it: %v", b, err)
			}
			return
		}
		back, err := ParseTLV(again)
		if err != nil || len(back) != len(tlv) {
			t.Fatalf("repack of %q: %v", b, err)
		}
		for k, v := range tlv {
			if back[k] != v {
				t.Fatalf("tag %s changed", k)
			}
		}
		if len(tlv) <= 1 && !bytes.Equal(again, b) {
			t.Fatalf("single TLV %q repacked as %q", b, again)
		}
	})
}
