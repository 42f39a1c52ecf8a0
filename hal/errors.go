package hal

import "errors"

// Errors a driver returns so that the application can act on them. Drivers
// wrap them with detail (fmt.Errorf("printer: %w", hal.ErrNoPaper)); callers
// test with errors.Is.
var (
	ErrTimeout      = errors.New("device timeout")
	ErrCancelled    = errors.New("cancelled")
	ErrNoPaper      = errors.New("printer out of paper")
	ErrCoverOpen    = errors.New("printer cover open")
	ErrDisconnected = errors.New("device disconnected")
	ErrNoDevice     = errors.New("no such device on this board")
	ErrDisabled     = errors.New("device not armed")
	// ErrBadRead: the device works but what it read was unusable (a
	// garbled scan, noise on the line); the next read may be fine.
	ErrBadRead = errors.New("unreadable input")
	// ErrCardNotSupported: a card the reader found but that cannot pay
	// (a transit or access card in the field); with ErrBadRead.
	ErrCardNotSupported = errors.New("this card cannot pay")
	// ErrTwoCards: more than one card at once; with ErrBadRead.
	ErrTwoCards = errors.New("more than one card presented")
)
