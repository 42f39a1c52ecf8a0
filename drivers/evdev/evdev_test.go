package evdev

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shoukuan/pos/hal"
)

// These tests drive the real driver through a pipe: the same file
// operations and poller as a character device, without the ioctls.

const wait = 3 * time.Second // generous: the test machine may be busy

var sizes = []int{RecordSize32, RecordSize64}

// rig opens a keypad on the read end of a pipe and returns the write end.
func rig(t *testing.T, c Config) (*os.File, *Keypad) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	k, err := New(r, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return w, k
}

func send(t *testing.T, w *os.File, size int, evs ...Event) {
	t.Helper()
	if _, err := w.Write(encode(size, evs...)); err != nil {
		t.Fatal(err)
	}
}

// tap sends what a keypad sends for pressing and releasing code.
func tap(t *testing.T, w *os.File, size int, code uint16) {
	t.Helper()
	send(t, w, size, keyStream(code, 1000)...)
}

func readKey(k *Keypad) (hal.Key, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	ev, err := k.ReadKey(ctx)
	return ev.Key, err
}

func expectKeys(t *testing.T, k *Keypad, want ...hal.Key) {
	t.Helper()
	for i, w := range want {
		got, err := readKey(k)
		if err != nil || got != w {
			t.Fatalf("key %d: %v, %v; want %v", i, got, err, w)
		}
	}
}

// expectNothing checks that no key is waiting.
func expectNothing(t *testing.T, k *Keypad) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if ev, err := k.ReadKey(ctx); !errors.Is(err, hal.ErrTimeout) {
		t.Fatalf("got %v, %v; want nothing (a timeout)", ev.Key, err)
	}
}

func TestDefaultMapBothLayouts(t *testing.T) {
	for _, size := range sizes {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			w, k := rig(t, Config{RecordSize: size})
			// 1, keypad 2, keypad Enter, Esc, Backspace, keypad dot, F3
			codes := []uint16{2, 80, 96, 1, 14, 83, 61}
			for _, c := range codes {
				tap(t, w, size, c)
			}
			expectKeys(t, k, hal.Key1, hal.Key2, hal.KeyEnter, hal.KeyCancel, hal.KeyClear, hal.KeyDot, hal.KeyF3)
			expectNothing(t, k)
		})
	}
}

// TestWrongLayoutReadsNothing: the size option matters; 24-byte records
// read as 16-byte ones must not produce presses.
func TestWrongLayoutReadsNothing(t *testing.T) {
	w, k := rig(t, Config{RecordSize: RecordSize32})
	for i := 0; i < 5; i++ {
		tap(t, w, RecordSize64, 2)
	}
	expectNothing(t, k)
}

func TestCustomKeyMap(t *testing.T) {
	// A 4x4 matrix whose device tree uses KEY_A.. for the function keys.
	w, k := rig(t, Config{RecordSize: RecordSize64, KeyMap: map[string]string{
		"30": "f1", "48": "menu", "KEY_ENTER": "enter", "KEY_1": "00",
	}})
	for _, c := range []uint16{30, 82 /* KEY_KP0: not in this map */, 48, 28, 2} {
		tap(t, w, RecordSize64, c)
	}
	expectKeys(t, k, hal.KeyF1, hal.KeyMenu, hal.KeyEnter, hal.Key00)
	expectNothing(t, k)
	st := k.SelfTest(context.Background())
	if !strings.Contains(st.Detail, "1 unmapped (last code 82)") || !strings.Contains(st.Detail, "4 keys mapped") {
		t.Errorf("self-test detail %q does not count the unmapped key", st.Detail)
	}
}

func TestAutorepeat(t *testing.T) {
	hold := func(code uint16) []Event {
		return []Event{
			{Type: EvKey, Code: code, Value: KeyPress}, {Type: EvSyn},
			{Usec: 250000, Type: EvKey, Code: code, Value: KeyRepeat}, {Usec: 250000, Type: EvSyn},
			{Usec: 283000, Type: EvKey, Code: code, Value: KeyRepeat}, {Usec: 283000, Type: EvSyn},
			{Usec: 300000, Type: EvKey, Code: code, Value: KeyRelease}, {Usec: 300000, Type: EvSyn},
		}
	}
	for _, size := range sizes {
		w, k := rig(t, Config{RecordSize: size})
		send(t, w, size, hold(3)...)
		tap(t, w, size, 4)
		expectKeys(t, k, hal.Key2, hal.Key3) // the repeats of 2 are dropped
		expectNothing(t, k)
		if st := k.SelfTest(context.Background()); !strings.Contains(st.Detail, "2 repeats ignored") {
			t.Errorf("detail %q", st.Detail)
		}

		w, k = rig(t, Config{RecordSize: size, Repeat: true})
		send(t, w, size, hold(3)...)
		expectKeys(t, k, hal.Key2, hal.Key2, hal.Key2)
		expectNothing(t, k)
	}
}

