package matrixkeypad

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"

	"github.com/shoukuan/pos/drivers/matrixkeypad/matrixtest"
	"github.com/shoukuan/pos/hal"
)

var testLayout = [][]string{
	{"1", "2", "3", "cancel"},
	{"4", "5", "6", "clear"},
	{"7", "8", "9", "enter"},
	{"dot", "0", "00", ""},
}

// start runs a keypad on a simulated 4x4 matrix and fails the test on
// any electrical mistake the model saw.
func start(t *testing.T, debounce time.Duration) (*Keypad, *matrixtest.Matrix) {
	t.Helper()
	m := matrixtest.New(4, 4)
	layout, err := ParseLayout(testLayout)
	if err != nil {
		t.Fatal(err)
	}
	k, err := New(Config{Rows: m.Rows(), Cols: m.Cols(), Layout: layout, Debounce: debounce})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := k.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if got := m.RowStates(); got != "----" {
			t.Errorf("rows after Close = %s, want all released ----", got)
		}
		for _, p := range m.Problems() {
			t.Errorf("matrix: %s", p)
		}
	})
	return k, m
}

func readKey(t *testing.T, k *Keypad) hal.Key {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev, err := k.ReadKey(ctx)
	if err != nil {
		t.Fatalf("ReadKey: %v", err)
	}
	return ev.Key
}

