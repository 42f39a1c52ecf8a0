package fake

import (
	"sync"

	"github.com/shoukuan/pos/hal"
)

// Indicator records beeps and LED states.
type Indicator struct {
	mu       sync.Mutex
	beeps    []hal.BeepKind
	leds     [hal.LEDCount]bool
	onChange func()
}

func NewIndicator() *Indicator { return &Indicator{} }

func (i *Indicator) Beep(kind hal.BeepKind) {
	i.mu.Lock()
	i.beeps = append(i.beeps, kind)
	if len(i.beeps) > 1000 { // a long simulator session must not grow without bound
		i.beeps = i.beeps[len(i.beeps)-100:]
	}
	f := i.onChange
	i.mu.Unlock()
	if f != nil {
		f()
	}
}

func (i *Indicator) SetLED(led hal.LED, on bool) {
	if led >= hal.LEDCount {
		return
	}
	i.mu.Lock()
	i.leds[led] = on
	f := i.onChange
	i.mu.Unlock()
	if f != nil {
		f()
	}
}

// Beeps returns the beeps so far, oldest first.
func (i *Indicator) Beeps() []hal.BeepKind {
	i.mu.Lock()
	defer i.mu.Unlock()
	return append([]hal.BeepKind(nil), i.beeps...)
}

// LED reports whether a LED is lit.
func (i *Indicator) LED(led hal.LED) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return led < hal.LEDCount && i.leds[led]
}

// OnChange sets a callback run after every beep or LED change.
func (i *Indicator) OnChange(f func()) {
	i.mu.Lock()
	i.onChange = f
	i.mu.Unlock()
}
