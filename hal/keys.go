package hal

import "fmt"

// Key is one key of a POS keypad.
type Key int

// The keys of a Chinese bank POS keypad. Digits are contiguous so that
// Key0+n is digit n.
const (
	KeyNone Key = iota
	Key0
	Key1
	Key2
	Key3
	Key4
	Key5
	Key6
	Key7
	Key8
	Key9
	Key00
	KeyDot
	KeyEnter  // 确认
	KeyCancel // 取消
	KeyClear  // 清除 (backspace)
	KeyUp
	KeyDown
	KeyF1
	KeyF2
	KeyF3
	KeyF4
	KeyMenu
	keyCount
)

var keyNames = [...]string{
	KeyNone: "none", Key0: "0", Key1: "1", Key2: "2", Key3: "3", Key4: "4",
	Key5: "5", Key6: "6", Key7: "7", Key8: "8", Key9: "9", Key00: "00",
	KeyDot: "dot", KeyEnter: "enter", KeyCancel: "cancel", KeyClear: "clear",
	KeyUp: "up", KeyDown: "down", KeyF1: "f1", KeyF2: "f2", KeyF3: "f3",
	KeyF4: "f4", KeyMenu: "menu",
}

func (k Key) String() string {
	if k >= 0 && k < keyCount {
		return keyNames[k]
	}
	return fmt.Sprintf("key(%d)", int(k))
}

// Digit reports the digit of a digit key.
func (k Key) Digit() (int, bool) {
	if k >= Key0 && k <= Key9 {
		return int(k - Key0), true
	}
	return 0, false
}

// ParseKey reads a key name as written by String ("0".."9", "00", "enter"...).
func ParseKey(s string) (Key, error) {
	for k := Key(1); k < keyCount; k++ {
		if keyNames[k] == s {
			return k, nil
		}
	}
	return KeyNone, fmt.Errorf("unknown key %q", s)
}

// KeyEvent is one key press.
type KeyEvent struct {
	Key Key
}

// KeyLister is a keypad that knows which keys it has, so that the
// "press every key" check asks for exactly those and no more. A keypad
// without it is asked for every key (AllKeys).
type KeyLister interface {
	Keys() []Key
}

// AllKeys is every key, in the order of the constants.
func AllKeys() []Key {
	keys := make([]Key, 0, keyCount-1)
	for k := Key(1); k < keyCount; k++ {
		keys = append(keys, k)
	}
	return keys
}

// SortedKeys is keys without KeyNone and duplicates, in constant order.
func SortedKeys(keys []Key) []Key {
	var seen [keyCount]bool
	for _, k := range keys {
		if k > KeyNone && k < keyCount {
			seen[k] = true
		}
	}
	var out []Key
	for k := Key(1); k < keyCount; k++ {
		if seen[k] {
			out = append(out, k)
		}
	}
	return out
}
