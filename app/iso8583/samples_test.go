package iso8583

import (
	"bytes"
	"sort"
	"testing"
)

// Test card data: a made-up 19-digit UnionPay-style PAN, not a real card.
const (
	testPAN    = "6217001234567890123"
	testTrack2 = testPAN + "=2512220"
	testTrack3 = "99" + testPAN + "=1561560000000000000003000000214000025120=000000000000="
	testTID    = "12345678"
	testMID    = "123456789012345"
)

var (
	testPIN = []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}
	testMAC = []byte{0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07, 0x18}
	// A minimal ICC data set (9F26 cryptogram, 9F27, 95 TVR, 9A date).
	testICC = []byte{
		0x9F, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8,
		0x9F, 0x27, 0x01, 0x80,
		0x95, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x9A, 0x03, 0x25, 0x04, 0x30,
	}
	// GBK for 工商银行 (issuer name as CUP replies carry it in 63.2).
	testGBK = []byte{0xB9, 0xA4, 0xC9, 0xCC, 0xD2, 0xF8, 0xD0, 0xD0}
)

func mustF60(t testing.TB, a, b, c string, rest ...string) string {
	t.Helper()
	v, err := Field60(a, b, c, rest...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func mustF61(t testing.TB, a, b, c string) string {
	t.Helper()
	v, err := Field61(a, b, c)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func msg(mti string, kv ...any) *Message {
	m := NewMessage(mti)
	for i := 0; i < len(kv); i += 2 {
		n := kv[i].(int)
		switch v := kv[i+1].(type) {
		case string:
			m.Set(n, v)
		case []byte:
			m.SetBytes(n, v)
		}
	}
	return m
}

func seq(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*37 + 11)
	}
	return b
}

// sampleMessages are realistic messages of every type the terminal sends
// or receives.
func sampleMessages(t testing.TB) map[string]*Message {
	t.Helper()
	common := func(m *Message) *Message {
		m.Set(41, testTID)
		m.Set(42, testMID)
		return m
	}
	return map[string]*Message{
		"signon 0800 single": common(msg("0800", 11, "000001", 60, mustF60(t, "00", "000001", "003"), 63, "001")),
		"signon 0800 double": common(msg("0800", 11, "000002", 60, mustF60(t, "00", "000001", "004"), 63, "001")),
		"signon 0810 24-byte keys": common(msg("0810", 11, "000001", 12, "101530", 13, "0430", 32, "00012345",
			37, "430101530001", 39, "00", 60, mustF60(t, "00", "000002", "003"), 62, seq(24))),
		"signon 0810 60-byte keys": common(msg("0810", 11, "000002", 12, "101531", 13, "0430", 32, "0001234",
			37, "430101530002", 39, "00", 60, mustF60(t, "00", "000002", "004"), 62, seq(60))),
		"sale 0200 swipe": common(msg("0200", 2, testPAN, 3, "000000", 4, "000000000100", 11, "000123",
			14, "2512", 22, "021", 25, "00", 26, "12", 35, testTrack2, 36, testTrack3, 49, "156",
			52, testPIN, 53, "2600000000000000", 60, mustF60(t, "22", "000001", "000", "2", "0"), 64, testMAC)),
		"sale 0200 chip": common(msg("0200", 2, testPAN, 3, "000000", 4, "000000012345", 11, "000124",
			14, "2512", 22, "051", 23, "001", 25, "00", 26, "06", 35, testTrack2, 49, "156",
			52, testPIN, 53, "2600000000000000", 55, testICC, 60, mustF60(t, "22", "000001", "000", "5", "0"), 64, testMAC)),
		"sale 0210 approved": common(msg("0210", 2, testPAN, 3, "000000", 4, "000000012345", 11, "000124",
			12, "101602", 13, "0430", 14, "2512", 15, "0430", 25, "00", 32, "00012345", 37, "430101602001",
			38, "A12345", 39, "00", 44, "01020000   03040000   ", 49, "156", 53, "2600000000000000",
			55, testICC[:15], 60, mustF60(t, "22", "000001", "000"), 63, append([]byte("CUP"), testGBK...), 64, testMAC)),
		"void 0200": common(msg("0200", 2, testPAN, 3, "200000", 4, "000000012345", 11, "000125",
			14, "2512", 22, "021", 25, "00", 35, testTrack2, 37, "430101602001", 38, "A12345", 49, "156",
			53, "2600000000000000", 60, mustF60(t, "23", "000001", "000"), 61, mustF61(t, "000001", "000124", ""), 64, testMAC)),
		"refund 0220": common(msg("0220", 2, "62258812345678901", 3, "200000", 4, "000000005000", 11, "000126",
			22, "012", 25, "00", 37, "428101602001", 49, "156", 60, mustF60(t, "25", "000001", "000"),
			61, mustF61(t, "000007", "000088", "0428"), 63, "000", 64, testMAC)),
		"balance 0200": common(msg("0200", 2, testPAN, 3, "310000", 11, "000127", 14, "2512", 22, "021",
			25, "00", 26, "06", 35, testTrack2, 49, "156", 52, testPIN, 53, "2600000000000000",
			60, mustF60(t, "01", "000001", "000"), 64, testMAC)),
		"balance 0210": common(msg("0210", 2, testPAN, 3, "310000", 11, "000127", 12, "101700", 13, "0430",
			25, "00", 32, "00012345", 37, "430101700001", 39, "00", 49, "156", 54, "1001156C000000012345",
			60, mustF60(t, "01", "000001", "000"), 64, testMAC)),
		"reversal 0400 timeout": common(msg("0400", 2, testPAN, 3, "000000", 4, "000000012345", 11, "000124",
			14, "2512", 22, "051", 23, "001", 25, "00", 39, "98", 49, "156", 53, "2600000000000000",
			55, testICC, 60, mustF60(t, "22", "000001", "000"), 64, testMAC)),
		"reversal 0400 error": common(msg("0400", 2, testPAN, 3, "200000", 4, "000000012345", 11, "000125",
			22, "021", 25, "00", 39, "06", 49, "156", 60, mustF60(t, "23", "000001", "000"),
			61, mustF61(t, "000001", "000124", ""), 64, testMAC)),
		"settlement 0500": common(msg("0500", 11, "000130", 48,
			"001000000012345000000000000000"+"1"+"000000000000000000000000000000"+"1", 49, "156",
			60, mustF60(t, "00", "000001", "201"), 63, "001")),
		"settlement 0510": common(msg("0510", 11, "000130", 12, "180001", 13, "0430", 15, "0430", 32, "00012345",
			37, "430180001001", 39, "00", 48, "001000000012345000000000000000"+"2"+"000000000000000000000000000000"+"1",
			49, "156", 60, mustF60(t, "00", "000001", "201"), 63, "001")),
		"batch upload 0320": common(msg("0320", 11, "000131",
			48, "0001"+"00"+"000124"+"6217001234567890123"+"000000012345",
			60, mustF60(t, "00", "000001", "201"))),
		"signoff 0820": common(msg("0820", 11, "000132", 60, mustF60(t, "00", "000001", "002"))),
		"max lengths": common(msg("0200", 2, "1234567890123456789", 32, "12345678901", 36, string(bytes.Repeat([]byte("1="), 52)),
			44, "abcdefghijklmnopqrstuvwxy", 48, string(bytes.Repeat([]byte("7"), 322)), 54, "ABCDEFGHIJ0123456789",
			55, seq(255), 60, "12345678901234567", 61, "12345678901234567890123456789", 62, seq(512),
			63, string(bytes.Repeat([]byte("~"), 163)))),
		"empty var fields": msg("0200", 2, "", 32, "", 35, "", 48, "", 55, []byte{}, 63, ""),
		"no fields":        msg("0800"),
	}
}

func sortedNames(m map[string]*Message) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
