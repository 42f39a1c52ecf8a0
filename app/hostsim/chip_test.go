package hostsim

import (
	"bytes"
	"testing"

	"github.com/shoukuan/pos/app/emv"
	"github.com/shoukuan/pos/app/seckey"
)

// chipICC is field 55 of a chip sale as a card with the simulated
// issuer's keys would make it.
func chipICC(t *testing.T, pan string, atc uint16, amountBCD string) []byte {
	t.Helper()
	mk, err := emv.DeriveICCMasterKey(TestIssuerMasterKey(), pan, "01")
	if err != nil {
		t.Fatal(err)
	}
	d := emv.Data{0x9F02: emv.MustHex(amountBCD), 0x9F03: make([]byte, 6), 0x9F1A: emv.MustHex("0156"), 0x95: make([]byte, 5),
		0x5F2A: emv.MustHex("0156"), 0x9A: emv.MustHex("260514"), 0x9C: {0}, 0x9F37: emv.MustHex("01020304"), 0x82: emv.MustHex("7C00"),
		0x9F36: {byte(atc >> 8), byte(atc)}, 0x9F10: emv.MustHex("06010A03A00000"), 0x9F27: {0x80}}
	sk, _ := emv.SessionKey(mk, atc)
	data, err := emv.CryptogramData(d)
	if err != nil {
		t.Fatal(err)
	}
	d[0x9F26], _ = emv.MAC3(sk, data)
	return d.EncodeAll(0x9F26, 0x9F27, 0x9F10, 0x9F37, 0x9F36, 0x95, 0x9A, 0x9C, 0x9F02, 0x5F2A, 0x82, 0x9F1A, 0x9F03)
}

func TestChipSaleARQCAndATC(t *testing.T) {
	f := newFixture(t, nil)
	c := f.client()
	c.signOn(seckey.Double)
	send := func(icc []byte, amount int64) (string, []byte) {
		m := c.saleMsg(debit, amount)
		m.Set(22, "051")
		m.Set(23, "001")
		m.SetBytes(55, icc)
		r := c.do(m, true)
		v, _ := r.GetBytes(55)
		return code(r), v
	}
	icc := chipICC(t, panDebit, 0x0021, "000000001000")
	rc, reply := send(icc, 1000)
	if rc != rcApproved {
		t.Fatalf("chip sale: %s", rc)
	}
	// The reply's 91 is ARPC method 1 over the ARQC and "00".
	d := emv.Data{}
	d.Flatten(icc)
	mk, _ := emv.DeriveICCMasterKey(TestIssuerMasterKey(), panDebit, "01")
	want, _ := emv.ARPC(mk, 0x0021, d[0x9F26], []byte("00"))
	if got, ok := emv.Find(reply, 0x91); !ok || !bytes.Equal(got, want) {
		t.Errorf("91 = %X, want %X", got, want)
	}
	// The same cryptogram again under a new trace: a replay.
	if rc, _ := send(icc, 1000); rc != rcDoNotHonour {
		t.Errorf("replayed ATC: %s", rc)
	}
	// A cryptogram made over another amount than the one asked.
	if rc, _ := send(chipICC(t, panDebit, 0x0022, "000000000001"), 1000); rc != rcDoNotHonour {
		t.Errorf("ARQC over another amount: %s", rc)
	}
	if rc, _ := send(chipICC(t, panDebit, 0x0023, "000000000500"), 500); rc != rcApproved {
		t.Errorf("next ATC: %s", rc)
	}
	if n, net, _ := f.s.Charges(panDebit); n != 2 || net != 1500 {
		t.Errorf("charges %d, %d fen", n, net)
	}
}
