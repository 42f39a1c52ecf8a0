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
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/shoukuan/pos/drivers/uartscan"
)

//go:embed boards/*.json
var embedded embed.FS

// Desc is a board description.
type Desc struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Display     Display    `json:"display"`
	Keypad      Keypad     `json:"keypad"`
	Scanner     Scanner    `json:"scanner"`
	CardReader  CardReader `json:"card_reader"`
	Printer     Printer    `json:"printer"`
	Indicator   Indicator  `json:"indicator"`
	// Secrets is where the device secret that seals the keys lives, never
	// the data directory: a copied data directory must not carry the
	// means to open its keys. "user-config" is the user's configuration
	// directory (the desktop simulator); a terminal names a directory on
	// its secure storage.
	Secrets string `json:"secrets"`
	// Slots is the directory of the two software slots (A/ and B/, each
	// with its pos, and the boot state): on the data partition, outside
	// the data directory so a restore never touches the software. Empty:
	// beside the data directory, DATA-slots.
	Slots string `json:"slots,omitempty"`
	// USB is where a USB stick mounts, for backup and export; empty: the
	// board has no USB port for a stick.
	USB string `json:"usb,omitempty"`
}

// SlotsDir is the software slots' directory of a terminal whose data
// directory is dataDir.
func (d *Desc) SlotsDir(dataDir string) string {
	if d.Slots != "" {
		return d.Slots
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		abs = dataDir
	}
	return filepath.Join(filepath.Dir(abs), filepath.Base(abs)+"-slots")
}

// SecretsDir resolves Secrets to a directory.
func (d *Desc) SecretsDir() (string, error) {
	if d.Secrets == "user-config" {
		base, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("board %s: secrets user-config: %w", d.Name, err)
		}
		return filepath.Join(base, "shoukuan-pos"), nil
	}
	return d.Secrets, nil
}

// maxBoardFile bounds a board file: a description is a few hundred bytes.
const maxBoardFile = 256 << 10

type Display struct {
	Driver string `json:"driver"`
	Cols   int    `json:"cols"`
	Rows   int    `json:"rows"`
	// fbdev: the panel's framebuffer (/dev/fb1 for an SPI LCD beside
	// HDMI), and light text on black instead of dark on white.
	Device string `json:"device,omitempty"`
	Dark   bool   `json:"dark,omitempty"`
}

type Scanner struct {
	Driver string `json:"driver"`
	Images string `json:"images"` // fake: directory of code images

	// uart: a scan engine on a serial port (see drivers/uartscan)
	Port          string `json:"port"`            // e.g. /dev/ttyS1
	Baud          int    `json:"baud"`            // the module's rate
	Framing       string `json:"framing"`         // "8N1" (default), "7E1", ...
	Suffix        string `json:"suffix"`          // line end: CR (default), LF, CRLF
	Trigger       string `json:"trigger"`         // honeywell (default), none (presentation mode), custom
	TriggerOn     string `json:"trigger_on"`      // custom: bytes that start reading
	TriggerOff    string `json:"trigger_off"`     // custom: bytes that stop it
	ReadTimeoutMS int    `json:"read_timeout_ms"` // bounds each port read, hence Close (200)
	MaxLen        int    `json:"max_len"`         // longest code in bytes (512)
	AIMIDs        bool   `json:"aim_ids"`         // the module prefixes AIM symbology identifiers

	// camera: a V4L2 camera, or frames from image files (see drivers/camera)
	Device string `json:"device"` // e.g. /dev/video0
	Width  int    `json:"width"`  // frame size asked for (default 640x480)
	Height int    `json:"height"`
	Format string `json:"format"` // yuyv (default) or grey
	Frames string `json:"frames"` // instead of a device: directory of PNG/JPEG frames, played in a loop
}

