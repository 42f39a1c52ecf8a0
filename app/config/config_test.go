package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreValid(t *testing.T) {
	c := Default()
	if c.Language != "zh-CN" || c.Terminal.TerminalID != "10000001" || c.Operators.MaxFailures != 5 || c.Operators.LockFor().Minutes() != 15 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestFileOverridesOnlyWhatItNames(t *testing.T) {
	c, err := Parse([]byte(`{"language":"en","terminal":{"merchant_name":"老王面馆"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Language != "en" || c.Terminal.MerchantName != "老王面馆" || c.Terminal.TerminalID != "10000001" {
		t.Fatalf("%+v", c)
	}
}

func TestErrorsNameTheField(t *testing.T) {
	for body, want := range map[string]string{
		`{"language":"fr"}`:                                                "language",
		`{"terminal":{"terminal_id":"123"}}`:                               "terminal.terminal_id",
		`{"terminal":{"merchant_id":"12345678901234!"}}`:                   "terminal.merchant_id",
		`{"terminal":{"merchant_name":"` + strings.Repeat("长", 21) + `"}}`: "42 bytes",
		`{"host":{"address":"nowhere"}}`:                                   "host.address",
		`{"host":{"address":"1.2.3.4:99999"}}`:                             "port",
		`{"host":{"tls":true}}`:                                            "host.ca_file",
		`{"host":{"timeout_seconds":1}}`:                                   "host.timeout_seconds",
		`{"limits":{"per_transaction_fen":0}}`:                             "limits.per_transaction_fen",
		`{"limits":{"daily_fen":1}}`:                                       "limits.daily_fen",
		`{"operators":{"max_failures":0}}`:                                 "operators.max_failures",
		`{"receipt":{"copies":9}}`:                                         "receipt.copies",
		`{"payment_codes":[{"wallet":"paypal","prefixes":["1"],"min_len":10,"max_len":12}]}`: "payment_codes: rule 1: wallet",
		`{"payment_codes":[]}`:                                    "payment_codes: no rules",
		`{"wallet":{"poll_seconds":0}}`:                           "wallet.poll_seconds",
		`{"wallet":{"wait_seconds":2}}`:                           "wallet.wait_seconds",
		`{"wallet":{"merchant_qr_seconds":5}}`:                    "wallet.merchant_qr_seconds",
		`{"wallet":{"cancel_retries":0}}`:                         "wallet.cancel_retries",
		`{"huabei":{"min_fen":0}}`:                                "huabei: min_fen 0",
		`{"huabei":{"limit_fen":5}}`:                              "limit_fen 5",
		`{"huabei":{"rates_bp":{"4":100}}}`:                       "huabei.rates_bp.4",
		`{"huabei":{"rates_bp":{"3":5000}}}`:                      "huabei.rates_bp.3 5000",
		`{"langauge":"en"}`:                                       `unknown field "langauge"`,
		"{\n\"language\": 5}":                                     "line 2",
		"{\n\n  \"language\": \"en\",\n}":                         "line 4",
		`{"language":"en"} {"language":"zh-CN"}`:                  "trailing",
		`{"limits":{"per_transaction_fen":1.5}}`:                  "int64",
		`{"host":{"address":"10.8.0.1:5800","in_process":false}}`: "must travel over TLS",
		`{"host":{"tmk":"0123456789ABCDEF"}}`:                     "host.tmk",
		`{"reply_codes":{"card":["00"]}}`:                         "00 is approved",
		`{"reply_codes":{"wallet_pay":["UP"]}}`:                   "wallet protocol code",
		`{"reply_codes":{"card":["5"]}}`:                          "not a 2-character",
		`{"reply_codes":{"wallet_refund":["64","64"]}}`:           "listed twice",
	} {
		_, err := Parse([]byte(body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want mention of %q", body, err, want)
		}
	}
}

// TestPlaintextOnlyWhereSaidOrLocal: a host on this machine needs no
// TLS; another one does unless the configuration says so in so many words.
func TestPlaintextOnlyWhereSaidOrLocal(t *testing.T) {
	for body, ok := range map[string]bool{
		`{"host":{"address":"127.0.0.1:5800","in_process":false}}`:                                      true,
		`{"host":{"address":"localhost:5800","in_process":false}}`:                                      true,
		`{"host":{"address":"[::1]:5800","in_process":false}}`:                                          true,
		`{"host":{"address":"acquirer.example:5800","in_process":false}}`:                               false,
		`{"host":{"address":"acquirer.example:5800","in_process":false,"allow_plaintext":true}}`:        true,
		`{"host":{"address":"acquirer.example:5800","in_process":false,"tls":true,"ca_file":"ca.pem"}}`: true,
	} {
		if _, err := Parse([]byte(body)); (err == nil) != ok {
			t.Errorf("%s: err = %v", body, err)
		}
	}
}

// TestLoadRefusesHugeFiles: a path to something endless fails, quickly.
func TestLoadRefusesHugeFiles(t *testing.T) {
	done := make(chan error, 1)
	go func() { _, err := Load("/dev/zero"); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Fatalf("/dev/zero: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("reading /dev/zero as a configuration did not stop")
	}
	big := filepath.Join(t.TempDir(), "big.json")
	os.WriteFile(big, make([]byte, MaxFileBytes+1), 0o600)
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("a file over the limit: %v", err)
	}
}

func TestLoad(t *testing.T) {
	if _, err := Load(""); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "pos.json")
	os.WriteFile(p, []byte(`{"language":"en"}`), 0o644)
	c, err := Load(p)
	if err != nil || c.Language != "en" {
		t.Fatalf("%v %+v", err, c)
	}
	if _, err := Load(p + ".missing"); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("missing file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(defaultJSON)
	f.Add([]byte(`{"language":"en","terminal":{"merchant_name":"老王面馆"}}`))
	f.Add([]byte(`{"host":{"address":"[::1]:5800","tls":true,"ca_file":"/etc/ca.pem"}}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted an invalid config: %v", err)
		}
	})
}
