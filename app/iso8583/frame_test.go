package iso8583

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

func testFrame(body []byte) Frame {
	return Frame{
		TPDU:   TPDU{ID: TPDUID, Dest: 0x0003, Src: 0x0000},
		Header: Header{AppType: 60, SoftwareVersion: 31, TerminalStatus: 0, ProcessingRequirement: ProcNone},
		Body:   body,
	}
}

func TestEncodeFrameByHand(t *testing.T) {
	f := testFrame([]byte{0x08, 0x00, 1, 2, 3})
	f.Header.Reserved = [3]byte{0xAA, 0xBB, 0xCC}
	got, err := EncodeFrame(f)
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t,
		"0010",            // length: 5 TPDU + 6 header + 5 body = 16
		"60 0003 0000",    // TPDU
		"60 31 00 AABBCC", // header: app 60, version 31, status 0 / proc 0, reserved
		"0800 010203",     // body
	)
	if !bytes.Equal(got, want) {
		t.Fatalf("got %X\nwant %X", got, want)
	}
	back, err := DecodeFrame(got)
	if err != nil {
		t.Fatal(err)
	}
	if back.TPDU != f.TPDU || back.Header != f.Header || !bytes.Equal(back.Body, f.Body) {
		t.Fatalf("decode: %+v", back)
	}
}

func TestTPDUSwap(t *testing.T) {
	req := TPDU{ID: TPDUID, Dest: 0x0003, Src: 0x1234}
	rep := req.Swap()
	if rep != (TPDU{ID: TPDUID, Dest: 0x1234, Src: 0x0003}) {
		t.Fatalf("swap = %+v", rep)
	}
	if rep.Swap() != req {
		t.Fatal("swap twice is not identity")
	}
	b, _ := EncodeFrame(Frame{TPDU: rep, Header: testFrame(nil).Header})
	if !bytes.Equal(b[2:7], unhex(t, "60 1234 0003")) {
		t.Fatalf("swapped TPDU on wire %X", b[2:7])
	}
}

func TestHeaderNibbles(t *testing.T) {
	f := testFrame(nil)
	f.Header.TerminalStatus = 1
	f.Header.ProcessingRequirement = ProcSignOnAgain
	b, err := EncodeFrame(f)
	if err != nil {
		t.Fatal(err)
	}
	if b[9] != 0x13 {
		t.Fatalf("status/proc byte %02X, want 13", b[9])
	}
	// A host reply asking to sign on again, and one asking for nothing.
	for byteVal, want := range map[byte][2]uint8{0x03: {0, 3}, 0x00: {0, 0}, 0x1F: {1, 15}, 0xF0: {15, 0}} {
		b := unhex(t, "000B 60 0000 0003 60 31 00 000000")
		b[9] = byteVal
		f, err := DecodeFrame(b)
		if err != nil {
			t.Fatal(err)
		}
		if f.Header.TerminalStatus != want[0] || f.Header.ProcessingRequirement != want[1] {
			t.Errorf("byte %02X: status %d proc %d, want %v", byteVal, f.Header.TerminalStatus, f.Header.ProcessingRequirement, want)
		}
		if f.Header.AppType != 60 || f.Header.SoftwareVersion != 31 {
			t.Errorf("app type %d version %d", f.Header.AppType, f.Header.SoftwareVersion)
		}
	}
	for _, h := range []Header{{AppType: 100}, {SoftwareVersion: 255}, {TerminalStatus: 16}, {ProcessingRequirement: 16}} {
		f := testFrame(nil)
		f.Header = h
		if _, err := EncodeFrame(f); !errors.Is(err, ErrHeader) {
			t.Errorf("header %+v: %v", h, err)
		}
	}
	for _, bad := range []string{"6A 31", "60 3F"} {
		b := unhex(t, "000B 60 0000 0003", bad, "00 000000")
		if _, err := DecodeFrame(b); !errors.Is(err, ErrHeader) {
			t.Errorf("header %s: %v", bad, err)
		}
	}
}

func TestFrameLengthPrefix(t *testing.T) {
	for _, n := range []int{0, 1, 300, MaxFrameLen - frameOverhead} {
		b, err := EncodeFrame(testFrame(make([]byte, n)))
		if err != nil {
			t.Fatalf("body %d: %v", n, err)
		}
		if got := int(b[0])<<8 | int(b[1]); got != n+11 || len(b) != n+13 {
			t.Fatalf("body %d: prefix %d, frame %d bytes", n, got, len(b))
		}
	}
	if _, err := EncodeFrame(testFrame(make([]byte, MaxFrameLen-frameOverhead+1))); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("too long body: %v", err)
	}
	good, _ := EncodeFrame(testFrame([]byte{8, 0}))
	if _, err := DecodeFrame(append(good, 0)); !errors.Is(err, ErrFrameLength) {
		t.Fatalf("extra byte: %v", err)
	}
	if _, err := DecodeFrame(good[:len(good)-1]); !errors.Is(err, ErrFrameLength) {
		t.Fatalf("missing byte: %v", err)
	}
	if _, err := DecodeFrame(good[:1]); !errors.Is(err, ErrFrameTooShort) {
		t.Fatalf("1 byte: %v", err)
	}
	if _, err := DecodeFrame(unhex(t, "0005 6000000000")); !errors.Is(err, ErrFrameTooShort) {
		t.Fatalf("no header: %v", err)
	}
	bad := append([]byte{}, good...)
	bad[2] = 0x61
	if _, err := DecodeFrame(bad); !errors.Is(err, ErrTPDUID) {
		t.Fatalf("TPDU id 61: %v", err)
	}
	f := testFrame(nil)
	f.TPDU.ID = 0x68
	if _, err := EncodeFrame(f); !errors.Is(err, ErrTPDUID) {
		t.Fatalf("encode TPDU id 68: %v", err)
	}
}

