package emv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shoukuan/pos/hal"
)

// Mode is the card interface of a transaction.
type Mode int

const (
	Contact     Mode = iota // chip inserted
	Contactless             // QuickPass tap
)

func (m Mode) String() string {
	if m == Contactless {
		return "contactless"
	}
	return "chip"
}

// Transaction types (9C).
const (
	TypePurchase byte = 0x00
	TypeBalance  byte = 0x31
)

// Input is what the terminal knows when the card arrives.
type Input struct {
	Mode      Mode
	AmountFen int64
	Type      byte
	Now       time.Time
	// Sequence is the transaction sequence counter (9F41).
	Sequence uint32
	// Unpredictable is the unpredictable number (9F37); nil draws one.
	Unpredictable []byte
}

// Candidate is an application both the card and the terminal accept.
type Candidate struct {
	AID      []byte
	Label    string
	Priority int // 1 highest, 0 none
	Confirm  bool
}

// CVM is a cardholder verification the kernel asks of the terminal.
type CVM int

const (
	CVMNone       CVM = iota // no verification: the receipt says so
	CVMOnlinePIN             // PIN block to the host
	CVMOfflinePIN            // PIN to the card (VERIFY)
	CVMSignature             // signature line on the receipt
	CVMDevice                // the phone verified its holder (fingerprint, face, passcode)
	CVMFailed                // nothing the card and terminal share worked
)

var cvmNames = [...]string{"none", "online-pin", "offline-pin", "signature", "device", "failed"}

func (c CVM) String() string { return cvmNames[c] }

// Transaction is one card read and its completion.
type Transaction struct {
	cfg  *Config
	card hal.APDUExchanger
	in   Input

	Candidates  []Candidate
	app         *Candidate
	data        Data // terminal's and card's data objects
	tvr         [5]byte
	tsi         [2]byte
	static      []byte // static data to be authenticated
	oda         string
	odaErr      error
	terminal    Data // the terminal's own data, for a fresh start on another application
	blockedSeen bool
	gpoTVR      []byte
	cvm         CVM
	cvmRules    []cvmRule
	cvmAt       int
	noCVMLimit  bool
	cid         byte
	apdus       int
	scripts     int
	pinTries    int
}

// New starts a transaction with a card that has just arrived.
func New(cfg *Config, card hal.APDUExchanger, in Input) (*Transaction, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if in.AmountFen < 0 || in.AmountFen > 999999999999 {
		return nil, errors.New("emv: amount out of range")
	}
	t := &Transaction{cfg: cfg, card: card, in: in, data: Data{}}
	un := in.Unpredictable
	if len(un) != 4 {
		un = make([]byte, 4)
		if _, err := rand.Read(un); err != nil {
			return nil, err
		}
	}
	d := t.data
	d[0x9F02] = bcd(fmt.Sprintf("%012d", in.AmountFen))
	d[0x9F03] = bcd("000000000000")
	d[0x9F1A] = cfg.Country
	d[0x5F2A] = cfg.Currency
	d[0x9A] = bcd(in.Now.Format("060102"))
	d[0x9F21] = bcd(in.Now.Format("150405"))
	d[0x9C] = []byte{in.Type}
	d[0x9F37] = un
	d[0x9F33] = cfg.Capabilities
	d[0x9F35] = []byte{cfg.TerminalType}
	d[0x9F40] = cfg.AdditionalCapabilities
	d[0x9F09] = cfg.AppVersion
	d[0x9F1E] = []byte(fmt.Sprintf("%-8.8s", cfg.IFDSerial))
	d[0x9F4E] = []byte(cfg.MerchantName)
	d[0x9F41] = bcd(fmt.Sprintf("%08d", in.Sequence%100000000))
	d[0x8A] = []byte("00")
	ttq := append([]byte{}, cfg.TTQ...)
	ttq[1] |= 0x80 // online cryptogram required: this terminal is online only
	if in.AmountFen > cfg.CVMLimit {
		ttq[1] |= 0x40 // CVM required
	}
	d[0x9F66] = ttq
	t.syncTVR()
	t.terminal = Data{}
	for k, v := range d {
		t.terminal[k] = v
	}
	return t, nil
}

func bcd(digits string) []byte {
	b, err := hex.DecodeString(digits)
	if err != nil {
		panic("emv: bcd of " + digits)
	}
	return b
}

// syncTVR keeps 95 and 9B in the data store current.
func (t *Transaction) syncTVR() {
	t.data[0x95] = append([]byte{}, t.tvr[:]...)
	t.data[0x9B] = append([]byte{}, t.tsi[:]...)
}

func (t *Transaction) setTVR(byteNo int, bit byte) {
	t.tvr[byteNo-1] |= bit
	t.syncTVR()
}

func (t *Transaction) setTSI(bit byte) {
	t.tsi[0] |= bit
	t.syncTVR()
}

