package seckey

import (
	"bytes"
	"crypto/des"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

// Test helpers compute expected values with crypto/des directly, never with
// the package's own functions, so a bug cannot confirm itself.

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

func desEnc(t testing.TB, key8, blk []byte) []byte {
	t.Helper()
	c, err := des.NewCipher(key8)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 8)
	c.Encrypt(out, blk)
	return out
}

func desDec(t testing.TB, key8, blk []byte) []byte {
	t.Helper()
	c, err := des.NewCipher(key8)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, 8)
	c.Decrypt(out, blk)
	return out
}

// tdesEnc is E(K1) D(K2) E(K1) spelled out with single DES.
func tdesEnc(t testing.TB, key16, blk []byte) []byte {
	t.Helper()
	return desEnc(t, key16[:8], desDec(t, key16[8:], desEnc(t, key16[:8], blk)))
}

func TestDESKnownAnswer(t *testing.T) {
	// The classic "Now is t" vector (FIPS 81 appendix / Schneier).
	k := Key(unhex(t, "0123456789ABCDEF"))
	pt := unhex(t, "4E6F772069732074")
	want := unhex(t, "3FA40E8A984D4815")
	got, err := k.Encrypt(pt)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("DES encrypt = %X, want %X", got, want)
	}
	back, err := k.Decrypt(got)
	if err != nil || !bytes.Equal(back, pt) {
		t.Fatalf("DES decrypt = %X, %v; want %X", back, err, pt)
	}
}

func TestTripleDESWithEqualHalvesIsSingleDES(t *testing.T) {
	k := Key(unhex(t, "0123456789ABCDEF0123456789ABCDEF"))
	got, err := k.Encrypt(unhex(t, "4E6F772069732074"))
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "3FA40E8A984D4815"); !bytes.Equal(got, want) {
		t.Fatalf("3DES K1=K2 = %X, want single-DES %X", got, want)
	}
}

func TestTripleDESIsEDE(t *testing.T) {
	key := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	pt := unhex(t, "1122334455667788")
	want := tdesEnc(t, key, pt)
	got, err := Key(key).Encrypt(pt)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("3DES = %X, want %X", got, want)
	}
	back, err := Key(key).Decrypt(got)
	if err != nil || !bytes.Equal(back, pt) {
		t.Fatalf("3DES decrypt = %X, %v", back, err)
	}
	// Both halves must matter: changing K2 must change the result.
	key2 := bytes.Clone(key)
	key2[15] ^= 0x02 // not a parity bit
	if other, _ := Key(key2).Encrypt(pt); bytes.Equal(other, got) {
		t.Fatal("K2 ignored")
	}
}

func TestKeyErrors(t *testing.T) {
	for _, n := range []int{0, 7, 9, 15, 24} {
		if _, err := Key(make([]byte, n)).Encrypt(make([]byte, 8)); !errors.Is(err, ErrKeyLength) {
			t.Errorf("key len %d: err = %v, want ErrKeyLength", n, err)
		}
		if CheckValue(Key(make([]byte, n))) != nil {
			t.Errorf("CheckValue of %d-byte key not nil", n)
		}
	}
	for _, n := range []int{0, 7, 9, 16} {
		if _, err := Key(make([]byte, 8)).Decrypt(make([]byte, n)); !errors.Is(err, ErrBlockLength) {
			t.Errorf("block len %d: err = %v, want ErrBlockLength", n, err)
		}
	}
}

func TestCheckValue(t *testing.T) {
	zero := make([]byte, 8)
	single := unhex(t, "0123456789ABCDEF")
	if got, want := CheckValue(single), desEnc(t, single, zero)[:4]; !bytes.Equal(got, want) {
		t.Errorf("single KCV = %X, want %X", got, want)
	}
	double := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	if got, want := CheckValue(double), tdesEnc(t, double, zero)[:4]; !bytes.Equal(got, want) {
		t.Errorf("double KCV = %X, want %X", got, want)
	}
	// Published values (code456.com sign-on example): a double-length PIK
	// and a single-length MAK with their check values.
	if got := CheckValue(unhex(t, "807A23AD32B36D457AE91FDF927570EA")); !bytes.Equal(got, unhex(t, "8D0A74B8")) {
		t.Errorf("published PIK KCV = %X, want 8D0A74B8", got)
	}
	if got := CheckValue(unhex(t, "5BB5C72CD00B7338")); !bytes.Equal(got, unhex(t, "AB7153CA")) {
		t.Errorf("published MAK KCV = %X, want AB7153CA", got)
	}
	if len(CheckValue(double)) != 4 || cap(CheckValue(double)) != 4 {
		t.Error("KCV must be exactly 4 bytes with no hidden tail")
	}
}

