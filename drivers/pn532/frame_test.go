package pn532

import (
	"bufio"
	"bytes"
	"errors"
	"testing"
)

func TestFrames(t *testing.T) {
	// UM0701-02's SAMConfiguration example, and the chip's answer.
	f, err := EncodeFrame(tfiHost, []byte{0x14, 0x01, 0x14, 0x01})
	if err != nil || !bytes.Equal(f, []byte{0x00, 0x00, 0xFF, 0x05, 0xFB, 0xD4, 0x14, 0x01, 0x14, 0x01, 0x02, 0x00}) {
		t.Errorf("SAMConfiguration frame % X, %v", f, err)
	}
	// An answer after noise and an ACK, as it comes on the line.
	line := []byte{0x55, 0x00, 0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0x00, 0x00, 0xFF, 0x02, 0xFE, 0xD5, 0x15, 0x16, 0x00}
	r := bufio.NewReader(bytes.NewReader(line))
	if a, err := ReadFrame(r); err != nil || !a.ACK {
		t.Fatalf("ACK: %+v %v", a, err)
	}
	if a, err := ReadFrame(r); err != nil || a.TFI != tfiChip || !bytes.Equal(a.Data, []byte{0x15}) {
		t.Fatalf("answer: %+v %v", a, err)
	}
	// Extended frames above 254 bytes, both ways.
	big := bytes.Repeat([]byte{0xA5}, 300)
	f, _ = EncodeFrame(tfiChip, big[:263])
	if f[3] != 0xFF || f[4] != 0xFF {
		t.Errorf("no extended frame for 263 bytes: % X", f[:8])
	}
	got, err := ReadFrame(bufio.NewReader(bytes.NewReader(f)))
	if err != nil || !bytes.Equal(got.Data, big[:263]) {
		t.Errorf("extended round trip: %v", err)
	}
	if _, err := EncodeFrame(tfiHost, big); err == nil {
		t.Error("a 300-byte frame encoded")
	}
	// Checksums and the chip's error frame.
	bad := append([]byte{}, f...)
	bad[20] ^= 1
	if _, err := ReadFrame(bufio.NewReader(bytes.NewReader(bad))); !errors.Is(err, ErrChecksum) {
		t.Errorf("bad data checksum: %v", err)
	}
	if _, err := ReadFrame(bufio.NewReader(bytes.NewReader([]byte{0x00, 0x00, 0xFF, 0x05, 0xFA, 0xD5}))); !errors.Is(err, ErrChecksum) {
		t.Errorf("bad length checksum: %v", err)
	}
	e, err := ReadFrame(bufio.NewReader(bytes.NewReader([]byte{0x00, 0x00, 0xFF, 0x01, 0xFF, 0x7F, 0x81, 0x00})))
	if err != nil || e.TFI != tfiError {
		t.Errorf("error frame: %+v %v", e, err)
	}
	if n, err := ReadFrame(bufio.NewReader(bytes.NewReader(nackFrame))); err != nil || !n.NACK {
		t.Errorf("NACK: %+v %v", n, err)
	}
}

func FuzzReadFrame(f *testing.F) {
	sam, _ := EncodeFrame(tfiHost, []byte{0x14, 0x01, 0x14, 0x01})
	ext, _ := EncodeFrame(tfiChip, bytes.Repeat([]byte{7}, 260))
	for _, s := range [][]byte{sam, ext, ackFrame, nackFrame, {0x00, 0x00, 0xFF, 0x01, 0xFF, 0x7F, 0x81, 0x00}, {0x55, 0x55, 0x00, 0x00}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bufio.NewReader(bytes.NewReader(b))
		for i := 0; i < 8; i++ {
			fr, err := ReadFrame(r)
			if err != nil {
				return
			}
			if fr.ACK || fr.NACK {
				continue
			}
			// What parsed encodes back to a frame that parses the same.
			enc, err := EncodeFrame(fr.TFI, fr.Data)
			if err != nil {
				t.Fatalf("a %d-byte frame read but not encodable: %v", len(fr.Data), err)
			}
			again, err := ReadFrame(bufio.NewReader(bytes.NewReader(enc)))
			if err != nil || again.TFI != fr.TFI || !bytes.Equal(again.Data, fr.Data) {
				t.Fatalf("round trip: %v", err)
			}
		}
	})
}
