package seckey

import (
	"errors"
	"testing"
)

func TestTrackEncryption(t *testing.T) {
	tdk, err := GenerateKey(DoubleLen)
	if err != nil {
		t.Fatal(err)
	}
	for _, track := range []string{
		"6222021234567890128=30122200000000000",   // 37: odd, ends in a pad nibble
		"1234567890123456789=0508201781999168302", // the UnionPay spec's example track
		"62220212345678901=3012220000",            // 28, even
	} {
		enc, err := EncryptTrack(tdk, track)
		if err != nil {
			t.Fatalf("%s: %v", track, err)
		}
		if len(enc) != len(track) || enc == track {
			t.Fatalf("%s: encrypted %q", track, enc)
		}
		// The block is the 8 bytes before the last: 16 characters ending
		// 2 (or 1, odd) characters before the end. The rest is untouched.
		n := (len(track) + 1) / 2
		from, to := 2*(n-9), 2*(n-1)
		if enc[:from] != track[:from] || enc[to:] != track[to:] {
			t.Errorf("%s: outside the block changed: %q", track, enc)
		}
		dec, err := DecryptTrack(tdk, enc)
		if err != nil || dec != track {
			t.Fatalf("%s: decrypted %q, %v", track, dec, err)
		}
		other, _ := GenerateKey(DoubleLen)
		if wrong, _ := DecryptTrack(other, enc); wrong == track {
			t.Errorf("%s: another key decrypts it", track)
		}
	}
	for _, bad := range []string{"", "123=4567", "6222021234567890128=3012220000000000X", "62220212345678901D3012220000"} {
		if _, err := EncryptTrack(tdk, bad); !errors.Is(err, ErrTrack) {
			t.Errorf("EncryptTrack(%q): %v", bad, err)
		}
	}
	if _, err := EncryptTrack(tdk[:8], "6222021234567890128=30122200000000000"); !errors.Is(err, ErrTrack) {
		t.Error("a single-length track key accepted")
	}
}

// FuzzDecryptTrack: the host side reads field 35 off the wire.
func FuzzDecryptTrack(f *testing.F) {
	f.Add("6222021234567890128=30122200000000000")
	f.Add("12345678901234567=ABCEF0123456789")
	f.Add("=")
	tdk, _ := ParseKeyHex("0123456789ABCDEFFEDCBA9876543210")
	f.Fuzz(func(t *testing.T, s string) {
		clear, err := DecryptTrack(tdk, s)
		if err != nil {
			return
		}
		if len(clear) != len(s) {
			t.Fatalf("length changed: %d to %d", len(s), len(clear))
		}
		back, err := EncryptTrack(tdk, clear)
		if err == nil && back != s {
			t.Fatalf("round trip %q -> %q -> %q", s, clear, back)
		}
	})
}
