package host

import (
	"errors"
	"strings"
	"testing"

	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/iso8583"
	"github.com/shoukuan/pos/app/seckey"
)

func TestSettleField48Layout(t *testing.T) {
	// Classes out of order and one unknown: the layout is fixed by
	// SettleClasses, not by the order the engine lists them in.
	got := settleField48(&engine.BatchTotals{Batch: testBatch, Classes: []engine.ClassTotals{
		{Class: "wechat", DebitCount: 3, DebitFen: 4500, CreditCount: 1, CreditFen: 99},
		{Class: "card", DebitCount: 12, DebitFen: 1234567, CreditCount: 2, CreditFen: 3000, FeeFen: 77},
		{Class: "cash", DebitCount: 9, DebitFen: 9},
	}})
	want := "000001234567" + "012" + "000000003000" + "002" + "0" + // card
		strings.Repeat("0", 31) + // alipay: nothing
		"000000004500" + "003" + "000000000099" + "001" + "0" + // wechat
		strings.Repeat("0", 31) // unionpay_qr
	if got != want {
		t.Errorf("field 48\n got %s\nwant %s", got, want)
	}
	if len(got) != 31*len(SettleClasses) || !allDigits(got) {
		t.Errorf("length %d, want %d digits", len(got), 31*len(SettleClasses))
	}
	// No totals at all is still four zero groups, and it packs as field 48.
	empty := settleField48(&engine.BatchTotals{})
	if empty != strings.Repeat("0", 124) {
		t.Errorf("empty totals: %s", empty)
	}
	m := iso8583.NewMessage("0500")
	m.Set(48, got)
	if _, err := iso8583.CUP.Pack(m); err != nil {
		t.Errorf("field 48 does not pack: %v", err)
	}
}

// reply builds a reply message with field 39 and extras.
func reply(code string, fields map[int]string) *iso8583.Message {
	m := iso8583.NewMessage("0210")
	if code != "" {
		m.Set(39, code)
	}
	for n, v := range fields {
		m.Set(n, v)
	}
	return m
}

func TestParseCommonFields(t *testing.T) {
	c := &Client{}
	rep, err := c.parse(engine.HostRequest{Kind: engine.HostSale},
		reply("00", map[int]string{37: "260514000017", 38: "12AB  ", 12: "094107", 13: "0514"}))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Code != "00" || rep.RRN != "260514000017" || rep.AuthCode != "12AB" || rep.Time != "094107" || rep.Date != "0514" {
		t.Errorf("parsed %+v", rep)
	}
	for name, m := range map[string]*iso8583.Message{
		"no 39":     reply("", nil),
		"short 39":  reply("0", nil),
		"long 39":   reply("000", nil),
		"no fields": iso8583.NewMessage("0210"),
	} {
		if _, err := c.parse(engine.HostRequest{Kind: engine.HostSale}, m); !errors.Is(err, ErrBadReply) {
			t.Errorf("%s: %v, want ErrBadReply", name, err)
		}
	}
}

func TestParseBalance(t *testing.T) {
	c := &Client{}
	req := engine.HostRequest{Kind: engine.HostBalance}
	for _, tc := range []struct {
		f54  string
		want int64
	}{
		{"1002156C000000012345", 12345},
		{"1002156D000000000250", -250},
		{"1002156C000000000000", 0},
		{"1002156C999999999999", 999999999999},
	} {
		rep, err := c.parse(req, reply("00", map[int]string{54: tc.f54}))
		if err != nil || rep.BalanceFen != tc.want {
			t.Errorf("54 %q: %d, %v; want %d", tc.f54, rep.BalanceFen, err, tc.want)
		}
	}
	for _, bad := range []string{
		"",
		"1002156C00000001234",   // 19
		"1002156C0000000123456", // 21
		"1002156X000000012345",  // sign
		"1002156c000000012345",  // sign is upper case
		"1002156C00000001234A",  // amount
		"1002156C0000 0012345",  // amount
	} {
		if _, err := c.parse(req, reply("00", map[int]string{54: bad})); !errors.Is(err, ErrBadReply) {
			t.Errorf("54 %q: %v, want ErrBadReply", bad, err)
		}
	}
	if _, err := c.parse(req, reply("00", nil)); !errors.Is(err, ErrBadReply) {
		t.Error("approved balance without 54 accepted")
	}
	// A decline carries no balance and needs none.
	if rep, err := c.parse(req, reply("55", nil)); err != nil || rep.Code != "55" {
		t.Errorf("declined inquiry: %+v, %v", rep, err)
	}
	// 54 means nothing on a sale reply.
	if rep, err := c.parse(engine.HostRequest{Kind: engine.HostSale}, reply("00", map[int]string{54: "junk"})); err != nil || rep.BalanceFen != 0 {
		t.Errorf("sale with 54: %+v, %v", rep, err)
	}
}

