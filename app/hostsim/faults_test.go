package hostsim

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/iso8583"
	"github.com/shoukuan/pos/app/seckey"
)

// signedOn returns a fixture and a client that has signed on.
func signedOn(t *testing.T) (*fixture, *client) {
	f := newFixture(t, nil)
	c := f.client()
	c.signOn(seckey.Double)
	return f, c
}

const shortWait = 300 * time.Millisecond

func TestFaultDropBefore(t *testing.T) {
	f, c := signedOn(t)
	f.s.Inject(FaultMatch{Kind: "sale"}, DropBefore)
	got, closed := c.sendAll(c.saleMsg(credit, 100), true, c.timeout)
	if len(got) != 0 || !closed {
		t.Fatalf("%d frames, closed %v", len(got), closed)
	}
	checkCharges(t, f.s, panCredit, 0, 0)
	// Count 1: the next sale is normal.
	if r := c.do(c.saleMsg(credit, 100), true); code(r) != rcApproved {
		t.Fatalf("next sale: %s", code(r))
	}
}

func TestFaultDropAfter(t *testing.T) {
	f, c := signedOn(t)
	f.s.Inject(FaultMatch{MTI: "0200"}, DropAfter)
	sale := c.saleMsg(credit, 100)
	got, closed := c.sendAll(sale, true, c.timeout)
	if len(got) != 0 || !closed {
		t.Fatalf("%d frames, closed %v", len(got), closed)
	}
	checkCharges(t, f.s, panCredit, 1, 100) // charged but no reply
	// The terminal's reversal undoes it.
	if r := c.do(c.reversalMsg(sale), true); code(r) != rcApproved {
		t.Fatalf("reversal: %s", code(r))
	}
	checkCharges(t, f.s, panCredit, 0, 0)
}

func TestFaultDropAfterReversalThenRetry(t *testing.T) {
	f, c := signedOn(t)
	sale := c.saleMsg(credit, 100)
	c.do(sale, true)
	f.s.Inject(FaultMatch{Kind: "reversal"}, DropAfter)
	rev := c.reversalMsg(sale)
	if got, _ := c.sendAll(rev, true, c.timeout); len(got) != 0 {
		t.Fatalf("%d frames", len(got))
	}
	// The retry is told 12, which settles it; nothing is credited twice.
	if r := c.do(rev, true); code(r) != rcInvalidTxn {
		t.Fatalf("retried reversal: %s", code(r))
	}
	checkBalance(t, f.s, panCredit, 2000000)
}

func TestFaultDisconnect(t *testing.T) {
	f, c := signedOn(t)
	f.s.Inject(FaultMatch{Kind: "sale"}, Disconnect)
	got, closed := c.sendAll(c.saleMsg(credit, 100), true, c.timeout)
	if len(got) != 1 || !errors.Is(got[0].err, io.ErrUnexpectedEOF) || !closed {
		t.Fatalf("got %+v closed %v", got, closed)
	}
	checkCharges(t, f.s, panCredit, 1, 100)
}

func TestFaultGarbage(t *testing.T) {
	f, c := signedOn(t)
	f.s.Inject(FaultMatch{Kind: "sale"}, Garbage)
	got, _ := c.sendAll(c.saleMsg(credit, 100), true, shortWait)
	if len(got) != 1 || !errors.Is(got[0].err, iso8583.ErrTPDUID) {
		t.Fatalf("got %+v", got)
	}
}

func TestFaultBadMAC(t *testing.T) {
	f, c := signedOn(t)
	f.s.Inject(FaultMatch{Kind: "sale"}, BadMAC)
	got, _ := c.sendAll(c.saleMsg(credit, 100), true, shortWait)
	if len(got) != 1 || got[0].err != nil || code(got[0].m) != rcApproved || !got[0].m.Has(64) {
		t.Fatalf("got %+v", got)
	}
	if c.macOK(got[0].frame.Body, got[0].m) {
		t.Fatal("bad-mac reply has a valid MAC")
	}
	checkCharges(t, f.s, panCredit, 1, 100)
}

func TestFaultDuplicate(t *testing.T) {
	f, c := signedOn(t)
	f.s.Inject(FaultMatch{Kind: "sale"}, Duplicate)
	sale := c.saleMsg(credit, 100)
	got, _ := c.sendAll(sale, true, shortWait)
	if len(got) != 2 {
		t.Fatalf("%d frames", len(got))
	}
	for _, g := range got {
		if g.err != nil || !matches(sale, g.m) || !c.macOK(g.frame.Body, g.m) {
			t.Fatalf("frame %+v", g)
		}
	}
	checkCharges(t, f.s, panCredit, 1, 100)
}

