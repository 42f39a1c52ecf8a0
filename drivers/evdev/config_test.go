package evdev

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/shoukuan/pos/hal"
)

// TestCodesMatchKernelHeader checks the name table and the type ranges
// against the build machine's linux/input-event-codes.h and input.h, when
// it has them.
func TestCodesMatchKernelHeader(t *testing.T) {
	defs := map[string]uint64{}
	for _, h := range []string{"input-event-codes.h", "input.h"} {
		f, err := os.Open("/usr/include/linux/" + h)
		if err != nil {
			t.Skip("no kernel headers here:", err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) >= 3 && fs[0] == "#define" {
				if v, err := strconv.ParseUint(fs[2], 0, 32); err == nil {
					defs[fs[1]] = v
				}
			}
		}
		f.Close()
	}
	for name, code := range keyCodes {
		if v, ok := defs[name]; !ok || v != uint64(code) {
			t.Errorf("%s = %d here, %d (found %v) in the header", name, code, v, ok)
		}
	}
	for typ, max := range map[string]string{
		"EV_SYN": "SYN_MAX", "EV_KEY": "KEY_MAX", "EV_REL": "REL_MAX", "EV_ABS": "ABS_MAX",
		"EV_MSC": "MSC_MAX", "EV_SW": "SW_MAX", "EV_LED": "LED_MAX", "EV_SND": "SND_MAX",
		"EV_REP": "REP_MAX", "EV_FF": "FF_MAX", "EV_FF_STATUS": "FF_STATUS_MAX",
	} {
		if got, ok := maxCode[uint16(defs[typ])]; !ok || uint64(got) != defs[max] {
			t.Errorf("%s (%d): max code %d, header %s = %d", typ, defs[typ], got, max, defs[max])
		}
	}
	if defs["EV_MAX"] != evMax || defs["SYN_DROPPED"] != SynDropped || defs["EV_PWR"] != 0x16 {
		t.Error("EV_MAX, SYN_DROPPED or EV_PWR differ from the header")
	}
}

func TestDefaultKeyMap(t *testing.T) {
	keys, err := ParseKeyMap(DefaultKeyMap())
	if err != nil {
		t.Fatal(err)
	}
	for code, want := range map[uint16]hal.Key{
		2: hal.Key1, 11: hal.Key0, 71: hal.Key7, 82: hal.Key0, 0x205: hal.Key5,
		28: hal.KeyEnter, 96: hal.KeyEnter, 1: hal.KeyCancel, 14: hal.KeyClear,
		83: hal.KeyDot, 103: hal.KeyUp, 108: hal.KeyDown, 59: hal.KeyF1, 62: hal.KeyF4,
		139: hal.KeyMenu, 55: hal.KeyCancel, 74: hal.KeyClear,
	} {
		if keys[code] != want {
			t.Errorf("code %d: %v, want %v", code, keys[code], want)
		}
	}
	if _, ok := keys[69]; ok {
		t.Error("NumLock is mapped")
	}
	// Every key of hal but "00" can be typed on the default map.
	have := map[hal.Key]bool{}
	for _, k := range keys {
		have[k] = true
	}
	for k := hal.Key0; k <= hal.KeyMenu; k++ {
		if !have[k] && k != hal.Key00 {
			t.Errorf("%v has no key in the default map", k)
		}
	}
}

func TestParseKeyMap(t *testing.T) {
	keys, err := ParseKeyMap(map[string]string{"28": "enter", "0x160": "enter", "KEY_KP5": "5", "key_esc": "cancel", "500": "00"})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 5 || keys[28] != hal.KeyEnter || keys[0x160] != hal.KeyEnter || keys[76] != hal.Key5 || keys[1] != hal.KeyCancel || keys[500] != hal.Key00 {
		t.Errorf("%v", keys)
	}
}

func TestParseKeyMapErrors(t *testing.T) {
	for _, tc := range []struct {
		m    map[string]string
		want []string // all in the message
	}{
		{map[string]string{"KEY_ENTRE": "enter"}, []string{`"KEY_ENTRE"`, "unknown key name", "KEY_KPENTER"}},
		{map[string]string{"28": "ok"}, []string{`"28"`, `unknown key "ok"`, "enter"}},
		{map[string]string{"KEY_1": "one"}, []string{`"KEY_1"`, `"one"`}},
		{map[string]string{"28": "enter", "KEY_ENTER": "enter"}, []string{`"28"`, `"KEY_ENTER"`, "code 28"}},
		{map[string]string{"0x1c": "enter", "KEY_ENTER": "cancel"}, []string{`"0x1c"`, `"KEY_ENTER"`}},
		{map[string]string{"800": "1"}, []string{`"800"`, "out of range"}},
		{map[string]string{"0": "1"}, []string{`"0"`, "out of range"}},
		{map[string]string{"enter": "enter"}, []string{`"enter"`, "number or a KEY_ name"}},
		{map[string]string{"-3": "1"}, []string{`"-3"`}},
	} {
		_, err := ParseKeyMap(tc.m)
		if err == nil {
			t.Errorf("%v: accepted", tc.m)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q does not say %s", tc.m, err, w)
			}
		}
	}
}

func TestConfigCheck(t *testing.T) {
	s, err := Config{}.check()
	if err != nil || s.size != NativeRecordSize || s.keys[28] != hal.KeyEnter {
		t.Errorf("zero config: size %d, %v", s.size, err)
	}
	if _, err := (Config{RecordSize: 20}).check(); err == nil || !strings.Contains(err.Error(), "record size 20") {
		t.Errorf("record size 20: %v", err)
	}
	if _, err := (Config{KeyMap: map[string]string{"KEY_A": "1"}}).check(); err == nil {
		t.Error("KEY_A is not in the name table (give it as 30), yet accepted")
	}
	// A board map replaces the default one rather than adding to it.
	s, err = Config{KeyMap: map[string]string{"30": "1"}}.check()
	if err != nil || len(s.keys) != 1 || s.keys[30] != hal.Key1 {
		t.Errorf("custom map: %v %v", s.keys, err)
	}
}
