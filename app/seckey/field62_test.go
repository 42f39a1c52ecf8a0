package seckey

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// A published 40-byte CUP field 62 (code456.com, "POS终端密事之工作密钥解密"):
// PIK 16 + KCV, MAK 8 + 8 zero filler + KCV, with the clear keys it gives.
const (
	pubTMK     = "CA5D92598DCA48CE8A4C76361A9269E9"
	pubField62 = "6701EAD6A9AD51E51AA406E2C27FCFA9 8D0A74B8 B651F9E9BACE9AE1 0000000000000000 AB7153CA"
	pubPIK     = "807A23AD32B36D457AE91FDF927570EA"
	pubMAK     = "5BB5C72CD00B7338"
)

func TestParseField62PublishedExample(t *testing.T) {
	tmk := Key(unhex(t, pubTMK))
	data := unhex(t, pubField62)
	wk, err := ParseField62(tmk, data, Double)
	if err != nil {
		t.Fatalf("ParseField62: %v", err)
	}
	if !bytes.Equal(wk.PIK, unhex(t, pubPIK)) || !bytes.Equal(wk.MAK, unhex(t, pubMAK)) || wk.TDK != nil {
		t.Fatalf("keys = %X %X %X", []byte(wk.PIK), []byte(wk.MAK), []byte(wk.TDK))
	}
	// The host side must reproduce the published bytes exactly.
	built, err := BuildField62(tmk, wk, Double)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, data) {
		t.Fatalf("BuildField62 = %X\nwant            %X", built, data)
	}
}

func TestParseField62LayoutByHand(t *testing.T) {
	// Single mode, assembled with crypto/des directly.
	tmk := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	pik := unhex(t, "1111111111111111")
	mak := unhex(t, "2222222222222222")
	zero := make([]byte, 8)
	var data []byte
	data = append(data, tdesEnc(t, tmk, pik)...)
	data = append(data, desEnc(t, pik, zero)[:4]...)
	data = append(data, tdesEnc(t, tmk, mak)...)
	data = append(data, desEnc(t, mak, zero)[:4]...)
	wk, err := ParseField62(tmk, data, Single)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(wk.PIK, pik) || !bytes.Equal(wk.MAK, mak) {
		t.Fatalf("Single: keys %X %X", []byte(wk.PIK), []byte(wk.MAK))
	}
}

func genKeys(t *testing.T, pik, mak, tdk int) WorkingKeys {
	t.Helper()
	var wk WorkingKeys
	var err error
	if wk.PIK, err = GenerateKey(pik); err != nil {
		t.Fatal(err)
	}
	if wk.MAK, err = GenerateKey(mak); err != nil {
		t.Fatal(err)
	}
	if tdk > 0 {
		if wk.TDK, err = GenerateKey(tdk); err != nil {
			t.Fatal(err)
		}
	}
	return wk
}

func TestField62RoundTrip(t *testing.T) {
	cases := []struct {
		name          string
		mode          KeyMode
		pik, mak, tdk int
		size          int
	}{
		{"single", Single, 8, 8, 0, 24},
		{"double, single MAK", Double, 16, 8, 0, 40},
		{"double, double MAK", Double, 16, 16, 0, 40},
		{"double+TDK, single MAK", DoubleWithTDK, 16, 8, 16, 60},
		{"double+TDK, double MAK", DoubleWithTDK, 16, 16, 16, 60},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, tmkLen := range []int{8, 16} {
				tmk, _ := GenerateKey(tmkLen)
				in := genKeys(t, tc.pik, tc.mak, tc.tdk)
				data, err := BuildField62(tmk, in, tc.mode)
				if err != nil {
					t.Fatal(err)
				}
				if len(data) != tc.size {
					t.Fatalf("len = %d, want %d", len(data), tc.size)
				}
				if m, err := KeyModeForLength(len(data)); err != nil || m != tc.mode {
					t.Errorf("KeyModeForLength(%d) = %v, %v", len(data), m, err)
				}
				if tc.mode != Single && tc.mak == 8 && !allZero(data[28:36]) {
					t.Error("single MAK filler not zero")
				}
				out, err := ParseField62(tmk, data, tc.mode)
				if err != nil {
					t.Fatal(err)
				}
				if !out.PIK.Equal(in.PIK) || !out.MAK.Equal(in.MAK) || !out.TDK.Equal(in.TDK) ||
					len(out.MAK) != tc.mak || (tc.tdk == 0) != (out.TDK == nil) {
					t.Fatalf("round trip changed keys: %v -> %v", in, out)
				}
			}
		})
	}
}