// exchange sends one APDU and splits the status word off.
func (t *Transaction) exchange(ctx context.Context, name string, cmd []byte) ([]byte, uint16, error) {
	t.apdus++
	r, err := t.card.Exchange(ctx, cmd)
	if err != nil {
		if errors.Is(err, hal.ErrDisconnected) {
			return nil, 0, fmt.Errorf("%w: %s: %w", ErrCardRemoved, name, err)
		}
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return nil, 0, fmt.Errorf("%w: %s: %w", ErrCard, name, err)
	}
	if len(r) < 2 {
		return nil, 0, fmt.Errorf("%w: %s: answer of %d bytes", ErrCard, name, len(r))
	}
	if len(r) > 258 {
		return nil, 0, fmt.Errorf("%w: %s: answer of %d bytes", ErrCard, name, len(r))
	}
	return r[:len(r)-2], uint16(r[len(r)-2])<<8 | uint16(r[len(r)-1]), nil
}

func apdu(cla, ins, p1, p2 byte, data []byte, le bool) []byte {
	cmd := []byte{cla, ins, p1, p2}
	if len(data) > 0 {
		cmd = append(cmd, byte(len(data)))
		cmd = append(cmd, data...)
	}
	if le {
		cmd = append(cmd, 0x00)
	}
	return cmd
}

// APDUs is how many commands the kernel has sent to the card.
func (t *Transaction) APDUs() int { return t.apdus }

// Mode is the interface the card came on.
func (t *Transaction) Mode() Mode { return t.in.Mode }

// ---- reading the card ------------------------------------------------

// Read selects the application, starts it and reads the card: choice is
// an index into Candidates after ErrChoose, or -1. After Read the
// terminal knows the card (PAN, Track2) and what verification it needs
// (CVM); a contactless card may then leave.
func (t *Transaction) Read(ctx context.Context, choice int) error {
	if t.in.Mode == Contactless && t.in.AmountFen >= t.cfg.ContactlessLimit {
		return fmt.Errorf("%w: ¥%d.%02d is at or over the contactless limit", ErrUseContact, t.in.AmountFen/100, t.in.AmountFen%100)
	}
	if t.Candidates == nil {
		if err := t.buildCandidates(ctx); err != nil {
			return err
		}
	}
	blocked := t.blockedSeen
	for {
		if len(t.Candidates) == 0 {
			if blocked {
				return ErrAppBlocked
			}
			return ErrNoApplication
		}
		pick := 0
		switch {
		case choice >= 0 && choice < len(t.Candidates):
			pick = choice
		case len(t.Candidates) > 1 && t.in.Mode == Contact:
			return ErrChoose
		}
		err := t.start(ctx, &t.Candidates[pick])
		var se *StatusError
		if errors.As(err, &se) && (se.SW == 0x6283 && strings.HasPrefix(se.Command, "SELECT") || se.SW == 0x6985 && se.Command == "GET PROCESSING OPTIONS") {
			// Blocked, or not acceptable for this transaction: drop it and
			// choose again among the rest (Book 1 12.4).
			blocked = blocked || se.SW == 0x6283
			t.Candidates = append(t.Candidates[:pick:pick], t.Candidates[pick+1:]...)
			t.app = nil
			choice = -1
			continue
		}
		if err != nil {
			return err
		}
		return t.afterRead(ctx)
	}
}

// start selects the application, sends GET PROCESSING OPTIONS and reads
// the records.
func (t *Transaction) start(ctx context.Context, c *Candidate) error {
	// Another application starts from the terminal's data alone.
	t.data = Data{}
	for k, v := range t.terminal {
		t.data[k] = v
	}
	t.tvr, t.tsi, t.static, t.gpoTVR, t.cid = [5]byte{}, [2]byte{}, nil, nil, 0
	t.syncTVR()
	fci, sw, err := t.exchange(ctx, "SELECT", apdu(0x00, 0xA4, 0x04, 0x00, c.AID, true))
	if err != nil {
		return err
	}
	if sw != 0x9000 {
		return &StatusError{"SELECT " + strings.ToUpper(hex.EncodeToString(c.AID)), sw}
	}
	df, ok := Find(fci, 0x84)
	if !ok || !strings.HasPrefix(string(df), string(c.AID)) {
		return fmt.Errorf("%w: SELECT: the card answered for another application", ErrCard)
	}
	t.app = c
	t.data[0x84] = df
	t.data[0x4F] = df
	if l, ok := Find(fci, 0x50); ok {
		t.data[0x50] = l
		if c.Label == "" {
			c.Label = string(l)
		}
	}
	var pdolData []byte
	if pdol, ok := Find(fci, 0x9F38); ok {
		dol, err := ParseDOL(pdol)
		if err != nil {
			return fmt.Errorf("%w: PDOL: %w", ErrCard, err)
		}
		if pdolData, err = dolData(dol, t.data); err != nil {
			return err
		}
	}
	// A tap's cryptogram covers the TVR as it was at GPO; the host must
	// get that one to check it.
	t.gpoTVR = append([]byte{}, t.data[0x95]...)
	gpo, sw, err := t.exchange(ctx, "GET PROCESSING OPTIONS", apdu(0x80, 0xA8, 0x00, 0x00, Encode(0x83, pdolData), true))
	if err != nil {
		return err
	}
	if sw == 0x6984 || sw == 0x6986 && t.in.Mode == Contactless {
		return fmt.Errorf("%w: the card asks for its chip (%04X)", ErrUseContact, sw)
	}
	if sw != 0x9000 {
		return &StatusError{"GET PROCESSING OPTIONS", sw}
	}
	if err := t.processingOptions(gpo); err != nil {
		return err
	}
	return t.readRecords(ctx)
}

