// Package board says which driver sits on which port, bus or pin for each
// hardware model. A board description is data (boards/*.json, or a file
// given with --board); this package and cmd/ are the only code that
// imports drivers.
package board

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

//go:embed boards/*.json
var embedded embed.FS

// Desc is a board description.
type Desc struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Display     Display    `json:"display"`
	Keypad      Device     `json:"keypad"`
	Scanner     Scanner    `json:"scanner"`
	CardReader  CardReader `json:"card_reader"`
	Printer     Printer    `json:"printer"`
	Indicator   Device     `json:"indicator"`
}

type Device struct {
	Driver string `json:"driver"`
}

type Display struct {
	Driver string `json:"driver"`
	Cols   int    `json:"cols"`
	Rows   int    `json:"rows"`
}

type Scanner struct {
	Driver string `json:"driver"`
	Images string `json:"images"` // fake: directory of code images
}

type CardReader struct {
	Driver string `json:"driver"`
	Cards  string `json:"cards"` // fake: directory of card profiles
}

type Printer struct {
	Driver  string `json:"driver"`
	Columns int    `json:"columns"` // characters per line at normal size
}

// The drivers each device slot accepts. "none" leaves a device off the
// board; the application then treats it as absent.
var knownDrivers = map[string][]string{
	"display":     {"console", "memory"},
	"keypad":      {"console", "fake"},
	"scanner":     {"fake", "none"},
	"card_reader": {"fake", "none"},
	"printer":     {"fake", "none"},
	"indicator":   {"fake", "none"},
}

// Names lists the built-in boards.
func Names() []string {
	ents, _ := embedded.ReadDir("boards")
	var out []string
	for _, e := range ents {
		out = append(out, strings.TrimSuffix(e.Name(), ".json"))
	}
	sort.Strings(out)
	return out
}

// Load finds a board by built-in name, or reads a board file when the
// argument is a path (contains a slash or ends in .json).
func Load(nameOrPath string) (*Desc, error) {
	if strings.ContainsRune(nameOrPath, '/') || strings.HasSuffix(nameOrPath, ".json") {
		data, err := os.ReadFile(nameOrPath)
		if err != nil {
			return nil, fmt.Errorf("board: %w", err)
		}
		d, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("board file %s: %w", nameOrPath, err)
		}
		return d, nil
	}
	data, err := embedded.ReadFile("boards/" + nameOrPath + ".json")
	if err != nil {
		return nil, fmt.Errorf("board %q: unknown; built-in boards are %s, or give a path to a board file", nameOrPath, strings.Join(Names(), ", "))
	}
	d, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("built-in board %s: %w", nameOrPath, err)
	}
	return d, nil
}

// Parse reads and validates a board description.
func Parse(data []byte) (*Desc, error) {
	var d Desc
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("not a valid board description: %w", err)
	}
	if dec.More() {
		return nil, errors.New("trailing data after the board description")
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// Validate reports the first problem, naming the device and field.
func (d *Desc) Validate() error {
	if d.Name == "" {
		return errors.New("name: missing")
	}
	for slot, drv := range map[string]string{
		"display": d.Display.Driver, "keypad": d.Keypad.Driver, "scanner": d.Scanner.Driver,
		"card_reader": d.CardReader.Driver, "printer": d.Printer.Driver, "indicator": d.Indicator.Driver,
	} {
		known := knownDrivers[slot]
		if drv == "" {
			return fmt.Errorf("%s.driver: missing (one of %s)", slot, strings.Join(known, ", "))
		}
		found := false
		for _, k := range known {
			found = found || k == drv
		}
		if !found {
			return fmt.Errorf("%s.driver %q: unknown (one of %s)", slot, drv, strings.Join(known, ", "))
		}
	}
	if d.Display.Cols < 16 || d.Display.Cols > 80 || d.Display.Rows < 8 || d.Display.Rows > 40 {
		return fmt.Errorf("display: %dx%d cells; want 16-80 columns and 8-40 rows", d.Display.Cols, d.Display.Rows)
	}
	if d.Keypad.Driver == "console" && d.Display.Driver != "console" {
		return errors.New("keypad.driver console: needs display.driver console (the keyboard belongs to the console)")
	}
	if d.Scanner.Driver == "fake" && d.Scanner.Images == "" {
		return errors.New("scanner.images: the fake scanner needs a directory of code images")
	}
	if d.CardReader.Driver == "fake" && d.CardReader.Cards == "" {
		return errors.New("card_reader.cards: the fake card reader needs a directory of card profiles")
	}
	if d.Printer.Driver != "none" && (d.Printer.Columns < 24 || d.Printer.Columns > 64) {
		return fmt.Errorf("printer.columns %d: want 24-64 (32 for 58 mm paper, 48 for 80 mm)", d.Printer.Columns)
	}
	return nil
}

// resolve makes a board path absolute against the assets directory.
func resolve(assets, p string) string {
	if filepath.IsAbs(p) || assets == "" {
		return p
	}
	return filepath.Join(assets, p)
}
