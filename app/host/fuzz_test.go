package host

import (
	"testing"

	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/iso8583"
)

var allKinds = []engine.HostKind{
	engine.HostSignOn, engine.HostEcho, engine.HostSale, engine.HostVoid, engine.HostRefund,
	engine.HostBalance, engine.HostReversal, engine.HostSettle, engine.HostUpload, engine.HostSignOff,
}

// FuzzParseReply feeds whatever unpacks as a CUP message to parse as the
// reply to every kind of request: a host's reply must never panic the
// terminal, and what parse accepts must be what the engine relies on.
func FuzzParseReply(f *testing.F) {
	for _, m := range []*iso8583.Message{
		reply("00", map[int]string{37: "260514000017", 38: "123456", 12: "094107", 13: "0514"}),
		reply("00", map[int]string{54: "1002156C000000012345"}),
		reply("00", map[int]string{54: "1002156D000000000001"}),
		reply("00", map[int]string{48: groups48("1121")}),
		reply("00", map[int]string{48: groups48("1111")}),
		reply("55", nil),
		reply("A0", nil),
	} {
		b, err := iso8583.CUP.Pack(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0x02, 0x10, 0, 0, 0, 0, 0, 0, 0, 0})
	c := &Client{}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := iso8583.CUP.Unpack(body)
		if err != nil {
			return
		}
		for _, k := range allKinds {
			rep, err := c.parse(engine.HostRequest{Kind: k}, m)
			if err != nil {
				continue
			}
			if len(rep.Code) != 2 {
				t.Fatalf("%s: accepted code %q", k, rep.Code)
			}
			if k == engine.HostSettle && rep.Code == "00" &&
				rep.SettleResult != engine.SettleBalanced && rep.SettleResult != engine.SettleUnbalanced {
				t.Fatalf("approved settlement without a verdict: %v", rep.SettleResult)
			}
			if k != engine.HostBalance && rep.BalanceFen != 0 {
				t.Fatalf("%s: balance %d", k, rep.BalanceFen)
			}
		}
	})
}
