package emv

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// AID is an application the terminal accepts.
type AID struct {
	AID     []byte
	Label   string
	Partial bool // the card's AID may be longer (partial selection)
}

// CAKey is a certification authority public key for offline data
// authentication, as RID and index name it.
type CAKey struct {
	RID      []byte // 5 bytes
	Index    byte
	Modulus  *big.Int
	Exponent *big.Int
	Expiry   string // YYYYMMDD or ""
	Test     bool   // a test CA: trusted only by a demonstration terminal
}

// Checksum is SHA-1 over RID, index, modulus and exponent, as key lists
// publish it.
func (k CAKey) Checksum() []byte {
	mod := k.Modulus.Bytes()
	sum := sha1.Sum(append(append(append(append([]byte{}, k.RID...), k.Index), mod...), k.Exponent.Bytes()...))
	return sum[:]
}

// ParseCAKey reads a key from hex and checks it against its published
// checksum: a key copied wrong must fail loudly, not verify no card.
func ParseCAKey(rid, index, modulus, exponent, checksum string) (CAKey, error) {
	var k CAKey
	var err error
	name := rid + "/" + index
	if k.RID, err = hex.DecodeString(rid); err != nil || len(k.RID) != 5 {
		return k, fmt.Errorf("CA key %s: RID must be 5 bytes of hex", name)
	}
	ib, err := hex.DecodeString(index)
	if err != nil || len(ib) != 1 {
		return k, fmt.Errorf("CA key %s: index must be 1 byte of hex", name)
	}
	k.Index = ib[0]
	mb, err := hex.DecodeString(strings.TrimSpace(modulus))
	if err != nil || len(mb) < 64 || len(mb) > 248 || mb[0] == 0 {
		return k, fmt.Errorf("CA key %s: modulus must be 64 to 248 bytes of hex", name)
	}
	k.Modulus = new(big.Int).SetBytes(mb)
	eb, err := hex.DecodeString(exponent)
	if err != nil || !(len(eb) == 1 && eb[0] == 3 || len(eb) == 3 && eb[0] == 1 && eb[1] == 0 && eb[2] == 1) {
		return k, fmt.Errorf("CA key %s: exponent must be 03 or 010001", name)
	}
	k.Exponent = new(big.Int).SetBytes(eb)
	want, err := hex.DecodeString(checksum)
	if err != nil || len(want) != 20 {
		return k, fmt.Errorf("CA key %s: checksum must be 20 bytes of hex (SHA-1)", name)
	}
	if got := k.Checksum(); string(got) != string(want) {
		return k, fmt.Errorf("CA key %s: checksum %X does not match the key (%X): the key is damaged or mistyped", name, want, got)
	}
	return k, nil
}

// Config is the kernel's share of the terminal configuration. Amounts
// are fen.
type Config struct {
	AIDs   []AID
	CAKeys []CAKey
	// Country and Currency are ISO 3166 / 4217 numeric (0156 for China).
	Country, Currency []byte
	// TerminalType (9F35), Capabilities (9F33), AdditionalCapabilities
	// (9F40), AppVersion (9F09), TTQ (9F66) as sent to the card.
	TerminalType           byte
	Capabilities           []byte
	AdditionalCapabilities []byte
	AppVersion             []byte
	TTQ                    []byte
	// IFDSerial (9F1E, 8 characters) and MerchantName (9F4E).
	IFDSerial, MerchantName string
	// Contactless reader limits: at or above ContactlessLimit the card
	// must be inserted; above CVMLimit the cardholder is verified; above
	// FloorLimit the card must go online (floor 0: every transaction).
	ContactlessLimit, CVMLimit, FloorLimit int64
	// Terminal action codes: what the TVR may hold before the terminal
	// declines, goes online, or declines when it cannot go online.
	TACDenial, TACOnline, TACDefault []byte
}

// Published UnionPay values and this terminal's defaults; see
// docs/emv.md for their sources.
var (
	UnionPayRID   = MustHex("A000000333")
	UnionPayDebit = AID{AID: MustHex("A000000333010101"), Label: "UnionPay Debit"}
	UnionPayCred  = AID{AID: MustHex("A000000333010102"), Label: "UnionPay Credit"}
	UnionPayQuasi = AID{AID: MustHex("A000000333010103"), Label: "UnionPay Quasi Credit"}
)

// DefaultConfig is an online-only attended terminal in China.
func DefaultConfig() Config {
	return Config{
		AIDs:                   []AID{UnionPayDebit, UnionPayCred, UnionPayQuasi},
		Country:                MustHex("0156"),
		Currency:               MustHex("0156"),
		TerminalType:           0x21,                  // merchant, attended, online only
		Capabilities:           MustHex("E0E8C0"),     // keyed, magstripe, IC; offline plaintext PIN, online PIN, signature, no CVM; SDA, DDA (no CDA)
		AdditionalCapabilities: MustHex("6000F0A001"), // goods, services; numeric keys, command keys
		AppVersion:             MustHex("0030"),       // PBOC 3.0
		TTQ:                    MustHex("36004080"),   // qPBOC, contact, online PIN, signature; online only; fDDA 01
		IFDSerial:              "00000001",
		ContactlessLimit:       99999999,
		CVMLimit:               100000, // ¥1000: 免密免签
		FloorLimit:             0,
		TACDenial:              MustHex("4C10000000"), // SDA, DDA or CDA failed; service not allowed
		TACOnline:              MustHex("DC4004F800"),
		TACDefault:             MustHex("DC4000A800"),
	}
}

func (c *Config) validate() error {
	if len(c.AIDs) == 0 {
		return errors.New("emv: no AIDs configured")
	}
	for _, b := range [][]byte{c.TACDenial, c.TACOnline, c.TACDefault} {
		if len(b) != 5 {
			return errors.New("emv: terminal action codes are 5 bytes")
		}
	}
	if len(c.TTQ) != 4 || len(c.Capabilities) != 3 || len(c.Country) != 2 || len(c.Currency) != 2 {
		return errors.New("emv: TTQ 4 bytes, capabilities 3, country and currency 2")
	}
	return nil
}

func (c *Config) caKey(rid []byte, index byte) (CAKey, bool) {
	for _, k := range c.CAKeys {
		if string(k.RID) == string(rid) && k.Index == index {
			return k, true
		}
	}
	return CAKey{}, false
}
