package emv

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/shoukuan/pos/app/iso8583"
)

// field55Tags are the ICC data of a CUP financial request, in order
// (CUP's field 55 list for chip and QuickPass).
var field55Tags = []Tag{0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F03,
	0x9F33, 0x9F34, 0x9F35, 0x9F1E, 0x84, 0x9F09, 0x9F41, 0x9F66, 0x9F6C}

// ReversalTags are what a reversal of a chip transaction carries.
var ReversalTags = []Tag{0x95, 0x9F1E, 0x9F10, 0x9F36}

// Field55 is the ICC data for the host.
func (t *Transaction) Field55() []byte {
	if t.in.Mode == Contactless && t.gpoTVR != nil {
		d := Data{}
		for k, v := range t.data {
			d[k] = v
		}
		d[0x95] = t.gpoTVR
		return d.EncodeAll(field55Tags...)
	}
	return t.data.EncodeAll(field55Tags...)
}

// HostICC is the ICC data of a host reply: the issuer's authentication
// data (91: ARPC and its response code), the response code for the card
// (8A) and the issuer's scripts (71 before, 72 after the second AC).
type HostICC struct {
	ARPC, ARC          []byte
	Scripts71          [][]byte
	Scripts72          [][]byte
	ScriptIDs, Unknown []Tag
}

// ParseHostICC reads field 55 of a host reply.
func ParseHostICC(b []byte) (HostICC, error) {
	var h HostICC
	list, err := Parse(b)
	if err != nil {
		return h, fmt.Errorf("host field 55: %w", err)
	}
	for _, o := range list {
		switch o.Tag {
		case 0x91:
			if len(o.Value) < 8 || len(o.Value) > 16 {
				return h, fmt.Errorf("%w: host field 55: 91 of %d bytes", ErrTLV, len(o.Value))
			}
			h.ARPC = o.Value
		case 0x8A:
			h.ARC = o.Value
		case 0x71:
			h.Scripts71 = append(h.Scripts71, o.Value)
		case 0x72:
			h.Scripts72 = append(h.Scripts72, o.Value)
		default:
			h.Unknown = append(h.Unknown, o.Tag)
		}
	}
	return h, nil
}

// Summary is what the receipt, the journal and a replay report show of a
// card transaction; nothing in it is secret (the PAN is masked).
type Summary struct {
	Mode       string `json:"mode"`
	AID        string `json:"aid"`
	Label      string `json:"label"`
	MaskedPAN  string `json:"pan"`
	Expiry     string `json:"expiry"` // YYMM
	PSN        string `json:"psn,omitempty"`
	CVM        string `json:"cvm"`
	NoCVMLimit bool   `json:"no_cvm_limit,omitempty"` // 免密免签
	ODA        string `json:"oda"`
	ODAResult  string `json:"oda_result"`
	Cryptogram string `json:"cryptogram"`      // hex of the last AC
	ACType     string `json:"cryptogram_type"` // ARQC, TC, AAC
	TVR        string `json:"tvr"`
	TSI        string `json:"tsi"`
	ATC        string `json:"atc"`
	IAD        string `json:"iad,omitempty"`
	Scripts    int    `json:"scripts,omitempty"`
}

// Summary describes the transaction so far.
func (t *Transaction) Summary() Summary {
	s := Summary{Mode: t.in.Mode.String(), CVM: t.cvm.String(), NoCVMLimit: t.noCVMLimit, ODA: t.oda,
		TVR: hx(t.tvr[:]), TSI: hx(t.tsi[:]), ATC: hx(t.data[0x9F36]), Cryptogram: hx(t.data[0x9F26]),
		IAD: hx(t.data[0x9F10]), Scripts: t.scripts}
	if t.app != nil {
		s.AID, s.Label = hx(t.data[0x84]), t.app.Label
	}
	if pan, ok := t.PAN(); ok {
		s.MaskedPAN = iso8583.MaskPAN(pan)
	}
	if e := t.data[0x5F24]; len(e) == 3 {
		s.Expiry = hx(e[:2])
	}
	if p := t.data[0x5F34]; len(p) == 1 {
		s.PSN = hx(p)
	}
	switch {
	case t.oda == "":
		s.ODAResult = "not performed"
	case t.ODAFailed():
		s.ODAResult = "failed"
	default:
		s.ODAResult = "ok"
	}
	if cid := t.data[0x9F27]; len(cid) == 1 {
		s.ACType = map[byte]string{0x00: "AAC", 0x40: "TC", 0x80: "ARQC"}[cid[0]&0xC0]
	}
	return s
}

func hx(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }

// track reads the track 2 equivalent data (57) as PAN=YYMM... and checks
// it against the PAN record (5A).
func (t *Transaction) track() (string, string, error) {
	raw := strings.ToUpper(hex.EncodeToString(t.data[0x57]))
	raw = strings.TrimRight(raw, "F")
	sep := strings.IndexByte(raw, 'D')
	if sep < 12 || sep > 19 || len(raw) < sep+8 || len(raw) > 37 || strings.Trim(raw[:sep]+raw[sep+1:], "0123456789") != "" {
		return "", "", fmt.Errorf("%w: track 2 equivalent data malformed", ErrCard)
	}
	pan := raw[:sep]
	if p := strings.TrimRight(strings.ToUpper(hex.EncodeToString(t.data[0x5A])), "F"); p != pan {
		return "", "", fmt.Errorf("%w: the PAN record differs from the track data", ErrCard)
	}
	return pan, raw[:sep] + "=" + raw[sep+1:], nil
}

// PAN is the card number, for the PIN block only; never stored.
func (t *Transaction) PAN() (string, bool) {
	pan, _, err := t.track()
	return pan, err == nil
}

// Track2 is the track 2 equivalent as PAN=YYMM..., what the engine and the
// host take from a chip as from a swipe.
func (t *Transaction) Track2() string {
	_, t2, _ := t.track()
	return t2
}

// PSN is the card sequence number for field 23, "0NN".
func (t *Transaction) PSN() string {
	if p := t.data[0x5F34]; len(p) == 1 {
		return "0" + hx(p)
	}
	return ""
}

// Data is a copy of a data object, for tests and replays.
func (t *Transaction) Data(tag Tag) []byte { return append([]byte(nil), t.data[tag]...) }

// ReversalICC is the field 55 a reversal of this transaction carries.
func (t *Transaction) ReversalICC() []byte { return t.data.EncodeAll(ReversalTags...) }
