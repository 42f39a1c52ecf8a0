package escpos_test

import (
	"context"
	"testing"

	"github.com/shoukuan/pos/drivers/escpos"
	"github.com/shoukuan/pos/drivers/escpos/escposemu"
	"github.com/shoukuan/pos/hal"
)

// Both transports over a real character device: a UART opened with
// tarm/serial, and a device file opened as /dev/usb/lp0 would be (here the
// pty's slave stands in for the USB printer class device).
func TestTransportsOverPTY(t *testing.T) {
	prof := profile(t, "58mm")
	for _, kind := range []string{"serial", "device"} {
		t.Run(kind, func(t *testing.T) {
			e := escposemu.New(prof, escposemu.Options{})
			pt, err := escposemu.ListenPTY(e, 115200)
			if err != nil {
				t.Skip("no pseudo-terminals here:", err)
			}
			defer pt.Close()
			var p *escpos.Printer
			if kind == "serial" {
				p, err = escpos.OpenSerial(pt.Path(), 115200, prof, escpos.Options{})
			} else {
				p, err = escpos.OpenDevice(pt.Path(), prof, escpos.Options{})
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := p.Print(context.Background(), doc(hal.Text("经由 "+kind), hal.Element{Kind: hal.KindQR, Text: payload})); err != nil {
				t.Fatal(err)
			}
			if st := p.SelfTest(context.Background()); !st.OK {
				t.Fatalf("self-test %+v", st)
			}
			if err := p.Close(); err != nil {
				t.Fatal(err)
			}
			e.Finish()
			pg := e.Pages()
			if len(pg) != 1 || pg[0].Lines[0] != "经由 "+kind {
				t.Fatalf("pages %+v", pg)
			}
		})
	}
}
