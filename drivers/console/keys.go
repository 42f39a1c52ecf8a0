package console

import (
	"github.com/nsf/termbox-go"

	"github.com/shoukuan/pos/hal"
)

// KeyPress is a key that is not a keypad key, offered to the panels.
// Name is set for special keys ("left", "right", "pgup", "pgdn", "tab",
// "space", "home", "end", "insert", "f5".."f9", "f11", "f12") and Rune is
// then 0; for ordinary characters Name is "" and Rune holds the character.
// The arrows up/down are keypad keys and never reach panels.
type KeyPress struct {
	Rune rune
	Name string
}

// action is what the console does with one terminal event.
type action int

const (
	actIgnore action = iota // nothing to do
	actKeypad               // a POS keypad key
	actPanel                // offer to the panels
	actQuit                 // user quits the simulator
	actRedraw               // terminal resized
	actError                // terminal input failed
)

// runeKeys are the printable characters that act as keypad keys.
var runeKeys = map[rune]hal.Key{
	'0': hal.Key0, '1': hal.Key1, '2': hal.Key2, '3': hal.Key3, '4': hal.Key4,
	'5': hal.Key5, '6': hal.Key6, '7': hal.Key7, '8': hal.Key8, '9': hal.Key9,
	'd': hal.Key00, '=': hal.Key00, '.': hal.KeyDot, 'm': hal.KeyMenu,
}

// specialKeys are the termbox special keys that act as keypad keys.
var specialKeys = map[termbox.Key]hal.Key{
	termbox.KeyEnter:      hal.KeyEnter,
	termbox.KeyCtrlJ:      hal.KeyEnter, // a bare LF, as some pipes and send-keys deliver
	termbox.KeyEsc:        hal.KeyCancel,
	termbox.KeyBackspace:  hal.KeyClear,
	termbox.KeyBackspace2: hal.KeyClear,
	termbox.KeyDelete:     hal.KeyClear,
	termbox.KeyArrowUp:    hal.KeyUp,
	termbox.KeyArrowDown:  hal.KeyDown,
	termbox.KeyF1:         hal.KeyF1,
	termbox.KeyF2:         hal.KeyF2,
	termbox.KeyF3:         hal.KeyF3,
	termbox.KeyF4:         hal.KeyF4,
}

// panelKeys are the termbox special keys offered to panels by name.
var panelKeys = map[termbox.Key]string{
	termbox.KeyArrowLeft:  "left",
	termbox.KeyArrowRight: "right",
	termbox.KeyPgup:       "pgup",
	termbox.KeyPgdn:       "pgdn",
	termbox.KeyTab:        "tab",
	termbox.KeySpace:      "space",
	termbox.KeyHome:       "home",
	termbox.KeyEnd:        "end",
	termbox.KeyInsert:     "insert",
	termbox.KeyF5:         "f5",
	termbox.KeyF6:         "f6",
	termbox.KeyF7:         "f7",
	termbox.KeyF8:         "f8",
	termbox.KeyF9:         "f9",
	termbox.KeyF11:        "f11",
	termbox.KeyF12:        "f12",
}

// mapEvent decides what one termbox event means. It is pure so that the
// whole keyboard mapping is testable without a terminal.
func mapEvent(ev termbox.Event) (hal.Key, KeyPress, action) {
	switch ev.Type {
	case termbox.EventKey:
	case termbox.EventResize:
		return hal.KeyNone, KeyPress{}, actRedraw
	case termbox.EventError:
		return hal.KeyNone, KeyPress{}, actError
	default:
		return hal.KeyNone, KeyPress{}, actIgnore
	}
	if ev.Ch != 0 {
		if k, ok := runeKeys[ev.Ch]; ok {
			return k, KeyPress{}, actKeypad
		}
		if ev.Ch == ' ' {
			return hal.KeyNone, KeyPress{Name: "space"}, actPanel
		}
		return hal.KeyNone, KeyPress{Rune: ev.Ch}, actPanel
	}
	switch ev.Key {
	case termbox.KeyCtrlC, termbox.KeyCtrlQ, termbox.KeyF10:
		return hal.KeyNone, KeyPress{}, actQuit
	}
	if k, ok := specialKeys[ev.Key]; ok {
		return k, KeyPress{}, actKeypad
	}
	if name, ok := panelKeys[ev.Key]; ok {
		return hal.KeyNone, KeyPress{Name: name}, actPanel
	}
	return hal.KeyNone, KeyPress{}, actIgnore
}

// routeKey offers k to the panels in order and reports whether one took it.
func routeKey(panels []Panel, k KeyPress) bool {
	for _, p := range panels {
		if p.HandleKey(k) {
			return true
		}
	}
	return false
}
