package pn532emu_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/shoukuan/pos/drivers/fake"
	"github.com/shoukuan/pos/drivers/pn532"
	"github.com/shoukuan/pos/drivers/pn532/pn532emu"
	"github.com/shoukuan/pos/hal"
)

func debitCard(t *testing.T) *fake.CardProfile {
	cards, err := fake.LoadCardProfiles("../../../testdata/cards")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cards {
		if c.Name == "unionpay-debit" {
			return c
		}
	}
	t.Fatal("no unionpay-debit card")
	return nil
}

// The real driver on a real serial line (tarm/serial on the pty's slave)
// taps the card.
func TestDriverOverPTY(t *testing.T) {
	e := pn532emu.New(pn532emu.Options{Baud: 115200})
	p, err := pn532emu.ListenPTY(e, 115200)
	if err != nil {
		t.Skip("no pseudo-terminals here:", err)
	}
	defer p.Close()
	r, err := pn532.Open(context.Background(), p.Path(), 115200, pn532.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.Enable(hal.CardContactless)
	e.Place(debitCard(t))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := r.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.APDU.Exchange(ctx, append(append([]byte{0x00, 0xA4, 0x04, 0x00, 0x0E}, "2PAY.SYS.DDF01"...), 0x00))
	if err != nil || !bytes.HasSuffix(resp, []byte{0x90, 0x00}) {
		t.Fatalf("PPSE over the UART: %X %v", resp, err)
	}
}

// libnfc's nfc-list, an independent PN532 client, opens the emulator as a
// pn532_uart device and lists the card: UID, ATQA, SAK and ATS as the
// emulator gives them.
func TestNFCListSeesTheCard(t *testing.T) {
	if _, err := exec.LookPath("nfc-list"); err != nil {
		if os.Getenv("POS_REQUIRE_LIBNFC") != "" {
			t.Fatal("nfc-list (libnfc-bin) is required here")
		}
		t.Skip("no nfc-list (apt-get install libnfc-bin)")
	}
	e := pn532emu.New(pn532emu.Options{})
	e.Place(debitCard(t))
	p, err := pn532emu.ListenPTY(e, 115200)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nfc-list")
	cmd.Env = append(os.Environ(), "LIBNFC_DEVICE=pn532_uart:"+p.Path())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nfc-list: %v\n%s", err, out)
	}
	uid := pn532emu.UID("unionpay-debit")
	wantUID := fmt.Sprintf("%02x  %02x  %02x  %02x", uid[0], uid[1], uid[2], uid[3])
	for _, want := range []string{"1 ISO14443A passive target(s) found", "ATQA (SENS_RES): 00  04", wantUID, "SAK (SEL_RES): 20", "ATS: 78  80  70  02"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("nfc-list does not say %q:\n%s", want, out)
		}
	}
	t.Logf("nfc-list:\n%s", out)
	if e.Commands(0x4A) == 0 {
		t.Error("nfc-list never polled")
	}
}
