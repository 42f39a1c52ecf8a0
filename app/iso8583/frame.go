package iso8583

import (
	"errors"
	"fmt"
	"io"
)

// Wire frame on the TCP link to the acquirer host:
//
//	length  2 bytes, big-endian, counts everything after itself
//	TPDU    5 bytes: ID 0x60, destination 2 bytes, source 2 bytes
//	header  6 bytes (CUP): app type n2 BCD | software version n2 BCD |
//	        terminal status (high nibble) + processing requirement (low
//	        nibble) | 3 reserved bytes
//	body    MTI onwards (see Spec.Pack)
const (
	// TPDUID is the only TPDU ID accepted (ISO "transaction" TPDU).
	TPDUID = 0x60

	lengthBytes = 2
	tpduBytes   = 5
	headerBytes = 6
	// frameOverhead is what precedes the body inside the length.
	frameOverhead = tpduBytes + headerBytes
	// MaxFrameLen is the largest value the 2-byte length prefix can hold.
	MaxFrameLen = 0xFFFF
)

// Processing requirement nibbles in the reply header, as commonly listed in
// the CUP POS spec (check the acquirer's edition for the ones beyond 0 and 3).
const (
	ProcNone            = 0 // nothing to do
	ProcDownloadParams  = 1 // download terminal (magstripe) parameters
	ProcUploadStatus    = 2 // upload terminal status
	ProcSignOnAgain     = 3 // sign on again (new working keys)
	ProcDownloadCAPK    = 4 // download IC public keys
	ProcDownloadICParam = 5 // download IC parameters
	ProcTMSDownload     = 6 // TMS parameter download
	ProcBlacklist       = 7 // download card BIN blacklist
)

// TPDU routes a frame through the network access point.
type TPDU struct {
	ID        byte
	Dest, Src uint16
}

// Swap returns the TPDU a host reply carries: destination and source
// exchanged.
func (t TPDU) Swap() TPDU { return TPDU{ID: t.ID, Dest: t.Src, Src: t.Dest} }

// Header is the CUP 6-byte message header.
type Header struct {
	AppType         uint8 // 0..99, sent as 2 BCD digits (e.g. 60)
	SoftwareVersion uint8 // 0..99, sent as 2 BCD digits (e.g. 31)
	// TerminalStatus (0 normal, 1 test) and ProcessingRequirement (ProcNone,
	// ProcSignOnAgain, ...) are one nibble each, 0..15.
	TerminalStatus        uint8
	ProcessingRequirement uint8
	// Reserved is kept opaque; some editions put the software sub-version
	// here. It is sent and received unchanged.
	Reserved [3]byte
}

// Frame is one length-prefixed message on the wire.
type Frame struct {
	TPDU   TPDU
	Header Header
	Body   []byte // MTI onwards
}

func toBCD2(v uint8) byte { return v/10<<4 | v%10 }

func fromBCD2(b byte) (uint8, bool) {
	hi, lo := b>>4, b&0x0F
	return hi*10 + lo, hi <= 9 && lo <= 9
}

func (h Header) check() error {
	switch {
	case h.AppType > 99:
		return detailf(ErrHeader, "app type %d is not 2 digits", h.AppType)
	case h.SoftwareVersion > 99:
		return detailf(ErrHeader, "software version %d is not 2 digits", h.SoftwareVersion)
	case h.TerminalStatus > 0x0F:
		return detailf(ErrHeader, "terminal status %d is not a nibble", h.TerminalStatus)
	case h.ProcessingRequirement > 0x0F:
		return detailf(ErrHeader, "processing requirement %d is not a nibble", h.ProcessingRequirement)
	}
	return nil
}

// EncodeFrame returns the frame with its length prefix.
func EncodeFrame(f Frame) ([]byte, error) {
	if f.TPDU.ID != TPDUID {
		return nil, fmt.Errorf("iso8583: frame: %w: 0x%02X, want 0x%02X", ErrTPDUID, f.TPDU.ID, TPDUID)
	}
	if err := f.Header.check(); err != nil {
		return nil, fmt.Errorf("iso8583: frame: %w", err)
	}
	n := frameOverhead + len(f.Body)
	if n > MaxFrameLen {
		return nil, fmt.Errorf("iso8583: frame: %w: body of %d bytes exceeds the 2-byte length prefix", ErrFrameTooLarge, len(f.Body))
	}
	h := f.Header
	out := make([]byte, 0, lengthBytes+n)
	out = append(out,
		byte(n>>8), byte(n),
		f.TPDU.ID, byte(f.TPDU.Dest>>8), byte(f.TPDU.Dest), byte(f.TPDU.Src>>8), byte(f.TPDU.Src),
		toBCD2(h.AppType), toBCD2(h.SoftwareVersion), h.TerminalStatus<<4|h.ProcessingRequirement,
		h.Reserved[0], h.Reserved[1], h.Reserved[2])
	return append(out, f.Body...), nil
}

