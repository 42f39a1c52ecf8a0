package emv

import (
	"bytes"
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/shoukuan/pos/app/seckey"
)

func TestParseTLV(t *testing.T) {
	// A PPSE answer: 6F { 84, A5 { BF0C { 61 { 4F, 50, 87 } } } }, with
	// a long-form length and padding.
	b := MustHex("6F2A840E325041592E5359532E4444463031A518BF0C1561134F08A000000333010101500455504453870101 00FF")
	list, err := Parse(b)
	if err != nil || len(list) != 1 || list[0].Tag != 0x6F {
		t.Fatalf("Parse = %v, %v", list, err)
	}
	d := Data{}
	if err := d.Flatten(b); err != nil {
		t.Fatal(err)
	}
	if string(d[0x84]) != "2PAY.SYS.DDF01" || !bytes.Equal(d[0x4F], MustHex("A000000333010101")) || !bytes.Equal(d[0x87], []byte{1}) {
		t.Errorf("flattened %s", d.Hex())
	}
	if v, ok := Find(b, 0x50); !ok || string(v) != "UPDS" {
		t.Errorf("Find 50 = %q, %v", v, ok)
	}
	long := bytes.Repeat([]byte{0xAB}, 300)
	enc := Encode(0x9F46, long)
	if !bytes.Equal(enc[:5], MustHex("9F4682012C")) {
		t.Errorf("long form header %X", enc[:5])
	}
	back, err := Parse(enc)
	if err != nil || len(back) != 1 || back[0].Tag != 0x9F46 || !bytes.Equal(back[0].Value, long) {
		t.Errorf("round trip: %v", err)
	}
	for name, bad := range map[string]string{
		"length past the end": "5A0812",
		"tag truncated":       "9F",
		"four-byte tag":       "9FFFFFFF0100",
		"length form 84":      "5A8400000001",
		"conflicting values":  "70065A01115A0122",
	} {
		d := Data{}
		if err := d.Flatten(MustHex(bad)); !errors.Is(err, ErrTLV) {
			t.Errorf("%s: err %v, want ErrTLV", name, err)
		}
	}
	deep := []byte{0x01, 0x00}
	for range 12 {
		deep = Encode(0x70, deep)
	}
	if err := (Data{}).Flatten(deep); !errors.Is(err, ErrTLV) {
		t.Errorf("nested 12 deep: %v", err)
	}
}

func TestDOL(t *testing.T) {
	dol, err := ParseDOL(MustHex("9F02069F1A02950550049F3704"))
	if err != nil || len(dol) != 5 {
		t.Fatalf("ParseDOL = %v, %v", dol, err)
	}
	d := Data{0x9F02: MustHex("0000000012345678"), 0x9F1A: MustHex("0156"), 0x50: []byte("UNIONPAY"), 0x9F37: MustHex("01020304")}
	got := BuildDOL(dol, d)
	// Numbers are cut on the left, text on the right; 95 is missing:
	// zeros.
	want := MustHex("000012345678" + "0156" + "0000000000" + "554E494F" + "01020304")
	if !bytes.Equal(got, want) {
		t.Errorf("BuildDOL = %X, want %X", got, want)
	}
	back, err := SplitDOL(dol, got)
	if err != nil || !bytes.Equal(back[0x9F37], d[0x9F37]) {
		t.Errorf("SplitDOL = %v, %v", back, err)
	}
	if _, err := ParseDOL(MustHex("9F02")); !errors.Is(err, ErrTLV) {
		t.Errorf("DOL without length: %v", err)
	}
}

// MAC3 is ANSI X9.19 over the data with EMV's padding: the project's
// other implementation of the retail MAC must agree.
func TestMAC3MatchesRetailMAC(t *testing.T) {
	key := MustHex("0123456789ABCDEFFEDCBA9876543210")
	data := []byte("an application cryptogram's data, 37 b")
	got, err := MAC3(key, data)
	if err != nil {
		t.Fatal(err)
	}
	padded := append(append([]byte{}, data...), 0x80)
	for len(padded)%8 != 0 {
		padded = append(padded, 0)
	}
	want, err := seckey.MACX919(seckey.Key(key), padded)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want[:8]) {
		t.Errorf("MAC3 %X, X9.19 %X", got, want)
	}
}

func TestARQCAndARPC(t *testing.T) {
	imk := MustHex("2315208C9110AD402315208C9110AD40")
	mk, err := DeriveICCMasterKey(imk, "6222021234567890128", "01")
	if err != nil {
		t.Fatal(err)
	}
	icc := Data{0x9F02: MustHex("000000012345"), 0x9F1A: MustHex("0156"), 0x95: make([]byte, 5), 0x5F2A: MustHex("0156"),
		0x9A: MustHex("261202"), 0x9C: {0}, 0x9F37: MustHex("11223344"), 0x82: MustHex("7C00"), 0x9F36: MustHex("0012"),
		0x9F10: MustHex("06010A03A00000")}
	sk, _ := SessionKey(mk, 0x12)
	data, err := CryptogramData(icc)
	if err != nil {
		t.Fatal(err)
	}
	icc[0x9F26], _ = MAC3(sk, data)
	if ok, err := VerifyARQC(mk, icc); !ok || err != nil {
		t.Fatalf("VerifyARQC = %v, %v", ok, err)
	}
	icc[0x9F02] = MustHex("000000012346") // one fen more
	if ok, _ := VerifyARQC(mk, icc); ok {
		t.Error("an ARQC verified over another amount")
	}
	other, _ := DeriveICCMasterKey(imk, "6222021234567890128", "02")
	if bytes.Equal(other, mk) {
		t.Error("the PSN does not change the card key")
	}
	a1, _ := ARPC(mk, 0x12, icc[0x9F26], []byte("00"))
	a2, _ := ARPC(mk, 0x12, icc[0x9F26], []byte("05"))
	if len(a1) != 10 || bytes.Equal(a1[:8], a2[:8]) || string(a1[8:]) != "00" {
		t.Errorf("ARPC %X / %X", a1, a2)
	}
}

