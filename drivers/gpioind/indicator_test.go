package gpioind

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/conn/v3/physic"

	"github.com/shoukuan/pos/hal"
)

// recPin is an output pin that records every level it is set to.
type recPin struct {
	name string
	mu   sync.Mutex
	log  []change
	fail error
	gate chan struct{} // when set, Out waits for it: a slow pin
}

type change struct {
	level gpio.Level
	at    time.Time
}

func (p *recPin) String() string   { return p.name }
func (p *recPin) Name() string     { return p.name }
func (p *recPin) Number() int      { return -1 }
func (p *recPin) Function() string { return "Out" }
func (p *recPin) Halt() error      { return nil }
func (p *recPin) PWM(gpio.Duty, physic.Frequency) error {
	return errors.New("no PWM")
}

// The input side exists only because gpioreg registers PinIOs.
func (p *recPin) In(gpio.Pull, gpio.Edge) error  { return errors.New("output only") }
func (p *recPin) Read() gpio.Level               { return gpio.Low }
func (p *recPin) WaitForEdge(time.Duration) bool { return false }
func (p *recPin) Pull() gpio.Pull                { return gpio.PullNoChange }
func (p *recPin) DefaultPull() gpio.Pull         { return gpio.PullNoChange }

func (p *recPin) Out(l gpio.Level) error {
	p.mu.Lock()
	gate, fail := p.gate, p.fail
	p.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if fail != nil {
		return fail
	}
	p.mu.Lock()
	p.log = append(p.log, change{l, time.Now()})
	p.mu.Unlock()
	return nil
}

func (p *recPin) changes() []change {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]change(nil), p.log...)
}

func (p *recPin) levels() string {
	var b strings.Builder
	for _, c := range p.changes() {
		if c.level {
			b.WriteByte('H')
		} else {
			b.WriteByte('L')
		}
	}
	return b.String()
}

func (p *recPin) last() (gpio.Level, bool) {
	c := p.changes()
	if len(c) == 0 {
		return gpio.Low, false
	}
	return c[len(c)-1].level, true
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

// pulses are the lengths of the High stretches of a finished recording.
func pulses(c []change) (on, gaps []time.Duration) {
	for i := 1; i < len(c); i++ {
		d := c[i].at.Sub(c[i-1].at)
		if c[i-1].level == gpio.High && c[i].level == gpio.Low {
			on = append(on, d)
		} else if c[i-1].level == gpio.Low && c[i].level == gpio.High && i > 1 {
			gaps = append(gaps, d)
		}
	}
	return on, gaps
}

func TestBeepPatterns(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		kind   hal.BeepKind
		levels string // New switches the buzzer off first
		on     []time.Duration
	}{
		{hal.BeepKey, "LHL", []time.Duration{30 * ms}},
		{hal.BeepOK, "LHL", []time.Duration{150 * ms}},
		{hal.BeepError, "LHLHL", []time.Duration{80 * ms, 80 * ms}},
		{hal.BeepAttention, "LHLHLHL", []time.Duration{200 * ms, 200 * ms, 200 * ms}},
	}
	for _, tc := range cases {
		t.Run(tc.kind.String(), func(t *testing.T) {
			buzzer := &recPin{name: "BUZZ"}
			ind, err := New(Config{Buzzer: Output{Pin: buzzer}})
			if err != nil {
				t.Fatal(err)
			}
			defer ind.Close()
			ind.Beep(tc.kind)
			waitFor(t, "the pattern to end", func() bool { return len(buzzer.changes()) >= len(tc.levels) })
			time.Sleep(50 * time.Millisecond) // nothing more may follow
			if got := buzzer.levels(); got != tc.levels {
				t.Fatalf("buzzer levels %s, want %s", got, tc.levels)
			}
			on, gaps := pulses(buzzer.changes())
			for i, d := range on {
				if d < tc.on[i] {
					t.Errorf("tone %d lasted %v, want %v", i, d, tc.on[i])
				}
			}
			for i, d := range gaps {
				if d < 50*ms {
					t.Errorf("gap %d lasted %v: tones run together", i, d)
				}
			}
		})
	}
}

func TestActiveLowBuzzerIsOnWhenLow(t *testing.T) {
	buzzer := &recPin{name: "BUZZ"}
	ind, err := New(Config{Buzzer: Output{Pin: buzzer, ActiveLow: true}})
	if err != nil {
		t.Fatal(err)
	}
	ind.Beep(hal.BeepKey)
	waitFor(t, "the click", func() bool { return len(buzzer.changes()) >= 3 })
	if got := buzzer.levels(); got != "HLH" {
		t.Errorf("levels %s, want HLH (off is High)", got)
	}
	ind.Close()
	if l, _ := buzzer.last(); l != gpio.High {
		t.Error("active-low buzzer left on (Low) after Close")
	}
}

