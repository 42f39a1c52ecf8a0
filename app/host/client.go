// Package host is the terminal's side of the acquirer link: it turns the
// engine's requests into CUP ISO 8583 messages (docs/host-protocol.md),
// MACs them, sends them over TCP (optionally TLS with a pinned CA) and
// checks the replies. It also holds the working keys and makes PIN blocks.
package host

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/iso8583"
	"github.com/shoukuan/pos/app/seckey"
)

// Config is the link's configuration.
type Config struct {
	Address    string
	TLS        bool
	CAFile     string // pinned CA (PEM) when TLS is on
	Timeout    time.Duration
	TerminalID string
	MerchantID string
	MAC        seckey.MACAlgorithm
	KeyMode    seckey.KeyMode
	TMK        seckey.Key
	TPDU       iso8583.TPDU // dest = the acquirer's NII
	Now        func() time.Time
	Log        *slog.Logger
}

// Client is an engine.Host over TCP.
type Client struct {
	cfg   Config
	store *KeyStore
	tls   *tls.Config

	mu   sync.Mutex
	keys seckey.WorkingKeys
	// tmkErr: the stored master key could not be opened.
	tmkErr error
}

// Errors of the link. All of them mean "no usable reply" to the engine.
var (
	ErrNoKeys    = errors.New("host: no working keys; sign on first")
	ErrTimeout   = errors.New("host: no reply in time")
	ErrBadReply  = errors.New("host: reply not understood")
	ErrConnect   = errors.New("host: cannot connect")
	ErrMACMissed = fmt.Errorf("host: %w", engine.ErrReplyMAC)
	// ErrNoMasterKey: no terminal master key is loaded, so the working
	// keys of a sign-on cannot be opened.
	ErrNoMasterKey = errors.New("host: no terminal master key loaded (pos keys load)")
)

// NewClient loads stored keys, if any, and prepares TLS.
func NewClient(cfg Config, store *KeyStore) (*Client, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.TPDU.ID == 0 {
		cfg.TPDU = iso8583.TPDU{ID: iso8583.TPDUID, Dest: 0x0003, Src: 0x0000}
	}
	c := &Client{cfg: cfg, store: store}
	if store != nil {
		k, ok, err := store.Load()
		switch {
		case err != nil:
			// Keys sealed under another device secret: sign on again
			// for new ones rather than refuse to start.
			cfg.Log.Warn("stored working keys cannot be opened; the terminal signs on again", "err", err)
		case ok:
			c.keys = k
		}
		if cfg.TMK == nil {
			tmk, ok, err := store.LoadTMK()
			if err != nil {
				c.tmkErr = err
			} else if ok {
				c.cfg.TMK = tmk
			}
		}
	}
	if cfg.TLS {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("host: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("host: CA file %s holds no PEM certificate", cfg.CAFile)
		}
		host, _, _ := net.SplitHostPort(cfg.Address)
		// Only our acquirer's CA is trusted, not the system's roots.
		c.tls = &tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12}
	}
	return c, nil
}

// HasKeys reports whether working keys are loaded.
func (c *Client) HasKeys() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keys.PIK != nil && c.keys.MAK != nil
}

// PINBlock encrypts a PIN for the card under the PIK. The PIN goes no
// further than this call.
func (c *Client) PINBlock(pin, pan string) ([]byte, error) {
	c.mu.Lock()
	pik := c.keys.PIK
	c.mu.Unlock()
	if pik == nil {
		return nil, ErrNoKeys
	}
	return seckey.PINBlock(pik, pin, pan)
}

// timeoutFor is the wait for a reply: network management is quick or dead.
func (c *Client) timeoutFor(k engine.HostKind) time.Duration {
	switch k {
	case engine.HostEcho, engine.HostSignOff:
		return min(c.cfg.Timeout, 10*time.Second)
	case engine.HostSignOn:
		return min(c.cfg.Timeout, 30*time.Second)
	case engine.HostWalletQuery, engine.HostWalletCancel, engine.HostWalletClose:
		// Asked again in seconds anyway: a slow answer is worth less
		// than the next try.
		return min(c.cfg.Timeout, 10*time.Second)
	}
	return c.cfg.Timeout
}

