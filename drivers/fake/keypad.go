package fake

import (
	"context"

	"github.com/shoukuan/pos/hal"
)

// Keypad is a scripted keypad.
type Keypad struct{ in *inbox[hal.KeyEvent] }

func NewKeypad() *Keypad { return &Keypad{in: newInbox[hal.KeyEvent](true)} }

// Press queues key presses in order.
func (k *Keypad) Press(keys ...hal.Key) {
	for _, key := range keys {
		k.in.push(hal.KeyEvent{Key: key})
	}
}

func (k *Keypad) ReadKey(ctx context.Context) (hal.KeyEvent, error) { return k.in.pop(ctx) }

// Pending is the number of presses the application has not consumed.
func (k *Keypad) Pending() int { return k.in.pending() }
