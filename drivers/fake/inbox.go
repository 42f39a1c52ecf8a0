package fake

import (
	"context"
	"sync"
)

// inbox is a queue of inputs with consumption tracking (see the package
// comment): pending counts queued inputs plus the one last handed out,
// until the reader asks again.
type inbox[T any] struct {
	mu      sync.Mutex
	queue   []T
	handed  bool // an item was returned and the reader has not come back yet
	wake    chan struct{}
	enabled bool
}

func newInbox[T any](enabled bool) *inbox[T] {
	return &inbox[T]{wake: make(chan struct{}, 1), enabled: enabled}
}

func (b *inbox[T]) push(v T) {
	b.mu.Lock()
	b.queue = append(b.queue, v)
	b.mu.Unlock()
	b.signal()
}

func (b *inbox[T]) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// pop blocks until an item is available while enabled, or ctx ends.
func (b *inbox[T]) pop(ctx context.Context) (T, error) {
	b.mu.Lock()
	b.handed = false
	b.mu.Unlock()
	for {
		b.mu.Lock()
		if b.enabled && len(b.queue) > 0 {
			v := b.queue[0]
			b.queue = b.queue[1:]
			b.handed = true
			b.mu.Unlock()
			return v, nil
		}
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		case <-b.wake:
		}
	}
}

func (b *inbox[T]) setEnabled(on bool) {
	b.mu.Lock()
	b.enabled = on
	b.mu.Unlock()
	b.signal()
}

func (b *inbox[T]) isEnabled() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.enabled
}

// pending is the number of inputs not yet consumed.
func (b *inbox[T]) pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := len(b.queue)
	if b.handed {
		n++
	}
	return n
}

// drop discards queued inputs (a device disarmed by the application).
func (b *inbox[T]) drop() {
	b.mu.Lock()
	b.queue = nil
	b.mu.Unlock()
}