func TestReleasesAndOtherEventsIgnored(t *testing.T) {
	size := RecordSize64
	w, k := rig(t, Config{RecordSize: size})
	send(t, w, size,
		Event{Type: EvKey, Code: 2, Value: KeyRelease}, // release without press
		Event{Type: EvSyn, Code: SynReport},
		Event{Type: EvMsc, Code: 4, Value: 2}, // MSC_SCAN whose value is a key code
		Event{Type: 0x11, Code: 0, Value: 1},  // LED_NUML
		Event{Type: 0x14, Code: 0, Value: 250},
		Event{Type: 0x02, Code: 0, Value: 2}, // REL_X
		Event{Type: 0x05, Code: 0, Value: 1}, // SW_LID
		Event{Type: EvSyn, Code: SynDropped},
		Event{Type: EvKey, Code: 5, Value: KeyPress},
	)
	expectKeys(t, k, hal.Key4)
	expectNothing(t, k)
	if st := k.SelfTest(context.Background()); !strings.Contains(st.Detail, "1 presses") || !strings.Contains(st.Detail, "1 kernel overflows") {
		t.Errorf("detail %q", st.Detail)
	}
}

// TestSplitRecords: records cut anywhere, even byte by byte, are
// reassembled, and a read waits for the rest of a record.
func TestSplitRecords(t *testing.T) {
	for _, size := range sizes {
		w, k := rig(t, Config{RecordSize: size})
		stream := encode(size, append(keyStream(7, 0), keyStream(8, 1000)...)...)
		got := make(chan hal.Key, 2)
		go func() {
			for i := 0; i < 2; i++ {
				key, _ := readKey(k)
				got <- key
			}
		}()
		for i := range stream {
			if _, err := w.Write(stream[i : i+1]); err != nil {
				t.Fatal(err)
			}
			if i%5 == 0 {
				time.Sleep(time.Millisecond) // let the reader see partial records
			}
		}
		if a, b := <-got, <-got; a != hal.Key6 || b != hal.Key7 {
			t.Errorf("size %d: %v %v, want 6 7", size, a, b)
		}
	}
}

// TestStrayByteResync: a byte too many loses at most the record it hits.
func TestStrayByteResync(t *testing.T) {
	size := RecordSize32
	w, k := rig(t, Config{RecordSize: size})
	tap(t, w, size, 2)
	w.Write([]byte{0x5a})
	tap(t, w, size, 3)
	expectKeys(t, k, hal.Key1, hal.Key2)
	if st := k.SelfTest(context.Background()); !st.OK || !strings.Contains(st.Detail, "1 bytes skipped") {
		t.Errorf("%+v", st)
	}
}

// within runs ReadKey(ctx) and fails the test if it does not return in
// time, rather than hanging it.
func within(t *testing.T, k *Keypad, ctx context.Context) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := k.ReadKey(ctx)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(wait):
		t.Fatal("ReadKey did not return when its context ended")
		return nil
	}
}