// groups48 makes a reply field 48 with the given result digits.
func groups48(results string) string {
	var b strings.Builder
	for _, r := range results {
		b.WriteString("000000001000" + "001" + "000000000000" + "000" + string(r))
	}
	return b.String()
}

func TestParseSettlement(t *testing.T) {
	c := &Client{}
	req := engine.HostRequest{Kind: engine.HostSettle}
	for results, want := range map[string]engine.SettleResult{
		"1111": engine.SettleBalanced,
		"2111": engine.SettleUnbalanced,
		"1112": engine.SettleUnbalanced,
		"2222": engine.SettleUnbalanced,
	} {
		rep, err := c.parse(req, reply("00", map[int]string{48: groups48(results)}))
		if err != nil || rep.SettleResult != want {
			t.Errorf("results %s: %v, %v; want %v", results, rep.SettleResult, err, want)
		}
	}
	for _, bad := range []string{
		groups48("0111"), // the request's 0 echoed: not a verdict
		groups48("1113"),
		groups48("1191"),
		groups48("111"),        // a group short
		groups48("1111")[:123], // a digit short
		"",
	} {
		if _, err := c.parse(req, reply("00", map[int]string{48: bad})); !errors.Is(err, ErrBadReply) {
			t.Errorf("48 %q: %v, want ErrBadReply", bad, err)
		}
	}
	if _, err := c.parse(req, reply("00", nil)); !errors.Is(err, ErrBadReply) {
		t.Error("approved settlement without 48 accepted")
	}
	if rep, err := c.parse(req, reply("96", nil)); err != nil || rep.SettleResult != engine.SettleUnknown {
		t.Errorf("refused settlement: %+v, %v", rep, err)
	}
}

func TestReplyMTI(t *testing.T) {
	for in, want := range map[string]string{"0200": "0210", "0800": "0810", "0400": "0410", "0320": "0330", "0500": "0510", "x": ""} {
		if got := replyMTI(in); got != want {
			t.Errorf("replyMTI(%q) = %q, want %q", in, got, want)
		}
	}
}

