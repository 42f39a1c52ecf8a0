package board

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"periph.io/x/conn/v3/driver/driverreg"
	"periph.io/x/conn/v3/i2c/i2creg"
	_ "periph.io/x/host/v3/sysfs" // the I2C buses of Linux's i2c-dev

	"github.com/shoukuan/pos/drivers/pn532"
	"github.com/shoukuan/pos/hal"
)

// baud is the PN532's UART rate, 115200 by default.
func (c CardReader) baud() int {
	if c.Baud == 0 {
		return 115200
	}
	return c.Baud
}

// openPN532 opens the PN532 on its UART, or on its I2C bus.
func (c CardReader) openPN532(port string) (*pn532.Reader, error) {
	ctx := context.Background()
	if c.I2C == "" || c.Contactless == "pn532-emulator" {
		return pn532.Open(ctx, port, c.baud(), pn532.Options{})
	}
	if _, err := driverreg.Init(); err != nil {
		return nil, fmt.Errorf("pn532: I2C drivers: %w", err)
	}
	bus, err := i2creg.Open(strings.TrimPrefix(c.I2C, "/dev/i2c-"))
	if err != nil {
		return nil, fmt.Errorf("pn532: I2C bus %s: %w", c.I2C, err)
	}
	return pn532.NewI2C(ctx, bus, bus, pn532.Options{})
}

// cardMux is one hal.CardReader made of two: taps from the contactless
// reader, inserts and swipes from the other. Each Read asks both; the
// first card wins, and a card the other produced meanwhile is kept for
// the next Read, so none is lost.
type cardMux struct {
	slot, field hal.CardReader

	mu   sync.Mutex
	kept []readResult
}

type readResult struct {
	card hal.Card
	err  error
}

func newCardMux(slot, field hal.CardReader) *cardMux { return &cardMux{slot: slot, field: field} }

func (m *cardMux) Enable(modes hal.CardMode) error {
	if modes == hal.CardNone {
		// What was kept belongs to the screen that is gone.
		m.mu.Lock()
		m.kept = nil
		m.mu.Unlock()
	}
	return errors.Join(m.slot.Enable(modes&^hal.CardContactless), m.field.Enable(modes&hal.CardContactless))
}

func (m *cardMux) Read(ctx context.Context) (hal.Card, error) {
	m.mu.Lock()
	if len(m.kept) > 0 {
		r := m.kept[0]
		m.kept = m.kept[1:]
		m.mu.Unlock()
		return r.card, r.err
	}
	m.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan readResult, 2)
	for _, r := range []hal.CardReader{m.slot, m.field} {
		go func() {
			c, err := r.Read(ctx)
			results <- readResult{c, err}
		}()
	}
	first := <-results
	cancel()
	second := <-results
	if second.err == nil || !errors.Is(second.err, context.Canceled) && !errors.Is(second.err, context.DeadlineExceeded) {
		m.mu.Lock()
		m.kept = append(m.kept, second)
		m.mu.Unlock()
	}
	return first.card, first.err
}

// SelfTest tests both readers.
func (m *cardMux) SelfTest(ctx context.Context) hal.SelfTestResult {
	res := hal.SelfTestResult{Device: "card reader", OK: true}
	for _, r := range []hal.CardReader{m.slot, m.field} {
		if st, ok := r.(hal.SelfTester); ok {
			one := st.SelfTest(ctx)
			res.OK = res.OK && one.OK
			res.Took += one.Took
			if res.Detail != "" {
				res.Detail += "; "
			}
			res.Detail += one.Detail
		}
	}
	return res
}