func TestDecodeFrameCopiesBody(t *testing.T) {
	b, _ := EncodeFrame(testFrame([]byte{8, 0, 7}))
	f, err := DecodeFrame(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if !bytes.Equal(f.Body, []byte{8, 0, 7}) {
		t.Fatal("body aliases the input")
	}
}

// countingWriter records each Write call.
type countingWriter struct {
	calls int
	buf   bytes.Buffer
	limit int // if > 0, accept at most this many bytes per call
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.calls++
	if w.limit > 0 && len(p) > w.limit {
		p = p[:w.limit]
	}
	return w.buf.Write(p)
}

func TestWriteFrameSingleWrite(t *testing.T) {
	body, err := CUP.Pack(sampleMessages(t)["sale 0200 chip"])
	if err != nil {
		t.Fatal(err)
	}
	w := &countingWriter{}
	if err := WriteFrame(w, testFrame(body)); err != nil {
		t.Fatal(err)
	}
	if w.calls != 1 {
		t.Fatalf("%d Write calls, want 1", w.calls)
	}
	want, _ := EncodeFrame(testFrame(body))
	if !bytes.Equal(w.buf.Bytes(), want) {
		t.Fatal("written bytes differ from EncodeFrame")
	}
	if err := WriteFrame(&countingWriter{limit: 3}, testFrame(body)); !errors.Is(err, io.ErrShortWrite) {
		t.Fatalf("short write: %v", err)
	}
	if err := WriteFrame(&countingWriter{}, testFrame(make([]byte, 70000))); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("oversize write: %v", err)
	}
	boom := errors.New("link down")
	if err := WriteFrame(iotest.TruncateWriter(errWriter{boom}, 100), testFrame(body)); !errors.Is(err, boom) {
		t.Fatalf("writer error: %v", err)
	}
}

type errWriter struct{ err error }

func (w errWriter) Write([]byte) (int, error) { return 0, w.err }

func TestReadFrameOneByteAtATime(t *testing.T) {
	var stream bytes.Buffer
	var frames []Frame
	samples := sampleMessages(t)
	for i, name := range sortedNames(samples) {
		body, err := CUP.Pack(samples[name])
		if err != nil {
			t.Fatal(err)
		}
		f := testFrame(body)
		f.Header.ProcessingRequirement = uint8(i % 16)
		if err := WriteFrame(&stream, f); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, f)
	}
	r := iotest.OneByteReader(&stream)
	for i, want := range frames {
		got, err := ReadFrame(r, 4096)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if got.TPDU != want.TPDU || got.Header != want.Header || !bytes.Equal(got.Body, want.Body) {
			t.Fatalf("frame %d differs", i)
		}
		if _, err := CUP.Unpack(got.Body); err != nil {
			t.Fatalf("frame %d body: %v", i, err)
		}
	}
	if _, err := ReadFrame(r, 4096); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

func TestReadFrameShortReads(t *testing.T) {
	full, _ := EncodeFrame(testFrame([]byte{8, 0, 1, 2, 3, 4}))
	for _, n := range []int{1, 2, 5, 12, len(full) - 1} {
		_, err := ReadFrame(iotest.OneByteReader(bytes.NewReader(full[:n])), 0)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("cut at %d: %v, want ErrUnexpectedEOF", n, err)
		}
		if n >= 2 && !strings.Contains(err.Error(), "of 17 bytes") {
			t.Errorf("cut at %d: error %q does not say how much was read", n, err)
		}
	}
	boom := errors.New("reset by peer")
	if _, err := ReadFrame(iotest.ErrReader(boom), 0); !errors.Is(err, boom) {
		t.Errorf("reader error: %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader(unhex(t, "0005 6000000000")), 0); !errors.Is(err, ErrFrameTooShort) {
		t.Errorf("length 5: %v", err)
	}
	bad := append([]byte{}, full...)
	bad[2] = 0x00
	if _, err := ReadFrame(bytes.NewReader(bad), 0); !errors.Is(err, ErrTPDUID) {
		t.Errorf("TPDU id 00: %v", err)
	}
}

// trapReader serves its prefix, then fails the test if read again.
type trapReader struct {
	t    *testing.T
	data []byte
}

func (r *trapReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		r.t.Fatal("ReadFrame read past the length prefix of an oversize frame")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReadFrameOversizeRejectedBeforeAllocating(t *testing.T) {
	r := &trapReader{t: t, data: []byte{0xFF, 0xFF}}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := ReadFrame(r, 1024)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("got %v, want ErrFrameTooLarge", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<10 {
		t.Fatalf("allocated %d bytes for a rejected 65535-byte frame", grew)
	}
	// Exactly at the limit is fine.
	b, _ := EncodeFrame(testFrame(make([]byte, 100)))
	if _, err := ReadFrame(bytes.NewReader(b), 111); err != nil {
		t.Fatalf("frame at the limit: %v", err)
	}
	if _, err := ReadFrame(bytes.NewReader(b), 110); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("frame one over the limit: %v", err)
	}
}
