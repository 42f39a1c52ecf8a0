package seckey

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// FuzzParseField62 checks that any bytes, any mode value and any TMK length
// give an error or keys, never a panic, and that accepted keys re-encode to
// the same field.
func FuzzParseField62(f *testing.F) {
	pub, _ := hex.DecodeString("6701EAD6A9AD51E51AA406E2C27FCFA98D0A74B8B651F9E9BACE9AE10000000000000000AB7153CA")
	f.Add(pub, 1, 16)
	f.Add(make([]byte, 24), 0, 16)
	f.Add(make([]byte, 60), 2, 8)
	f.Add([]byte{}, -1, 0)
	f.Add(make([]byte, 40), 7, 24)
	f.Fuzz(func(t *testing.T, data []byte, mode int, tmkLen int) {
		var tmk Key
		if tmkLen == 16 && bytes.Equal(data, pub) {
			tmk, _ = ParseKeyHex(pubTMK)
		} else {
			tmk = make(Key, max(0, min(tmkLen, 64)))
			for i := range tmk {
				tmk[i] = byte(i*37 + 11)
			}
		}
		wk, err := ParseField62(tmk, data, KeyMode(mode))
		if err != nil {
			return
		}
		again, err := BuildField62(tmk, wk, KeyMode(mode))
		if err != nil {
			t.Fatalf("accepted keys do not rebuild: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("rebuild differs:\n%X\n%X", again, data)
		}
	})
}

// FuzzDecodePINBlock checks that any block, PAN and key length decode or
// fail without panicking, and that a decoded PIN re-encodes to the block.
func FuzzDecodePINBlock(f *testing.F) {
	pik16, _ := ParseKeyHex("0123456789ABCDEFFEDCBA9876543210")
	good, _ := PINBlock(pik16, "1234", "4111111111111111")
	f.Add(good, "4111111111111111", 16)
	f.Add([]byte{1, 2, 3}, "", 8)
	f.Add(make([]byte, 8), "1234567890123", 8)
	f.Add(make([]byte, 9), "62220212345678901234", 0)
	f.Fuzz(func(t *testing.T, block []byte, pan string, pikLen int) {
		var pik Key
		switch pikLen {
		case 16:
			pik = pik16
		case 8:
			pik = pik16[:8]
		default:
			pik = make(Key, max(0, min(pikLen, 32)))
		}
		pin, err := DecodePINBlock(pik, block, pan)
		if err != nil {
			return
		}
		again, err := PINBlock(pik, pin, pan)
		if err != nil {
			t.Fatalf("decoded PIN does not re-encode: %v", err)
		}
		if !bytes.Equal(again, block) {
			t.Fatalf("re-encoded block differs")
		}
		if ok, err := VerifyPINBlock(pik, block, pan, pin); !ok || err != nil {
			t.Fatalf("VerifyPINBlock(decoded PIN) = %v, %v", ok, err)
		}
	})
}
