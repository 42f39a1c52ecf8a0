package terminal

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shoukuan/pos/app/ui"
	"github.com/shoukuan/pos/hal"
)

// KeyCheck is the "press every key" check of the self-test: the only way
// to know that each switch of a keypad and its wiring work is a person
// pressing it. Cancel is one of the keys under test, so it cannot simply
// leave: three Cancels in a row end the check early, and a check ended
// with keys unpressed fails and names them. The maintenance screen and
// pos selftest --keys share it.
type KeyCheck struct {
	keys    []hal.Key
	pressed map[hal.Key]bool
	cancels int // Cancels in a row
}

const keyCheckCancels = 3

// NewKeyCheck asks for the keys the keypad says it has, or every key.
func NewKeyCheck(kp hal.Keypad) *KeyCheck {
	keys := hal.AllKeys()
	if l, ok := kp.(hal.KeyLister); ok && len(l.Keys()) > 0 {
		keys = l.Keys()
	}
	return &KeyCheck{keys: keys, pressed: map[hal.Key]bool{}}
}

// Keys are the keys asked for; Pressed says which have been.
func (c *KeyCheck) Keys() []hal.Key          { return c.keys }
func (c *KeyCheck) Pressed(k hal.Key) bool   { return c.pressed[k] }
func (c *KeyCheck) Count() (pressed, of int) { return len(c.pressed), len(c.keys) }

// Press records a key; done is set with the result when the check ends.
func (c *KeyCheck) Press(k hal.Key) (r hal.SelfTestResult, done bool) {
	if slices.Contains(c.keys, k) {
		c.pressed[k] = true
	}
	if len(c.pressed) == len(c.keys) {
		return hal.SelfTestResult{Device: "keypad", OK: true,
			Detail: fmt.Sprintf("all %d keys pressed", len(c.keys))}, true
	}
	if k != hal.KeyCancel {
		c.cancels = 0
		return r, false
	}
	if c.cancels++; c.cancels < keyCheckCancels {
		return r, false
	}
	onlyCancel := true
	for k := range c.pressed {
		onlyCancel = onlyCancel && k == hal.KeyCancel
	}
	if onlyCancel { // the technician chose not to test the keypad
		return hal.SelfTestResult{Device: "keypad", Skipped: true,
			Detail: "not tested: the press-every-key check was skipped"}, true
	}
	return c.Stop(), true
}

// Stop ends the check where it is: it fails unless every key was pressed.
func (c *KeyCheck) Stop() hal.SelfTestResult {
	var missing []string
	for _, want := range c.keys {
		if !c.pressed[want] {
			missing = append(missing, want.String())
		}
	}
	if len(missing) == 0 {
		return hal.SelfTestResult{Device: "keypad", OK: true,
			Detail: fmt.Sprintf("all %d keys pressed", len(c.keys))}
	}
	return hal.SelfTestResult{Device: "keypad", Detail: "not pressed: " + strings.Join(missing, " ")}
}

// keyTest is the KeyCheck on the terminal's screen.
type keyTest struct {
	check *KeyCheck
	done  func(t *Terminal, r hal.SelfTestResult)
}

func newKeyTest(kp hal.Keypad, done func(*Terminal, hal.SelfTestResult)) *keyTest {
	return &keyTest{check: NewKeyCheck(kp), done: done}
}

func (s *keyTest) Key(t *Terminal, k hal.Key) {
	if r, done := s.check.Press(k); done {
		s.done(t, r)
	}
}

func (s *keyTest) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(mKeyTest))
	c.Center(1, t.tr(mPressEveryKey), 0)
	keys := s.check.Keys()
	labels := make([]string, len(keys))
	width := 1
	for i, k := range keys {
		labels[i] = t.keyLabel(k)
		width = max(width, hal.StringWidth(labels[i])+1)
	}
	perRow := max(1, c.Cols()/width)
	// Keys still to press stand out in reverse video; pressed keys stay
	// in place, plain, so the layout reads like the keypad.
	y := 2
	for i, l := range labels {
		if y >= c.Rows()-2 {
			break
		}
		a := hal.AttrReverse
		if s.check.Pressed(keys[i]) {
			a = hal.AttrOK
		}
		c.Text((i%perRow)*width, y, l, a)
		if i%perRow == perRow-1 {
			y++
		}
	}
	pressed, of := s.check.Count()
	c.Center(c.Rows()-2, t.tr(mKeysPressed, pressed, of), hal.AttrBold)
	c.Footer(t.tr(mKeyTestHint))
}

// keyLabel is what the key says on a Chinese POS keypad.
func (t *Terminal) keyLabel(k hal.Key) string {
	switch k {
	case hal.KeyEnter:
		return t.tr(mKeyEnter)
	case hal.KeyCancel:
		return t.tr(mKeyCancel)
	case hal.KeyClear:
		return t.tr(mKeyClear)
	case hal.KeyMenu:
		return t.tr(mKeyMenu)
	case hal.KeyUp:
		return "↑"
	case hal.KeyDown:
		return "↓"
	case hal.KeyDot:
		return "."
	}
	return strings.ToUpper(k.String())
}
