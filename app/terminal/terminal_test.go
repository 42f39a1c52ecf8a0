package terminal

import (
	"context"
	"path/filepath"
	"strings"
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
	cancel, done := runTerminal(term)
	settle := func() {
		t.Helper()
		waitSettled(t, func() bool { return kp.Pending() == 0 && scan.Pending() == 0 && reader.Pending() == 0 && term.Idle() })
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

// TestRollbackNotice: software that failed its trial is announced once,
// before the sign-in screen, in the terminal's language, with both
// versions and the reason; other slot events follow as sentences.
func TestRollbackNotice(t *testing.T) {
	kp, disp := fake.NewKeypad(), fake.NewDisplay(32, 12)
	db, err := journal.Open(filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	term, err := New(Options{Config: config.Default(), Journal: db, Devices: hal.Devices{Keypad: kp, Display: disp, Indicator: fake.NewIndicator()},
		RolledBack: []RollBack{{From: "1.2.0", To: "1.1.0", Reason: "self-test: printer cover open"}},
		Notice:     "slot A (1.0.0) is damaged"})
	if err != nil {
		t.Fatal(err)
	}
	cancel, done := runTerminal(term)
	settle := func() { t.Helper(); waitSettled(t, func() bool { return kp.Pending() == 0 && term.Idle() }) }
	settle()
	s := strings.ReplaceAll(strings.Join(strings.Fields(disp.Text()), ""), "\n", "")
	for _, want := range []string{"软件更新", "新软件1.2.0试运行失败", "已回到1.1.0", "printercoveropen", "slotA(1.0.0)isdamaged"} {
		if !strings.Contains(s, want) {
			t.Errorf("the notice lacks %q:\n%s", want, disp.Text())
		}
	}
	kp.Press(hal.KeyEnter)
	settle()
	if !strings.Contains(disp.Text(), "操作员签到") {
		t.Errorf("Enter does not lead to the sign-in screen:\n%s", disp.Text())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// runTerminal runs term until the returned cancel; done gives Run's error.
func runTerminal(term *Terminal) (context.CancelFunc, chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- term.Run(ctx) }()
	return cancel, done
}

// waitSettled waits until settled holds: the devices' input consumed and
// the terminal idle.
func waitSettled(t *testing.T, settled func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !settled(); time.Sleep(100 * time.Microsecond) {
		if time.Now().After(deadline) {
			t.Fatal("terminal did not settle")
		}
	}
}
