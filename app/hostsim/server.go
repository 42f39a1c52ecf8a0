// Package hostsim is the acquirer and issuer host simulator: a TCP server
// speaking the CUP dialect of docs/host-protocol.md, with a SQLite ledger
// that is the judge of what money actually moved (Charges, Balance,
// Records) and fault injection for the terminal's recovery paths.
//
// Requests are handled one at a time across all connections; each one's
// ledger writes are one SQLite transaction, committed before the reply is
// written, so a reply lost on the wire (DropAfter) still means charged.
package hostsim

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/shoukuan/pos/app/iso8583"
	"github.com/shoukuan/pos/app/seckey"
)

// Account is one card at the simulated issuer.
type Account struct {
	PAN    string
	Expiry string // YYMM
	PIN    string // digits; stored in the ledger as is, never logged
	// BalanceFen is a debit card's balance or a credit card's available
	// credit.
	BalanceFen int64
	// Status: "active" (or empty); anything else ("lost", "blocked") is
	// declined with 05.
	Status string
	// DailyLimitFen caps a day's approved sales on the card (61 beyond
	// it); 0 means no limit.
	DailyLimitFen int64
}

// Options configure a Server.
type Options struct {
	// DBPath is the ledger's SQLite file; required, so a test can close
	// the server and open the same ledger again.
	DBPath string
	// Accounts are inserted on first start; an account already in the
	// ledger keeps its state.
	Accounts []Account
	// TMK encrypts the working keys of field 62; nil means
	// seckey.SimulatorTMK().
	TMK seckey.Key
	// KeyMode is delivered when a sign-on's 60.3 names no mode; a request
	// with 001/003/004 gets the mode it asks for.
	KeyMode seckey.KeyMode
	// MAC is the algorithm of field 64 in both directions.
	MAC seckey.MACAlgorithm
	// Wallets are the QR-payment customers, seeded like Accounts.
	Wallets []WalletAccount
	// HuabeiRatesBP is the installment fee per number of periods; nil
	// means the published 3: 2.3%, 6: 4.5%, 12: 7.5%.
	HuabeiRatesBP map[int]int64
	// Now is the host clock (dates, expiry, daily limits); nil = time.Now.
	Now func() time.Time
	// IssuerMasterKey derives each chip card's key (EMV option A) to
	// check its ARQC and answer with an ARPC; nil means
	// TestIssuerMasterKey, the key the virtual cards were made with.
	IssuerMasterKey []byte
	// Log receives request summaries (masked through iso8583.Dump); nil
	// discards them.
	Log *slog.Logger
	// TMSDownload, when it returns true for a terminal ID, sets the "TMS
	// download" processing requirement in that terminal's sign-on reply:
	// the update server has software for it.
	TMSDownload func(terminalID string) bool
}

// idleTimeout drops a connection that sends nothing for this long, so a
// vanished client cannot pin a goroutine for ever.
const idleTimeout = 10 * time.Minute

// writeTimeout bounds a reply write to a client that stopped reading.
const writeTimeout = 10 * time.Second

// Server is the host simulator. It is safe for concurrent use.
type Server struct {
	o   Options
	db  *sql.DB
	log *slog.Logger

	// mu serialises request handling and the judge's queries, so a
	// query never sees half of a request's effect.
	mu sync.Mutex

	fmu        sync.Mutex
	injected   []*injected
	randP      float64
	randFaults []Fault
	randDelay  time.Duration
	rng        *rand.Rand
	lastReply  map[string]sentReply // per terminal, for the Late fault
	payer      merchantPayer        // a customer who pays merchant QRs on their own
	seen       map[string]int       // requests received, by kind
	scripts    int                  // approved chip sales still to get an issuer script

	cmu       sync.Mutex
	closed    bool
	listeners map[net.Listener]struct{}
	conns     map[net.Conn]struct{}
	wg        sync.WaitGroup
	done      chan struct{}
}

// sentReply is a reply as given, before MAC, for replaying it stale.
type sentReply struct {
	msg *iso8583.Message
	mak seckey.Key
}

