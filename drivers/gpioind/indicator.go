// Package gpioind drives the buzzer and the four status LEDs as a
// hal.Indicator. Each output is a GPIO pin through periph (an active
// buzzer, a LED; optionally active-low) or a Linux LED-class device
// (/sys/class/leds/NAME), which is how board device trees usually
// publish them.
//
// The buzzer is assumed active (it sounds at one pitch when powered), so
// the patterns differ by rhythm: the error beep is two short tones rather
// than a low one.
package gpioind

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/shoukuan/pos/hal"
)

// DefaultLEDClassDir is where Linux publishes LED-class devices.
const DefaultLEDClassDir = "/sys/class/leds"

// Output is one buzzer or LED: a Pin, or a LEDClass device name; the
// zero Output is absent.
type Output struct {
	Pin       gpio.PinOut
	ActiveLow bool   // with Pin: Low switches it on
	LEDClass  string // a directory under Config.LEDClassDir
}

func (o Output) absent() bool { return o.Pin == nil && o.LEDClass == "" }

// Config is every output of the indicator.
type Config struct {
	Buzzer Output
	LEDs   [hal.LEDCount]Output // by hal.LED
	// LEDClassDir is the LED-class root (DefaultLEDClassDir when "");
	// tests point it at a temporary tree.
	LEDClassDir string
}

// Indicator is the driver: hal.Indicator, hal.SelfTester and io.Closer.
type Indicator struct {
	buzzer switchable // nil when absent
	leds   [hal.LEDCount]switchable

	beeps chan hal.BeepKind // the newest beep asked for, at most one
	stop  chan struct{}
	done  chan struct{}

	beepMu  sync.Mutex // Beep's own: never held for long
	closing atomic.Bool

	mu       sync.Mutex // outputs' writes, LED states
	closed   bool
	ledState [hal.LEDCount]bool
}

var (
	_ hal.Indicator  = (*Indicator)(nil)
	_ hal.SelfTester = (*Indicator)(nil)
)

// switchable is an output that can be turned on and off.
type switchable interface {
	set(on bool) error
	describe() string
}