// The wire layout of each request, as docs/host-protocol.md lists it.
func TestBuildMatchesProtocol(t *testing.T) {
	c := &Client{cfg: Config{TerminalID: testTID, MerchantID: testMID, KeyMode: seckey.DoubleWithTDK}}
	pinBlock := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	get := func(m *iso8583.Message, n int) string { v, _ := m.Get(n); return v }
	for _, tc := range []struct {
		name   string
		req    engine.HostRequest
		mti    string
		macked bool
		want   map[int]string // "" means absent
	}{
		{"signon", engine.HostRequest{Kind: engine.HostSignOn, STAN: "000001", Batch: testBatch, Operator: "1"},
			"0800", false, map[int]string{11: "000001", 41: testTID, 42: testMID, 60: "00" + testBatch + "004", 63: "001", 64: ""}},
		{"echo", engine.HostRequest{Kind: engine.HostEcho, STAN: "000002", Batch: testBatch},
			"0820", false, map[int]string{60: "00" + testBatch + "301", 63: ""}},
		{"signoff", engine.HostRequest{Kind: engine.HostSignOff, STAN: "000003", Batch: testBatch},
			"0820", false, map[int]string{60: "00" + testBatch + "002"}},
		{"swipe with PIN", engine.HostRequest{Kind: engine.HostSale, STAN: "000004", Batch: testBatch, AmountFen: 1999,
			Card: &engine.Card{Method: engine.MethodSwipe, Track2: cardMain.track2(), PINBlock: pinBlock},
			PAN:  cardMain.pan, Expiry: cardMain.expiry, Operator: "0007"},
			"0200", true, map[int]string{2: cardMain.pan, 3: "000000", 4: "000000001999", 14: "3009", 22: "021", 25: "00",
				26: "12", 35: cardMain.track2(), 49: "156", 52: string(pinBlock), 53: "2600000000000000", 60: "22" + testBatch + "00060", 63: "000", 23: "", 55: ""}},
		{"chip no PIN", engine.HostRequest{Kind: engine.HostSale, STAN: "000005", Batch: testBatch, AmountFen: 1,
			Card: &engine.Card{Method: engine.MethodChip, Track2: cardMain.track2(), ICC: []byte{0x9f, 0x26}, Seq: "001"},
			PAN:  cardMain.pan, Expiry: cardMain.expiry},
			"0200", true, map[int]string{22: "052", 23: "001", 55: "\x9f\x26", 26: "", 52: "", 53: ""}},
		{"tap", engine.HostRequest{Kind: engine.HostSale, STAN: "000006", Batch: testBatch, AmountFen: 1,
			Card: &engine.Card{Method: engine.MethodTap, Track2: cardMain.track2(), Seq: "001"}, PAN: cardMain.pan, Expiry: cardMain.expiry},
			"0200", true, map[int]string{22: "072", 23: "001"}},
		{"balance", engine.HostRequest{Kind: engine.HostBalance, STAN: "000007", Batch: testBatch,
			Card: &engine.Card{Method: engine.MethodSwipe, Track2: cardMain.track2(), PINBlock: pinBlock}, PAN: cardMain.pan, Expiry: cardMain.expiry},
			"0200", true, map[int]string{3: "310000", 4: "", 25: "00", 26: "12", 49: "156", 60: "01" + testBatch + "000" + "6" + "0"}},
		{"fallback swipe", engine.HostRequest{Kind: engine.HostSale, STAN: "000013", Batch: testBatch, AmountFen: 100,
			Card: &engine.Card{Method: engine.MethodSwipe, Track2: cardMain.track2(), Fallback: true}, PAN: cardMain.pan, Expiry: cardMain.expiry},
			"0200", true, map[int]string{22: "022", 60: "22" + testBatch + "000" + "6" + "2"}},
		{"void", engine.HostRequest{Kind: engine.HostVoid, STAN: "000008", Batch: testBatch, AmountFen: 500,
			OrigRRN: "260514000001", OrigAuth: "123456", OrigSTAN: "000004", OrigBatch: testBatch},
			"0200", true, map[int]string{3: "200000", 4: "000000000500", 37: "260514000001", 38: "123456",
				60: "23" + testBatch, 61: testBatch + "000004", 2: "", 35: ""}},
		{"refund", engine.HostRequest{Kind: engine.HostRefund, STAN: "000009", Batch: testBatch, AmountFen: 300,
			OrigRRN: "260514000001", OrigDate: "0514"},
			"0220", true, map[int]string{3: "200000", 4: "000000000300", 37: "260514000001", 60: "25" + testBatch, 61: "0000000000000514"}},
		{"reversal", engine.HostRequest{Kind: engine.HostReversal, STAN: "000004", Batch: testBatch, AmountFen: 1999,
			OrigKind: engine.KindSale, OrigSTAN: "000004", OrigBatch: testBatch, ReversalReason: "98"},
			"0400", true, map[int]string{3: "000000", 4: "000000001999", 11: "000004", 25: "00", 39: "98", 49: "156",
				60: "22" + testBatch, 61: testBatch + "000004"}},
		{"void reversal", engine.HostRequest{Kind: engine.HostReversal, STAN: "000008", Batch: testBatch, AmountFen: 500,
			OrigKind: engine.KindVoid, OrigSTAN: "000008", OrigBatch: testBatch, ReversalReason: "A0"},
			"0400", true, map[int]string{3: "200000", 39: "A0", 60: "23" + testBatch, 55: ""}},
		{"chip reversal", engine.HostRequest{Kind: engine.HostReversal, STAN: "000014", Batch: testBatch, AmountFen: 1999,
			OrigKind: engine.KindSale, OrigSTAN: "000014", OrigBatch: testBatch, ReversalReason: "06", ICC: []byte{0x95, 0x05, 0, 0, 0, 0x80, 0}},
			"0400", true, map[int]string{39: "06", 55: "\x95\x05\x00\x00\x00\x80\x00"}},
		{"settle", settleReq("000010", 1, 100),
			"0500", true, map[int]string{48: "000000000100001000000000000000" + "0" + strings.Repeat("0", 93), 49: "156", 60: "00" + testBatch + "201"}},
		{"upload", engine.HostRequest{Kind: engine.HostUpload, STAN: "000011", Batch: testBatch,
			Upload: &engine.Txn{Kind: engine.KindRefund, STAN: "000009", AmountFen: 300, RRN: "260514000002"}},
			"0320", true, map[int]string{48: "01" + "25" + "000009" + "000000000300" + "260514000002", 60: "00" + testBatch + "201"}},
		{"upload without RRN", engine.HostRequest{Kind: engine.HostUpload, STAN: "000012", Batch: testBatch,
			Upload: &engine.Txn{Kind: engine.KindSale, STAN: "000004", AmountFen: 1999, RRN: "QR-ORDER-1"}},
			"0320", true, map[int]string{48: "01" + "00" + "000004" + "000000001999" + "000000000000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, macked, err := c.build(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if m.MTI != tc.mti || macked != tc.macked {
				t.Errorf("MTI %s macked %v, want %s %v", m.MTI, macked, tc.mti, tc.macked)
			}
			for n, want := range tc.want {
				if want == "" {
					if m.Has(n) {
						t.Errorf("field %d present: %q", n, get(m, n))
					}
				} else if got := get(m, n); got != want {
					t.Errorf("field %d = %q, want %q", n, got, want)
				}
			}
			if get(m, 11) != tc.req.STAN || get(m, 41) != testTID || get(m, 42) != testMID {
				t.Errorf("11/41/42: %q %q %q", get(m, 11), get(m, 41), get(m, 42))
			}
			// Everything built must pack; MACed ones with a field 64.
			var packErr error
			if macked {
				_, packErr = iso8583.CUP.PackWithMAC(m, func([]byte) ([]byte, error) { return make([]byte, 8), nil })
			} else {
				_, packErr = iso8583.CUP.Pack(m)
			}
			if packErr != nil {
				t.Errorf("does not pack: %v", packErr)
			}
		})
	}
}