// uartConfig checks the uart scanner fields, naming the one at fault, and
// turns them into the driver's configuration.
func (s Scanner) uartConfig() (uartscan.Config, error) {
	c := uartscan.Config{Port: s.Port, Baud: s.Baud, Framing: s.Framing, Suffix: s.Suffix,
		ReadTimeout: time.Duration(s.ReadTimeoutMS) * time.Millisecond, MaxLen: s.MaxLen, AIM: s.AIMIDs}
	if s.Port == "" {
		return c, errors.New("scanner.port: missing (the serial device, e.g. /dev/ttyS1)")
	}
	if s.Baud == 0 {
		return c, errors.New("scanner.baud: missing (the module's rate, e.g. 9600 or 115200)")
	}
	if err := uartscan.CheckBaud(s.Baud); err != nil {
		return c, fmt.Errorf("scanner.baud %d: %w", s.Baud, err)
	}
	if _, err := uartscan.ParseFraming(s.Framing); s.Framing != "" && err != nil {
		return c, fmt.Errorf("scanner.framing %q: %w", s.Framing, err)
	}
	if _, err := uartscan.ParseSuffix(s.Suffix); s.Suffix != "" && err != nil {
		return c, fmt.Errorf("scanner.suffix %q: %w", s.Suffix, err)
	}
	switch s.Trigger {
	case "", "honeywell":
		c.TriggerOn, c.TriggerOff = uartscan.HoneywellOn, uartscan.HoneywellOff
	case "none":
	case "custom":
		if s.TriggerOn == "" || s.TriggerOff == "" {
			return c, errors.New("scanner.trigger custom: needs trigger_on and trigger_off")
		}
		c.TriggerOn, c.TriggerOff = s.TriggerOn, s.TriggerOff
	default:
		return c, fmt.Errorf("scanner.trigger %q: unknown (one of honeywell, none, custom)", s.Trigger)
	}
	if s.Trigger != "custom" && (s.TriggerOn != "" || s.TriggerOff != "") {
		return c, errors.New("scanner.trigger_on, trigger_off: only with trigger custom")
	}
	// The port's timer counts tenths of a second, up to 255 of them.
	if s.ReadTimeoutMS < 0 || s.ReadTimeoutMS != 0 && (s.ReadTimeoutMS < 100 || s.ReadTimeoutMS > 25500) {
		return c, fmt.Errorf("scanner.read_timeout_ms %d: want 100-25500", s.ReadTimeoutMS)
	}
	if s.MaxLen < 0 || s.MaxLen > 65536 {
		return c, fmt.Errorf("scanner.max_len %d: want 1-65536", s.MaxLen)
	}
	return c, nil
}

// uartField names a uart-only field that is set, or returns "".
func (s Scanner) uartField() string {
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"port", s.Port != ""}, {"baud", s.Baud != 0}, {"framing", s.Framing != ""}, {"suffix", s.Suffix != ""},
		{"trigger", s.Trigger != ""}, {"trigger_on", s.TriggerOn != ""}, {"trigger_off", s.TriggerOff != ""},
		{"read_timeout_ms", s.ReadTimeoutMS != 0}, {"max_len", s.MaxLen != 0}, {"aim_ids", s.AIMIDs},
	} {
		if f.set {
			return f.name
		}
	}
	return ""
}

type CardReader struct {
	Driver string `json:"driver"`
	Cards  string `json:"cards"` // fake: directory of card profiles
	// Port and Baud: the PN532's UART (driver pn532, or contactless
	// pn532 beside a fake chip and stripe reader).
	Port string `json:"port,omitempty"`
	Baud int    `json:"baud,omitempty"`
	// I2C is the bus of a PN532 wired by I2C instead ("1" or
	// "/dev/i2c-1"), at its address 0x24.
	I2C string `json:"i2c,omitempty"`
	// Contactless puts a PN532 beside the fake reader for taps: "pn532"
	// on Port, or "pn532-emulator" (the desktop: the PN532 emulator on a
	// pseudo-terminal carrying the virtual cards, driven by the real
	// driver). "" leaves taps to the fake.
	Contactless string `json:"contactless,omitempty"`
}

