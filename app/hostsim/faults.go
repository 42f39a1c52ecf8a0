package hostsim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Fault is a misbehaviour the host can show on one request.
type Fault string

// The faults. Unless noted, the request is processed (money moves) first.
const (
	// Delay waits FaultDelay, then replies normally.
	Delay Fault = "delay"
	// DropBefore closes the connection without processing the request.
	DropBefore Fault = "drop-before"
	// DropAfter processes and commits, then closes without a reply.
	DropAfter Fault = "drop-after"
	// Disconnect writes half of the reply frame, then closes.
	Disconnect Fault = "disconnect"
	// Garbage replies with a length-prefixed frame of random bytes that
	// does not decode (its TPDU id is never 0x60).
	Garbage Fault = "garbage"
	// BadMAC replies with a wrong field 64.
	BadMAC Fault = "bad-mac"
	// Duplicate sends the reply twice.
	Duplicate Fault = "duplicate"
	// Late first sends a stale earlier reply with another STAN, then the
	// right one.
	Late Fault = "late"
	// SignOnAgain replies normally with processing requirement 3 in the
	// header.
	SignOnAgain Fault = "signon-again"
	// IssuerScript is not a fault but the issuer's wish: the next
	// approved chip sale carries an issuer script for the card (72).
	IssuerScript Fault = "issuer-script"
)

// Decline is the fault "decline:NN": reply with response code NN without
// processing the request.
func Decline(code string) Fault { return Fault("decline:" + code) }

// Answer is the fault "answer:NN": process the request (the money moves),
// then reply with response code NN, as an acquirer does whose issuer or
// wallet answered late or with a system error.
func Answer(code string) Fault { return Fault("answer:" + code) }

// FaultDelay is how long the Delay fault holds the reply. It is read when
// a fault is injected (Inject, SetRandomFaults), not while serving, so a
// test may change it between runs without racing the server.
var FaultDelay = 2 * time.Second

// declineCode returns NN of "decline:NN".
func (f Fault) declineCode() (string, bool) {
	c, ok := strings.CutPrefix(string(f), "decline:")
	return c, ok
}

// answerCode returns NN of "answer:NN".
func (f Fault) answerCode() (string, bool) {
	c, ok := strings.CutPrefix(string(f), "answer:")
	return c, ok
}

// ParseFault checks a fault name as written on the command line.
func ParseFault(s string) (Fault, error) {
	f := Fault(strings.TrimSpace(s))
	switch f {
	case Delay, DropBefore, DropAfter, Disconnect, Garbage, BadMAC, Duplicate, Late, SignOnAgain, IssuerScript:
		return f, nil
	}
	c, ok := f.declineCode()
	if !ok {
		c, ok = f.answerCode()
	}
	if ok {
		if len(c) == 2 && isAN(c) {
			return f, nil
		}
		return "", fmt.Errorf("hostsim: fault %q: response code must be 2 letters or digits", s)
	}
	return "", fmt.Errorf("hostsim: unknown fault %q (want delay, drop-before, drop-after, disconnect, garbage, bad-mac, duplicate, late, signon-again, decline:NN or answer:NN)", s)
}

// Kinds are the request kinds a fault can be aimed at.
var Kinds = []string{kindSale, kindVoid, kindRefund, kindBalance, kindReversal, kindSettle, kindUpload, kindSignOn, kindEcho, kindSignOff,
	kindWalletPay, kindWalletQuery, kindWalletCancel, kindPrecreate, kindWalletClose, kindWalletRefund}

// ParseKind checks a request kind as a scenario or the command line names it.
func ParseKind(s string) (string, error) {
	for _, k := range Kinds {
		if s == k {
			return k, nil
		}
	}
	return "", fmt.Errorf("hostsim: unknown request kind %q (want one of %s)", s, strings.Join(Kinds, ", "))
}

func isAN(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// FaultMatch selects the requests a fault applies to. Empty MTI or Kind
// match anything. Kind is one of Kinds.
type FaultMatch struct {
	MTI  string
	Kind string
	// Count is how many matching requests get the fault: 0 means 1, a
	// negative count means every one until ClearFaults.
	Count int
}

type injected struct {
	match FaultMatch
	fault Fault
	left  int // < 0: unlimited
	delay time.Duration
}

// Inject queues a fault for the next requests matching match. Faults are
// tried in the order injected; the first that matches is used. An
// invalid fault or kind is refused: a test that meant a fault must not
// pass without it.
func (s *Server) Inject(match FaultMatch, f Fault) error {
	if _, err := ParseFault(string(f)); err != nil {
		return err
	}
	if match.Kind != "" {
		if _, err := ParseKind(match.Kind); err != nil {
			return err
		}
	}
	left := match.Count
	if left == 0 {
		left = 1
	}
	if f == IssuerScript {
		s.SendIssuerScript(left)
		return nil
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.injected = append(s.injected, &injected{match: match, fault: f, left: left, delay: FaultDelay})
	return nil
}

// SetRandomFaults gives each request, with probability p, a fault drawn
// from faults. The draws come from a generator seeded with seed, so the
// same sequence of requests meets the same faults. An invalid fault is
// refused and nothing changes.
func (s *Server) SetRandomFaults(p float64, faults []Fault, seed int64) error {
	var ok []Fault
	for _, f := range faults {
		if f == IssuerScript {
			return fmt.Errorf("hostsim: %s is not a random fault", f)
		}
		if _, err := ParseFault(string(f)); err != nil {
			return err
		}
		ok = append(ok, f)
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.randP = p
	s.randFaults = ok
	s.randDelay = FaultDelay
	s.rng = rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
	return nil
}

// Requests counts the requests of a kind the host has received, so a test
// can wait until a terminal is in the middle of one.
func (s *Server) Requests(kind string) int {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	return s.seen[kind]
}

// ClearFaults removes injected and random faults.
func (s *Server) ClearFaults() {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.injected = nil
	s.randP = 0
	s.randFaults = nil
}

// pickFault returns the fault for this request ("" for none) and the
// delay in force for it.
func (s *Server) pickFault(mti, kind string) (Fault, time.Duration) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.seen == nil {
		s.seen = map[string]int{}
	}
	s.seen[kind]++
	for i, in := range s.injected {
		if (in.match.MTI != "" && in.match.MTI != mti) || (in.match.Kind != "" && in.match.Kind != kind) {
			continue
		}
		if in.left > 0 {
			in.left--
			if in.left == 0 {
				s.injected = append(s.injected[:i], s.injected[i+1:]...)
			}
		}
		return in.fault, in.delay
	}
	if s.randP > 0 && len(s.randFaults) > 0 && s.rng.Float64() < s.randP {
		return s.randFaults[s.rng.IntN(len(s.randFaults))], s.randDelay
	}
	return "", 0
}

// garbage returns a frame whose length prefix is right but whose TPDU id
// is not 0x60, so a reader consumes exactly it and fails to decode it.
func (s *Server) garbage() []byte {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	n := 16 + s.rng.IntN(48)
	b := make([]byte, 2+n)
	b[0], b[1] = byte(n>>8), byte(n)
	for i := 2; i < len(b); i++ {
		b[i] = byte(s.rng.Uint32())
	}
	if b[2] == 0x60 {
		b[2] = 0x61
	}
	return b
}
