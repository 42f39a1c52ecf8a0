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
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/shoukuan/pos/app/paycode"
)

//go:embed default.json
var defaultJSON []byte

// Config is the whole configuration. Amounts are integer fen.
type Config struct {
	Terminal  Terminal         `json:"terminal"`
	Host      Host             `json:"host"`
	Language  string           `json:"language"` // "zh-CN" or "en"
	Operators Operators        `json:"operators"`
	Limits    Limits           `json:"limits"`
	FeesBP    map[string]int64 `json:"fees_bp"` // merchant discount rate per method class, basis points
	Risk      Risk             `json:"risk"`
	Receipt   Receipt          `json:"receipt"`
	// PaymentCodes tells wallets' customer codes apart, first match wins.
	PaymentCodes []paycode.Rule `json:"payment_codes"`
	Wallet       Wallet         `json:"wallet"`
	Huabei       Huabei         `json:"huabei"`
	// ReplyCodes lists, per message family, the reply codes that are
	// definite declines; every other code but 00 leaves the outcome
	// unknown and is resolved as if no reply had come.
	ReplyCodes ReplyCodes `json:"reply_codes"`
	// Demo runs the terminal against the in-process host simulator with
	// the public test master key: every screen and receipt says it is not
	// a payment. Implied on the sim board with host.in_process.
	Demo bool `json:"demo"`
	// EMV is the chip and contactless kernel's configuration.
	EMV EMV `json:"emv"`
	// Update is where software comes from and what an update needs.
	Update Update `json:"update"`
}

// Update is the software update's configuration.
type Update struct {
	// Server is the acquirer's update server ("https://host:port"); empty:
	// updates come from a file or a USB stick only.
	Server string `json:"server"`
	// CAFile is the CA the server's certificate chains to (PEM); empty:
	// the system's roots.
	CAFile string `json:"ca_file"`
	// AllowHTTP lets Server be plain http (a test bench, never a shop:
	// bundles are signed, but a plain link leaks what a terminal runs).
	AllowHTTP bool `json:"allow_http"`
	// Keys are public-key files (PEM) trusted to sign bundles besides the
	// release keys built in: a development terminal's own key.
	Keys []string `json:"keys"`
	// AllowOpenBatch lets an update start with an unsettled batch;
	// otherwise the terminal asks to settle first.
	AllowOpenBatch bool `json:"allow_open_batch"`
	// TrialBoots is how many starts new software gets to pass its
	// self-test and mark itself good before the terminal goes back.
	TrialBoots int `json:"trial_boots"`
}

// ReplyCodes are the definite declines of each message family.
type ReplyCodes struct {
	Card         []string `json:"card"`
	WalletPay    []string `json:"wallet_pay"`
	WalletRefund []string `json:"wallet_refund"`
}

// Wallet is the QR payment policy. Alipay and WeChat Pay ask the terminal
// to poll while the customer confirms on the phone, then cancel.
type Wallet struct {
	PollSeconds       int `json:"poll_seconds"`        // query every this many seconds while the customer confirms
	WaitSeconds       int `json:"wait_seconds"`        // then cancel
	MerchantQRSeconds int `json:"merchant_qr_seconds"` // how long a shown QR stays payable
	CancelRetries     int `json:"cancel_retries"`      // cancel attempts while the host says retry
}

// Huabei is Alipay's consumer credit with installments.
type Huabei struct {
	Enabled  bool             `json:"enabled"`
	MinFen   int64            `json:"min_fen"`   // smallest amount that may be split
	LimitFen int64            `json:"limit_fen"` // the merchant's Huabei limit per payment
	RatesBP  map[string]int64 `json:"rates_bp"`  // installment fee per number of periods ("3", "6", "12"), basis points
}

// Periods lists the installment counts offered, ascending.
func (h Huabei) Periods() []int {
	var out []int
	for _, n := range []int{3, 6, 12} {
		if _, ok := h.RatesBP[strconv.Itoa(n)]; ok {
			out = append(out, n)
		}
	}
	return out
}

// Risk is the risk-alert and reversal policy.
type Risk struct {
	ConsecutiveDeclines int `json:"consecutive_declines"` // alert after this many declines in a row; 0 off
	SameCardSeconds     int `json:"same_card_seconds"`    // alert when a card pays twice within; 0 off
	ReversalRetries     int `json:"reversal_retries"`     // tries per reversal in one pass
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
	CAFile         string `json:"ca_file"`    // pinned CA when TLS is on
	MAC            string `json:"mac"`        // "ecb" (CUP) or "x9.19"
	KeyMode        string `json:"key_mode"`   // "single", "double", "double+tdk"
	TMK            string `json:"tmk"`        // "loaded" (pos keys load), or "simulator": the public test key, demo mode only
	NII            int    `json:"nii"`        // TPDU destination (network access point)
	InProcess      bool   `json:"in_process"` // run the host simulator inside pos (desktop simulator): demo mode
	// AllowPlaintext lets a host that is not on this machine be reached
	// without TLS; only for a private network the acquirer vouches for.
	AllowPlaintext bool `json:"allow_plaintext"`
}