func TestNewBeepReplacesThePlayingOne(t *testing.T) {
	buzzer := &recPin{name: "BUZZ"}
	ind, err := New(Config{Buzzer: Output{Pin: buzzer}})
	if err != nil {
		t.Fatal(err)
	}
	defer ind.Close()
	ind.Beep(hal.BeepAttention)
	waitFor(t, "the attention tone", func() bool { return buzzer.levels() == "LH" })
	ind.Beep(hal.BeepKey)
	waitFor(t, "the click to end", func() bool { return len(buzzer.changes()) >= 5 })
	time.Sleep(600 * time.Millisecond) // longer than the rest of the attention pattern
	if got := buzzer.levels(); got != "LHLHL" {
		t.Errorf("levels %s, want LHLHL: attention cut short, then one click", got)
	}
}

func TestBeepNeverBlocks(t *testing.T) {
	buzzer := &recPin{name: "BUZZ"}
	ind, err := New(Config{Buzzer: Output{Pin: buzzer}})
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	buzzer.mu.Lock()
	buzzer.gate = gate // the buzzer pin now hangs
	buzzer.mu.Unlock()
	returned := make(chan struct{})
	go func() {
		for range 10 {
			ind.Beep(hal.BeepOK)
			ind.Beep(hal.BeepError)
		}
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("Beep waits for the buzzer")
	}
	close(gate)
	ind.Close()
	if l, _ := buzzer.last(); l != gpio.Low {
		t.Error("buzzer left on after Close")
	}
}