func TestContextEnds(t *testing.T) {
	w, k := rig(t, Config{RecordSize: RecordSize64})

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	if err := within(t, k, ctx); !errors.Is(err, hal.ErrCancelled) || !errors.Is(err, context.Canceled) {
		t.Fatalf("cancel: %v", err)
	}
	if err := within(t, k, ctx); !errors.Is(err, hal.ErrCancelled) {
		t.Fatalf("already cancelled: %v", err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := within(t, k, ctx); !errors.Is(err, hal.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout: %v", err)
	}

	// A caller waiting for another's read still obeys its context.
	go k.ReadKey(context.Background())
	time.Sleep(20 * time.Millisecond)
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if err := within(t, k, ctx); !errors.Is(err, hal.ErrTimeout) {
		t.Fatalf("waiting for the turn: %v", err)
	}
	tap(t, w, RecordSize64, 2) // releases the background reader
	time.Sleep(20 * time.Millisecond)

	// An interrupted read leaves no deadline behind: the next ReadKey
	// without one waits for a key as long as it takes.
	done := make(chan error, 1)
	go func() {
		ev, err := k.ReadKey(context.Background())
		if err == nil && ev.Key != hal.Key9 {
			err = fmt.Errorf("got %v", ev.Key)
		}
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	tap(t, w, RecordSize64, 10)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("no key after an earlier cancel")
	}
}

// TestConcurrentReaders: each press goes to exactly one caller.
func TestConcurrentReaders(t *testing.T) {
	size := RecordSize64
	w, k := rig(t, Config{RecordSize: size})
	got := make(chan hal.Key, 2)
	for i := 0; i < 2; i++ {
		go func() {
			key, _ := readKey(k)
			got <- key
		}()
	}
	time.Sleep(50 * time.Millisecond)
	tap(t, w, size, 2)
	tap(t, w, size, 3)
	a, b := <-got, <-got
	if !(a == hal.Key1 && b == hal.Key2 || a == hal.Key2 && b == hal.Key1) {
		t.Errorf("got %v and %v", a, b)
	}
}

func TestCloseUnblocksReadKey(t *testing.T) {
	_, k := rig(t, Config{RecordSize: RecordSize64})
	done := make(chan error, 1)
	go func() {
		_, err := k.ReadKey(context.Background())
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("blocked ReadKey got %v, want ErrClosed", err)
		}
	case <-time.After(wait):
		t.Fatal("Close did not unblock ReadKey")
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Close and unblock took %v", d)
	}
	if _, err := readKey(k); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadKey after Close: %v", err)
	}
	if err := k.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if st := k.SelfTest(context.Background()); st.OK {
		t.Errorf("self-test OK after Close: %+v", st)
	}
}

func TestEOFIsDisconnected(t *testing.T) {
	size := RecordSize32
	w, k := rig(t, Config{RecordSize: size})
	tap(t, w, size, 2)
	send(t, w, size, keyStream(3, 0)[:1]...) // and half a tap
	w.Close()
	expectKeys(t, k, hal.Key1) // what came before the unplug still counts
	_, err := readKey(k)
	if !errors.Is(err, hal.ErrDisconnected) || !strings.Contains(err.Error(), k.path) {
		t.Fatalf("after EOF: %v, want ErrDisconnected naming %s", err, k.path)
	}
	if _, err2 := readKey(k); !errors.Is(err2, hal.ErrDisconnected) {
		t.Errorf("not sticky: %v", err2)
	}
	st := k.SelfTest(context.Background())
	if st.OK || !strings.Contains(st.Detail, "disconnected") {
		t.Errorf("self-test after EOF: %+v", st)
	}
}

func TestSelfTest(t *testing.T) {
	w, k := rig(t, Config{RecordSize: RecordSize32})
	st := k.SelfTest(context.Background())
	if !st.OK || st.Device != "keypad" || !strings.Contains(st.Detail, k.path) || !strings.Contains(st.Detail, "16-byte records") {
		t.Errorf("%+v", st)
	}
	if runtime.GOOS != "linux" {
		return // hang-up is polled for on Linux only
	}
	// The writer going away is noticed without a read.
	w.Close()
	if st := k.SelfTest(context.Background()); st.OK || !strings.Contains(st.Detail, "hung up") {
		t.Errorf("after hang-up: %+v", st)
	}
}

// TestOpen opens a path: a pipe reached through /proc answers the input
// ioctls with ENOTTY, which must not stop it.
func TestOpen(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	path := fmt.Sprintf("/proc/self/fd/%d", r.Fd())
	if _, err := os.Stat(path); err != nil {
		t.Skip("no /proc here")
	}
	k, err := Open(path, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	tap(t, w, NativeRecordSize, 28)
	expectKeys(t, k, hal.KeyEnter)
	if st := k.SelfTest(context.Background()); !st.OK || !strings.Contains(st.Detail, path) || strings.Contains(st.Detail, "grab") {
		t.Errorf("%+v", st)
	}

	missing := filepath.Join(t.TempDir(), "event9")
	if _, err := Open(missing, Config{}); !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing device: %v", err)
	}
	regular := filepath.Join(t.TempDir(), "capture")
	os.WriteFile(regular, encode(NativeRecordSize, keyStream(2, 0)...), 0o600)
	if _, err := Open(regular, Config{}); err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("regular file: %v", err)
	}
	if _, err := Open(path, Config{KeyMap: map[string]string{"KEY_NOPE": "1"}}); err == nil || !strings.Contains(err.Error(), `"KEY_NOPE"`) {
		t.Errorf("bad key map: %v", err)
	}
}
