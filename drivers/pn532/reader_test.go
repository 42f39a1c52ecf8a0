package pn532_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/shoukuan/pos/drivers/fake"
	"github.com/shoukuan/pos/drivers/pn532"
	"github.com/shoukuan/pos/drivers/pn532/pn532emu"
	"github.com/shoukuan/pos/hal"
)

const cardsDir = "../../testdata/cards"

var selectPPSE = append(append([]byte{0x00, 0xA4, 0x04, 0x00, 0x0E}, "2PAY.SYS.DDF01"...), 0x00)

func profile(t *testing.T, name string) *fake.CardProfile {
	t.Helper()
	cards, err := fake.LoadCardProfiles(cardsDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cards {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no card %s", name)
	return nil
}

// rig is the real driver against the emulator over an in-memory line.
func rig(t *testing.T, o pn532emu.Options) (*pn532.Reader, *pn532emu.Emulator) {
	t.Helper()
	host, chip := net.Pipe()
	e := pn532emu.New(o)
	go e.Serve(chip)
	r, err := pn532.New(context.Background(), host, pn532.Options{Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); chip.Close() })
	return r, e
}

func tap(t *testing.T, r *pn532.Reader) (hal.Card, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return r.Read(ctx)
}

func TestTapAndExchange(t *testing.T) {
	r, e := rig(t, pn532emu.Options{Chunk: 16}) // chained answers
	if e.RFOn() {
		t.Error("the field is on before anyone asked for a card")
	}
	if n := e.MaxRetries(); n == 0xFF {
		t.Error("the driver left the chip polling for ever (MaxRetries FF)")
	}
	if st := r.SelfTest(context.Background()); !st.OK || st.Detail != "PN532 v1.6 (support 07), RF field switches" {
		t.Errorf("self-test %+v", st)
	}
	r.Enable(hal.CardContactless)
	e.Place(profile(t, "unionpay-debit"))
	c, err := tap(t, r)
	if err != nil || c.Mode != hal.CardContactless || c.APDU == nil {
		t.Fatalf("tap: %+v %v", c, err)
	}
	resp, err := c.APDU.Exchange(context.Background(), selectPPSE)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(resp, []byte{0x90, 0x00}) || !bytes.Contains(resp, []byte("2PAY.SYS.DDF01")) || len(resp) <= 16 {
		t.Fatalf("PPSE answer %X", resp)
	}
	// The card leaves: the reader notices, and with the reader disarmed
	// the field goes down.
	r.Enable(hal.CardNone)
	e.Remove("")
	if _, err := c.APDU.Exchange(context.Background(), selectPPSE); !errors.Is(err, hal.ErrDisconnected) {
		t.Errorf("exchange with a card gone: %v", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for e.RFOn() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if e.RFOn() {
		t.Error("the field stays on with the reader disarmed and no card")
	}
}

func TestFaultsOnTheLine(t *testing.T) {
	r, e := rig(t, pn532emu.Options{SlowDelay: 200 * time.Millisecond})
	r.Enable(hal.CardContactless)
	e.Place(profile(t, "unionpay-debit"))
	c, err := tap(t, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []pn532emu.Fault{pn532emu.BadChecksum, pn532emu.SendNACK, pn532emu.LoseACK, pn532emu.Slow} {
		e.Inject(f)
		resp, err := c.APDU.Exchange(context.Background(), selectPPSE)
		if err != nil || !bytes.HasSuffix(resp, []byte{0x90, 0x00}) {
			t.Errorf("after %s: %X %v", f, resp, err)
		}
	}
	e.Inject(pn532emu.RemoveMidway)
	if _, err := c.APDU.Exchange(context.Background(), selectPPSE); !errors.Is(err, hal.ErrDisconnected) || !errors.Is(err, pn532.ErrCardLeft) {
		t.Errorf("card removed during the exchange: %v", err)
	}
}

func TestCardsThatCannotPay(t *testing.T) {
	r, e := rig(t, pn532emu.Options{})
	r.Enable(hal.CardContactless)
	e.PlaceTag("metro card")
	if _, err := tap(t, r); !errors.Is(err, pn532.ErrNotPayment) || !errors.Is(err, hal.ErrBadRead) || !errors.Is(err, hal.ErrCardNotSupported) {
		t.Errorf("a transit card: %v", err)
	}
	e.Remove("")
	// Both cards at once: placed while the reader does not poll.
	r.Enable(hal.CardNone)
	e.Place(profile(t, "unionpay-debit"))
	e.Place(profile(t, "phone-quickpass"))
	r.Enable(hal.CardContactless)
	var err error
	for i := 0; i < 5 && !errors.Is(err, pn532.ErrCollision); i++ {
		_, err = tap(t, r)
	}
	if !errors.Is(err, pn532.ErrCollision) || !errors.Is(err, hal.ErrTwoCards) {
		t.Errorf("two cards in the field: %v", err)
	}
}

// A port where nothing answers: the wrong port or baud rate.
func TestNoChip(t *testing.T) {
	host, chip := net.Pipe()
	defer chip.Close()
	go func() {
		b := make([]byte, 256)
		for {
			if _, err := chip.Read(b); err != nil {
				return
			}
		}
	}()
	start := time.Now()
	_, err := pn532.New(context.Background(), host, pn532.Options{})
	if !errors.Is(err, pn532.ErrNoAnswer) || time.Since(start) > 2*time.Second {
		t.Errorf("no chip: %v after %v", err, time.Since(start))
	}
}

// The same driver over I2C (periph's i2c.Bus), to the emulator's I2C face.
func TestTapOverI2C(t *testing.T) {
	e := pn532emu.New(pn532emu.Options{Chunk: 64})
	bus := pn532emu.I2C(e)
	r, err := pn532.NewI2C(context.Background(), bus, bus, pn532.Options{Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if st := r.SelfTest(context.Background()); !st.OK {
		t.Fatalf("self-test over I2C: %+v", st)
	}
	r.Enable(hal.CardContactless)
	e.Place(profile(t, "unionpay-debit"))
	c, err := tap(t, r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.APDU.Exchange(context.Background(), selectPPSE)
	if err != nil || !bytes.HasSuffix(resp, []byte{0x90, 0x00}) || !bytes.Contains(resp, []byte("UnionPay Debit")) {
		t.Fatalf("PPSE over I2C: %X %v", resp, err)
	}
}

// An exchanger handed over for one card never talks to the next one,
// and a card command whose ACK was lost is not sent twice.
func TestOneCardOneExchanger(t *testing.T) {
	r, e := rig(t, pn532emu.Options{SlowDelay: 300 * time.Millisecond})
	r.Enable(hal.CardContactless)
	e.Place(profile(t, "unionpay-debit"))
	first, err := tap(t, r)
	if err != nil {
		t.Fatal(err)
	}
	before := e.Commands(0x40)
	e.Inject(pn532emu.LoseACK)
	e.Inject(pn532emu.Slow)
	if _, err := first.APDU.Exchange(context.Background(), selectPPSE); err != nil {
		t.Fatal(err)
	}
	if n := e.Commands(0x40) - before; n != 1 {
		t.Errorf("a slow answer without its ACK: the APDU went %d times", n)
	}
	e.Remove("")
	time.Sleep(600 * time.Millisecond) // idle, checked, found gone, released
	e.Place(profile(t, "phone-quickpass"))
	second, err := tap(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.APDU.Exchange(context.Background(), selectPPSE); !errors.Is(err, pn532.ErrCardLeft) {
		t.Errorf("the first card's exchanger after another card came: %v", err)
	}
	if resp, err := second.APDU.Exchange(context.Background(), selectPPSE); err != nil || !bytes.HasSuffix(resp, []byte{0x90, 0x00}) {
		t.Errorf("the second card: %X %v", resp, err)
	}
}