// ledTree makes a fake /sys/class/leds with the named devices.
func ledTree(t *testing.T, max string, names ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, n := range names {
		dir := filepath.Join(root, n)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for file, v := range map[string]string{"brightness": "1\n", "max_brightness": max + "\n", "trigger": "none [heartbeat] mmc0\n"} {
			if err := os.WriteFile(filepath.Join(dir, file), []byte(v), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLEDClassWrites(t *testing.T) {
	root := ledTree(t, "255", "pos:green", "pos:red")
	ind, err := New(Config{LEDClassDir: root, LEDs: [hal.LEDCount]Output{
		hal.LEDGreen: {LEDClass: "pos:green"}, hal.LEDRed: {LEDClass: "pos:red"}}})
	if err != nil {
		t.Fatal(err)
	}
	green := filepath.Join(root, "pos:green")
	if got := readFile(t, filepath.Join(green, "brightness")); got != "0" {
		t.Errorf("after New brightness %q, want 0 (off)", got)
	}
	if got := readFile(t, filepath.Join(green, "trigger")); got != "none" {
		t.Errorf("trigger %q, want none: the kernel must not drive our LED", got)
	}
	ind.SetLED(hal.LEDGreen, true)
	if got := readFile(t, filepath.Join(green, "brightness")); got != "255" {
		t.Errorf("on: brightness %q, want max_brightness 255", got)
	}
	if got := readFile(t, filepath.Join(root, "pos:red", "brightness")); got != "0" {
		t.Errorf("red switched with green: %q", got)
	}
	ind.SetLED(hal.LEDGreen, false)
	if got := readFile(t, filepath.Join(green, "brightness")); got != "0" {
		t.Errorf("off: brightness %q, want 0", got)
	}
	ind.SetLED(hal.LEDBlue, true) // absent: ignored
	ind.SetLED(hal.LEDCount, true)
	ind.Close()
}

func TestLEDClassUsesEachDevicesMaximum(t *testing.T) {
	root := ledTree(t, "1", "gpio-led")
	ind, err := New(Config{LEDClassDir: root, LEDs: [hal.LEDCount]Output{hal.LEDBlue: {LEDClass: "gpio-led"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ind.Close()
	ind.SetLED(hal.LEDBlue, true)
	if got := readFile(t, filepath.Join(root, "gpio-led", "brightness")); got != "1" {
		t.Errorf("brightness %q, want 1", got)
	}
}

func TestCloseLeavesEverythingOff(t *testing.T) {
	root := ledTree(t, "255", "pos:blue")
	buzzer, yellow := &recPin{name: "BUZZ"}, &recPin{name: "YEL"}
	ind, err := New(Config{LEDClassDir: root, Buzzer: Output{Pin: buzzer}, LEDs: [hal.LEDCount]Output{
		hal.LEDBlue: {LEDClass: "pos:blue"}, hal.LEDYellow: {Pin: yellow}}})
	if err != nil {
		t.Fatal(err)
	}
	ind.SetLED(hal.LEDBlue, true)
	ind.SetLED(hal.LEDYellow, true)
	ind.Beep(hal.BeepAttention)
	waitFor(t, "the tone", func() bool { l, _ := buzzer.last(); return l == gpio.High })
	if err := ind.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ind.done:
	default:
		t.Error("the beep player still runs after Close")
	}
	if l, _ := buzzer.last(); l != gpio.Low {
		t.Error("buzzer left on")
	}
	if l, _ := yellow.last(); l != gpio.Low {
		t.Error("yellow LED left on")
	}
	if got := readFile(t, filepath.Join(root, "pos:blue", "brightness")); got != "0" {
		t.Errorf("blue LED brightness %q after Close", got)
	}
	n := len(buzzer.changes())
	ind.Beep(hal.BeepOK)
	ind.SetLED(hal.LEDYellow, true)
	time.Sleep(20 * time.Millisecond)
	if len(buzzer.changes()) != n {
		t.Error("Beep after Close sounded the buzzer")
	}
	if l, _ := yellow.last(); l != gpio.Low {
		t.Error("SetLED after Close lit a LED")
	}
	if err := ind.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestBadConfigs(t *testing.T) {
	root := ledTree(t, "255", "pos:green")
	if err := os.WriteFile(filepath.Join(root, "pos:green", "max_brightness"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	pin := &recPin{name: "GPIO18"}
	cases := map[string]Config{
		"red LED: no such device on this board":                        {LEDClassDir: root, LEDs: [hal.LEDCount]Output{hal.LEDRed: {LEDClass: "pos:red"}}},
		"green LED: " + root + "/pos:green/max_brightness reads \"x\"": {LEDClassDir: root, LEDs: [hal.LEDCount]Output{hal.LEDGreen: {LEDClass: "pos:green"}}},
		"blue LED: bad LED class name \"../x\"":                        {LEDClassDir: root, LEDs: [hal.LEDCount]Output{hal.LEDBlue: {LEDClass: "../x"}}},
		"yellow LED: pin GPIO18 is already the buzzer":                 {Buzzer: Output{Pin: pin}, LEDs: [hal.LEDCount]Output{hal.LEDYellow: {Pin: pin}}},
		"buzzer: both a pin and LED class":                             {Buzzer: Output{Pin: pin, LEDClass: "beeper"}},
		"active-low is for pins":                                       {LEDClassDir: root, Buzzer: Output{LEDClass: "beeper", ActiveLow: true}},
	}
	for want, cfg := range cases {
		ind, err := New(cfg)
		if err == nil {
			ind.Close()
			t.Errorf("accepted a config that should fail with %q", want)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q, want it to say %q", err, want)
		}
	}
	failing := &recPin{name: "GPIO4", fail: errors.New("line busy")}
	if _, err := New(Config{LEDs: [hal.LEDCount]Output{hal.LEDRed: {Pin: failing}}}); err == nil ||
		!errors.Is(err, hal.ErrNoDevice) || !strings.Contains(err.Error(), "red LED: no such device on this board: line busy") {
		t.Errorf("a pin that cannot be driven: %v", err)
	}
}

func TestParseSpec(t *testing.T) {
	good := map[string]Spec{
		"gpio:GPIO18":            {Kind: "gpio", Name: "GPIO18"},
		"gpio:GPIO18:active-low": {Kind: "gpio", Name: "GPIO18", ActiveLow: true},
		"led:pos:green":          {Kind: "led", Name: "pos:green"},
		"led:beeper":             {Kind: "led", Name: "beeper"},
		"":                       {},
		"none":                   {},
	}
	for s, want := range good {
		got, err := ParseSpec(s)
		if err != nil || got != want {
			t.Errorf("ParseSpec(%q) = %+v, %v; want %+v", s, got, err, want)
		}
	}
	bad := map[string]string{
		"gpio:GPIO18:inverted": `unknown option "inverted"`,
		"gpio:":                `want "gpio:PIN"`,
		"gpio::active-low":     `want "gpio:PIN"`,
		"led:":                 `want "gpio:PIN"`,
		"GPIO18":               `"GPIO18": want`,
		"pwm:0":                `"pwm:0": want`,
	}
	for s, want := range bad {
		if _, err := ParseSpec(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSpec(%q) = %v, want %q", s, err, want)
		}
	}
}

func TestOpenFromSpecs(t *testing.T) {
	root := ledTree(t, "255", "pos:green")
	buzzer := &recPin{name: "TEST_BUZZER"}
	if err := gpioreg.Register(buzzer); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gpioreg.Unregister(buzzer.name) })
	ind, err := Open(Specs{Buzzer: "gpio:TEST_BUZZER:active-low", Green: "led:pos:green", Red: "none", LEDClassDir: root})
	if err != nil {
		t.Fatal(err)
	}
	ind.SetLED(hal.LEDGreen, true)
	if got := readFile(t, filepath.Join(root, "pos:green", "brightness")); got != "255" {
		t.Errorf("green brightness %q", got)
	}
	ind.Beep(hal.BeepKey)
	waitFor(t, "the click", func() bool { return buzzer.levels() == "HLH" })
	ind.Close()

	for _, tc := range []struct {
		specs Specs
		want  string
	}{
		{Specs{Red: "gpio:NO_SUCH_PIN"}, `gpioind: red: no such device on this board: no GPIO pin named "NO_SUCH_PIN"`},
		{Specs{Yellow: "gpio18"}, `gpioind: yellow: "gpio18": want`},
		{Specs{Buzzer: "led:beeper", LEDClassDir: root}, "gpioind: buzzer: no such device"},
	} {
		if _, err := Open(tc.specs); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%+v) = %v, want %q", tc.specs, err, tc.want)
		}
	}
}

func TestSelfTestExercisesEveryOutput(t *testing.T) {
	root := ledTree(t, "255", "pos:blue", "pos:green")
	buzzer, yellow := &recPin{name: "BUZZ"}, &recPin{name: "YEL"}
	ind, err := New(Config{LEDClassDir: root, Buzzer: Output{Pin: buzzer}, LEDs: [hal.LEDCount]Output{
		hal.LEDBlue: {LEDClass: "pos:blue"}, hal.LEDYellow: {Pin: yellow}, hal.LEDGreen: {LEDClass: "pos:green"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ind.Close()
	ind.SetLED(hal.LEDGreen, true) // the self-test must give it back lit
	res := ind.SelfTest(context.Background())
	if !res.OK || res.Skipped || res.Device != "indicator" {
		t.Fatalf("self-test %+v", res)
	}
	for _, want := range []string{"buzzer gpio:BUZZ ok", "blue LED led:pos:blue ok", "yellow LED gpio:YEL ok", "green LED led:pos:green ok", "absent: red LED"} {
		if !strings.Contains(res.Detail, want) {
			t.Errorf("detail %q lacks %q", res.Detail, want)
		}
	}
	if got := buzzer.levels(); got != "LHL" {
		t.Errorf("buzzer %s, want one pulse LHL", got)
	}
	if got := yellow.levels(); got != "LHL" {
		t.Errorf("yellow %s, want one blink LHL", got)
	}
	if got := readFile(t, filepath.Join(root, "pos:green", "brightness")); got != "255" {
		t.Errorf("green after the self-test %q, want it lit again", got)
	}
	if got := readFile(t, filepath.Join(root, "pos:blue", "brightness")); got != "0" {
		t.Errorf("blue after the self-test %q, want off", got)
	}
}

func TestSelfTestReportsFailures(t *testing.T) {
	root := ledTree(t, "255", "pos:blue")
	buzzer := &recPin{name: "BUZZ"}
	ind, err := New(Config{LEDClassDir: root, Buzzer: Output{Pin: buzzer}, LEDs: [hal.LEDCount]Output{hal.LEDBlue: {LEDClass: "pos:blue"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ind.Close()
	buzzer.mu.Lock()
	buzzer.fail = errors.New("line gone")
	buzzer.mu.Unlock()
	// The LED device vanished (module unloaded): writes now fail.
	if err := os.RemoveAll(filepath.Join(root, "pos:blue")); err != nil {
		t.Fatal(err)
	}
	res := ind.SelfTest(context.Background())
	if res.OK {
		t.Fatalf("self-test passed with a dead buzzer and LED: %+v", res)
	}
	for _, want := range []string{"buzzer gpio:BUZZ: line gone", "blue LED led:pos:blue:", "absent: yellow LED, green LED, red LED"} {
		if !strings.Contains(res.Detail, want) {
			t.Errorf("detail %q lacks %q", res.Detail, want)
		}
	}
}

func TestSelfTestWithoutOutputsIsSkipped(t *testing.T) {
	ind, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer ind.Close()
	ind.Beep(hal.BeepOK) // nothing to sound: no panic, no block
	res := ind.SelfTest(context.Background())
	if !res.Skipped || res.OK {
		t.Errorf("no outputs: %+v, want skipped", res)
	}
	if res.Verdict() != "not tested" {
		t.Errorf("verdict %q", res.Verdict())
	}
}