// Exchange sends one request and waits for its reply.
func (c *Client) Exchange(ctx context.Context, req engine.HostRequest) (engine.HostReply, error) {
	if req.Kind == engine.HostSignOn && c.cfg.TMK == nil {
		if c.tmkErr != nil {
			return engine.HostReply{}, c.tmkErr
		}
		return engine.HostReply{}, ErrNoMasterKey
	}
	msg, macked, err := c.build(req)
	if err != nil {
		return engine.HostReply{}, err
	}
	c.mu.Lock()
	mak := c.keys.MAK
	c.mu.Unlock()
	var body []byte
	if macked {
		if mak == nil {
			return engine.HostReply{}, ErrNoKeys
		}
		body, err = iso8583.CUP.PackWithMAC(msg, func(d []byte) ([]byte, error) { return seckey.ComputeMAC(c.cfg.MAC, mak, d) })
	} else {
		body, err = iso8583.CUP.Pack(msg)
	}
	if err != nil {
		return engine.HostReply{}, fmt.Errorf("host: building %s: %w", req.Kind, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeoutFor(req.Kind))
	defer cancel()
	frame, reply, err := c.roundTrip(ctx, body, msg)
	if err != nil {
		return engine.HostReply{}, err
	}
	if macked {
		if err := c.checkMAC(frame.Body, reply, mak); err != nil {
			return engine.HostReply{}, err
		}
	}
	out, err := c.parse(req, reply)
	if err != nil {
		return engine.HostReply{}, err
	}
	out.SignOnAgain = frame.Header.ProcessingRequirement == iso8583.ProcSignOnAgain
	out.TMSDownload = frame.Header.ProcessingRequirement == iso8583.ProcTMSDownload
	if req.Kind == engine.HostSignOn && out.Code == "00" {
		if err := c.installKeys(reply); err != nil {
			return engine.HostReply{}, err
		}
	}
	return out, nil
}

func (c *Client) checkMAC(body []byte, reply *iso8583.Message, mak seckey.Key) error {
	mac, ok := reply.GetBytes(64)
	if !ok {
		return fmt.Errorf("%w: reply has no MAC", ErrMACMissed)
	}
	data, err := iso8583.CUP.MACData(body)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMACMissed, err)
	}
	if !seckey.VerifyMAC(c.cfg.MAC, mak, data, mac) {
		return fmt.Errorf("%w: reply MAC does not verify", ErrMACMissed)
	}
	return nil
}

func (c *Client) installKeys(reply *iso8583.Message) error {
	data, ok := reply.GetBytes(62)
	if !ok {
		return fmt.Errorf("%w: sign-on reply without keys", ErrBadReply)
	}
	keys, err := seckey.ParseField62(c.cfg.TMK, data, c.cfg.KeyMode)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadReply, err)
	}
	if c.store != nil {
		if err := c.store.Save(keys, c.cfg.Now().Unix()); err != nil {
			return fmt.Errorf("host: storing keys: %w", err)
		}
	}
	c.mu.Lock()
	c.keys = keys
	c.mu.Unlock()
	c.cfg.Log.Info("working keys installed", "keys", keys)
	return nil
}

// roundTrip connects, sends and reads until the matching reply arrives.
// Replies that do not match (late, duplicate, for another STAN) are
// skipped; garbage ends the exchange.
func (c *Client) roundTrip(ctx context.Context, body []byte, req *iso8583.Message) (iso8583.Frame, *iso8583.Message, error) {
	d := net.Dialer{}
	conn, err := d.DialContext(ctx, "tcp", c.cfg.Address)
	if err != nil {
		return iso8583.Frame{}, nil, fmt.Errorf("%w: %v", ErrConnect, err)
	}
	defer conn.Close()
	if c.tls != nil {
		tc := tls.Client(conn, c.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return iso8583.Frame{}, nil, fmt.Errorf("%w: TLS: %v", ErrConnect, err)
		}
		conn = tc
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// Close on cancel too: a blocked read is not interrupted otherwise.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	out := iso8583.Frame{TPDU: c.cfg.TPDU, Header: iso8583.Header{AppType: 60, SoftwareVersion: 31}, Body: body}
	if err := iso8583.WriteFrame(conn, out); err != nil {
		return iso8583.Frame{}, nil, c.netErr(ctx, err)
	}
	wantMTI := replyMTI(req.MTI)
	stan, _ := req.Get(11)
	for {
		f, err := iso8583.ReadFrame(conn, 8192)
		if err != nil {
			if errors.Is(err, io.EOF) || isNetErr(err) {
				return iso8583.Frame{}, nil, c.netErr(ctx, err)
			}
			return iso8583.Frame{}, nil, fmt.Errorf("%w: %v", ErrBadReply, err)
		}
		m, err := iso8583.CUP.Unpack(f.Body)
		if err != nil {
			return iso8583.Frame{}, nil, fmt.Errorf("%w: %v", ErrBadReply, err)
		}
		gotSTAN, _ := m.Get(11)
		gotTID, _ := m.Get(41)
		if m.MTI != wantMTI || gotSTAN != stan || gotTID != c.cfg.TerminalID {
			c.cfg.Log.Warn("ignoring a reply that is not ours", "mti", m.MTI, "stan", gotSTAN)
			continue
		}
		return f, m, nil
	}
}

func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF)
}

func (c *Client) netErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w: %v", ErrTimeout, ctx.Err())
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	}
	return fmt.Errorf("host: connection lost: %v", err)
}

func replyMTI(mti string) string {
	n, err := strconv.Atoi(mti)
	if err != nil {
		return ""
	}
	return fmt.Sprintf("%04d", n+10)
}