func TestFaultLate(t *testing.T) {
	for _, first := range []bool{true, false} {
		t.Run(fmt.Sprint("first=", first), func(t *testing.T) {
			f := newFixture(t, nil)
			c := f.client()
			if first {
				// The very first reply: no earlier one, so a copy with another STAN.
				m := c.signOnMsg(seckey.Double)
				f.s.Inject(FaultMatch{Kind: "signon"}, Late)
				got, _ := c.sendAll(m, false, shortWait)
				checkLate(t, m, got)
				return
			}
			c.signOn(seckey.Double)
			f.s.Inject(FaultMatch{Kind: "sale"}, Late)
			sale := c.saleMsg(credit, 100)
			got, _ := c.sendAll(sale, true, shortWait)
			checkLate(t, sale, got)
			if !c.macOK(got[1].frame.Body, got[1].m) {
				t.Fatal("right reply has a bad MAC")
			}
			checkCharges(t, f.s, panCredit, 1, 100)
		})
	}
}

func checkLate(t *testing.T, req *iso8583.Message, got []rx) {
	t.Helper()
	if len(got) != 2 || got[0].err != nil || got[1].err != nil {
		t.Fatalf("got %+v", got)
	}
	if field(got[0].m, 11) == field(req, 11) || matches(req, got[0].m) {
		t.Fatalf("stale reply has STAN %s, same as the request", field(got[0].m, 11))
	}
	if !matches(req, got[1].m) {
		t.Fatal("second reply does not match")
	}
}

func TestFaultSignOnAgain(t *testing.T) {
	f, c := signedOn(t)
	f.s.Inject(FaultMatch{Kind: "sale"}, SignOnAgain)
	got, _ := c.sendAll(c.saleMsg(credit, 100), true, shortWait)
	if len(got) != 1 || got[0].frame.Header.ProcessingRequirement != iso8583.ProcSignOnAgain || code(got[0].m) != rcApproved {
		t.Fatalf("got %+v", got)
	}
	checkCharges(t, f.s, panCredit, 1, 100)
}

func TestFaultDelay(t *testing.T) {
	old := FaultDelay
	FaultDelay = 600 * time.Millisecond
	t.Cleanup(func() { FaultDelay = old })
	f, c := signedOn(t)
	f.s.Inject(FaultMatch{Kind: "sale"}, Delay)
	got, closed := c.sendAll(c.saleMsg(credit, 100), true, 100*time.Millisecond)
	if len(got) != 0 || closed {
		t.Fatalf("reply within the short timeout: %+v closed %v", got, closed)
	}
	// The host processed it; the reply would have come late.
	checkCharges(t, f.s, panCredit, 1, 100)
	// With a patient client the reply arrives after the delay.
	f.s.Inject(FaultMatch{Kind: "sale"}, Delay)
	start := time.Now()
	r := c.do(c.saleMsg(credit, 100), true)
	if code(r) != rcApproved || time.Since(start) < FaultDelay {
		t.Fatalf("delayed reply %s after %v", code(r), time.Since(start))
	}
}

func TestFaultDecline(t *testing.T) {
	f, c := signedOn(t)
	f.s.Inject(FaultMatch{Kind: "sale", Count: 2}, Decline("05"))
	for i := 0; i < 2; i++ {
		if r := c.do(c.saleMsg(credit, 100), true); code(r) != rcDoNotHonour {
			t.Fatalf("declined sale %d: %s", i, code(r))
		}
	}
	checkCharges(t, f.s, panCredit, 0, 0)
	if r := c.do(c.saleMsg(credit, 100), true); code(r) != rcApproved {
		t.Fatalf("third sale: %s", code(r))
	}
	// An injected A0 comes without a MAC.
	f.s.Inject(FaultMatch{}, Decline("A0"))
	if r := c.do(c.saleMsg(credit, 100), true); code(r) != rcMACError {
		t.Fatalf("decline:A0: %s", code(r))
	}
}

// TestFaultAnswer: answer:NN does the work (the money moves), then says NN.
func TestFaultAnswer(t *testing.T) {
	f, c := signedOn(t)
	if err := f.s.Inject(FaultMatch{Kind: "sale"}, Answer("96")); err != nil {
		t.Fatal(err)
	}
	r := c.do(c.saleMsg(credit, 250), true)
	if code(r) != rcSystemError {
		t.Fatalf("answer:96: code %s", code(r))
	}
	checkCharges(t, f.s, panCredit, 1, 250)
	if n := f.s.Requests("sale"); n != 1 {
		t.Fatalf("%d sales counted", n)
	}
}

