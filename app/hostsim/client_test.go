package hostsim

import (
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/iso8583"
	"github.com/shoukuan/pos/app/seckey"
)

// Test cards. PANs pass Luhn; PINs are distinct from other digits in the
// messages so the log test can look for them.
const (
	tTID = "10000001"
	tMID = "898310048160001"

	panDebit   = "6222021234567890128"
	pinDebit   = "908172"
	panLost    = "6217000098765432107"
	panBlocked = "6214830000111122229"
	panExpired = "6228480012345678903"
	panCredit  = "6258071234123456789"
	pinCredit  = "888888"
	panUnknown = "6200000000000000003"
)

var testNow = time.Date(2026, 5, 14, 10, 30, 0, 0, time.UTC)

func testAccounts() []Account {
	return []Account{
		{PAN: panDebit, Expiry: "3012", PIN: pinDebit, BalanceFen: 100000, Status: "active", DailyLimitFen: 80000},
		{PAN: panLost, Expiry: "3106", PIN: "112233", BalanceFen: 100000, Status: "lost"},
		{PAN: panBlocked, Expiry: "2808", PIN: "246810", BalanceFen: 100000, Status: "blocked"},
		{PAN: panExpired, Expiry: "2201", PIN: "135790", BalanceFen: 100000},
		{PAN: panCredit, Expiry: "2911", PIN: pinCredit, BalanceFen: 2000000},
	}
}

type fixture struct {
	t    *testing.T
	opts Options
	s    *Server
	addr string
}

func newFixture(t *testing.T, mut func(*Options)) *fixture {
	t.Helper()
	f := &fixture{t: t, opts: Options{
		DBPath:   filepath.Join(t.TempDir(), "host.db"),
		Accounts: testAccounts(),
		KeyMode:  seckey.Double,
		Now:      func() time.Time { return testNow },
	}}
	if mut != nil {
		mut(&f.opts)
	}
	f.start()
	t.Cleanup(func() { f.s.Close() })
	return f
}

func (f *fixture) start() {
	f.t.Helper()
	s, err := New(f.opts)
	if err != nil {
		f.t.Fatal(err)
	}
	addr, err := s.ListenAndServe("127.0.0.1:0")
	if err != nil {
		s.Close()
		f.t.Fatal(err)
	}
	f.s, f.addr = s, addr.String()
}

// restart closes the server and opens a new one on the same ledger file.
func (f *fixture) restart() {
	f.t.Helper()
	if err := f.s.Close(); err != nil {
		f.t.Fatal(err)
	}
	f.start()
}

func (f *fixture) client() *client {
	return &client{t: f.t, f: f, tid: tTID, mid: tMID, batch: "000001", tmk: seckey.SimulatorTMK(),
		alg: f.opts.MAC, timeout: 5 * time.Second}
}

// client is a minimal terminal: one connection per exchange, as the doc says.
type client struct {
	t               testing.TB
	f               *fixture
	tid, mid, batch string
	stan            int
	tmk             seckey.Key
	alg             seckey.MACAlgorithm
	keys            seckey.WorkingKeys
	timeout         time.Duration
}

func (c *client) next() string {
	c.stan++
	return fmt.Sprintf("%06d", c.stan)
}

func (c *client) base(mti string) *iso8583.Message {
	m := iso8583.NewMessage(mti)
	m.Set(11, c.next())
	m.Set(41, c.tid)
	m.Set(42, c.mid)
	m.Set(63, "001")
	return m
}

var testHeader = iso8583.Header{AppType: 60, SoftwareVersion: 31}
var testTPDU = iso8583.TPDU{ID: iso8583.TPDUID, Dest: 0x0001, Src: 0x0203}

