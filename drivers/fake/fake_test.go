package fake

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoukuan/pos/hal"
)

var (
	codesDir = filepath.Join("..", "..", "testdata", "codes")
	cardsDir = filepath.Join("..", "..", "testdata", "cards")
)

func TestKeypadPendingUntilNextRead(t *testing.T) {
	k := NewKeypad()
	k.Press(hal.Key1, hal.KeyEnter)
	if k.Pending() != 2 {
		t.Fatalf("pending = %d, want 2", k.Pending())
	}
	ctx := context.Background()
	ev, _ := k.ReadKey(ctx)
	if ev.Key != hal.Key1 {
		t.Fatalf("got %v", ev.Key)
	}
	// Handed out but the reader has not come back: still pending.
	if k.Pending() != 2 {
		t.Fatalf("pending after first read = %d, want 2", k.Pending())
	}
	k.ReadKey(ctx)
	if k.Pending() != 1 {
		t.Fatalf("pending = %d, want 1", k.Pending())
	}
	c, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := k.ReadKey(c); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("empty keypad: err = %v", err)
	}
	if k.Pending() != 0 {
		t.Fatalf("pending = %d, want 0", k.Pending())
	}
}

func TestScannerDecodesTestdataImages(t *testing.T) {
	s := NewScanner(codesDir)
	if _, err := s.Present("alipay-huabei.png"); !errors.Is(err, hal.ErrDisabled) {
		t.Fatalf("unarmed scanner: err = %v, want ErrDisabled", err)
	}
	s.Enable(true)
	want := map[string]hal.Code{
		"alipay-huabei.png":       {Symbology: hal.SymQR, Text: "286512345678901234"},
		"alipay-darkmode.png":     {Symbology: hal.SymQR, Text: "2599887766554433"},
		"wechat-lowcontrast.png":  {Symbology: hal.SymQR, Text: "101122334455667788"},
		"alipay-barcode.png":      {Symbology: hal.SymCode128, Text: "2812345678901234567"},
		"merchant-static-url.png": {Symbology: hal.SymQR, Text: "https://qr.alipay.com/fkx19283abcd"},
	}
	for name, w := range want {
		got, err := s.Present(name)
		if err != nil || got != w {
			t.Errorf("%s: got %+v, %v; want %+v", name, got, err, w)
			continue
		}
		read, err := s.Read(context.Background())
		if err != nil || read != w {
			t.Errorf("%s: Read = %+v, %v", name, read, err)
		}
	}
	if len(s.Images()) < len(want) {
		t.Errorf("Images() = %v", s.Images())
	}
	// A picture with no code delivers nothing.
	blank := filepath.Join(t.TempDir(), "blank.png")
	os.WriteFile(blank, []byte("not a png"), 0o644)
	if _, err := s.Present(blank); err == nil {
		t.Fatal("garbage image decoded")
	}
	// The reader comes back for the next code: the last one is consumed.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	s.Read(ctx)
	if s.Pending() != 0 {
		t.Fatalf("pending = %d after a failed read", s.Pending())
	}
	if r := s.SelfTest(context.Background()); !r.OK {
		t.Fatalf("self-test: %+v", r)
	}
}

func TestScannerDisarmDropsQueuedCodes(t *testing.T) {
	s := NewScanner(codesDir)
	s.Enable(true)
	if _, err := s.Present("wechat.png"); err != nil {
		t.Fatal(err)
	}
	s.Enable(false)
	if s.Pending() != 0 {
		t.Fatalf("pending = %d after disarm", s.Pending())
	}
}

func TestCardReaderArmingAndTracks(t *testing.T) {
	cards, err := LoadCardProfiles(cardsDir)
	if err != nil {
		t.Fatal(err)
	}
	r := NewCardReader(cards)
	if err := r.Present("unionpay-debit", hal.CardMagstripe); !errors.Is(err, hal.ErrDisabled) {
		t.Fatalf("unarmed: %v", err)
	}
	r.Enable(hal.CardMagstripe | hal.CardChip)
	if err := r.Present("phone-quickpass", hal.CardMagstripe); err == nil {
		t.Fatal("a phone was swiped")
	}
	if err := r.Present("unionpay-debit", hal.CardContactless); !errors.Is(err, hal.ErrDisabled) {
		t.Fatalf("tap while only swipe/insert armed: %v", err)
	}
	if err := r.Present("nope", hal.CardChip); err == nil {
		t.Fatal("unknown card accepted")
	}
	if err := r.Present("unionpay-debit", hal.CardMagstripe); err != nil {
		t.Fatal(err)
	}
	c, _ := r.Read(context.Background())
	if c.Mode != hal.CardMagstripe || c.Track2 != "6222021234567890128=30122200000000000" {
		t.Fatalf("card = %+v", c)
	}
	if err := r.Present("unionpay-debit", hal.CardChip); err != nil {
		t.Fatal(err)
	}
	c, _ = r.Read(context.Background())
	resp, err := c.APDU.Exchange(context.Background(), []byte{0x00, 0xA4, 0x04, 0x00, 0x0E})
	if err != nil || len(resp) != 2 || resp[0] != 0x6A {
		t.Fatalf("SELECT on a card without EMV data: %x %v", resp, err)
	}
	r.Remove()
	if _, err := c.APDU.Exchange(context.Background(), []byte{0x00, 0xA4, 0x04, 0x00}); !errors.Is(err, hal.ErrDisconnected) {
		t.Fatalf("removed card answered: %v", err)
	}
}

