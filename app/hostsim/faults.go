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
)

// Decline is the fault "decline:NN": reply with response code NN without
// processing the request.
func Decline(code string) Fault { return Fault("decline:" + code) }

// FaultDelay is how long the Delay fault holds the reply. It is read when
// a fault is injected (Inject, SetRandomFaults), not while serving, so a
// test may change it between runs without racing the server.
var FaultDelay = 2 * time.Second

// declineCode returns NN of "decline:NN".
func (f Fault) declineCode() (string, bool) {
	c, ok := strings.CutPrefix(string(f), "decline:")
	return c, ok
}

// ParseFault checks a fault name as written on the command line.
func ParseFault(s string) (Fault, error) {
	f := Fault(strings.TrimSpace(s))
	switch f {
	case Delay, DropBefore, DropAfter, Disconnect, Garbage, BadMAC, Duplicate, Late, SignOnAgain:
		return f, nil
	}
	if c, ok := f.declineCode(); ok {
		if len(c) == 2 && isAN(c) {
			return f, nil
		}
		return "", fmt.Errorf("hostsim: fault %q: response code must be 2 letters or digits", s)
	}
	return "", fmt.Errorf("hostsim: unknown fault %q (want delay, drop-before, drop-after, disconnect, garbage, bad-mac, duplicate, late, signon-again or decline:NN)", s)
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
// match anything. Kind is one of "sale", "void", "refund", "balance",
// "reversal", "settle", "upload", "signon", "echo", "signoff".
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
// invalid fault is logged and ignored.
func (s *Server) Inject(match FaultMatch, f Fault) {
	if _, err := ParseFault(string(f)); err != nil {
		s.log.Warn("hostsim: fault ignored", "err", err)
		return
	}
	left := match.Count
	if left == 0 {
		left = 1
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.injected = append(s.injected, &injected{match: match, fault: f, left: left, delay: FaultDelay})
}

// SetRandomFaults gives each request, with probability p, a fault drawn
// from faults. The draws come from a generator seeded with seed, so the
// same sequence of requests meets the same faults. Invalid faults are
// dropped (and logged).
func (s *Server) SetRandomFaults(p float64, faults []Fault, seed int64) {
	var ok []Fault
	for _, f := range faults {
		if _, err := ParseFault(string(f)); err != nil {
			s.log.Warn("hostsim: fault ignored", "err", err)
			continue
		}
		ok = append(ok, f)
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.randP = p
	s.randFaults = ok
	s.randDelay = FaultDelay
	s.rng = rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
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