// scripted is a card that answers from a list keyed by command header.
type scripted map[string]string

func (s scripted) Exchange(_ context.Context, cmd []byte) ([]byte, error) {
	if r, ok := s[hx(cmd[:4])+hx(selectData(cmd))]; ok {
		return MustHex(r), nil
	}
	if r, ok := s[hx(cmd[:4])]; ok {
		return MustHex(r), nil
	}
	return MustHex("6D00"), nil
}

func selectData(cmd []byte) []byte {
	if cmd[1] == 0xA4 && len(cmd) > 5 {
		return cmd[5 : 5+int(cmd[4])]
	}
	return nil
}

func TestCVMListConditions(t *testing.T) {
	cfg := DefaultConfig()
	// X = ¥100.00: offline PIN under X (06), online PIN over X (07),
	// then signature.
	list := MustHex("00002710" + "00000000" + "4106" + "4207" + "1E03")
	for _, tc := range []struct {
		fen  int64
		want CVM
	}{{5000, CVMOfflinePIN}, {20000, CVMOnlinePIN}, {10000, CVMSignature}} {
		tx, _ := New(&cfg, scripted{}, Input{AmountFen: tc.fen, Now: time.Now()})
		tx.data[0x82] = MustHex("7C00")
		tx.data[0x8E] = list
		tx.data[0x9F42] = MustHex("0156")
		tx.startCVM()
		if tx.CVM() != tc.want {
			t.Errorf("¥%d: CVM %v, want %v", tc.fen/100, tx.CVM(), tc.want)
		}
	}
	// A CVM this terminal cannot do, without "go on": verification fails.
	tx, _ := New(&cfg, scripted{}, Input{AmountFen: 100, Now: time.Now()})
	tx.data[0x82] = MustHex("7C00")
	tx.data[0x8E] = MustHex("0000000000000000" + "0800")
	tx.startCVM()
	if tx.CVM() != CVMFailed || tx.tvr[2]&0xC0 != 0xC0 {
		t.Errorf("unknown CVM: %v, TVR %X", tx.CVM(), tx.tvr)
	}
}

// Cases from the kernel review: each once let a card have its way.
func TestKernelRefusesWhatCardsMayTry(t *testing.T) {
	cfg := DefaultConfig()
	// A tap over the CVM limit whose card asks for no CVM gets the
	// reader's own: the online PIN.
	tx, _ := New(&cfg, scripted{}, Input{Mode: Contactless, AmountFen: cfg.CVMLimit + 1, Now: time.Now()})
	tx.data[0x9F6C] = MustHex("0000")
	tx.contactlessCVM()
	if tx.CVM() != CVMOnlinePIN {
		t.Errorf("tap over the limit, CTQ 0000: CVM %v", tx.CVM())
	}
	// A DDOL without the unpredictable number: the signature could be a
	// replay, DDA fails.
	tx, _ = New(&cfg, scripted{}, Input{Mode: Contact, AmountFen: 100, Now: time.Now()})
	tx.app = &Candidate{AID: UnionPayDebit.AID}
	tx.data[0x82] = MustHex("3C00")
	tx.data[0x9F49] = MustHex("9F0206")
	if err := tx.authenticate(context.Background()); err != nil || tx.tvr[0]&0x08 == 0 {
		t.Errorf("DDOL without 9F37: err %v TVR %X", err, tx.tvr)
	}
	// A DOL asking for more than a command carries.
	huge := []DOLEntry{{Tag: 0x9F02, Len: 127}, {Tag: 0x9F03, Len: 127}}
	if _, err := dolData(huge, Data{}); !errors.Is(err, ErrCard) {
		t.Errorf("DOL of 254 bytes: %v", err)
	}
	// A tiny key from a certificate is no key.
	if _, err := rsaRecover(make([]byte, 8), new(big.Int).SetUint64(0xFFFFFFFFFFFFFFC5), big.NewInt(3)); err == nil {
		t.Error("an 8-byte RSA key accepted")
	}
	// A PAN record is padded with F, not zeros.
	if got := BuildDOL([]DOLEntry{{Tag: 0x5A, Len: 10}}, Data{0x5A: MustHex("6222021234567890128F")[:8]}); got[9] != 0xFF {
		t.Errorf("5A padded %X", got)
	}
}
