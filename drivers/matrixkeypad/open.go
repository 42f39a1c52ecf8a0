package matrixkeypad

import (
	"fmt"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"

	"github.com/shoukuan/pos/hal"
)

// NamedConfig is the keypad as a board file states it: pins by the names
// periph registers them under (on a Raspberry Pi, the gpiochip line names
// "GPIO17"...; any registered alias works too) and keys by hal.ParseKey
// name, "" where no switch sits.
type NamedConfig struct {
	Rows     []string
	Cols     []string
	Layout   [][]string // one list per row, left to right
	Debounce time.Duration
}

// Open initialises periph's host drivers, finds the pins by name and
// starts a keypad on them.
func Open(cfg NamedConfig) (*Keypad, error) {
	layout, err := ParseLayout(cfg.Layout)
	if err != nil {
		return nil, err
	}
	if err := checkNames(cfg); err != nil {
		return nil, err
	}
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("matrixkeypad: %w: periph host: %w", hal.ErrNoDevice, err)
	}
	rows, err := lookUp("rows", cfg.Rows)
	if err != nil {
		return nil, err
	}
	cols, err := lookUp("cols", cfg.Cols)
	if err != nil {
		return nil, err
	}
	return New(Config{Rows: rows, Cols: cols, Layout: layout, Debounce: cfg.Debounce})
}

// checkNames catches a board file's mistakes before any hardware is
// touched, naming the field.
func checkNames(cfg NamedConfig) error {
	seen := map[string]string{}
	for _, group := range []struct {
		field string
		names []string
	}{{"rows", cfg.Rows}, {"cols", cfg.Cols}} {
		if len(group.names) == 0 {
			return fmt.Errorf("matrixkeypad: %s: no pins", group.field)
		}
		for i, name := range group.names {
			where := fmt.Sprintf("%s[%d]", group.field, i)
			if name == "" {
				return fmt.Errorf("matrixkeypad: %s: empty pin name", where)
			}
			if first, dup := seen[name]; dup {
				return fmt.Errorf("matrixkeypad: %s: pin %s is already %s", where, name, first)
			}
			seen[name] = where
		}
	}
	if len(cfg.Layout) != len(cfg.Rows) {
		return fmt.Errorf("matrixkeypad: layout has %d rows for %d row pins", len(cfg.Layout), len(cfg.Rows))
	}
	for r, row := range cfg.Layout {
		if len(row) != len(cfg.Cols) {
			return fmt.Errorf("matrixkeypad: layout[%d] has %d keys for %d column pins", r, len(row), len(cfg.Cols))
		}
	}
	return nil
}

func lookUp(field string, names []string) ([]gpio.PinIO, error) {
	pins := make([]gpio.PinIO, len(names))
	for i, name := range names {
		p := gpioreg.ByName(name)
		if p == nil {
			return nil, fmt.Errorf("matrixkeypad: %s[%d]: %w: no GPIO pin named %q", field, i, hal.ErrNoDevice, name)
		}
		pins[i] = p
	}
	return pins, nil
}

// ParseLayout reads a layout of key names (hal.ParseKey: "0".."9", "00",
// "dot", "enter", "cancel", "clear", "up", "down", "f1".."f4", "menu"),
// "" for a position without a key. Rows must be of equal length and no
// key may appear twice.
func ParseLayout(rows [][]string) ([][]hal.Key, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("matrixkeypad: layout: no rows")
	}
	seen := map[hal.Key]string{}
	layout := make([][]hal.Key, len(rows))
	for r, row := range rows {
		if len(row) != len(rows[0]) {
			return nil, fmt.Errorf("matrixkeypad: layout[%d] has %d keys, layout[0] %d", r, len(row), len(rows[0]))
		}
		layout[r] = make([]hal.Key, len(row))
		for c, name := range row {
			if name == "" {
				continue
			}
			where := fmt.Sprintf("layout[%d][%d]", r, c)
			key, err := hal.ParseKey(name)
			if err != nil {
				return nil, fmt.Errorf("matrixkeypad: %s: %w", where, err)
			}
			if first, dup := seen[key]; dup {
				return nil, fmt.Errorf("matrixkeypad: %s: key %q is already %s", where, name, first)
			}
			seen[key] = where
			layout[r][c] = key
		}
	}
	return layout, nil
}
