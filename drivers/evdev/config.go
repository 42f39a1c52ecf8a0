package evdev

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/shoukuan/pos/hal"
)

// Config describes one keypad. The zero value is a standard numeric
// keypad on a native binary.
type Config struct {
	// KeyMap maps a Linux key code to a hal key name ("0".."9", "00",
	// "dot", "enter", "cancel", "clear", "up", "down", "f1".."f4",
	// "menu"). A code is a number ("28", "0x1c") or the KEY_ name of a
	// key POS keypads use ("KEY_ENTER"; see ParseKeyCode). Empty:
	// DefaultKeyMap. Codes not in the map are ignored and counted in the
	// self-test detail.
	KeyMap map[string]string
	// Repeat reports autorepeat events as presses. Off by default: a
	// held digit must not type an amount of 1111.
	Repeat bool
	// NoGrab leaves the device shared. By default the driver grabs it
	// (EVIOCGRAB) so that keys do not also reach the Linux console or
	// another reader.
	NoGrab bool
	// RecordSize overrides the struct input_event size (RecordSize32 or
	// RecordSize64); 0 is NativeRecordSize, which is what a real device
	// sends this binary. For tests and replays of captured streams.
	RecordSize int
}

// settings is a checked Config.
type settings struct {
	Config
	size int
	keys map[uint16]hal.Key
}

func (c Config) check() (settings, error) {
	s := settings{Config: c, size: c.RecordSize}
	switch s.size {
	case 0:
		s.size = NativeRecordSize
	case RecordSize32, RecordSize64:
	default:
		return s, fmt.Errorf("record size %d: want %d (32-bit) or %d (64-bit)", c.RecordSize, RecordSize32, RecordSize64)
	}
	m := c.KeyMap
	if len(m) == 0 {
		m = DefaultKeyMap()
	}
	var err error
	if s.keys, err = ParseKeyMap(m); err != nil {
		return s, err
	}
	return s, nil
}

// keyCodes are the Linux key names a key map may use, with their codes
// from linux/input-event-codes.h: the keys POS keypads and the numeric
// block of a PC keyboard send. Any other key is given by number.
var keyCodes = map[string]uint16{
	"KEY_ESC": 1, "KEY_MINUS": 12, "KEY_EQUAL": 13, "KEY_BACKSPACE": 14, "KEY_TAB": 15,
	"KEY_ENTER": 28, "KEY_COMMA": 51, "KEY_DOT": 52, "KEY_SPACE": 57,
	"KEY_KPASTERISK": 55, "KEY_NUMLOCK": 69, "KEY_KPMINUS": 74, "KEY_KPPLUS": 78,
	"KEY_KPDOT": 83, "KEY_KPENTER": 96, "KEY_KPSLASH": 98, "KEY_KPCOMMA": 121,
	"KEY_HOME": 102, "KEY_UP": 103, "KEY_PAGEUP": 104, "KEY_LEFT": 105, "KEY_RIGHT": 106,
	"KEY_END": 107, "KEY_DOWN": 108, "KEY_PAGEDOWN": 109, "KEY_INSERT": 110, "KEY_DELETE": 111,
	"KEY_MENU": 139, "KEY_BACK": 158, "KEY_CANCEL": 223,
	"KEY_OK": 0x160, "KEY_SELECT": 0x161, "KEY_CLEAR": 0x163,
	"KEY_NUMERIC_STAR": 0x20a, "KEY_NUMERIC_POUND": 0x20b,
	// The keypad digits follow the PC keyboard layout, not the digits.
	"KEY_KP7": 71, "KEY_KP8": 72, "KEY_KP9": 73, "KEY_KP4": 75, "KEY_KP5": 76,
	"KEY_KP6": 77, "KEY_KP1": 79, "KEY_KP2": 80, "KEY_KP3": 81, "KEY_KP0": 82,
}

func init() {
	// The top-row digits run 1..9 then 0 (codes 2..11); the phone-style
	// NUMERIC keys and F1..F10 are contiguous.
	for d := 1; d <= 9; d++ {
		keyCodes["KEY_"+strconv.Itoa(d)] = uint16(1 + d)
	}
	keyCodes["KEY_0"] = 11
	for d := 0; d <= 9; d++ {
		keyCodes["KEY_NUMERIC_"+strconv.Itoa(d)] = uint16(0x200 + d)
	}
	for f := 1; f <= 10; f++ {
		keyCodes["KEY_F"+strconv.Itoa(f)] = uint16(58 + f)
	}
}

