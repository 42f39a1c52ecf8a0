package evdev

import (
	"bytes"
	"encoding/hex"
	"math/rand"
	"reflect"
	"testing"
	"unsafe"
)

// encode is the inverse of decodeRecord, written independently of it.
func encode(size int, evs ...Event) []byte {
	var b []byte
	for _, ev := range evs {
		var r []byte
		if size == RecordSize64 {
			r = append(r, le64(uint64(ev.Sec))...)
			r = append(r, le64(uint64(ev.Usec))...)
		} else {
			r = append(r, le32(uint32(ev.Sec))...)
			r = append(r, le32(uint32(ev.Usec))...)
		}
		r = append(r, byte(ev.Type), byte(ev.Type>>8), byte(ev.Code), byte(ev.Code>>8))
		r = append(r, le32(uint32(ev.Value))...)
		b = append(b, r...)
	}
	return b
}

func le32(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
func le64(v uint64) []byte { return append(le32(uint32(v)), le32(uint32(v>>32))...) }

// keyStream is what a keypad sends for one tap of code: MSC_SCAN, the
// press, SYN_REPORT, the release, SYN_REPORT.
func keyStream(code uint16, usec int64) []Event {
	return []Event{
		{Sec: 1735732800, Usec: usec, Type: EvMsc, Code: 4, Value: 0x70027},
		{Sec: 1735732800, Usec: usec, Type: EvKey, Code: code, Value: KeyPress},
		{Sec: 1735732800, Usec: usec, Type: EvSyn, Code: SynReport},
		{Sec: 1735732800, Usec: usec + 90000, Type: EvKey, Code: code, Value: KeyRelease},
		{Sec: 1735732800, Usec: usec + 90000, Type: EvSyn, Code: SynReport},
	}
}

func TestNativeRecordSize(t *testing.T) {
	// struct input_event with Go's int standing in for C's long.
	type inputEvent struct {
		sec, usec int
		typ, code uint16
		value     int32
	}
	if want := int(unsafe.Sizeof(inputEvent{})); NativeRecordSize != want {
		t.Fatalf("NativeRecordSize %d, struct input_event here is %d", NativeRecordSize, want)
	}
}

func TestDecodeLayouts(t *testing.T) {
	// Hand-written records: KEY_ENTER pressed at 0x01020304.000005.
	r64, _ := hex.DecodeString("0403020100000000" + "0500000000000000" + "0100" + "1c00" + "01000000")
	r32, _ := hex.DecodeString("04030201" + "05000000" + "0100" + "1c00" + "01000000")
	want := Event{Sec: 0x01020304, Usec: 5, Type: EvKey, Code: 28, Value: 1}
	for _, tc := range []struct {
		size int
		rec  []byte
	}{{RecordSize64, r64}, {RecordSize32, r32}} {
		evs, n, skipped := Decode(tc.rec, tc.size)
		if n != tc.size || skipped != 0 || len(evs) != 1 || evs[0] != want {
			t.Errorf("size %d: %+v n=%d skipped=%d, want %+v", tc.size, evs, n, skipped, want)
		}
		if !bytes.Equal(encode(tc.size, want), tc.rec) {
			t.Errorf("size %d: test encoder disagrees with the hand-written record", tc.size)
		}
	}
	// A 32-bit timestamp past 2038 is unsigned, not negative.
	evs, _, _ := Decode(encode(RecordSize32, Event{Sec: 0xf0000000, Type: EvKey}), RecordSize32)
	if len(evs) != 1 || evs[0].Sec != 0xf0000000 {
		t.Errorf("32-bit seconds: %+v", evs)
	}
	// A negative value survives.
	evs, _, _ = Decode(encode(RecordSize64, Event{Type: 3, Value: -5}), RecordSize64)
	if len(evs) != 1 || evs[0].Value != -5 {
		t.Errorf("negative value: %+v", evs)
	}
}

func TestDecodeKeepsTail(t *testing.T) {
	for _, size := range []int{RecordSize32, RecordSize64} {
		stream := encode(size, keyStream(2, 1000)...)
		p := stream[:2*size+size/2]
		evs, n, skipped := Decode(p, size)
		if len(evs) != 2 || n != 2*size || skipped != 0 {
			t.Errorf("size %d: %d events, n=%d, skipped %d; want 2, %d, 0", size, len(evs), n, skipped, 2*size)
		}
		if evs, n, _ := Decode(stream[:size-1], size); evs != nil || n != 0 {
			t.Errorf("size %d: a short record decoded: %v n=%d", size, evs, n)
		}
	}
}

// TestDecodeRejectsImpossible: records no kernel sends are skipped.
func TestDecodeRejectsImpossible(t *testing.T) {
	for _, ev := range []Event{
		{Type: EvKey, Code: 2, Value: 3},      // key values are 0, 1, 2
		{Type: EvKey, Code: 2, Value: -1},     //
		{Type: EvKey, Code: KeyMax + 1},       // beyond KEY_MAX
		{Type: EvMsc, Code: 8},                // beyond MSC_MAX
		{Type: 0x06, Code: 0},                 // no such type
		{Type: evMax + 1},                     //
		{Usec: 1000000, Type: EvKey, Code: 2}, // not a normalised timeval
	} {
		for _, size := range []int{RecordSize32, RecordSize64} {
			if evs, _, _ := Decode(encode(size, ev), size); len(evs) != 0 {
				t.Errorf("size %d: %+v accepted", size, ev)
			}
		}
	}
	if evs, _, _ := Decode(encode(RecordSize64, Event{Type: 0x16, Code: 0xffff, Value: 9}), RecordSize64); len(evs) != 1 {
		t.Error("EV_PWR with any code rejected")
	}
}

func TestDecodeBadSize(t *testing.T) {
	p := encode(RecordSize64, keyStream(2, 0)...)
	for _, size := range []int{0, -1, 8, 20, 32} {
		if evs, n, skipped := Decode(p, size); evs != nil || n != 0 || skipped != 0 {
			t.Errorf("size %d: %v %d %d", size, evs, n, skipped)
		}
	}
}

// TestDecodeResync: a stray byte, or a lost one, costs the records it
// touches and decoding picks up again at the next real record.
func TestDecodeResync(t *testing.T) {
	for _, size := range []int{RecordSize32, RecordSize64} {
		a, b := keyStream(2, 1000), keyStream(3, 500000)
		good := encode(size, b...)
		for name, p := range map[string][]byte{
			"stray byte": append(append(encode(size, a...), 0xff), good...),
			"lost byte":  append(encode(size, a...)[:5*size-1], good...),
			"garbage":    append(bytes.Repeat([]byte{0xee}, 3*size+7), good...),
		} {
			evs, n, skipped := Decode(p, size)
			if skipped == 0 || n != len(p) {
				t.Errorf("size %d %s: skipped %d n %d of %d", size, name, skipped, n, len(p))
			}
			// A lost byte also spoils the first record after it (here
			// MSC_SCAN); the press and release that follow must survive.
			if len(evs) < len(b)-1 || !reflect.DeepEqual(evs[len(evs)-len(b)+1:], b[1:]) {
				t.Errorf("size %d %s: the records after the damage were not recovered: %+v", size, name, evs)
			}
		}
	}
}

func TestDecodeAnySplit(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for _, size := range []int{RecordSize32, RecordSize64} {
		var evs []Event
		for i := 0; i < 20; i++ {
			evs = append(evs, keyStream(uint16(2+i%10), int64(i*1000))...)
		}
		stream := encode(size, evs...)
		stream = append(stream[:7*size+3], append([]byte{0x42}, stream[7*size+3:]...)...) // one stray byte too
		whole, _, _ := Decode(stream, size)
		for trial := 0; trial < 50; trial++ {
			if got := decodeChunked(stream, size, rng); !reflect.DeepEqual(got, whole) {
				t.Fatalf("size %d: chunked decode differs: %d events vs %d", size, len(got), len(whole))
			}
		}
	}
}

// decodeChunked decodes p as reads of random length would deliver it,
// keeping the tail the way the driver does.
func decodeChunked(p []byte, size int, rng *rand.Rand) []Event {
	var out []Event
	var buf []byte
	for len(p) > 0 {
		c := 1 + rng.Intn(3*size)
		if c > len(p) {
			c = len(p)
		}
		buf = append(buf, p[:c]...)
		p = p[c:]
		evs, n, _ := Decode(buf, size)
		out = append(out, evs...)
		buf = append([]byte(nil), buf[n:]...)
	}
	return out
}

// FuzzDecode: Decode never panics, consumes all but a partial record,
// only returns events a kernel could send, decodes the same however the
// bytes are split, and re-encoded events decode unchanged.
func FuzzDecode(f *testing.F) {
	f.Add(encode(RecordSize64, keyStream(28, 1)...), uint8(0), uint16(7))
	f.Add(encode(RecordSize32, keyStream(82, 999999)...), uint8(1), uint16(16))
	f.Add(append([]byte{1, 2, 3}, encode(RecordSize32, keyStream(2, 0)...)...), uint8(1), uint16(40))
	f.Add([]byte{}, uint8(0), uint16(0))
	f.Add(bytes.Repeat([]byte{0xff}, 100), uint8(0), uint16(50))
	f.Fuzz(func(t *testing.T, data []byte, sel uint8, cut uint16) {
		size := RecordSize64
		if sel&1 == 1 {
			size = RecordSize32
		}
		evs, n, skipped := Decode(data, size)
		if n < 0 || n > len(data) || len(data)-n >= size {
			t.Fatalf("consumed %d of %d with size %d", n, len(data), size)
		}
		if skipped < 0 || n-skipped != len(evs)*size {
			t.Fatalf("consumed %d, skipped %d, %d events of %d bytes", n, skipped, len(evs), size)
		}
		for _, ev := range evs {
			if !plausible(ev) || ev.Type > evMax || ev.Usec < 0 || ev.Usec >= 1e6 {
				t.Fatalf("impossible event %+v", ev)
			}
		}
		c := int(cut)
		if c > len(data) {
			c = len(data)
		}
		first, n1, _ := Decode(data[:c], size)
		rest := append(append([]byte(nil), data[n1:c]...), data[c:]...)
		second, n2, _ := Decode(rest, size)
		if got := append(first, second...); !reflect.DeepEqual(got, evs) && (len(got) > 0 || len(evs) > 0) {
			t.Fatalf("split at %d: %+v, whole: %+v", c, got, evs)
		}
		if n1+n2 != n {
			t.Fatalf("split at %d consumed %d+%d, whole %d", c, n1, n2, n)
		}
		again, _, sk := Decode(encode(size, evs...), size)
		if sk != 0 || (len(evs) > 0 && !reflect.DeepEqual(again, evs)) {
			t.Fatalf("round trip: %+v -> %+v (skipped %d)", evs, again, sk)
		}
	})
}