// expectNoKey checks that nothing is reported while the driver scans
// the matrix a few more times.
func expectNoKey(t *testing.T, k *Keypad, m *matrixtest.Matrix) {
	t.Helper()
	scans := m.ScanReads()
	waitFor(t, "six more scans", func() bool { return m.ScanReads() >= scans+6*4 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if ev, err := k.ReadKey(ctx); err == nil {
		t.Fatalf("reported %s, want nothing", ev.Key)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func waitIdle(t *testing.T, m *matrixtest.Matrix) {
	t.Helper()
	waitFor(t, "every column waiting for an edge", func() bool { return m.Waiting() == 4 })
}

func TestEveryKeyMapsToItsLayoutPosition(t *testing.T) {
	k, m := start(t, 2*time.Millisecond)
	for r, row := range testLayout {
		for c, name := range row {
			if name == "" {
				continue
			}
			m.Press(r, c)
			if got := readKey(t, k); got.String() != name {
				t.Errorf("row %d col %d: got %s, want %s", r, c, got, name)
			}
			m.Release(r, c)
			waitIdle(t, m)
			if got := m.RowStates(); got != "LLLL" {
				t.Errorf("idle rows = %s, want all driven Low", got)
			}
		}
	}
	// The unused position has no key: pressing it reports nothing.
	m.Press(3, 3)
	expectNoKey(t, k, m)
}

func TestHeldKeyIsReportedOnceUntilReleased(t *testing.T) {
	k, m := start(t, 2*time.Millisecond)
	m.Press(1, 1)
	if got := readKey(t, k); got != hal.Key5 {
		t.Fatalf("got %s, want 5", got)
	}
	expectNoKey(t, k, m)
	m.Release(1, 1)
	waitIdle(t, m)
	m.Press(1, 1)
	if got := readKey(t, k); got != hal.Key5 {
		t.Fatalf("second press: got %s, want 5", got)
	}
}

func TestPressIsConfirmedOnlyAfterDebounce(t *testing.T) {
	const debounce = 80 * time.Millisecond
	k, m := start(t, debounce)
	waitIdle(t, m)
	pressed := time.Now()
	m.Press(2, 3)
	if got := readKey(t, k); got != hal.KeyEnter {
		t.Fatalf("got %s, want enter", got)
	}
	if took := time.Since(pressed); took < debounce {
		t.Errorf("reported %v after the press, before the %v debounce", took, debounce)
	}
}

func TestBounceShorterThanDebounceIsIgnored(t *testing.T) {
	k, m := start(t, 5*time.Millisecond)
	m.Bounce(0, 0)
	waitFor(t, "a scan to see the bounce", func() bool { return !m.Bouncing(0, 0) })
	waitIdle(t, m)
	m.Press(0, 2)
	// Events come in order: a reported bounce would come first.
	if got := readKey(t, k); got != hal.Key3 {
		t.Fatalf("got %s, want 3 (the bounce on 1 must not count)", got)
	}
}

func TestTwoKeysInSequenceInOneColumn(t *testing.T) {
	// Both keys down in one column: the model fails the test if a High
	// row and a Low row are ever joined through them.
	k, m := start(t, 2*time.Millisecond)
	m.Press(0, 1)
	if got := readKey(t, k); got != hal.Key2 {
		t.Fatalf("got %s, want 2", got)
	}
	m.Press(2, 1)
	if got := readKey(t, k); got != hal.Key8 {
		t.Fatalf("got %s, want 8", got)
	}
	m.Release(0, 1)
	m.Release(2, 1)
	m.Press(3, 1)
	if got := readKey(t, k); got != hal.Key0 {
		t.Fatalf("got %s, want 0", got)
	}
}

func TestGhostRectangleIsNotReported(t *testing.T) {
	k, m := start(t, 2*time.Millisecond)
	m.Press(0, 0)
	if got := readKey(t, k); got != hal.Key1 {
		t.Fatalf("got %s, want 1", got)
	}
	m.Press(0, 1)
	if got := readKey(t, k); got != hal.Key2 {
		t.Fatalf("got %s, want 2", got)
	}
	// 1, 2 and 4 down make 5 read as pressed too; neither 4 nor the
	// phantom 5 may be reported.
	m.Press(1, 0)
	expectNoKey(t, k, m)
	m.ReleaseAll()
	waitIdle(t, m)
	m.Press(2, 2)
	if got := readKey(t, k); got != hal.Key9 {
		t.Fatalf("got %s, want 9", got)
	}
}

func TestIdleKeypadSleepsOnEdges(t *testing.T) {
	k, m := start(t, 2*time.Millisecond)
	waitIdle(t, m)
	reads := m.Reads()
	time.Sleep(300 * time.Millisecond)
	if n := m.Reads() - reads; n > 4 {
		t.Errorf("%d column reads in 300 ms with no key down: the driver polls instead of waiting for edges", n)
	}
	m.Press(3, 0)
	if got := readKey(t, k); got != hal.KeyDot {
		t.Fatalf("got %s, want dot", got)
	}
}

func TestReadKeyHonoursContext(t *testing.T) {
	k, m := start(t, 2*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	readErr := make(chan error, 1)
	go func() {
		_, err := k.ReadKey(ctx)
		readErr <- err
	}()
	select {
	case err := <-readErr:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("ReadKey = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadKey ignores the cancelled context")
	}
	m.Press(1, 3)
	if got := readKey(t, k); got != hal.KeyClear {
		t.Fatalf("after a cancelled read: got %s, want clear", got)
	}
}

func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	m := matrixtest.New(4, 4)
	layout, _ := ParseLayout(testLayout)
	k, err := New(Config{Rows: m.Rows(), Cols: m.Cols(), Layout: layout})
	if err != nil {
		t.Fatal(err)
	}
	waitIdle(t, m)
	readErr := make(chan error)
	go func() {
		_, err := k.ReadKey(context.Background())
		readErr <- err
	}()
	closed := make(chan error)
	go func() { closed <- k.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs")
	}
	if err := <-readErr; !errors.Is(err, hal.ErrDisconnected) {
		t.Errorf("ReadKey after Close = %v, want ErrDisconnected", err)
	}
	waitFor(t, "the driver's goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
	if got := m.RowStates(); got != "----" {
		t.Errorf("rows after Close = %s, want released", got)
	}
	if m.Waiting() != 0 {
		t.Error("a column is still waiting for an edge")
	}
	for _, p := range m.Problems() {
		t.Errorf("matrix: %s", p)
	}
}

func TestPinFailuresAreReported(t *testing.T) {
	busy := errors.New("line busy")
	layout, _ := ParseLayout(testLayout)

	m := matrixtest.New(4, 4)
	m.Row(2).SetFail(nil, busy)
	_, err := New(Config{Rows: m.Rows(), Cols: m.Cols(), Layout: layout})
	if !errors.Is(err, busy) || !errors.Is(err, hal.ErrNoDevice) || !strings.Contains(err.Error(), "row 2 (ROW2)") {
		t.Errorf("New with a row that cannot be driven: %v", err)
	}

	m = matrixtest.New(4, 4)
	m.Col(1).SetFail(busy, nil)
	_, err = New(Config{Rows: m.Rows(), Cols: m.Cols(), Layout: layout})
	if !errors.Is(err, busy) || !strings.Contains(err.Error(), "col 1 (COL1)") {
		t.Errorf("New with a column that cannot be an input: %v", err)
	}

	k, m := start(t, 2*time.Millisecond)
	waitIdle(t, m)
	m.Row(1).SetFail(nil, busy)
	m.Press(0, 0)
	_, err = k.ReadKey(context.Background())
	if !errors.Is(err, busy) || !errors.Is(err, hal.ErrDisconnected) || !strings.Contains(err.Error(), "row 1 (ROW1)") {
		t.Errorf("ReadKey when a row fails: %v", err)
	}
	m.Row(1).SetFail(nil, nil) // so Close can release it
}

func TestConfigIsValidated(t *testing.T) {
	m := matrixtest.New(4, 4)
	layout, _ := ParseLayout(testLayout)
	dupKey, _ := ParseLayout(testLayout)
	dupKey[3][3] = hal.Key1
	cases := map[string]Config{
		"layout has 3 rows for 4 row pins":        {Rows: m.Rows(), Cols: m.Cols(), Layout: layout[:3]},
		"layout row 1 has 3 keys for 4 column":    {Rows: m.Rows(), Cols: m.Cols(), Layout: [][]hal.Key{layout[0], layout[1][:3], layout[2], layout[3]}},
		"layout row 3 col 3: key 1 is already":    {Rows: m.Rows(), Cols: m.Cols(), Layout: dupKey},
		"cols[2]: pin ROW0 is already rows[0]":    {Rows: m.Rows(), Cols: []gpio.PinIO{m.Col(0), m.Col(1), m.Row(0), m.Col(3)}, Layout: layout},
		"0 rows and 4 cols":                       {Cols: m.Cols()},
		"debounce -1ms is negative":               {Rows: m.Rows(), Cols: m.Cols(), Layout: layout, Debounce: -time.Millisecond},
		"rows[1]: no pin":                         {Rows: []gpio.PinIO{m.Row(0), nil, m.Row(2), m.Row(3)}, Cols: m.Cols(), Layout: layout},
		"layout row 0 col 0: key(99)":             {Rows: m.Rows()[:1], Cols: m.Cols()[:1], Layout: [][]hal.Key{{99}}},
		"layout row 0 col 1: key 2 is already at": {Rows: m.Rows()[:1], Cols: m.Cols()[:2], Layout: [][]hal.Key{{hal.Key2, hal.Key2}}},
	}
	for want, cfg := range cases {
		k, err := New(cfg)
		if err == nil {
			k.Close()
			t.Errorf("accepted a config that should fail with %q", want)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q, want it to say %q", err, want)
		}
	}
}

func TestParseLayout(t *testing.T) {
	got, err := ParseLayout([][]string{{"1", "00", "dot"}, {"f4", "", "menu"}})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]hal.Key{{hal.Key1, hal.Key00, hal.KeyDot}, {hal.KeyF4, hal.KeyNone, hal.KeyMenu}}
	for r := range want {
		for c := range want[r] {
			if got[r][c] != want[r][c] {
				t.Errorf("[%d][%d] = %s, want %s", r, c, got[r][c], want[r][c])
			}
		}
	}
	bad := map[string][][]string{
		`layout[1][0]: unknown key "ok"`:                {{"1"}, {"ok"}},
		`layout[1][1]: key "1" is already layout[0][0]`: {{"1", "2"}, {"3", "1"}},
		"layout[1] has 1 keys, layout[0] 2":             {{"1", "2"}, {"3"}},
		"layout: no rows":                               nil,
	}
	for want, rows := range bad {
		if _, err := ParseLayout(rows); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseLayout(%q) = %v, want %q", rows, err, want)
		}
	}
}

func TestOpenChecksTheBoardFile(t *testing.T) {
	four := []string{"GPIO5", "GPIO6", "GPIO13", "GPIO19"}
	cases := map[string]NamedConfig{
		"cols[1]: pin GPIO6 is already rows[1]":                                  {Rows: four, Cols: []string{"GPIO12", "GPIO6", "GPIO20", "GPIO21"}, Layout: testLayout},
		"layout has 4 rows for 3 row pins":                                       {Rows: four[:3], Cols: []string{"GPIO26"}, Layout: testLayout},
		"layout[0] has 4 keys for 2 column":                                      {Rows: []string{"A", "B", "C", "D"}, Cols: []string{"E", "F"}, Layout: testLayout},
		"rows[2]: empty pin name":                                                {Rows: []string{"A", "B", "", "D"}, Cols: four, Layout: testLayout},
		`layout[0][0]: unknown key "x"`:                                          {Rows: []string{"A"}, Cols: []string{"B"}, Layout: [][]string{{"x"}}},
		`rows[0]: no such device on this board: no GPIO pin named "NO_SUCH_PIN"`: {Rows: []string{"NO_SUCH_PIN"}, Cols: []string{"B"}, Layout: [][]string{{"1"}}},
	}
	for want, cfg := range cases {
		k, err := Open(cfg)
		if err == nil {
			k.Close()
			t.Errorf("Open accepted a board file that should fail with %q", want)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Open: %q, want it to say %q", err, want)
		}
	}
}

func TestOpenFindsPinsByName(t *testing.T) {
	m := matrixtest.New(2, 2)
	for _, p := range append(m.Rows(), m.Cols()...) {
		if err := gpioreg.Register(p); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { gpioreg.Unregister(p.Name()) })
	}
	k, err := Open(NamedConfig{Rows: []string{"ROW0", "ROW1"}, Cols: []string{"COL0", "COL1"},
		Layout: [][]string{{"enter", "cancel"}, {"up", "down"}}, Debounce: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	m.Press(1, 0)
	if got := readKey(t, k); got != hal.KeyUp {
		t.Fatalf("got %s, want up", got)
	}
}

func TestSelfTest(t *testing.T) {
	k, m := start(t, 2*time.Millisecond)
	res := k.SelfTest(context.Background())
	if !res.OK || res.Device != "keypad" || !strings.Contains(res.Detail, "rows ROW0,ROW1,ROW2,ROW3, cols COL0,COL1,COL2,COL3") {
		t.Errorf("at rest: %+v", res)
	}
	// Still a working keypad afterwards.
	m.Press(0, 3)
	if got := readKey(t, k); got != hal.KeyCancel {
		t.Fatalf("after the self-test: got %s, want cancel", got)
	}
	// A key stuck down.
	res = k.SelfTest(context.Background())
	if res.OK || !strings.Contains(res.Detail, "cancel at row 0 (ROW0) col 3 (COL3)") {
		t.Errorf("with cancel held: %+v", res)
	}
	m.ReleaseAll()
	waitIdle(t, m)

	// A column shorted to ground reads Low with every row released.
	m.Ground(2)
	res = k.SelfTest(context.Background())
	if res.OK || !strings.Contains(res.Detail, "col 2 (COL2) read Low with no row driven") {
		t.Errorf("with col 2 grounded: %+v", res)
	}
}

func TestSelfTestOfAClosedKeypad(t *testing.T) {
	k, _ := start(t, 0)
	k.Close()
	res := k.SelfTest(context.Background())
	if res.OK || !strings.Contains(res.Detail, "closed") {
		t.Errorf("closed keypad: %+v", res)
	}
}

// The model itself must catch the mistake the driver is built to avoid.
func TestMatrixModelCatchesAShort(t *testing.T) {
	m := matrixtest.New(2, 1)
	m.Press(0, 0)
	m.Press(1, 0)
	m.Col(0).In(gpio.PullUp, gpio.NoEdge)
	m.Row(0).Out(gpio.Low)
	if len(m.Problems()) != 0 {
		t.Fatalf("one row driven is no short: %v", m.Problems())
	}
	m.Row(1).Out(gpio.High)
	p := m.Problems()
	if len(p) == 0 || !strings.Contains(strings.Join(p, "\n"), "short") {
		t.Fatalf("rows Low and High joined through one column: problems %v", p)
	}
	if m.Col(0).Read() != gpio.Low {
		t.Error("column joined to a Low row reads High")
	}
}

func TestMatrixModelCatchesRowsNotReleasedAfterAScan(t *testing.T) {
	m := matrixtest.New(2, 1)
	m.Col(0).In(gpio.PullUp, gpio.NoEdge)
	m.Row(0).Out(gpio.Low)
	m.Col(0).Read() // a scan of row 0
	m.Row(1).Out(gpio.Low)
	if p := m.Problems(); len(p) == 0 || !strings.Contains(p[0], "without releasing") {
		t.Fatalf("problems %v", p)
	}
}
