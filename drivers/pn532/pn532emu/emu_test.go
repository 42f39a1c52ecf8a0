package pn532emu_test

import (
	"bufio"
	"bytes"
	"net"
	"testing"

	"github.com/shoukuan/pos/drivers/pn532"
	"github.com/shoukuan/pos/drivers/pn532/pn532emu"
)

// host speaks raw frames to the emulator, as libnfc would.
type host struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func (h *host) do(cmd ...byte) pn532.Frame {
	h.t.Helper()
	f, _ := pn532.EncodeFrame(0xD4, cmd)
	h.c.Write(f)
	ack, err := pn532.ReadFrame(h.br)
	if err != nil || !ack.ACK {
		if err == nil && ack.TFI == 0x7F {
			return ack
		}
		h.t.Fatalf("command %02X: no ACK: %+v %v", cmd[0], ack, err)
	}
	r, err := pn532.ReadFrame(h.br)
	if err != nil {
		h.t.Fatalf("command %02X: %v", cmd[0], err)
	}
	h.c.Write([]byte{0x00, 0x00, 0xFF, 0x00, 0xFF, 0x00})
	return r
}

func TestLibnfcCommands(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	e := pn532emu.New(pn532emu.Options{})
	go e.Serve(b)
	h := &host{t: t, c: a, br: bufio.NewReader(a)}
	if r := h.do(0x4A, 0x01, 0x00); r.TFI != 0x7F {
		t.Errorf("a command before SAMConfiguration (LowVbat): %+v", r)
	}
	h.do(0x14, 0x01)
	if r := h.do(0x00, 0x00, 'l', 'i', 'b', 'n', 'f', 'c'); !bytes.Equal(r.Data, []byte{0x01, 0x00, 'l', 'i', 'b', 'n', 'f', 'c'}) {
		t.Errorf("Diagnose echo: % X", r.Data)
	}
	h.do(0x08, 0x63, 0x02, 0x80, 0x63, 0x03, 0x80)
	if r := h.do(0x06, 0x63, 0x02, 0x63, 0x03, 0x63, 0x0D); !bytes.Equal(r.Data, []byte{0x07, 0x80, 0x80, 0x00}) {
		t.Errorf("registers: % X", r.Data)
	}
	if r := h.do(0x4A, 0x01, 0x03); !bytes.Equal(r.Data, []byte{0x4B, 0x00}) {
		t.Errorf("type B poll with no type B card: % X", r.Data)
	}
	if r := h.do(0x60, 0x01, 0x01, 0x20); !bytes.Equal(r.Data, []byte{0x61, 0x00}) {
		t.Errorf("InAutoPoll on an empty field: % X", r.Data)
	}
	e.Place(debitCard(t))
	r := h.do(0x60, 0x01, 0x01, 0x20)
	uid := pn532emu.UID("unionpay-debit")
	want := append(append([]byte{0x61, 0x01, 0x20, 0x0E, 0x01, 0x00, 0x04, 0x20, 0x04}, uid...), 0x05, 0x78, 0x80, 0x70, 0x02)
	if !bytes.Equal(r.Data, want) {
		t.Errorf("InAutoPoll: % X, want % X", r.Data, want)
	}
	if r := h.do(0xFE); r.TFI != 0x7F {
		t.Errorf("an unknown command: %+v", r)
	}
}
