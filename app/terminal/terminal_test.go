package terminal

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/config"
	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/app/ui"
	"github.com/shoukuan/pos/drivers/fake"
	"github.com/shoukuan/pos/hal"
)

// payScreen stands in for the payment screens to come: it wants the
// scanner and contactless/swipe cards.
type payScreen struct {
	codes []hal.Code
	cards []hal.Card
}

func (s *payScreen) Draw(t *Terminal, c *ui.Canvas) { c.Title("pay") }
func (s *payScreen) Key(t *Terminal, k hal.Key) {
	if k == hal.KeyCancel {
		t.Show(newSignIn(t))
	}
}
func (s *payScreen) inputs() (bool, hal.CardMode) {
	return true, hal.CardContactless | hal.CardMagstripe
}
func (s *payScreen) code(t *Terminal, c hal.Code) { s.codes = append(s.codes, c) }
func (s *payScreen) card(t *Terminal, c hal.Card) { s.cards = append(s.cards, c) }

func TestInputDevicesArmedByScreen(t *testing.T) {
	root := filepath.Join("..", "..", "testdata")
	cards, err := fake.LoadCardProfiles(filepath.Join(root, "cards"))
	if err != nil {
		t.Fatal(err)
	}
	kp, disp := fake.NewKeypad(), fake.NewDisplay(32, 12)
	scan, reader := fake.NewScanner(filepath.Join(root, "codes")), fake.NewCardReader(cards)
	db, err := journal.Open(filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	term, err := New(Options{Config: config.Default(), Journal: db, Devices: hal.Devices{
		Keypad: kp, Display: disp, Scanner: scan, CardReader: reader, Indicator: fake.NewIndicator(),
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- term.Run(ctx) }()
	settle := func() {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !(kp.Pending() == 0 && scan.Pending() == 0 && reader.Pending() == 0 && term.Idle()) {
			if time.Now().After(deadline) {
				t.Fatal("terminal did not settle")
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	settle()
	if scan.Enabled() || reader.Armed() != hal.CardNone {
		t.Fatal("devices armed on the sign-in screen")
	}
	pay := &payScreen{}
	term.post(func() { term.Show(pay) })
	settle()
	if !scan.Enabled() || reader.Armed() != hal.CardContactless|hal.CardMagstripe {
		t.Fatalf("pay screen: scanner %v reader %v", scan.Enabled(), reader.Armed())
	}
	if _, err := scan.Present("alipay-huabei.png"); err != nil {
		t.Fatal(err)
	}
	if err := reader.Present("unionpay-debit", hal.CardMagstripe); err != nil {
		t.Fatal(err)
	}
	if err := reader.Present("unionpay-debit", hal.CardChip); err == nil {
		t.Fatal("insert accepted while only tap and swipe are armed")
	}
	settle()
	if len(pay.codes) != 1 || pay.codes[0].Text != "286512345678901234" || len(pay.cards) != 1 || pay.cards[0].Track2 == "" {
		t.Fatalf("delivered: %+v %+v", pay.codes, pay.cards)
	}
	kp.Press(hal.KeyCancel)
	settle()
	if scan.Enabled() || reader.Armed() != hal.CardNone {
		t.Fatal("devices still armed after leaving the pay screen")
	}
	if _, err := scan.Present("alipay-huabei.png"); err == nil {
		t.Fatal("scanner read a code on the sign-in screen")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
