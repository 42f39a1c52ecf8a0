package gpioind

import (
	"fmt"
	"strings"

	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"

	"github.com/shoukuan/pos/hal"
)

// Specs are the outputs as a board file writes them (see ParseSpec).
type Specs struct {
	Buzzer, Blue, Yellow, Green, Red string
	LEDClassDir                      string // DefaultLEDClassDir when ""
}

// Spec is one parsed output.
type Spec struct {
	Kind      string // "gpio", "led", or "" when absent
	Name      string // the periph pin name, or the LED-class device
	ActiveLow bool
}

// ParseSpec reads "gpio:PIN", "gpio:PIN:active-low", "led:NAME" (a
// /sys/class/leds device; its name may hold colons, "led:pos:green"),
// and "" or "none" for an output the board lacks.
func ParseSpec(s string) (Spec, error) {
	kind, rest, _ := strings.Cut(s, ":")
	switch {
	case s == "" || s == "none":
		return Spec{}, nil
	case kind == "led" && rest != "":
		return Spec{Kind: "led", Name: rest}, nil
	case kind == "gpio" && rest != "":
		name, option, hasOption := strings.Cut(rest, ":")
		switch {
		case name == "":
		case !hasOption:
			return Spec{Kind: "gpio", Name: name}, nil
		case option == "active-low":
			return Spec{Kind: "gpio", Name: name, ActiveLow: true}, nil
		default:
			return Spec{}, fmt.Errorf("%q: unknown option %q (only active-low)", s, option)
		}
	}
	return Spec{}, fmt.Errorf(`%q: want "gpio:PIN", "gpio:PIN:active-low", "led:NAME" or "none"`, s)
}

// Open parses the specs, finds GPIO pins through periph (host.Init is
// called only when a pin is used) and starts an indicator.
func Open(s Specs) (*Indicator, error) {
	cfg := Config{LEDClassDir: s.LEDClassDir}
	fields := []struct {
		field string
		spec  string
		out   *Output
	}{
		{"buzzer", s.Buzzer, &cfg.Buzzer},
		{"blue", s.Blue, &cfg.LEDs[hal.LEDBlue]},
		{"yellow", s.Yellow, &cfg.LEDs[hal.LEDYellow]},
		{"green", s.Green, &cfg.LEDs[hal.LEDGreen]},
		{"red", s.Red, &cfg.LEDs[hal.LEDRed]},
	}
	hostReady := false
	for _, f := range fields {
		spec, err := ParseSpec(f.spec)
		if err != nil {
			return nil, fmt.Errorf("gpioind: %s: %w", f.field, err)
		}
		switch spec.Kind {
		case "led":
			f.out.LEDClass = spec.Name
		case "gpio":
			if !hostReady {
				if _, err := host.Init(); err != nil {
					return nil, fmt.Errorf("gpioind: %s: %w: periph host: %w", f.field, hal.ErrNoDevice, err)
				}
				hostReady = true
			}
			p := gpioreg.ByName(spec.Name)
			if p == nil {
				return nil, fmt.Errorf("gpioind: %s: %w: no GPIO pin named %q", f.field, hal.ErrNoDevice, spec.Name)
			}
			f.out.Pin, f.out.ActiveLow = p, spec.ActiveLow
		}
	}
	return New(cfg)
}
