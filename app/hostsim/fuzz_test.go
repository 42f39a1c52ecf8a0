package hostsim

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/iso8583"
	"github.com/shoukuan/pos/app/seckey"
)

// FuzzHandle feeds arbitrary frame bodies through the request handler: it
// must never panic, and whatever it decides to send must be frames that
// decode (no faults are set, so nothing is garbage on purpose). With remac,
// a body that unpacks is given a valid MAC first, so the fuzzer reaches the
// financial handlers behind the MAC check.
func FuzzHandle(f *testing.F) {
	s, err := New(Options{
		DBPath:   filepath.Join(f.TempDir(), "fuzz.db"),
		Accounts: testAccounts(),
		KeyMode:  seckey.Double,
		Now:      func() time.Time { return testNow },
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })

	// Seeds: real requests, MACed with the keys of a real sign-on.
	c := &client{t: f, tid: tTID, mid: tMID, batch: "000001", tmk: seckey.SimulatorTMK()}
	signOn := c.signOnMsg(seckey.Double)
	body, _ := iso8583.CUP.Pack(signOn)
	f.Add(body, false)
	out, err := s.handle(iso8583.Frame{TPDU: testTPDU, Header: testHeader, Body: body})
	if err != nil || len(out.frames) != 1 {
		f.Fatalf("sign-on: %v", err)
	}
	rf, _ := iso8583.DecodeFrame(out.frames[0])
	rep, _ := iso8583.CUP.Unpack(rf.Body)
	f62, _ := rep.GetBytes(62)
	if c.keys, err = seckey.ParseField62(c.tmk, f62, seckey.Double); err != nil {
		f.Fatal(err)
	}
	sale := c.saleMsg(debit, 100)
	for _, m := range []*iso8583.Message{sale, c.balanceMsg(debit), c.reversalMsg(sale),
		c.refundMsg("260514000001", "0514", 10), c.settleMsg(group(100, 1, 0, 0)), c.uploadMsg("00", "000002", 100, "260514000002")} {
		b, err := iso8583.CUP.PackWithMAC(m, func(d []byte) ([]byte, error) { return seckey.ComputeMAC(c.alg, c.keys.MAK, d) })
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
		f.Add(b, true)
	}
	f.Add([]byte{}, false)
	f.Add([]byte{0x02, 0x00}, true)

	f.Fuzz(func(t *testing.T, body []byte, remac bool) {
		if m, err := iso8583.CUP.Unpack(body); remac && err == nil {
			// The MAK the host holds now: fuzzed sign-ons replace it.
			tid, _ := m.Get(41)
			s.mu.Lock()
			keys, ok, _ := loadKeys(s.db, tid)
			s.mu.Unlock()
			if ok {
				if b, err := iso8583.CUP.PackWithMAC(m, func(d []byte) ([]byte, error) { return seckey.ComputeMAC(s.o.MAC, keys.MAK, d) }); err == nil {
					body = b
				}
			}
		}
		out, err := s.handle(iso8583.Frame{TPDU: testTPDU, Header: testHeader, Body: body})
		if err != nil {
			return
		}
		for _, b := range out.frames {
			fr, err := iso8583.DecodeFrame(b)
			if err != nil {
				t.Fatalf("reply frame does not decode: %v", err)
			}
			if _, err := iso8583.CUP.Unpack(fr.Body); err != nil {
				t.Fatalf("reply body does not unpack: %v", err)
			}
		}
	})
}