// New opens (or creates) the ledger and seeds the accounts.
func New(o Options) (*Server, error) {
	if o.TMK == nil {
		o.TMK = seckey.SimulatorTMK()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.IssuerMasterKey == nil {
		o.IssuerMasterKey = TestIssuerMasterKey()
	}
	if len(o.IssuerMasterKey) != 16 {
		return nil, errors.New("hostsim: issuer master key must be 16 bytes")
	}
	if len(o.TMK) != seckey.SingleLen && len(o.TMK) != seckey.DoubleLen {
		return nil, errors.New("hostsim: TMK must be 8 or 16 bytes")
	}
	db, err := openLedger(o.DBPath)
	if err != nil {
		return nil, err
	}
	if err := seedAccounts(db, o.Accounts); err != nil {
		db.Close()
		return nil, err
	}
	if err := seedWallets(db, o.Wallets); err != nil {
		db.Close()
		return nil, err
	}
	if o.HuabeiRatesBP == nil {
		o.HuabeiRatesBP = map[int]int64{3: 230, 6: 450, 12: 750}
	}
	seed := uint64(time.Now().UnixNano())
	return &Server{
		o:         o,
		db:        db,
		log:       o.Log,
		rng:       rand.New(rand.NewPCG(seed, seed>>1)),
		lastReply: map[string]sentReply{},
		listeners: map[net.Listener]struct{}{},
		conns:     map[net.Conn]struct{}{},
		done:      make(chan struct{}),
	}, nil
}

// ListenAndServe listens on addr ("127.0.0.1:0" picks a port) and serves
// in a goroutine; it returns the address actually bound.
func (s *Server) ListenAndServe(addr string) (net.Addr, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("hostsim: listen: %w", err)
	}
	go func() {
		if err := s.Serve(l); err != nil {
			s.log.Error("hostsim: serve stopped", "err", err)
		}
	}()
	return l.Addr(), nil
}

// Serve accepts connections on l until l is closed (by Close or by the
// caller); closing is not an error.
func (s *Server) Serve(l net.Listener) error {
	s.cmu.Lock()
	if s.closed {
		s.cmu.Unlock()
		l.Close()
		return nil
	}
	s.listeners[l] = struct{}{}
	s.cmu.Unlock()
	defer func() {
		s.cmu.Lock()
		delete(s.listeners, l)
		s.cmu.Unlock()
	}()
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("hostsim: accept: %w", err)
		}
		s.cmu.Lock()
		if s.closed {
			s.cmu.Unlock()
			c.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.cmu.Unlock()
		go s.serveConn(c)
	}
}

// Close stops listening, drops open connections, waits for their
// handlers and closes the ledger. It may be called more than once.
func (s *Server) Close() error {
	s.cmu.Lock()
	if s.closed {
		s.cmu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.cmu.Unlock()
	s.wg.Wait()
	return s.db.Close()
}

func (s *Server) serveConn(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.cmu.Lock()
		delete(s.conns, c)
		s.cmu.Unlock()
		c.Close()
	}()
	defer func() {
		// A simulator that dies takes every terminal test with it; log
		// the bug and drop only this connection.
		if r := recover(); r != nil {
			s.log.Error("hostsim: panic while handling a request", "panic", fmt.Sprint(r))
		}
	}()
	remote := c.RemoteAddr().String()
	for {
		c.SetReadDeadline(time.Now().Add(idleTimeout))
		f, err := iso8583.ReadFrame(c, 0)
		if err != nil {
			if !errors.Is(err, io.EOF) && !s.isClosed() {
				s.log.Warn("hostsim: unreadable frame, closing connection", "remote", remote, "err", err)
			}
			return
		}
		out, err := s.handle(f)
		if err != nil {
			s.log.Warn("hostsim: bad request, closing connection", "remote", remote, "err", err)
			return
		}
		if !s.deliver(c, out) {
			return
		}
	}
}

func (s *Server) isClosed() bool {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return s.closed
}

// outcome is what the connection does after a request.
type outcome struct {
	delay     time.Duration
	frames    [][]byte // encoded frames, written in order
	half      bool     // write only the first half of frames[0]
	closeConn bool     // close after writing
}

// deliver writes an outcome; false means the connection is done.
func (s *Server) deliver(c net.Conn, out outcome) bool {
	if out.delay > 0 {
		t := time.NewTimer(out.delay)
		select {
		case <-t.C:
		case <-s.done:
			t.Stop()
			return false
		}
	}
	c.SetWriteDeadline(time.Now().Add(writeTimeout))
	for i, b := range out.frames {
		if out.half && i == 0 {
			c.Write(b[:len(b)/2])
			return false
		}
		if _, err := c.Write(b); err != nil {
			s.log.Warn("hostsim: writing reply", "err", err)
			return false
		}
	}
	return !out.closeConn
}
