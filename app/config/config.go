// Package config is the terminal's configuration file: who the terminal
// is, where its host is, its limits and language. Defaults are embedded so
// the simulator runs with no file; a file overrides only what it names.
package config

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

//go:embed default.json
var defaultJSON []byte

// Config is the whole configuration. Amounts are integer fen.
type Config struct {
	Terminal  Terminal  `json:"terminal"`
	Host      Host      `json:"host"`
	Language  string    `json:"language"` // "zh-CN" or "en"
	Operators Operators `json:"operators"`
	Limits    Limits    `json:"limits"`
	Receipt   Receipt   `json:"receipt"`
}

// Terminal identifies the terminal to the acquirer (ISO 8583 fields 41, 42, 43).
type Terminal struct {
	TerminalID     string `json:"terminal_id"`      // 8 characters
	MerchantID     string `json:"merchant_id"`      // 15 characters
	MerchantName   string `json:"merchant_name"`    // printed on receipts; at most 40 bytes in GB18030
	MerchantNameEN string `json:"merchant_name_en"` // English receipts; ASCII, at most 40
}

// Host is the acquirer link.
type Host struct {
	Address        string `json:"address"` // host:port
	TimeoutSeconds int    `json:"timeout_seconds"`
	TLS            bool   `json:"tls"`
	CAFile         string `json:"ca_file"` // pinned CA when TLS is on
}

// Operators is the sign-in policy.
type Operators struct {
	MaxFailures int `json:"max_failures"`
	LockMinutes int `json:"lock_minutes"`
}

// Limits are risk limits in fen.
type Limits struct {
	PerTransactionFen int64 `json:"per_transaction_fen"`
	DailyFen          int64 `json:"daily_fen"`
}

// Receipt is printing policy.
type Receipt struct {
	Copies int `json:"copies"` // 1 customer only, 2 merchant + customer
}

// Timeout is the host timeout as a duration.
func (h Host) Timeout() time.Duration { return time.Duration(h.TimeoutSeconds) * time.Second }

// LockFor is the operator lock duration.
func (o Operators) LockFor() time.Duration { return time.Duration(o.LockMinutes) * time.Minute }

// Default returns the embedded defaults.
func Default() Config {
	c, err := decode(Config{}, defaultJSON)
	if err != nil {
		panic("config: embedded defaults do not parse: " + err.Error())
	}
	if err := c.Validate(); err != nil {
		panic("config: embedded defaults are invalid: " + err.Error())
	}
	return c
}

// Load reads a configuration file over the defaults. An empty path means
// the defaults alone.
func Load(path string) (Config, error) {
	if path == "" {
		return Default(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse reads a configuration over the defaults and validates the result.
func Parse(data []byte) (Config, error) {
	c, err := decode(Default(), data)
	if err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

func decode(base Config, data []byte) (Config, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&base); err != nil {
		return Config{}, explainJSON(data, err)
	}
	if dec.More() {
		return Config{}, errors.New("trailing data after the configuration object")
	}
	return base, nil
}

// explainJSON turns encoding/json's errors into ones that point at a line.
func explainJSON(data []byte, err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Errorf("line %d: %v", lineOf(data, syn.Offset), syn)
	case errors.As(err, &typ):
		return fmt.Errorf("line %d: %s must be %s, not %s", lineOf(data, typ.Offset), typ.Field, typ.Type, typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return fmt.Errorf("%s (check spelling; see docs/config.md)", strings.TrimPrefix(err.Error(), "json: "))
	}
	return err
}

func lineOf(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	return bytes.Count(data[:off], []byte("\n")) + 1
}

// Validate reports the first problem, naming the field.
func (c Config) Validate() error {
	t := c.Terminal
	if !isAlnum(t.TerminalID) || len(t.TerminalID) != 8 {
		return fmt.Errorf("terminal.terminal_id %q: must be 8 letters or digits", t.TerminalID)
	}
	if !isAlnum(t.MerchantID) || len(t.MerchantID) != 15 {
		return fmt.Errorf("terminal.merchant_id %q: must be 15 letters or digits", t.MerchantID)
	}
	if strings.TrimSpace(t.MerchantName) == "" {
		return errors.New("terminal.merchant_name: must not be empty")
	}
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(t.MerchantName)
	if err != nil {
		return fmt.Errorf("terminal.merchant_name: has characters the printer cannot print: %v", err)
	}
	if len(gb) > 40 {
		return fmt.Errorf("terminal.merchant_name: %d bytes in GB18030, at most 40 (20 Chinese characters)", len(gb))
	}
	if strings.ContainsAny(t.MerchantName, "\n\r\t") {
		return errors.New("terminal.merchant_name: must be one line")
	}
	if len(t.MerchantNameEN) > 40 || !isPrintableASCII(t.MerchantNameEN) {
		return errors.New("terminal.merchant_name_en: at most 40 printable ASCII characters")
	}
	h := c.Host
	host, port, err := net.SplitHostPort(h.Address)
	if err != nil || host == "" {
		return fmt.Errorf("host.address %q: must be host:port", h.Address)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("host.address %q: port must be 1-65535", h.Address)
	}
	if h.TimeoutSeconds < 5 || h.TimeoutSeconds > 120 {
		return fmt.Errorf("host.timeout_seconds %d: must be 5-120", h.TimeoutSeconds)
	}
	if h.TLS && h.CAFile == "" {
		return errors.New("host.ca_file: required when host.tls is true (the CA is pinned)")
	}
	switch c.Language {
	case "zh-CN", "en":
	default:
		return fmt.Errorf("language %q: must be zh-CN or en", c.Language)
	}
	o := c.Operators
	if o.MaxFailures < 1 || o.MaxFailures > 10 {
		return fmt.Errorf("operators.max_failures %d: must be 1-10", o.MaxFailures)
	}
	if o.LockMinutes < 1 || o.LockMinutes > 24*60 {
		return fmt.Errorf("operators.lock_minutes %d: must be 1-1440", o.LockMinutes)
	}
	l := c.Limits
	if l.PerTransactionFen < 1 || l.PerTransactionFen > MaxAmountFen {
		return fmt.Errorf("limits.per_transaction_fen %d: must be 1-%d", l.PerTransactionFen, int64(MaxAmountFen))
	}
	if l.DailyFen < l.PerTransactionFen {
		return fmt.Errorf("limits.daily_fen %d: must be at least limits.per_transaction_fen", l.DailyFen)
	}
	if c.Receipt.Copies < 1 || c.Receipt.Copies > 3 {
		return fmt.Errorf("receipt.copies %d: must be 1-3", c.Receipt.Copies)
	}
	return nil
}

// MaxAmountFen is the largest amount ISO 8583 field 4 (12 digits) can
// carry, and so the largest any limit can be.
const MaxAmountFen = 999999999999

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return s != ""
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