// DecodeFrame parses one complete frame, length prefix included; b must
// hold exactly that frame.
func DecodeFrame(b []byte) (Frame, error) {
	if len(b) < lengthBytes {
		return Frame{}, fmt.Errorf("iso8583: frame: %w: %d bytes, need at least %d", ErrFrameTooShort, len(b), lengthBytes)
	}
	n := int(b[0])<<8 | int(b[1])
	if n != len(b)-lengthBytes {
		return Frame{}, fmt.Errorf("iso8583: frame: %w: prefix says %d bytes, have %d", ErrFrameLength, n, len(b)-lengthBytes)
	}
	f, err := decodeInner(b[lengthBytes:])
	if err != nil {
		return Frame{}, err
	}
	f.Body = append([]byte{}, f.Body...) // never alias the caller's buffer
	return f, nil
}

// decodeInner parses TPDU, header and body (everything after the prefix);
// Body aliases p. Offsets in errors count from the start of the frame,
// prefix included.
func decodeInner(p []byte) (Frame, error) {
	if len(p) < frameOverhead {
		return Frame{}, fmt.Errorf("iso8583: frame: %w: %d bytes after the length, need at least %d (TPDU + header)", ErrFrameTooShort, len(p), frameOverhead)
	}
	var f Frame
	if p[0] != TPDUID {
		return Frame{}, fmt.Errorf("iso8583: frame at offset 2: %w: 0x%02X, want 0x%02X", ErrTPDUID, p[0], TPDUID)
	}
	f.TPDU = TPDU{ID: p[0], Dest: uint16(p[1])<<8 | uint16(p[2]), Src: uint16(p[3])<<8 | uint16(p[4])}
	h := p[tpduBytes:frameOverhead]
	var ok bool
	if f.Header.AppType, ok = fromBCD2(h[0]); !ok {
		return Frame{}, fmt.Errorf("iso8583: frame at offset 7: %w: app type 0x%02X is not BCD", ErrHeader, h[0])
	}
	if f.Header.SoftwareVersion, ok = fromBCD2(h[1]); !ok {
		return Frame{}, fmt.Errorf("iso8583: frame at offset 8: %w: software version 0x%02X is not BCD", ErrHeader, h[1])
	}
	f.Header.TerminalStatus = h[2] >> 4
	f.Header.ProcessingRequirement = h[2] & 0x0F
	copy(f.Header.Reserved[:], h[3:6])
	f.Body = p[frameOverhead:]
	return f, nil
}

// WriteFrame writes the whole frame, length prefix included, in a single
// Write call so that it cannot interleave with another writer's frame.
func WriteFrame(w io.Writer, f Frame) error {
	b, err := EncodeFrame(f)
	if err != nil {
		return err
	}
	n, err := w.Write(b)
	if err != nil {
		return fmt.Errorf("iso8583: writing frame: %w", err)
	}
	if n != len(b) {
		return fmt.Errorf("iso8583: writing frame: %w (%d of %d bytes)", io.ErrShortWrite, n, len(b))
	}
	return nil
}

// ReadFrame reads exactly one frame. max caps the length prefix (bytes
// after it); a larger prefix is rejected before the body is allocated or
// read. max <= 0 means MaxFrameLen. A clean end of stream before the first
// byte returns io.EOF; a stream that ends mid-frame returns an error
// wrapping io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, max int) (Frame, error) {
	if max <= 0 || max > MaxFrameLen {
		max = MaxFrameLen
	}
	var pre [lengthBytes]byte
	if k, err := io.ReadFull(r, pre[:]); err != nil {
		if errors.Is(err, io.EOF) && k == 0 {
			return Frame{}, io.EOF
		}
		return Frame{}, fmt.Errorf("iso8583: reading frame length: got %d of %d bytes: %w", k, lengthBytes, err)
	}
	n := int(pre[0])<<8 | int(pre[1])
	if n > max {
		return Frame{}, fmt.Errorf("iso8583: frame: %w: length %d exceeds limit %d", ErrFrameTooLarge, n, max)
	}
	if n < frameOverhead {
		return Frame{}, fmt.Errorf("iso8583: frame: %w: length %d, need at least %d (TPDU + header)", ErrFrameTooShort, n, frameOverhead)
	}
	p := make([]byte, n)
	if k, err := io.ReadFull(r, p); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, fmt.Errorf("iso8583: reading frame body: got %d of %d bytes: %w", k, n, err)
	}
	return decodeInner(p)
}