// The drivers each device slot accepts. "none" leaves a device off the
// board; the application then treats it as absent.
var knownDrivers = map[string][]string{
	"display":     {"console", "memory", "fbdev"},
	"keypad":      {"console", "fake", "matrix", "evdev"},
	"scanner":     {"fake", "none", "uart", "camera"},
	"card_reader": {"fake", "none", "pn532"},
	"printer":     {"fake", "none", "escpos", "escpos-emulator"},
	"indicator":   {"fake", "none", "gpio"},
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
		f, err := os.Open(nameOrPath)
		if err != nil {
			return nil, fmt.Errorf("board: %w", err)
		}
		data, err := io.ReadAll(io.LimitReader(f, maxBoardFile+1))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("board: %w", err)
		}
		if len(data) > maxBoardFile {
			return nil, fmt.Errorf("board file %s: larger than %d bytes; is it the right file?", nameOrPath, maxBoardFile)
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
	if err := d.Display.validate(); err != nil {
		return err
	}
	if err := d.Keypad.validate(); err != nil {
		return err
	}
	if err := d.Indicator.validate(); err != nil {
		return err
	}
	if d.Scanner.Driver == "fake" && d.Scanner.Images == "" {
		return errors.New("scanner.images: the fake scanner needs a directory of code images")
	}
	if d.Scanner.Driver == "uart" {
		if _, err := d.Scanner.uartConfig(); err != nil {
			return err
		}
	} else if f := d.Scanner.uartField(); f != "" {
		return fmt.Errorf("scanner.%s: only the uart driver takes it", f)
	}
	if d.Scanner.Driver == "camera" {
		if _, err := d.Scanner.cameraConfig(); err != nil {
			return err
		}
	} else if f := d.Scanner.cameraField(); f != "" {
		return fmt.Errorf("scanner.%s: only the camera driver takes it", f)
	}
	cr := d.CardReader
	if cr.Driver == "fake" && cr.Cards == "" {
		return errors.New("card_reader.cards: the fake card reader needs a directory of card profiles")
	}
	switch cr.Contactless {
	case "", "pn532", "pn532-emulator":
	default:
		return fmt.Errorf("card_reader.contactless %q: want pn532 or pn532-emulator", cr.Contactless)
	}
	if cr.Contactless != "" && cr.Driver != "fake" {
		return errors.New("card_reader.contactless: goes beside the fake reader (driver fake)")
	}
	if cr.Contactless == "pn532-emulator" && cr.Cards == "" {
		return errors.New("card_reader.cards: the PN532 emulator carries the virtual cards of a directory")
	}
	needsPort := cr.Driver == "pn532" || cr.Contactless == "pn532"
	switch {
	case needsPort && cr.Port != "" && cr.I2C != "":
		return errors.New("card_reader: a PN532 on a UART (port) or on I2C (i2c), not both")
	case needsPort && cr.I2C != "":
	case needsPort && (cr.Port == "" || !filepath.IsAbs(cr.Port)):
		return fmt.Errorf("card_reader.port %q: the PN532's serial device, e.g. /dev/ttyS2 (or i2c: its bus)", cr.Port)
	case !needsPort && (cr.Port != "" || cr.I2C != ""):
		return errors.New("card_reader.port, card_reader.i2c: only a PN532 takes them")
	}
	switch cr.Baud {
	case 0, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600:
	default:
		return fmt.Errorf("card_reader.baud %d: a PN532 HSU rate (115200 by default)", cr.Baud)
	}
	if err := d.Printer.validate(); err != nil {
		return err
	}
	if d.Secrets != "user-config" && !filepath.IsAbs(d.Secrets) {
		return fmt.Errorf("secrets %q: want an absolute directory on the terminal's secure storage, or user-config", d.Secrets)
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
