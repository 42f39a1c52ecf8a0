package iso8583

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestDumpMasksCardData(t *testing.T) {
	m := sampleMessages(t)["sale 0200 chip"]
	m.Set(36, testTrack3)
	m.SetBytes(62, seq(40))
	d := Dump(m)
	for _, want := range []string{
		"0200 ", " 2=621700*********0123", " 35=***", " 36=***", " 52=<8 bytes>",
		" 55=<" + fmt.Sprint(len(testICC)) + " bytes>", " 62=<40 bytes>", " 4=000000012345",
		" 41=12345678", " 64=hex:A1B2C3D4E5F60718",
	} {
		if !strings.Contains(d, want) {
			t.Errorf("dump lacks %q:\n%s", want, d)
		}
	}
	for _, leak := range []string{testPAN, "0123=2512", "1122334455667788", "9F2608"} {
		if strings.Contains(strings.ToUpper(d), leak) {
			t.Errorf("dump leaks %q:\n%s", leak, d)
		}
	}
}

func TestMessageNeverPrintsPAN(t *testing.T) {
	m := sampleMessages(t)["sale 0200 swipe"]
	var logBuf bytes.Buffer
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("sending", "msg", m, "val", *m)
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("sending", "msg", m)
	outputs := []string{
		fmt.Sprint(m), fmt.Sprint(*m), fmt.Sprintf("%v", m), fmt.Sprintf("%+v", m), fmt.Sprintf("%#v", m),
		fmt.Sprintf("%s", m), fmt.Sprintf("%+v", *m), fmt.Sprintf("%#v", *m), fmt.Sprintf("%x", m),
		fmt.Sprintf("%v", []*Message{m}), fmt.Sprintf("%+v", map[string]*Message{"m": m}), logBuf.String(),
	}
	for i, s := range outputs {
		if strings.Contains(s, testPAN) || strings.Contains(s, "621700123456") {
			t.Errorf("output %d leaks the PAN: %s", i, s)
		}
		if !strings.Contains(s, "621700*********0123") {
			t.Errorf("output %d does not show the masked PAN: %s", i, s)
		}
	}
	var nilMsg *Message
	if s := fmt.Sprint(nilMsg); !strings.Contains(s, "nil") {
		t.Errorf("nil message prints %q", s)
	}
	if Dump(nil) != "<nil>" {
		t.Error("Dump(nil)")
	}
}

func TestDumpHidesBatchUploadCardNumbers(t *testing.T) {
	s := sampleMessages(t)
	d := Dump(s["batch upload 0320"])
	if strings.Contains(d, testPAN) || !strings.Contains(d, " 48=<43 bytes>") {
		t.Errorf("0320 field 48 not hidden: %s", d)
	}
	// Settlement totals are worth logging and hold no card data.
	if d := Dump(s["settlement 0500"]); !strings.Contains(d, " 48=00100000001234500") {
		t.Errorf("0500 field 48 should print: %s", d)
	}
}

func TestMaskPAN(t *testing.T) {
	for in, want := range map[string]string{
		"6217001234567890123": "621700*********0123",
		"6225881234567890":    "622588******7890",
		"1234567890123":       "123456***0123",
		"123456789012":        "***", // too short to hide enough
		"":                    "***",
		"62170012345678=0123": "***", // not all digits: never echo
	} {
		if got := MaskPAN(in); got != want {
			t.Errorf("MaskPAN(%d digits) = %q, want %q", len(in), got, want)
		}
	}
}

func TestMessageAccessors(t *testing.T) {
	var m Message // zero value must be usable
	m.Set(3, "000000")
	src := []byte{1, 2, 3}
	m.SetBytes(62, src)
	src[0] = 9
	if v, _ := m.GetBytes(62); v[0] != 1 {
		t.Fatal("SetBytes did not copy")
	}
	v, _ := m.GetBytes(62)
	v[1] = 9
	if w, _ := m.GetBytes(62); w[1] != 2 {
		t.Fatal("GetBytes did not copy")
	}
	if s, ok := m.Get(3); !ok || s != "000000" {
		t.Fatal("Get")
	}
	if _, ok := m.Get(4); ok || m.Has(4) {
		t.Fatal("absent field reported present")
	}
	if got := fmt.Sprint(m.Numbers()); got != "[3 62]" {
		t.Fatalf("Numbers = %s", got)
	}
	c := m.Clone()
	c.Fields[3][0] = '9'
	c.Unset(62)
	if s, _ := m.Get(3); s != "000000" || !m.Has(62) {
		t.Fatal("Clone shares storage")
	}
}