func TestFaultMatchingAndClear(t *testing.T) {
	f, c := signedOn(t)
	f.s.Inject(FaultMatch{Kind: "refund", Count: -1}, DropBefore)
	f.s.Inject(FaultMatch{MTI: "0500"}, Decline("96"))
	if err := f.s.Inject(FaultMatch{}, Fault("no-such-fault")); err == nil {
		t.Fatal("an unknown fault was accepted")
	}
	if err := f.s.Inject(FaultMatch{Kind: "wallet_pay"}, DropAfter); err == nil {
		t.Fatal("an unknown kind was accepted")
	}
	if err := f.s.SetRandomFaults(0.1, []Fault{"decline:XYZ"}, 1); err == nil {
		t.Fatal("a bad random fault was accepted")
	}
	sale := c.saleMsg(credit, 100)
	sr := c.do(sale, true) // not a refund: untouched
	for i := 0; i < 3; i++ {
		if got, _ := c.sendAll(c.refundMsg(field(sr, 37), field(sr, 13), 10), true, c.timeout); len(got) != 0 {
			t.Fatalf("refund %d got a reply", i)
		}
	}
	f.s.ClearFaults()
	if r := c.do(c.refundMsg(field(sr, 37), field(sr, 13), 10), true); code(r) != rcApproved {
		t.Fatalf("refund after ClearFaults: %s", code(r))
	}
	if r := c.do(c.settleMsg(group(100, 1, 10, 1)), true); code(r) != rcApproved {
		t.Fatalf("settle after ClearFaults: %s", code(r))
	}
}

func TestParseFault(t *testing.T) {
	for _, s := range []string{"delay", "drop-before", "drop-after", "disconnect", "garbage", "bad-mac", "duplicate", "late", "signon-again", "decline:51", "decline:A0"} {
		if f, err := ParseFault(s); err != nil || string(f) != s {
			t.Errorf("ParseFault(%q) = %q, %v", s, f, err)
		}
	}
	for _, s := range []string{"", "drop", "decline:", "decline:5", "decline:5!"} {
		if _, err := ParseFault(s); err == nil {
			t.Errorf("ParseFault(%q) succeeded", s)
		}
	}
}

// outcomeSig is what a client can tell about one exchange.
func outcomeSig(got []rx, closed bool) string {
	s := fmt.Sprintf("n=%d closed=%v", len(got), closed)
	for _, g := range got {
		if g.err != nil {
			s += " err"
			continue
		}
		s += fmt.Sprintf(" %s/%s/%d", code(g.m), field(g.m, 11), g.frame.Header.ProcessingRequirement)
	}
	return s
}

func TestRandomFaultsReproducible(t *testing.T) {
	// Faults the client sees without waiting for a timeout: each request
	// ends at its first frame or at the host closing.
	faults := []Fault{DropBefore, DropAfter, Garbage, SignOnAgain, Decline("05")}
	run := func(seed int64) (sigs []string, clean int, net int64) {
		f, c := signedOn(t)
		f.s.SetRandomFaults(0.5, faults, seed)
		for i := 0; i < 24; i++ {
			got, closed := c.sendUntil(c.encode(c.saleMsg(credit, int64(i+1)), true), c.timeout, func(rx) bool { return true })
			sigs = append(sigs, outcomeSig(got, closed))
			if len(got) == 1 && !closed && got[0].err == nil && code(got[0].m) == rcApproved && got[0].frame.Header.ProcessingRequirement == 0 {
				clean++
			}
		}
		_, net, err := f.s.Charges(panCredit)
		if err != nil {
			t.Fatal(err)
		}
		return sigs, clean, net
	}
	a, clean, na := run(7)
	t.Logf("seed 7: %d clean: %v", clean, a)
	b, _, nb := run(7)
	if fmt.Sprint(a) != fmt.Sprint(b) || na != nb {
		t.Fatalf("same seed, different runs:\n%v (%d)\n%v (%d)", a, na, b, nb)
	}
	if clean == 0 || clean == len(a) {
		t.Fatalf("p=0.5 gave %d clean of %d: %v", clean, len(a), a)
	}
	c, _, _ := run(8)
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Fatalf("another seed gave the same faults")
	}
}