// DefaultKeyMap is the map used when the board gives none: the digits of
// the top row, the numeric block and phone-style keypads, and the keys a
// gpio-matrix keypad's device tree usually names. A PC numeric keypad has
// no Esc or Backspace, so its * and - keys cancel and clear, and / is the
// menu. NumLock does not matter: the kernel sends KEY_KP* codes either
// way (NumLock is applied by console keymaps, which a grab bypasses).
func DefaultKeyMap() map[string]string {
	m := map[string]string{
		"KEY_DOT": "dot", "KEY_KPDOT": "dot",
		"KEY_ENTER": "enter", "KEY_KPENTER": "enter", "KEY_OK": "enter",
		"KEY_ESC": "cancel", "KEY_CANCEL": "cancel", "KEY_KPASTERISK": "cancel",
		"KEY_BACKSPACE": "clear", "KEY_DELETE": "clear", "KEY_CLEAR": "clear", "KEY_KPMINUS": "clear",
		"KEY_UP": "up", "KEY_DOWN": "down",
		"KEY_F1": "f1", "KEY_F2": "f2", "KEY_F3": "f3", "KEY_F4": "f4",
		"KEY_MENU": "menu", "KEY_KPSLASH": "menu",
	}
	for d := 0; d <= 9; d++ {
		s := strconv.Itoa(d)
		m["KEY_"+s], m["KEY_KP"+s], m["KEY_NUMERIC_"+s] = s, s, s
	}
	return m
}

// ParseKeyCode reads a key map's left side: a number (decimal, or 0x hex
// as in input-event-codes.h) from 1 to KEY_MAX, or a KEY_* name of a key
// POS keypads use: KEY_0..KEY_9, KEY_KP0..KEY_KP9, KEY_NUMERIC_0..9,
// KEY_F1..KEY_F10, the keypad operators, Enter, Esc, Backspace, Delete,
// the arrows, KEY_OK, KEY_CANCEL, KEY_CLEAR, KEY_MENU and a few more
// (the error for an unknown name lists them all).
func ParseKeyCode(s string) (uint16, error) {
	if strings.HasPrefix(strings.ToUpper(s), "KEY_") {
		if c, ok := keyCodes[strings.ToUpper(s)]; ok {
			return c, nil
		}
		return 0, fmt.Errorf("unknown key name (names known: %s; give any other key by number)", knownNames())
	}
	n, err := strconv.ParseUint(s, 0, 16)
	if err != nil {
		return 0, fmt.Errorf("want a key code number or a KEY_ name")
	}
	if n == 0 || n > KeyMax {
		return 0, fmt.Errorf("key code %d out of range 1-%d", n, KeyMax)
	}
	return uint16(n), nil
}

// knownNames lists keyCodes compactly for error messages.
func knownNames() string {
	names := make([]string, 0, len(keyCodes))
	for n := range keyCodes {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if keyCodes[names[i]] != keyCodes[names[j]] {
			return keyCodes[names[i]] < keyCodes[names[j]]
		}
		return names[i] < names[j]
	})
	return strings.Join(names, " ")
}

// ParseKeyMap checks a board's key map and resolves it to codes. Errors
// name the entry. Two keys may give the same hal key (Enter and keypad
// Enter), but one code may not appear twice under different spellings
// ("28" and "KEY_ENTER"), since only one of them could win.
func ParseKeyMap(m map[string]string) (map[uint16]hal.Key, error) {
	entries := make([]string, 0, len(m))
	for e := range m {
		entries = append(entries, e)
	}
	sort.Strings(entries) // deterministic errors
	keys := make(map[uint16]hal.Key, len(m))
	from := make(map[uint16]string, len(m))
	for _, e := range entries {
		code, err := ParseKeyCode(strings.TrimSpace(e))
		if err != nil {
			return nil, fmt.Errorf("key map entry %q: %w", e, err)
		}
		k, err := hal.ParseKey(strings.ToLower(strings.TrimSpace(m[e])))
		if err != nil {
			return nil, fmt.Errorf("key map entry %q: %w (want one of 0-9, 00, dot, enter, cancel, clear, up, down, f1-f4, menu)", e, err)
		}
		if prev, dup := from[code]; dup {
			return nil, fmt.Errorf("key map entries %q and %q are both key code %d", prev, e, code)
		}
		keys[code], from[code] = k, e
	}
	return keys, nil
}