func TestKeyNeverPrintsItself(t *testing.T) {
	k := Key(unhex(t, "0123456789ABCDEFFEDCBA9876543210"))
	secretHex := []string{"0123456789ABCDEF", "0123456789abcdef", "FEDCBA9876543210", "fedcba9876543210", "01 23 45"}
	kcv := strings.ToUpper(hex.EncodeToString(tdesEnc(t, k, make([]byte, 8))[:4]))
	if got, want := k.String(), "<key kcv="+kcv+">"; got != want {
		t.Fatalf("String = %q, want %q", got, want)
	}
	wk := WorkingKeys{PIK: k, MAK: k[:8]}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "% x", "%d", "%T %v"} {
		outs = append(outs, fmt.Sprintf(verb, k), fmt.Sprintf(verb, wk), fmt.Sprintf(verb, &wk))
	}
	outs = append(outs, fmt.Sprint(k), fmt.Sprintln(wk), fmt.Sprintf("%v", []Key{k}),
		fmt.Sprintf("%v", struct{ K Key }{k}))
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("keys", "k", k, "wk", wk)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("keys", "k", k, "wk", wk)
	outs = append(outs, logBuf.String())
	for _, o := range outs {
		for _, h := range secretHex {
			if strings.Contains(o, h) {
				t.Errorf("formatted key leaks %q: %s", h, o)
			}
		}
		// Base64 of the key as encoding/json would write a []byte.
		if strings.Contains(o, "ASNFZ4mrze/+3LqYdlQyEA") {
			t.Errorf("formatted key leaks base64: %s", o)
		}
	}
	if _, err := json.Marshal(wk); err == nil {
		t.Error("json.Marshal of clear keys succeeded")
	}
	if Key(nil).String() != "<key none>" || !strings.Contains(Key(make([]byte, 5)).String(), "invalid") {
		t.Error("nil / invalid key strings wrong")
	}
}

func TestParseKeyHex(t *testing.T) {
	k, err := ParseKeyHex("0123456789abcdefFEDCBA9876543210")
	if err != nil || !bytes.Equal(k, unhex(t, "0123456789ABCDEFFEDCBA9876543210")) {
		t.Fatalf("ParseKeyHex = %X, %v", []byte(k), err)
	}
	for _, s := range []string{"", "0123", "0123456789ABCDEG", "0123456789ABCDEF00"} {
		_, err := ParseKeyHex(s)
		if err == nil {
			t.Errorf("ParseKeyHex(%q) accepted", s)
		} else if len(s) > 4 && strings.Contains(err.Error(), s[:8]) {
			t.Errorf("error echoes key text: %v", err)
		}
	}
	if !SimulatorTMK().Equal(unhex(t, simulatorTMK)) {
		t.Error("SimulatorTMK mismatch")
	}
	a := SimulatorTMK()
	a[0] ^= 1
	if SimulatorTMK().Equal(a) {
		t.Error("SimulatorTMK shares storage between calls")
	}
}

func TestGenerateKey(t *testing.T) {
	for _, n := range []int{8, 16} {
		k, err := GenerateKey(n)
		if err != nil || len(k) != n {
			t.Fatalf("GenerateKey(%d) = len %d, %v", n, len(k), err)
		}
		for i, b := range k {
			ones := 0
			for v := b; v != 0; v >>= 1 {
				ones += int(v & 1)
			}
			if ones%2 != 1 {
				t.Errorf("byte %d = %02X has even parity", i, b)
			}
		}
	}
	if _, err := GenerateKey(12); !errors.Is(err, ErrKeyLength) {
		t.Errorf("GenerateKey(12) err = %v", err)
	}
	a, _ := GenerateKey(16)
	b, _ := GenerateKey(16)
	if a.Equal(b) {
		t.Error("two generated keys are equal")
	}
}

func TestZero(t *testing.T) {
	k := Key(unhex(t, "0123456789ABCDEF"))
	wk := WorkingKeys{PIK: k, MAK: bytes.Clone(k)}
	wk.Zero()
	if !allZero(k) || !allZero(wk.MAK) {
		t.Fatal("Zero left key bytes")
	}
}