// New opens the outputs, turns them all off and starts the beep player.
func New(cfg Config) (*Indicator, error) {
	if cfg.LEDClassDir == "" {
		cfg.LEDClassDir = DefaultLEDClassDir
	}
	ind := &Indicator{beeps: make(chan hal.BeepKind, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if err := distinct(cfg); err != nil {
		return nil, err
	}
	var err error
	if ind.buzzer, err = open("buzzer", cfg.Buzzer, cfg.LEDClassDir); err != nil {
		return nil, err
	}
	for l := range hal.LEDCount {
		if ind.leds[l], err = open(l.String()+" LED", cfg.LEDs[l], cfg.LEDClassDir); err != nil {
			return nil, err
		}
	}
	for _, o := range ind.outputs() {
		if err := o.out.set(false); err != nil {
			return nil, fmt.Errorf("gpioind: %s: %w: %w", o.role, hal.ErrNoDevice, err)
		}
	}
	go ind.play()
	return ind, nil
}

// distinct refuses one pin or LED device given two jobs.
func distinct(cfg Config) error {
	seen := map[string]string{}
	outs := append([]Output{cfg.Buzzer}, cfg.LEDs[:]...)
	for i, o := range outs {
		role := "buzzer"
		if i > 0 {
			role = hal.LED(i-1).String() + " LED"
		}
		var id string
		switch {
		case o.Pin != nil:
			id = "pin " + o.Pin.Name()
		case o.LEDClass != "":
			id = "LED class " + o.LEDClass
		default:
			continue
		}
		if first, dup := seen[id]; dup {
			return fmt.Errorf("gpioind: %s: %s is already the %s", role, id, first)
		}
		seen[id] = role
	}
	return nil
}

func open(role string, o Output, classDir string) (switchable, error) {
	switch {
	case o.absent():
		return nil, nil
	case o.Pin != nil && o.LEDClass != "":
		return nil, fmt.Errorf("gpioind: %s: both a pin and LED class %q", role, o.LEDClass)
	case o.Pin != nil:
		return &pinOutput{pin: o.Pin, activeLow: o.ActiveLow}, nil
	}
	if o.ActiveLow {
		// The kernel's gpio-leds already knows the polarity.
		return nil, fmt.Errorf("gpioind: %s: active-low is for pins, not LED class %q", role, o.LEDClass)
	}
	if strings.ContainsAny(o.LEDClass, `/\`) || o.LEDClass == "." || o.LEDClass == ".." {
		return nil, fmt.Errorf("gpioind: %s: bad LED class name %q", role, o.LEDClass)
	}
	dir := filepath.Join(classDir, o.LEDClass)
	raw, err := os.ReadFile(filepath.Join(dir, "max_brightness"))
	if err != nil {
		return nil, fmt.Errorf("gpioind: %s: %w: %w", role, hal.ErrNoDevice, err)
	}
	max, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || max <= 0 {
		return nil, fmt.Errorf("gpioind: %s: %s/max_brightness reads %q", role, dir, strings.TrimSpace(string(raw)))
	}
	// A trigger (heartbeat, mmc activity) would switch the LED behind our
	// back; "none" hands it to us. Devices without triggers lack the file.
	trigger := filepath.Join(dir, "trigger")
	if _, err := os.Stat(trigger); err == nil {
		if err := os.WriteFile(trigger, []byte("none"), 0); err != nil {
			return nil, fmt.Errorf("gpioind: %s: %w", role, err)
		}
	}
	return &classOutput{name: o.LEDClass, brightness: filepath.Join(dir, "brightness"), on: strconv.Itoa(max)}, nil
}

type namedOutput struct {
	role string
	out  switchable
}

// outputs are those present, buzzer first.
func (ind *Indicator) outputs() []namedOutput {
	var list []namedOutput
	if ind.buzzer != nil {
		list = append(list, namedOutput{"buzzer", ind.buzzer})
	}
	for l, o := range ind.leds {
		if o != nil {
			list = append(list, namedOutput{hal.LED(l).String() + " LED", o})
		}
	}
	return list
}

type pinOutput struct {
	pin       gpio.PinOut
	activeLow bool
}

func (p *pinOutput) set(on bool) error {
	return p.pin.Out(gpio.Level(on != p.activeLow))
}

func (p *pinOutput) describe() string {
	if p.activeLow {
		return "gpio:" + p.pin.Name() + ":active-low"
	}
	return "gpio:" + p.pin.Name()
}

type classOutput struct {
	name       string
	brightness string
	on         string // max_brightness, as the kernel wrote it
}

func (c *classOutput) set(on bool) error {
	v := "0"
	if on {
		v = c.on
	}
	// Opened per write: a sysfs attribute takes one value per write, and
	// a LED is switched a few times a second at most.
	return os.WriteFile(c.brightness, []byte(v), 0)
}

func (c *classOutput) describe() string { return "led:" + c.name }

// Beep starts a pattern and returns at once; a beep still playing is cut
// short. Without a buzzer it does nothing.
func (ind *Indicator) Beep(kind hal.BeepKind) {
	if ind.buzzer == nil || patterns[kind] == nil {
		return
	}
	ind.beepMu.Lock()
	defer ind.beepMu.Unlock()
	if ind.closing.Load() {
		return
	}
	select { // the newest beep replaces one not yet started
	case <-ind.beeps:
	default:
	}
	ind.beeps <- kind
}

// step holds the buzzer on or off for a while.
type step struct {
	on   bool
	hold time.Duration
}

var patterns = map[hal.BeepKind][]step{
	hal.BeepKey:       {{true, 30 * time.Millisecond}},
	hal.BeepOK:        {{true, 150 * time.Millisecond}},
	hal.BeepError:     {{true, 80 * time.Millisecond}, {false, 60 * time.Millisecond}, {true, 80 * time.Millisecond}},
	hal.BeepAttention: {{true, 200 * time.Millisecond}, {false, 150 * time.Millisecond}, {true, 200 * time.Millisecond}, {false, 150 * time.Millisecond}, {true, 200 * time.Millisecond}},
}

// play is the beep player: one pattern at a time; a new beep or Close
// cuts it short, and the buzzer is left off either way.
func (ind *Indicator) play() {
	defer close(ind.done)
	var kind hal.BeepKind
	select {
	case kind = <-ind.beeps:
	case <-ind.stop:
		return
	}
	for {
		end := ind.playPattern(patterns[kind], &kind)
		ind.buzzer.set(false)
		if end == stopped {
			return
		}
		if end == replaced {
			continue
		}
		select {
		case kind = <-ind.beeps:
		case <-ind.stop:
			return
		}
	}
}

type ending int

const (
	finished ending = iota
	replaced        // a new beep arrived: *next holds it
	stopped         // Close
)

func (ind *Indicator) playPattern(steps []step, next *hal.BeepKind) ending {
	for _, s := range steps {
		ind.buzzer.set(s.on)
		t := time.NewTimer(s.hold)
		select {
		case <-t.C:
		case *next = <-ind.beeps:
			t.Stop()
			return replaced
		case <-ind.stop:
			t.Stop()
			return stopped
		}
	}
	return finished
}

// SetLED switches a LED at once; a LED the board lacks is ignored.
func (ind *Indicator) SetLED(led hal.LED, on bool) {
	if led >= hal.LEDCount || ind.leds[led] == nil {
		return
	}
	ind.mu.Lock()
	defer ind.mu.Unlock()
	if ind.closed {
		return
	}
	ind.ledState[led] = on
	// hal.Indicator has no error path; SelfTest finds a failing output.
	ind.leds[led].set(on)
}

// Close stops any beep and switches everything off.
func (ind *Indicator) Close() error {
	ind.closing.Store(true)
	ind.mu.Lock()
	already := ind.closed
	ind.closed = true
	ind.mu.Unlock()
	if !already {
		close(ind.stop)
	}
	<-ind.done
	ind.mu.Lock()
	defer ind.mu.Unlock()
	var errs []error
	for _, o := range ind.outputs() {
		if err := o.out.set(false); err != nil {
			errs = append(errs, fmt.Errorf("gpioind: %s: %w", o.role, err))
		}
	}
	return errors.Join(errs...)
}

// selfTestBlink is how long the self-test lights each LED and sounds
// the buzzer: long enough for a technician to see and hear.
const selfTestBlink = 150 * time.Millisecond

// SelfTest lights each LED in turn and clicks the buzzer, checking every
// write (and, for LED-class devices, that the brightness reads back),
// then restores the LEDs. It names the outputs the board lacks.
func (ind *Indicator) SelfTest(ctx context.Context) hal.SelfTestResult {
	start := time.Now()
	res := hal.SelfTestResult{Device: "indicator"}
	ind.mu.Lock()
	closed := ind.closed
	ind.mu.Unlock()
	if closed {
		res.Detail, res.Took = "closed", time.Since(start)
		return res
	}
	outs := ind.outputs()
	if len(outs) == 0 {
		res.Skipped, res.Detail = true, "no buzzer or LEDs on this board"
		return res
	}
	var parts, failed []string
	for _, o := range outs {
		err := ind.exercise(ctx, o)
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s %s: %v", o.role, o.out.describe(), err))
			continue
		}
		parts = append(parts, o.role+" "+o.out.describe()+" ok")
	}
	var absent []string
	if ind.buzzer == nil {
		absent = append(absent, "buzzer")
	}
	for l, o := range ind.leds {
		if o == nil {
			absent = append(absent, hal.LED(l).String()+" LED")
		}
	}
	if len(absent) > 0 {
		parts = append(parts, "absent: "+strings.Join(absent, ", "))
	}
	res.OK = len(failed) == 0 && ctx.Err() == nil
	if ctx.Err() != nil {
		failed = append(failed, "self-test: "+ctx.Err().Error())
	}
	res.Detail = strings.Join(append(failed, parts...), "; ")
	res.Took = time.Since(start)
	return res
}

// exercise switches one output on and back to its state, which SetLED
// may change meanwhile.
func (ind *Indicator) exercise(ctx context.Context, o namedOutput) error {
	if err := ind.switchChecked(o.out, true); err != nil {
		ind.restore(o.out)
		return err
	}
	select {
	case <-time.After(selfTestBlink):
	case <-ctx.Done():
	}
	if err := ind.switchChecked(o.out, false); err != nil {
		return err
	}
	return ind.restore(o.out)
}

func (ind *Indicator) switchChecked(o switchable, on bool) error {
	ind.mu.Lock()
	defer ind.mu.Unlock()
	if err := o.set(on); err != nil {
		return err
	}
	return readBack(o, on)
}

// restore puts a LED back as SetLED last left it; the buzzer stays off.
func (ind *Indicator) restore(o switchable) error {
	ind.mu.Lock()
	defer ind.mu.Unlock()
	for l, led := range ind.leds {
		if led == o && ind.ledState[l] {
			return o.set(true)
		}
	}
	return nil
}

// readBack checks a LED-class device took the value; a pin cannot tell.
func readBack(o switchable, on bool) error {
	c, ok := o.(*classOutput)
	if !ok {
		return nil
	}
	raw, err := os.ReadFile(c.brightness)
	if err != nil {
		return err
	}
	got := strings.TrimSpace(string(raw))
	if (got != "0") != on {
		return fmt.Errorf("brightness reads %s after switching it %s", got, map[bool]string{true: "on", false: "off"}[on])
	}
	return nil
}