func TestBuildRejects(t *testing.T) {
	c := &Client{cfg: Config{TerminalID: testTID, MerchantID: testMID}}
	for name, req := range map[string]engine.HostRequest{
		"sale without card":     {Kind: engine.HostSale, STAN: "000001", Batch: testBatch, AmountFen: 1},
		"balance without card":  {Kind: engine.HostBalance, STAN: "000001", Batch: testBatch},
		"settle without totals": {Kind: engine.HostSettle, STAN: "000001", Batch: testBatch},
		"upload without txn":    {Kind: engine.HostUpload, STAN: "000001", Batch: testBatch},
		"unknown kind":          {Kind: "teleport", STAN: "000001", Batch: testBatch},
		"bad batch":             {Kind: engine.HostVoid, STAN: "000001", Batch: "7", AmountFen: 1, OrigSTAN: "000001", OrigBatch: testBatch},
		"bad orig trace":        {Kind: engine.HostReversal, STAN: "000001", Batch: testBatch, AmountFen: 1, OrigSTAN: "1", OrigBatch: testBatch},
	} {
		if _, _, err := c.build(req); err == nil {
			t.Errorf("%s: built", name)
		}
	}
	// Exchange refuses them before touching the network or the keys.
	if _, err := c.Exchange(t.Context(), engine.HostRequest{Kind: engine.HostSale, STAN: "000001", Batch: testBatch}); err == nil || errors.Is(err, ErrNoKeys) {
		t.Errorf("Exchange of a card-less sale: %v", err)
	}
}