// processingOptions reads the GPO answer, format 1 (80: AIP and AFL) or
// format 2 (77: TLVs, which for qPBOC include the cryptogram).
func (t *Transaction) processingOptions(r []byte) error {
	list, err := Parse(r)
	if err != nil || len(list) != 1 {
		return fmt.Errorf("%w: GET PROCESSING OPTIONS answer: %v", ErrCard, err)
	}
	switch list[0].Tag {
	case 0x80:
		v := list[0].Value
		if len(v) < 2 || (len(v)-2)%4 != 0 {
			return fmt.Errorf("%w: format 1 answer of %d bytes", ErrCard, len(v))
		}
		t.data[0x82], t.data[0x94] = v[:2], v[2:]
	case 0x77:
		if err := t.data.Flatten(r); err != nil {
			return fmt.Errorf("%w: %w", ErrCard, err)
		}
	default:
		return fmt.Errorf("%w: GET PROCESSING OPTIONS answer tag %v", ErrCard, list[0].Tag)
	}
	if len(t.data[0x82]) != 2 {
		return fmt.Errorf("%w: no AIP", ErrCard)
	}
	if t.in.Mode == Contactless {
		cid, ok := t.data[0x9F27]
		if !ok || len(cid) != 1 {
			return fmt.Errorf("%w: the tap returned no cryptogram", ErrUseContact)
		}
		t.cid = cid[0] & 0xC0
	}
	return nil
}

// readRecords reads what the AFL lists and keeps the records marked for
// offline data authentication.
func (t *Transaction) readRecords(ctx context.Context) error {
	afl := t.data[0x94]
	if len(afl)%4 != 0 || len(afl) == 0 {
		return fmt.Errorf("%w: AFL of %d bytes", ErrCard, len(afl))
	}
	records := 0
	for i := 0; i < len(afl); i += 4 {
		sfi, first, last, oda := afl[i]>>3, int(afl[i+1]), int(afl[i+2]), int(afl[i+3])
		if sfi == 0 || sfi == 31 || first == 0 || last < first || oda > last-first+1 {
			return fmt.Errorf("%w: AFL entry %X", ErrCard, afl[i:i+4])
		}
		if records += last - first + 1; records > maxRecords {
			return fmt.Errorf("%w: the AFL lists more than %d records", ErrCard, maxRecords)
		}
		for rec := first; rec <= last; rec++ {
			r, sw, err := t.exchange(ctx, "READ RECORD", apdu(0x00, 0xB2, byte(rec), sfi<<3|4, nil, true))
			if err != nil {
				return err
			}
			if sw != 0x9000 {
				return &StatusError{fmt.Sprintf("READ RECORD %d/%d", sfi, rec), sw}
			}
			list, err := Parse(r)
			if err != nil || len(list) != 1 || list[0].Tag != 0x70 {
				return fmt.Errorf("%w: record %d/%d is not a 70 template", ErrCard, sfi, rec)
			}
			if rec-first < oda {
				if sfi <= 10 {
					t.static = append(t.static, list[0].Value...)
				} else {
					t.static = append(t.static, r...)
				}
				if len(t.static) > maxStatic {
					return fmt.Errorf("%w: more than %d bytes of data to authenticate", ErrCard, maxStatic)
				}
			}
			if err := t.data.Flatten(list[0].Value); err != nil {
				return fmt.Errorf("%w: record %d/%d: %w", ErrCard, sfi, rec, err)
			}
		}
	}
	for _, tag := range []Tag{0x5A, 0x5F24, 0x57} {
		if _, ok := t.data[tag]; !ok {
			t.setTVR(1, 0x20)
			return fmt.Errorf("%w: the card has no %v", ErrCard, tag)
		}
	}
	if t.in.Mode == Contact {
		for _, tag := range []Tag{0x8C, 0x8D} {
			if _, ok := t.data[tag]; !ok {
				t.setTVR(1, 0x20)
				return fmt.Errorf("%w: the card has no %v", ErrCard, tag)
			}
		}
	}
	if _, _, err := t.track(); err != nil {
		return err
	}
	return nil
}

// What a card may ask the kernel to read: real cards have a few records.
const (
	maxRecords = 64
	maxStatic  = 4096
)

// Selected reports whether an application was selected: a failure before
// that is the chip not working (towards a fallback); one after it is the
// card's data.
func (t *Transaction) Selected() bool { return t.app != nil }

// afterRead runs what needs no more of a contactless card: offline data
// authentication, processing restrictions, the CVM decision.
func (t *Transaction) afterRead(ctx context.Context) error {
	if err := t.authenticate(ctx); err != nil {
		return err
	}
	t.restrictions()
	if t.in.Mode == Contactless {
		return t.contactlessCVM()
	}
	return t.startCVM()
}
