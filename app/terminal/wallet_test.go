package terminal

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/config"
	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/drivers/fake"
	"github.com/shoukuan/pos/hal"
)

// textOnly is an LCD without graphics: it hides the fake display's
// ShowPicture.
type textOnly struct{ hal.Display }

// qrHost answers a precreate with a QR and says the order is paid once
// paid is set.
type qrHost struct {
	mu   sync.Mutex
	paid bool
}

func (h *qrHost) Exchange(_ context.Context, r engine.HostRequest) (engine.HostReply, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch r.Kind {
	case engine.HostPrecreate:
		return engine.HostReply{Code: "00", QRPayload: "https://qr.example/pay/" + r.OrderNo}, nil
	case engine.HostWalletQuery:
		if h.paid {
			return engine.HostReply{Code: "00", OrderStatus: engine.OrderPaid, Wallet: engine.MethodWeChat, RRN: "260302000001"}, nil
		}
		return engine.HostReply{Code: "00", OrderStatus: engine.OrderNotPaid}, nil
	}
	return engine.HostReply{Code: "00"}, nil
}

// On a display that cannot draw the merchant's QR, the QR is printed for
// the customer to scan, and the payment completes as on any terminal.
func TestMerchantQRPrintedWithoutGraphics(t *testing.T) {
	db, err := journal.Open(filepath.Join(t.TempDir(), "j.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	host := &qrHost{}
	eng := engine.New(db, host, time.Now, engine.Config{TerminalID: "10000001",
		Wallet: engine.WalletConfig{PollEvery: time.Second, Wait: 30 * time.Second, MerchantQRFor: 60 * time.Second, CancelRetries: 1}},
		slog.New(slog.DiscardHandler))
	if err := eng.SignOn(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Waits end at once, after the QR has been printed.
	printer := fake.NewPrinter(fake.PrinterOptions{Columns: 32})
	eng.SetSleep(func(ctx context.Context, d time.Duration) error {
		for !strings.Contains(strings.Join(printer.Roll(), "\n"), "请顾客用手机扫码付款") {
			time.Sleep(time.Millisecond)
		}
		host.mu.Lock()
		host.paid = true
		host.mu.Unlock()
		return ctx.Err()
	})
	term, err := New(Options{Config: config.Default(), Journal: db, Engine: eng, Devices: hal.Devices{
		Keypad: fake.NewKeypad(), Display: textOnly{fake.NewDisplay(32, 12)}, Printer: printer,
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- term.Run(ctx) }()
	term.post(func() { term.showMerchantQR(mShowQR, walletChoice{fen: 3300}, func(*Terminal) {}) })

	var jobs []fake.PrintedJob
	deadline := time.Now().Add(5 * time.Second)
	for {
		jobs = printer.Jobs()
		if list, _, _ := eng.Query(engine.Filter{Status: engine.StatusApproved}); len(list) == 1 && len(jobs) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not paid and printed: jobs %d", len(jobs))
		}
		time.Sleep(time.Millisecond)
	}
	if !strings.HasPrefix(jobs[0].Title, "qr https://qr.example/pay/10000001") {
		t.Fatalf("first job %q, want the QR slip", jobs[0].Title)
	}
	if !strings.Contains(strings.Join(jobs[0].Lines, "\n"), "¥33.00") {
		t.Fatalf("QR slip without the amount:\n%s", strings.Join(jobs[0].Lines, "\n"))
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