func TestCardProfileErrors(t *testing.T) {
	for name, body := range map[string]string{
		"bad luhn":     `{"pan":"6222021234567890127","expiry":"3012","service_code":"220","interfaces":["chip"]}`,
		"short pan":    `{"pan":"6222","expiry":"3012","service_code":"220","interfaces":["chip"]}`,
		"bad month":    `{"pan":"6222021234567890128","expiry":"3013","service_code":"220","interfaces":["chip"]}`,
		"unknown if":   `{"pan":"6222021234567890128","expiry":"3012","service_code":"220","interfaces":["wifi"]}`,
		"unknown key":  `{"pan":"6222021234567890128","expiry":"3012","service_code":"220","interfaces":["chip"],"cvv":"123"}`,
		"track2 pan":   `{"pan":"6222021234567890128","expiry":"3012","service_code":"220","interfaces":["chip"],"track2":"6222021234567890=3012220"}`,
		"no ifaces":    `{"pan":"6222021234567890128","expiry":"3012","service_code":"220"}`,
		"pin letters":  `{"pan":"6222021234567890128","expiry":"3012","service_code":"220","interfaces":["chip"],"pin":"12ab"}`,
		"emv not hex":  `{"pan":"6222021234567890128","expiry":"3012","service_code":"220","interfaces":["chip"],"emv":{"5A":"zz"}}`,
		"trailing obj": `{"pan":"6222021234567890128","expiry":"3012","service_code":"220","interfaces":["chip"]} {}`,
	} {
		if _, err := ParseCardProfile("x", []byte(body)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseCardProfile(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(cardsDir, "*.json"))
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte(`{"pan":"6222021234567890128","expiry":"3012","service_code":"220","interfaces":["chip"],"track2":"6222021234567890128=3012"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseCardProfile("fuzz", data)
		if err != nil {
			return
		}
		if !luhnValid(p.PAN) || checkTrack2(p.Track2, p.PAN) != nil || p.Modes() == hal.CardNone {
			t.Fatalf("accepted an invalid profile: %+v", p)
		}
	})
}

func TestDisplayWideRunes(t *testing.T) {
	d := NewDisplay(8, 2)
	x := 0
	for _, r := range "中文ab" {
		d.SetCell(x, 0, r, 0)
		x += hal.CellWidth(r)
	}
	d.SetCell(7, 1, '宽', 0) // would straddle the edge: ignored
	d.Flush()
	if got := d.Lines(); got[0] != "中文ab" || got[1] != "" {
		t.Fatalf("lines = %q", got)
	}
	d.SetCell(1, 0, 'x', 0) // right half of 中: the left half goes blank
	d.Flush()
	if got := d.Lines()[0]; got != " x文ab" {
		t.Fatalf("after overwrite: %q", got)
	}
	d.SetCell(2, 0, 'y', hal.AttrBold) // left half of 文
	d.Flush()
	if got := d.Lines()[0]; got != " xy ab" {
		t.Fatalf("after overwrite: %q", got)
	}
	if d.AttrAt(2, 0) != hal.AttrBold {
		t.Fatal("attr lost")
	}
}

func TestIndicatorRecords(t *testing.T) {
	i := NewIndicator()
	n := 0
	i.OnChange(func() { n++ })
	i.Beep(hal.BeepOK)
	i.SetLED(hal.LEDGreen, true)
	if got := i.Beeps(); len(got) != 1 || got[0] != hal.BeepOK || !i.LED(hal.LEDGreen) || n != 2 {
		t.Fatalf("beeps %v led %v n %d", got, i.LED(hal.LEDGreen), n)
	}
}
