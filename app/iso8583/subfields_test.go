package iso8583

import "testing"

func TestField60(t *testing.T) {
	for _, c := range []struct {
		mt, batch, nc string
		rest          []string
		want          string
	}{
		{"00", "000001", "003", nil, "00000001003"},
		{"22", "000123", "000", []string{"5", "0"}, "2200012300050"},
		{"01", "999999", "", nil, "01999999"},
	} {
		v, err := Field60(c.mt, c.batch, c.nc, c.rest...)
		if err != nil || v != c.want {
			t.Fatalf("Field60 = %q, %v; want %q", v, err, c.want)
		}
		mt, batch, nc, rest, err := ParseField60(v)
		wantRest := ""
		for _, r := range c.rest {
			wantRest += r
		}
		if err != nil || mt != c.mt || batch != c.batch || nc != c.nc || rest != wantRest {
			t.Fatalf("ParseField60(%q) = %q %q %q %q %v", v, mt, batch, nc, rest, err)
		}
	}
	for _, bad := range [][4]string{
		{"2", "000001", "000"}, {"2A", "000001", "000"}, {"22", "00001", "000"},
		{"22", "000001", "0000"}, {"22", "000001", "00x"},
	} {
		if _, err := Field60(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("Field60(%q) accepted", bad)
		}
	}
	if _, err := Field60("22", "000001", "", "5"); err == nil {
		t.Error("60.4 without 60.3 accepted")
	}
	if _, err := Field60("22", "000001", "000", "5", "x"); err == nil {
		t.Error("non-digit 60.5 accepted")
	}
	if _, err := Field60("22", "000001", "000", "123456", "7"); err == nil {
		t.Error("field 60 over 17 digits accepted")
	}
	for _, bad := range []string{"", "2200000", "220000010", "2200000100", "22000001000123456789", "2200000100A"} {
		if _, _, _, _, err := ParseField60(bad); err == nil {
			t.Errorf("ParseField60(%q) accepted", bad)
		}
	}
}

func TestField61(t *testing.T) {
	v, err := Field61("000001", "000123", "")
	if err != nil || v != "000001000123" {
		t.Fatalf("void 61 = %q %v", v, err)
	}
	v, err = Field61("000001", "000123", "0428")
	if err != nil || v != "0000010001230428" {
		t.Fatalf("refund 61 = %q %v", v, err)
	}
	b, tr, d, rest, err := ParseField61(v + "123")
	if err != nil || b != "000001" || tr != "000123" || d != "0428" || rest != "123" {
		t.Fatalf("ParseField61 = %q %q %q %q %v", b, tr, d, rest, err)
	}
	b, tr, d, _, err = ParseField61("000001000123")
	if err != nil || b != "000001" || tr != "000123" || d != "" {
		t.Fatalf("ParseField61 void = %q %q %q %v", b, tr, d, err)
	}
	for _, bad := range [][3]string{{"00001", "000123", ""}, {"000001", "00012", ""}, {"000001", "000123", "428"}, {"000001", "000123", "04x8"}} {
		if _, err := Field61(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("Field61(%q) accepted", bad)
		}
	}
	if _, err := Field61("000001", "000123", "", "1"); err == nil {
		t.Error("61.4 without 61.3 accepted")
	}
	for _, bad := range []string{"00000100012", "0000010001230", "000001000123042", "000001000123042812345678901234", "00000100012A"} {
		if _, _, _, _, err := ParseField61(bad); err == nil {
			t.Errorf("ParseField61(%q) accepted", bad)
		}
	}
}