func TestField62CheckValueMismatchNamesKey(t *testing.T) {
	tmk := SimulatorTMK()
	in := genKeys(t, 16, 8, 16)
	data, err := BuildField62(tmk, in, DoubleWithTDK)
	if err != nil {
		t.Fatal(err)
	}
	// KCV offsets: PIK 16..20, MAK 36..40, TDK 56..60; also corrupt ciphertexts.
	for _, tc := range []struct {
		at   int
		name string
	}{{17, "PIK"}, {3, "PIK"}, {38, "MAK"}, {21, "MAK"}, {59, "TDK"}, {45, "TDK"}} {
		bad := bytes.Clone(data)
		bad[tc.at] ^= 0x10
		_, err := ParseField62(tmk, bad, DoubleWithTDK)
		if !errors.Is(err, ErrCheckValue) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("byte %d flipped: err = %v, want KCV mismatch naming %s", tc.at, err, tc.name)
		}
		assertNoKeyBytes(t, err, tmk, in.PIK, in.MAK, in.TDK)
	}
	// Wrong TMK: the first key checked fails.
	other, _ := GenerateKey(16)
	if _, err := ParseField62(other, data, DoubleWithTDK); !errors.Is(err, ErrCheckValue) || !strings.Contains(err.Error(), "PIK") {
		t.Errorf("wrong TMK: err = %v", err)
	}
}

func assertNoKeyBytes(t *testing.T, err error, keys ...Key) {
	t.Helper()
	if err == nil {
		return
	}
	msg := strings.ToUpper(err.Error())
	for _, k := range keys {
		if len(k) >= 4 && strings.Contains(msg, upperHex(k[:4])) {
			t.Errorf("error text contains key bytes: %v", err)
		}
	}
}

func TestField62WrongLength(t *testing.T) {
	tmk := SimulatorTMK()
	for _, tc := range []struct {
		mode KeyMode
		n    int
		want string
	}{
		{Single, 40, "expects 24 bytes, got 40"},
		{Double, 24, "expects 40 bytes, got 24"},
		{Double, 60, "expects 40 bytes, got 60"},
		{DoubleWithTDK, 40, "expects 60 bytes, got 40"},
		{Double, 0, "expects 40 bytes, got 0"},
		{Double, 56, "expects 40 bytes, got 56"},
	} {
		_, err := ParseField62(tmk, make([]byte, tc.n), tc.mode)
		if !errors.Is(err, ErrField62Length) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v with %d bytes: err = %v, want %q", tc.mode, tc.n, err, tc.want)
		}
	}
	if _, err := ParseField62(tmk, make([]byte, 40), KeyMode(7)); !errors.Is(err, ErrKeyMode) {
		t.Errorf("bad mode: err = %v", err)
	}
	if _, err := ParseField62(Key{1, 2, 3}, make([]byte, 40), Double); !errors.Is(err, ErrKeyLength) {
		t.Errorf("bad TMK: err = %v", err)
	}
	if _, err := KeyModeForLength(56); !errors.Is(err, ErrField62Length) {
		t.Errorf("KeyModeForLength(56) err = %v", err)
	}
}

func TestBuildField62Rejects(t *testing.T) {
	tmk := SimulatorTMK()
	for _, tc := range []struct {
		name string
		wk   WorkingKeys
		mode KeyMode
	}{
		{"double PIK in single mode", genKeys(t, 16, 8, 0), Single},
		{"double MAK in single mode", genKeys(t, 8, 16, 0), Single},
		{"single PIK in double mode", genKeys(t, 8, 8, 0), Double},
		{"TDK in double mode", genKeys(t, 16, 8, 16), Double},
		{"missing TDK", genKeys(t, 16, 8, 0), DoubleWithTDK},
		{"single TDK", genKeys(t, 16, 8, 8), DoubleWithTDK},
		{"missing MAK", WorkingKeys{PIK: SimulatorTMK()}, Double},
		{"bad mode", genKeys(t, 16, 8, 0), KeyMode(-1)},
	} {
		if _, err := BuildField62(tmk, tc.wk, tc.mode); err == nil {
			t.Errorf("%s: accepted", tc.name)
		} else {
			assertNoKeyBytes(t, err, tc.wk.PIK, tc.wk.MAK, tc.wk.TDK)
		}
	}
}

func TestKeyModeNames(t *testing.T) {
	for _, m := range []KeyMode{Single, Double, DoubleWithTDK} {
		if got, err := ParseKeyMode(m.Code60_3()); err != nil || got != m {
			t.Errorf("ParseKeyMode(%q) = %v, %v", m.Code60_3(), got, err)
		}
		if got, err := ParseKeyModeName(m.String()); err != nil || got != m {
			t.Errorf("ParseKeyModeName(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseKeyMode("002"); err == nil {
		t.Error("ParseKeyMode(002) accepted")
	}
	if _, err := ParseKeyModeName("triple"); err == nil {
		t.Error("ParseKeyModeName(triple) accepted")
	}
}
