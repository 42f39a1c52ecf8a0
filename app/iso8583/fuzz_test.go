package iso8583

import (
	"bytes"
	"testing"
)

func packedSamples(f *testing.F) [][]byte {
	samples := sampleMessages(f)
	var out [][]byte
	for _, name := range sortedNames(samples) {
		b, err := CUP.Pack(samples[name])
		if err != nil {
			f.Fatalf("%s: %v", name, err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzUnpack: Unpack never panics, and whatever it accepts packs back to
// the same bytes (the decoder accepts only canonical encodings).
func FuzzUnpack(f *testing.F) {
	for _, b := range packedSamples(f) {
		f.Add(b)
		f.Add(b[:len(b)-1])
		f.Add(append(append([]byte{}, b...), 0))
	}
	f.Add([]byte{})
	f.Add([]byte{0x02, 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := CUP.Unpack(b)
		if err != nil {
			if m != nil {
				t.Fatal("message returned with an error")
			}
			return
		}
		again, err := CUP.Pack(m)
		if err != nil {
			t.Fatalf("unpacked message does not pack: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("repack differs:\n in  %X\n out %X", b, again)
		}
		if m.Has(64) {
			if data, err := CUP.MACData(b); err != nil || len(data) != len(b)-8 {
				t.Fatalf("MACData: %d bytes, %v", len(data), err)
			}
		}
	})
}

// FuzzDecodeFrame: DecodeFrame never panics, re-encoding what it accepts
// gives the input back, and ReadFrame agrees with it.
func FuzzDecodeFrame(f *testing.F) {
	for i, body := range packedSamples(f) {
		fr := testFrame(body)
		fr.Header.ProcessingRequirement = uint8(i % 16)
		fr.Header.TerminalStatus = uint8(i % 2)
		b, err := EncodeFrame(fr)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte{})
	f.Add([]byte{0x00, 0x0B, 0x60, 0, 0, 0, 0, 0x60, 0x31, 0x03, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeFrame(b)
		rf, rerr := ReadFrame(bytes.NewReader(b), 0)
		if err != nil {
			// ReadFrame may still succeed when b holds one frame plus
			// extra bytes; it must never succeed on a prefix of one.
			if rerr == nil && len(b) >= 2 && int(b[0])<<8|int(b[1]) >= len(b)-2 {
				t.Fatalf("ReadFrame accepted what DecodeFrame rejected: %v", err)
			}
			return
		}
		again, err := EncodeFrame(fr)
		if err != nil {
			t.Fatalf("decoded frame does not encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encode differs:\n in  %X\n out %X", b, again)
		}
		if rerr != nil || rf.TPDU != fr.TPDU || rf.Header != fr.Header || !bytes.Equal(rf.Body, fr.Body) {
			t.Fatalf("ReadFrame disagrees: %v", rerr)
		}
	})
}

// FuzzPackRoundTrip: any value Pack accepts for a field unpacks to itself.
func FuzzPackRoundTrip(f *testing.F) {
	for n, v := range map[uint8]string{2: testPAN, 35: testTrack2, 22: "051", 23: "001", 48: "123", 63: "CUP", 62: "\x00\xff", 4: "000000000100"} {
		f.Add(n, []byte(v))
	}
	f.Fuzz(func(t *testing.T, n uint8, v []byte) {
		m := NewMessage("0200")
		m.SetBytes(int(n), v)
		b, err := CUP.Pack(m)
		if err != nil {
			return
		}
		back, err := CUP.Unpack(b)
		if err != nil {
			t.Fatalf("packed field %d does not unpack: %v", n, err)
		}
		if got, _ := back.GetBytes(int(n)); !bytes.Equal(got, v) || len(back.Fields) != 1 {
			t.Fatalf("field %d round trip differs", n)
		}
	})
}
