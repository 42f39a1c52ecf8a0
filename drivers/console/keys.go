package console

import (
	"strings"
	"time"

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

// escWait is how long a lone Escape waits for the rest of a sequence
// (vim's ttimeoutlen is 100 ms too): a lone Escape, Cancel, comes that
// much later.
const escWait = 100 * time.Millisecond

// escTails are the key sequences after ESC that xterm, tmux, screen and
// the Linux console send for the keys the terminal uses.
var escTails = map[string]termbox.Key{
	"[A": termbox.KeyArrowUp, "[B": termbox.KeyArrowDown, "[C": termbox.KeyArrowRight, "[D": termbox.KeyArrowLeft,
	"OA": termbox.KeyArrowUp, "OB": termbox.KeyArrowDown, "OC": termbox.KeyArrowRight, "OD": termbox.KeyArrowLeft,
	"[H": termbox.KeyHome, "[F": termbox.KeyEnd, "OH": termbox.KeyHome, "OF": termbox.KeyEnd,
	"[1~": termbox.KeyHome, "[4~": termbox.KeyEnd, "[7~": termbox.KeyHome, "[8~": termbox.KeyEnd,
	"[2~": termbox.KeyInsert, "[3~": termbox.KeyDelete, "[5~": termbox.KeyPgup, "[6~": termbox.KeyPgdn,
	"OP": termbox.KeyF1, "OQ": termbox.KeyF2, "OR": termbox.KeyF3, "OS": termbox.KeyF4,
	"[11~": termbox.KeyF1, "[12~": termbox.KeyF2, "[13~": termbox.KeyF3, "[14~": termbox.KeyF4,
	"[[A": termbox.KeyF1, "[[B": termbox.KeyF2, "[[C": termbox.KeyF3, "[[D": termbox.KeyF4, "[[E": termbox.KeyF5,
	"[15~": termbox.KeyF5, "[17~": termbox.KeyF6, "[18~": termbox.KeyF7, "[19~": termbox.KeyF8,
	"[20~": termbox.KeyF9, "[21~": termbox.KeyF10, "[23~": termbox.KeyF11, "[24~": termbox.KeyF12,
}

// escJoiner puts back together a key sequence that a slow line delivered
// in pieces. Termbox decodes what one read of the tty returned and, on
// Linux, does not wait for the rest, so F10 (ESC [ 2 1 ~) split after
// the ESC on a serial console reads as Escape, '[', '2', '1', '~': Cancel,
// then menu items. The joiner holds an Escape and the characters after
// it while they can still become a sequence, for at most escWait.
type escJoiner struct {
	held []termbox.Event // an Escape and the runes after it
}

func isEsc(ev termbox.Event) bool {
	return ev.Type == termbox.EventKey && ev.Ch == 0 && ev.Key == termbox.KeyEsc && ev.Mod == 0
}

// feed takes one event and returns those that are decided; wait says an
// Escape is held, and timeout must be called if nothing comes in escWait.
func (j *escJoiner) feed(ev termbox.Event) (out []termbox.Event, wait bool) {
	if len(j.held) == 0 {
		if isEsc(ev) {
			j.held = []termbox.Event{ev}
			return nil, true
		}
		return []termbox.Event{ev}, false
	}
	if ev.Type != termbox.EventKey || ev.Ch == 0 || ev.Mod != 0 {
		// Not part of a sequence: what was held stands as it came.
		out = j.timeout()
		more, wait := j.feed(ev)
		return append(out, more...), wait
	}
	j.held = append(j.held, ev)
	var tail []rune
	for _, h := range j.held[1:] {
		tail = append(tail, h.Ch)
	}
	if k, ok := escTails[string(tail)]; ok {
		j.held = nil
		return []termbox.Event{{Type: termbox.EventKey, Key: k}}, false
	}
	for s := range escTails {
		if strings.HasPrefix(s, string(tail)) {
			return nil, true
		}
	}
	return j.timeout(), false
}

// timeout gives up waiting: the held events stand as they came.
func (j *escJoiner) timeout() []termbox.Event {
	out := j.held
	j.held = nil
	return out
}