// MaxFileBytes bounds a configuration file: a terminal's whole
// configuration is a few kilobytes, and a wrong path (a device, a log)
// must fail, not fill the memory.
const MaxFileBytes = 1 << 20

// IsLoopback reports whether host:port names this machine.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Operators is the sign-in policy.
type Operators struct {
	MaxFailures int `json:"max_failures"`
	LockMinutes int `json:"lock_minutes"`
}

// Limits are risk limits in fen: the defaults, and per method class
// ("card", "alipay", "wechat", "unionpay_qr").
type Limits struct {
	PerTransactionFen int64            `json:"per_transaction_fen"`
	DailyFen          int64            `json:"daily_fen"`
	Methods           map[string]Limit `json:"methods"`
}

// Limit is one class's limits in fen.
type Limit struct {
	PerTransactionFen int64 `json:"per_transaction_fen"`
	DailyFen          int64 `json:"daily_fen"`
}

// MethodClasses are the payment classes limits and fees are set for.
var MethodClasses = []string{"card", "alipay", "wechat", "unionpay_qr"}

func knownClass(c string) bool {
	for _, k := range MethodClasses {
		if k == c {
			return true
		}
	}
	return false
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
	data, err := ReadLimited(path, MaxFileBytes)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// ReadLimited reads a file of at most max bytes; a longer one (or an
// endless one such as /dev/zero) is refused after max+1 bytes.
func ReadLimited(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return nil, fmt.Errorf("%s is a directory", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes; is it the right file?", path, max)
	}
	return data, nil
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

// Overlay reads a configuration over base (not over the defaults) and
// validates the result: a test or a scenario changes what it names.
func Overlay(base Config, data []byte) (Config, error) {
	c, err := decode(base, data)
	if err != nil {
		return Config{}, err
	}
	return c, c.Validate()
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
	if err := c.Update.validate(); err != nil {
		return err
	}
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
	if !h.InProcess && !h.TLS && !h.AllowPlaintext && !IsLoopback(h.Address) {
		return fmt.Errorf("host.tls: %s is not on this machine, so payments must travel over TLS (set host.tls and host.ca_file; host.allow_plaintext: true only for a private network the acquirer vouches for)", host)
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
	if err := c.EMV.validate(); err != nil {
		return err
	}
	l := c.Limits
	if l.PerTransactionFen < 1 || l.PerTransactionFen > MaxAmountFen {
		return fmt.Errorf("limits.per_transaction_fen %d: must be 1-%d", l.PerTransactionFen, int64(MaxAmountFen))
	}
	if l.DailyFen < l.PerTransactionFen {
		return fmt.Errorf("limits.daily_fen %d: must be at least limits.per_transaction_fen", l.DailyFen)
	}
	for class, m := range l.Methods {
		if !knownClass(class) {
			return fmt.Errorf("limits.methods.%s: unknown method class (one of %s)", class, strings.Join(MethodClasses, ", "))
		}
		if m.PerTransactionFen < 1 || m.PerTransactionFen > MaxAmountFen || m.DailyFen < m.PerTransactionFen {
			return fmt.Errorf("limits.methods.%s: per_transaction_fen must be 1-%d and daily_fen at least that", class, int64(MaxAmountFen))
		}
	}
	for class, bp := range c.FeesBP {
		if !knownClass(class) {
			return fmt.Errorf("fees_bp.%s: unknown method class (one of %s)", class, strings.Join(MethodClasses, ", "))
		}
		if bp < 0 || bp > 1000 {
			return fmt.Errorf("fees_bp.%s %d: must be 0-1000 basis points (0-10%%)", class, bp)
		}
	}
	r := c.Risk
	if r.ConsecutiveDeclines < 0 || r.ConsecutiveDeclines > 100 || r.SameCardSeconds < 0 || r.SameCardSeconds > 86400 {
		return errors.New("risk: consecutive_declines 0-100, same_card_seconds 0-86400")
	}
	if r.ReversalRetries < 1 || r.ReversalRetries > 10 {
		return fmt.Errorf("risk.reversal_retries %d: must be 1-10", r.ReversalRetries)
	}
	switch h.MAC {
	case "ecb", "x9.19":
	default:
		return fmt.Errorf("host.mac %q: must be ecb or x9.19", h.MAC)
	}
	switch h.KeyMode {
	case "single", "double", "double+tdk":
	default:
		return fmt.Errorf("host.key_mode %q: must be single, double or double+tdk", h.KeyMode)
	}
	switch h.TMK {
	case "loaded", "simulator":
	default:
		return fmt.Errorf("host.tmk %q: must be loaded (the key loaded with pos keys load) or simulator (demo mode only)", h.TMK)
	}
	if h.NII < 0 || h.NII > 0xffff {
		return fmt.Errorf("host.nii %d: must be 0-65535", h.NII)
	}
	if _, err := paycode.New(c.PaymentCodes); err != nil {
		return fmt.Errorf("payment_codes: %w", err)
	}
	w := c.Wallet
	if w.PollSeconds < 1 || w.PollSeconds > 30 {
		return fmt.Errorf("wallet.poll_seconds %d: must be 1-30", w.PollSeconds)
	}
	if w.WaitSeconds < w.PollSeconds || w.WaitSeconds > 300 {
		return fmt.Errorf("wallet.wait_seconds %d: must be wallet.poll_seconds-300", w.WaitSeconds)
	}
	if w.MerchantQRSeconds < 30 || w.MerchantQRSeconds > 600 {
		return fmt.Errorf("wallet.merchant_qr_seconds %d: must be 30-600", w.MerchantQRSeconds)
	}
	if w.CancelRetries < 1 || w.CancelRetries > 10 {
		return fmt.Errorf("wallet.cancel_retries %d: must be 1-10", w.CancelRetries)
	}
	hb := c.Huabei
	if hb.MinFen < 1 || hb.MinFen > MaxAmountFen || hb.LimitFen < hb.MinFen || hb.LimitFen > MaxAmountFen {
		return fmt.Errorf("huabei: min_fen %d, limit_fen %d: need 1 <= min_fen <= limit_fen", hb.MinFen, hb.LimitFen)
	}
	for k, bp := range hb.RatesBP {
		if k != "3" && k != "6" && k != "12" {
			return fmt.Errorf("huabei.rates_bp.%s: periods must be 3, 6 or 12", k)
		}
		if bp < 0 || bp > 2000 {
			return fmt.Errorf("huabei.rates_bp.%s %d: must be 0-2000 basis points", k, bp)
		}
	}
	if hb.Enabled && len(hb.RatesBP) == 0 {
		return errors.New("huabei.rates_bp: enabled without any installment rates")
	}
	if err := c.ReplyCodes.check(); err != nil {
		return err
	}
	if c.Receipt.Copies < 1 || c.Receipt.Copies > 3 {
		return fmt.Errorf("receipt.copies %d: must be 1-3", c.Receipt.Copies)
	}
	return nil
}

func (r ReplyCodes) check() error {
	for _, l := range []struct {
		name  string
		codes []string
	}{{"card", r.Card}, {"wallet_pay", r.WalletPay}, {"wallet_refund", r.WalletRefund}} {
		seen := map[string]bool{}
		for _, code := range l.codes {
			switch {
			case len(code) != 2 || !isAlnum(code) || strings.ToUpper(code) != code:
				return fmt.Errorf("reply_codes.%s: %q is not a 2-character response code (digits or capital letters)", l.name, code)
			case code == "00":
				return fmt.Errorf("reply_codes.%s: 00 is approved, not a decline", l.name)
			case code == "UP" || code == "RT" || code == "PD":
				return fmt.Errorf("reply_codes.%s: %s is a wallet protocol code (user paying, retry, already paid), not a decline", l.name, code)
			case seen[code]:
				return fmt.Errorf("reply_codes.%s: %s listed twice", l.name, code)
			}
			seen[code] = true
		}
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

func (u Update) validate() error {
	switch {
	case u.Server == "":
	case strings.HasPrefix(u.Server, "https://"):
	case strings.HasPrefix(u.Server, "http://") && u.AllowHTTP:
	default:
		return fmt.Errorf("update.server %q: must be an https:// URL (http:// only with update.allow_http)", u.Server)
	}
	if u.TrialBoots < 1 || u.TrialBoots > 10 {
		return fmt.Errorf("update.trial_boots %d: must be 1 to 10", u.TrialBoots)
	}
	for _, k := range u.Keys {
		if strings.TrimSpace(k) == "" {
			return errors.New("update.keys: an empty file name")
		}
	}
	return nil
}
