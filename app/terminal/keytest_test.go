package terminal

import (
	"context"
	"testing"

	"github.com/shoukuan/pos/hal"
)

type listedKeypad []hal.Key

func (l listedKeypad) ReadKey(ctx context.Context) (hal.KeyEvent, error) {
	<-ctx.Done()
	return hal.KeyEvent{}, ctx.Err()
}
func (l listedKeypad) Keys() []hal.Key { return l }

func TestKeyCheck(t *testing.T) {
	kp := listedKeypad{hal.Key1, hal.KeyEnter, hal.KeyCancel}
	for _, tc := range []struct {
		name    string
		presses []hal.Key
		done    bool
		verdict string
		detail  string
	}{
		{"all, Cancel last", []hal.Key{hal.Key1, hal.KeyEnter, hal.KeyCancel}, true, "ok", "all 3 keys pressed"},
		{"Cancel twice does not leave", []hal.Key{hal.KeyCancel, hal.KeyCancel}, false, "", ""},
		{"Cancel thrice, nothing else", []hal.Key{hal.KeyCancel, hal.KeyCancel, hal.KeyCancel}, true, "not tested", ""},
		{"Cancels not in a row", []hal.Key{hal.KeyCancel, hal.KeyCancel, hal.Key1, hal.KeyCancel}, false, "", ""},
		{"Cancel thrice after a key", []hal.Key{hal.Key1, hal.KeyCancel, hal.KeyCancel, hal.KeyCancel}, true, "FAIL", "not pressed: enter"},
		{"a key it does not have", []hal.Key{hal.Key9, hal.Key1, hal.KeyEnter}, false, "", ""},
	} {
		c := NewKeyCheck(kp)
		var r hal.SelfTestResult
		done := false
		for _, k := range tc.presses {
			if done {
				t.Fatalf("%s: pressed after the end", tc.name)
			}
			r, done = c.Press(k)
		}
		if done != tc.done || done && (r.Verdict() != tc.verdict || tc.detail != "" && r.Detail != tc.detail) {
			t.Errorf("%s: done %v %s %q", tc.name, done, r.Verdict(), r.Detail)
		}
	}
	if n := len(NewKeyCheck(listedKeypad(nil)).Keys()); n != len(hal.AllKeys()) {
		t.Errorf("a keypad that lists nothing is asked for %d keys", n)
	}
}

// TestWithKeyCheck: a keypad whose driver sees a stuck key fails even if
// a person pressed every key.
func TestWithKeyCheck(t *testing.T) {
	pressed := hal.SelfTestResult{Device: "keypad", OK: true, Detail: "all 16 keys pressed"}
	res := WithKeyCheck([]hal.SelfTestResult{
		{Device: "display", OK: true},
		{Device: "keypad", Detail: "column GPIO20 reads low at rest"},
	}, pressed)
	if res[1].OK || res[1].Detail != "column GPIO20 reads low at rest; all 16 keys pressed" || !res[0].OK {
		t.Fatalf("%+v", res)
	}
	res = WithKeyCheck([]hal.SelfTestResult{{Device: "keypad", Skipped: true, Detail: "no self-test"}}, pressed)
	if !res[0].OK || res[0].Detail != pressed.Detail {
		t.Fatalf("%+v", res)
	}
}
