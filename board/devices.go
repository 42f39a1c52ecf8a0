package board

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/shoukuan/pos/drivers/evdev"
	"github.com/shoukuan/pos/drivers/fbdev"
	"github.com/shoukuan/pos/drivers/gpioind"
	"github.com/shoukuan/pos/drivers/matrixkeypad"
	"github.com/shoukuan/pos/hal"
)

func (d Display) validate() error {
	if d.Driver == "fbdev" {
		if d.Device == "" || !filepath.IsAbs(d.Device) {
			return fmt.Errorf("display.device %q: the panel's framebuffer, e.g. /dev/fb1", d.Device)
		}
		return nil
	}
	if d.Device != "" || d.Dark {
		return errors.New("display.device, display.dark: only the fbdev driver takes them")
	}
	return nil
}

func (d Display) open() (*fbdev.Display, error) {
	return fbdev.Open(d.Device, fbdev.Options{Cols: d.Cols, Rows: d.Rows, Dark: d.Dark})
}

// Keypad is the keypad slot: the console's keyboard, a scripted fake, a
// matrix on GPIO pins, or a Linux input device.
type Keypad struct {
	Driver string `json:"driver"`
	// matrix: the row and column pins by name (GPIO17 on a Raspberry
	// Pi), the key at each crossing as hal names it ("" for none), and
	// the debounce.
	Rows       []string   `json:"rows,omitempty"`
	Cols       []string   `json:"cols,omitempty"`
	Layout     [][]string `json:"layout,omitempty"`
	DebounceMS int        `json:"debounce_ms,omitempty"`
	// evdev: the input device, and Linux key codes (numbers or KEY_
	// names) to hal key names; empty is a standard numeric keypad.
	Device string            `json:"device,omitempty"`
	KeyMap map[string]string `json:"keymap,omitempty"`
}

func (k Keypad) validate() error {
	matrix := len(k.Rows) > 0 || len(k.Cols) > 0 || len(k.Layout) > 0 || k.DebounceMS != 0
	ev := k.Device != "" || len(k.KeyMap) > 0
	switch k.Driver {
	case "matrix":
		if ev {
			return errors.New("keypad.device, keypad.keymap: only the evdev driver takes them")
		}
		if _, err := k.matrixConfig(); err != nil {
			return fmt.Errorf("keypad: %w", err)
		}
	case "evdev":
		if matrix {
			return errors.New("keypad.rows, cols, layout, debounce_ms: only the matrix driver takes them")
		}
		if k.Device == "" || !filepath.IsAbs(k.Device) {
			return fmt.Errorf("keypad.device %q: the input device, e.g. /dev/input/event0 (or a /dev/input/by-path/ name)", k.Device)
		}
		if len(k.KeyMap) > 0 {
			if _, err := evdev.ParseKeyMap(k.KeyMap); err != nil {
				return fmt.Errorf("keypad.keymap: %w", err)
			}
		}
	default:
		if matrix || ev {
			return fmt.Errorf("keypad: the %s keypad takes no pins, device or key map", k.Driver)
		}
	}
	return nil
}

func (k Keypad) openEvdev() (*evdev.Keypad, error) {
	return evdev.Open(k.Device, evdev.Config{KeyMap: k.KeyMap})
}

func (k Keypad) matrixConfig() (matrixkeypad.NamedConfig, error) {
	c := matrixkeypad.NamedConfig{Rows: k.Rows, Cols: k.Cols, Layout: k.Layout, Debounce: time.Duration(k.DebounceMS) * time.Millisecond}
	if k.DebounceMS < 0 || k.DebounceMS > 500 {
		return c, fmt.Errorf("debounce_ms %d: want 0-500 (0: 20 ms)", k.DebounceMS)
	}
	if len(k.Rows) == 0 || len(k.Cols) == 0 {
		return c, errors.New("rows, cols: the matrix's pins by name, e.g. GPIO5")
	}
	if len(k.Layout) != len(k.Rows) {
		return c, fmt.Errorf("layout: %d rows for %d row pins", len(k.Layout), len(k.Rows))
	}
	for i, r := range k.Layout {
		if len(r) != len(k.Cols) {
			return c, fmt.Errorf("layout row %d: %d keys for %d column pins", i, len(r), len(k.Cols))
		}
	}
	if _, err := matrixkeypad.ParseLayout(k.Layout); err != nil {
		return c, err
	}
	return c, nil
}

// Indicator is the buzzer and the four status LEDs. gpio: each output is
// "gpio:PIN", "gpio:PIN:active-low", "led:NAME" (/sys/class/leds) or
// absent.
type Indicator struct {
	Driver string `json:"driver"`
	Buzzer string `json:"buzzer,omitempty"`
	Blue   string `json:"blue,omitempty"`
	Yellow string `json:"yellow,omitempty"`
	Green  string `json:"green,omitempty"`
	Red    string `json:"red,omitempty"`
}

func (i Indicator) specs() gpioind.Specs {
	return gpioind.Specs{Buzzer: i.Buzzer, Blue: i.Blue, Yellow: i.Yellow, Green: i.Green, Red: i.Red}
}

func (i Indicator) validate() error {
	outs := map[string]string{"buzzer": i.Buzzer, "blue": i.Blue, "yellow": i.Yellow, "green": i.Green, "red": i.Red}
	for name, spec := range outs {
		if spec == "" {
			continue
		}
		if i.Driver != "gpio" {
			return fmt.Errorf("indicator.%s: only the gpio driver takes outputs", name)
		}
		if _, err := gpioind.ParseSpec(spec); err != nil {
			return fmt.Errorf("indicator.%s: %w", name, err)
		}
	}
	return nil
}

var (
	_ hal.Keypad    = (*evdev.Keypad)(nil)
	_ hal.Keypad    = (*matrixkeypad.Keypad)(nil)
	_ hal.Indicator = (*gpioind.Indicator)(nil)
)