// encode packs m into a frame, MACed with the client's MAK when mac.
func (c *client) encode(m *iso8583.Message, mac bool) []byte {
	c.t.Helper()
	var body []byte
	var err error
	if mac {
		body, err = iso8583.CUP.PackWithMAC(m, func(d []byte) ([]byte, error) { return seckey.ComputeMAC(c.alg, c.keys.MAK, d) })
	} else {
		body, err = iso8583.CUP.Pack(m)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	b, err := iso8583.EncodeFrame(iso8583.Frame{TPDU: testTPDU, Header: testHeader, Body: body})
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

// rx is one frame as the client read it.
type rx struct {
	frame iso8583.Frame
	m     *iso8583.Message
	err   error // the frame did not read or decode
}

// sendRaw writes one frame and collects everything the host sends until
// it closes the connection (closed) or wait passes without data.
func (c *client) sendRaw(frame []byte, wait time.Duration) (got []rx, closed bool) {
	c.t.Helper()
	return c.sendUntil(frame, wait, nil)
}

// sendUntil is sendRaw that also stops after a frame for which stop is true.
func (c *client) sendUntil(frame []byte, wait time.Duration, stop func(rx) bool) (got []rx, closed bool) {
	c.t.Helper()
	conn, err := net.Dial("tcp", c.f.addr)
	if err != nil {
		c.t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(frame); err != nil {
		c.t.Fatal(err)
	}
	for {
		conn.SetReadDeadline(time.Now().Add(wait))
		f, err := iso8583.ReadFrame(conn, 0)
		var ne net.Error
		switch {
		case errors.Is(err, io.EOF):
			return got, true
		case errors.As(err, &ne) && ne.Timeout():
			return got, false
		case err != nil:
			got = append(got, rx{err: err})
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return got, true
			}
			if stop != nil && stop(got[len(got)-1]) {
				return got, false
			}
			continue
		}
		m, err := iso8583.CUP.Unpack(f.Body)
		got = append(got, rx{frame: f, m: m, err: err})
		if stop != nil && stop(got[len(got)-1]) {
			return got, false
		}
	}
}

func (c *client) sendAll(m *iso8583.Message, mac bool, wait time.Duration) ([]rx, bool) {
	c.t.Helper()
	return c.sendRaw(c.encode(m, mac), wait)
}

// matches is the doc's rule: MTI + 10, same 11 and 41.
func matches(req, rep *iso8583.Message) bool {
	if rep == nil {
		return false
	}
	s1, _ := req.Get(11)
	s2, _ := rep.Get(11)
	t1, _ := req.Get(41)
	t2, _ := rep.Get(41)
	return rep.MTI == replyMTI(req.MTI) && s1 == s2 && t1 == t2
}

// macOK checks field 64 of a reply body with the client's MAK.
func (c *client) macOK(body []byte, m *iso8583.Message) bool {
	mac, ok := m.Fields[64]
	if !ok {
		return false
	}
	data, err := iso8583.CUP.MACData(body)
	if err != nil {
		return false
	}
	return seckey.VerifyMAC(c.alg, c.keys.MAK, data, mac)
}

// do sends m and returns the matching reply; with mac, a reply other than
// A0 must carry a valid MAC and an A0 reply must carry none.
func (c *client) do(m *iso8583.Message, mac bool) *iso8583.Message {
	c.t.Helper()
	got, _ := c.sendUntil(c.encode(m, mac), c.timeout, func(r rx) bool { return r.err == nil && matches(m, r.m) })
	for _, r := range got {
		if r.err != nil || !matches(m, r.m) {
			continue
		}
		code, _ := r.m.Get(39)
		switch {
		case mac && code != rcMACError && !c.macOK(r.frame.Body, r.m):
			c.t.Fatalf("%s reply %s: bad or missing MAC", m.MTI, code)
		case code == rcMACError && r.m.Has(64):
			c.t.Fatalf("A0 reply carries a MAC")
		}
		if r.frame.TPDU != testTPDU.Swap() {
			c.t.Fatalf("TPDU not swapped: %+v", r.frame.TPDU)
		}
		if r.frame.Header.ProcessingRequirement != 0 || r.frame.Header.AppType != 60 {
			c.t.Fatalf("reply header %+v", r.frame.Header)
		}
		return r.m
	}
	c.t.Fatalf("%s: no matching reply (got %d frames)", m.MTI, len(got))
	return nil
}

func code(m *iso8583.Message) string {
	v, _ := m.Get(39)
	return v
}

func field(m *iso8583.Message, n int) string {
	v, _ := m.Get(n)
	return v
}

// signOnMsg asks for mode through 60.3.
func (c *client) signOnMsg(mode seckey.KeyMode) *iso8583.Message {
	m := c.base("0800")
	m.Set(60, "00"+c.batch+mode.Code60_3())
	return m
}

func (c *client) signOn(mode seckey.KeyMode) *iso8583.Message {
	c.t.Helper()
	r := c.do(c.signOnMsg(mode), false)
	if code(r) != rcApproved {
		c.t.Fatalf("sign-on: %s", code(r))
	}
	f62, _ := r.GetBytes(62)
	wk, err := seckey.ParseField62(c.tmk, f62, mode)
	if err != nil {
		c.t.Fatalf("field 62: %v", err)
	}
	c.keys = wk
	return r
}

// card is what a sale needs from a card.
type card struct{ pan, expiry, pin string }

var (
	debit   = card{panDebit, "3012", pinDebit}
	credit  = card{panCredit, "2911", pinCredit}
	lost    = card{panLost, "3106", "112233"}
	blocked = card{panBlocked, "2808", "246810"}
	expired = card{panExpired, "2201", "135790"}
	unknown = card{panUnknown, "3012", "111111"}
)

func (c *client) cardFields(m *iso8583.Message, k card) {
	c.t.Helper()
	m.Set(2, k.pan)
	m.Set(14, k.expiry)
	m.Set(22, "051")
	m.Set(25, "00")
	t2 := k.pan + "=" + k.expiry + "220" + strings.Repeat("0", 10)
	t2 = t2[:min(len(t2), 37)]
	sec := "2600000000000000"
	if c.keys.TDK != nil {
		// Given a track key, the track goes encrypted, as the host demands.
		enc, err := seckey.EncryptTrack(c.keys.TDK, t2)
		if err != nil {
			c.t.Fatal(err)
		}
		t2, sec = enc, "2610000000000000"
		m.Set(53, sec)
	}
	m.Set(35, t2)
	m.Set(49, "156")
	if k.pin != "" {
		blk, err := seckey.PINBlock(c.keys.PIK, k.pin, k.pan)
		if err != nil {
			c.t.Fatal(err)
		}
		m.Set(22, "051")
		m.Set(26, "12")
		m.SetBytes(52, blk)
		m.Set(53, sec)
	}
}

func (c *client) saleMsg(k card, amount int64) *iso8583.Message {
	m := c.base("0200")
	m.Set(3, "000000")
	m.Set(4, fmt.Sprintf("%012d", amount))
	c.cardFields(m, k)
	m.Set(60, "22"+c.batch)
	return m
}

func (c *client) balanceMsg(k card) *iso8583.Message {
	m := c.base("0200")
	m.Set(3, "310000")
	c.cardFields(m, k)
	m.Set(60, "01"+c.batch)
	return m
}

// voidMsg voids the sale sent as sale and answered by rep.
func (c *client) voidMsg(sale, rep *iso8583.Message) *iso8583.Message {
	m := c.base("0200")
	m.Set(3, "200000")
	m.Set(4, field(sale, 4))
	m.Set(25, "00")
	m.Set(37, field(rep, 37))
	m.Set(38, field(rep, 38))
	m.Set(49, "156")
	m.Set(60, "23"+c.batch)
	ob := field(sale, 60)[2:8]
	m.Set(61, ob+field(sale, 11))
	return m
}

func (c *client) refundMsg(rrn, date string, amount int64) *iso8583.Message {
	m := c.base("0220")
	m.Set(3, "200000")
	m.Set(4, fmt.Sprintf("%012d", amount))
	m.Set(25, "00")
	m.Set(37, rrn)
	m.Set(49, "156")
	m.Set(60, "25"+c.batch)
	m.Set(61, "000000000000"+date)
	return m
}

// reversalMsg reverses orig as the doc says: same 3, 4, 11, 60.1 and batch.
func (c *client) reversalMsg(orig *iso8583.Message) *iso8583.Message {
	m := iso8583.NewMessage("0400")
	for _, n := range []int{3, 4, 11, 25, 41, 42, 49} {
		if v, ok := orig.Get(n); ok {
			m.Set(n, v)
		}
	}
	m.Set(39, "98")
	o60 := field(orig, 60)
	m.Set(60, o60[:8])
	m.Set(61, o60[2:8]+field(orig, 11))
	m.Set(63, "001")
	return m
}

// group is one field 48 settlement group with result digit 0.
func group(debitFen int64, debitN int, creditFen int64, creditN int) string {
	return fmt.Sprintf("%012d%03d%012d%03d0", debitFen, debitN, creditFen, creditN)
}

func (c *client) settleMsg(card string) *iso8583.Message {
	m := c.base("0500")
	m.Set(48, card+group(0, 0, 0, 0)+group(0, 0, 0, 0)+group(0, 0, 0, 0))
	m.Set(49, "156")
	m.Set(60, "00"+c.batch+"201")
	return m
}

func (c *client) uploadMsg(kind, stan string, amount int64, rrn string) *iso8583.Message {
	m := c.base("0320")
	m.Set(48, fmt.Sprintf("01%s%s%012d%s", kind, stan, amount, rrn))
	m.Set(60, "00"+c.batch+"201")
	return m
}

// resultDigits returns the result digit of each group of a 0510's 48.
func resultDigits(m *iso8583.Message) string {
	v := field(m, 48)
	var out []byte
	for i := settleGroupLen - 1; i < len(v); i += settleGroupLen {
		out = append(out, v[i])
	}
	return string(out)
}
