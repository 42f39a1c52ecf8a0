package seckey

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"testing"
)

func testDeviceKey(t *testing.T) []byte {
	t.Helper()
	secret, err := NewDeviceSecret()
	if err != nil {
		t.Fatal(err)
	}
	dk := DeriveDeviceKey(secret, "12345678")
	if len(dk) != DeviceKeyLen {
		t.Fatalf("device key len %d", len(dk))
	}
	return dk
}

func TestSealOpenRoundTrip(t *testing.T) {
	dk := testDeviceKey(t)
	for _, n := range []int{8, 16} {
		k, _ := GenerateKey(n)
		sealed, err := SealKey(dk, k, "MAK")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(sealed, k) {
			t.Fatal("sealed blob contains the clear key")
		}
		if len(sealed) != 1+12+n+16 {
			t.Errorf("sealed len %d", len(sealed))
		}
		got, err := OpenKey(dk, sealed, "MAK")
		if err != nil || !got.Equal(k) {
			t.Fatalf("OpenKey = %v, %v", got, err)
		}
		// Random nonce: sealing twice gives different blobs.
		again, _ := SealKey(dk, k, "MAK")
		if bytes.Equal(again, sealed) {
			t.Error("two seals are identical; nonce not random")
		}
	}
}

func TestOpenKeyRejectsTamper(t *testing.T) {
	dk := testDeviceKey(t)
	k, _ := GenerateKey(16)
	sealed, err := SealKey(dk, k, "PIK")
	if err != nil {
		t.Fatal(err)
	}
	for i := range sealed {
		bad := bytes.Clone(sealed)
		bad[i] ^= 0x01
		if _, err := OpenKey(dk, bad, "PIK"); !errors.Is(err, ErrSealed) {
			t.Errorf("byte %d flipped: err = %v, want ErrSealed", i, err)
		}
	}
	for _, n := range []int{0, 1, 13, len(sealed) - 1} {
		if _, err := OpenKey(dk, sealed[:n], "PIK"); !errors.Is(err, ErrSealed) {
			t.Errorf("truncated to %d: err = %v", n, err)
		}
	}
	if _, err := OpenKey(dk, append(bytes.Clone(sealed), 0), "PIK"); !errors.Is(err, ErrSealed) {
		t.Errorf("extended: err = %v", err)
	}
	if _, err := OpenKey(dk, sealed, "MAK"); !errors.Is(err, ErrSealed) {
		t.Errorf("wrong label: err = %v", err)
	}
	if _, err := OpenKey(dk, sealed, ""); !errors.Is(err, ErrSealed) {
		t.Errorf("empty label: err = %v", err)
	}
	if _, err := OpenKey(testDeviceKey(t), sealed, "PIK"); !errors.Is(err, ErrSealed) {
		t.Errorf("wrong device key: err = %v", err)
	}
}

func TestSealArgumentErrors(t *testing.T) {
	k, _ := GenerateKey(16)
	if _, err := SealKey(make([]byte, 16), k, "x"); err == nil {
		t.Error("16-byte device key accepted")
	}
	if _, err := SealKey(nil, k, "x"); err == nil {
		t.Error("nil device key accepted")
	}
	if _, err := SealKey(make([]byte, 32), Key{1, 2, 3}, "x"); !errors.Is(err, ErrKeyLength) {
		t.Errorf("bad key: err = %v", err)
	}
	if _, err := OpenKey(make([]byte, 31), make([]byte, 40), "x"); err == nil {
		t.Error("31-byte device key accepted")
	}
}

// hkdfByHand is RFC 5869 extract-and-expand with crypto/hmac, for L <= 32.
func hkdfByHand(secret, salt, info []byte) []byte {
	ext := hmac.New(sha256.New, salt)
	ext.Write(secret)
	prk := ext.Sum(nil)
	exp := hmac.New(sha256.New, prk)
	exp.Write(info)
	exp.Write([]byte{1})
	return exp.Sum(nil)
}

func TestDeriveDeviceKey(t *testing.T) {
	secret := unhex(t, "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
	got := DeriveDeviceKey(secret, "12345678")
	want := hkdfByHand(secret, []byte(deviceKeySalt), []byte(deviceKeyInfo+"12345678"))
	if !bytes.Equal(got, want) {
		t.Fatalf("DeriveDeviceKey = %X, want %X", got, want)
	}
	if bytes.Equal(DeriveDeviceKey(secret, "12345679"), got) {
		t.Error("terminal ID does not change the key")
	}
	if !bytes.Equal(DeriveDeviceKey(secret, "12345678"), got) {
		t.Error("derivation not deterministic")
	}
	if DeriveDeviceKey(secret[:15], "12345678") != nil || DeriveDeviceKey(nil, "x") != nil {
		t.Error("short secret accepted")
	}
	// A nil device key from a missing secret must make sealing fail.
	k, _ := GenerateKey(8)
	if _, err := SealKey(DeriveDeviceKey(nil, "x"), k, "MAK"); err == nil {
		t.Error("sealed under a nil device key")
	}
}
