package seckey

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

// A typical 0200 MAB (from a published CUP MAC walk-through), 91 bytes, so
// the last block needs padding.
const sampleMAB = "0200302004C020C0981100000000000000005100183402100006324392260009942820D1312101120084393136363838303134303030303030303030303030303031313536ACF46E73838A82F92600000000000000000822000001"

// x919ByHand is CBC-DES under K1 over the zero-padded blocks, then D(K2),
// E(K1) on the last one, spelled out with crypto/des.
func x919ByHand(t *testing.T, key16, data []byte) []byte {
	t.Helper()
	padded := bytes.Clone(data)
	for len(padded)%8 != 0 || len(padded) == 0 {
		padded = append(padded, 0)
	}
	v := make([]byte, 8)
	for i := 0; i < len(padded); i += 8 {
		for j := range 8 {
			v[j] ^= padded[i+j]
		}
		v = desEnc(t, key16[:8], v)
	}
	if len(key16) == 16 {
		v = desEnc(t, key16[:8], desDec(t, key16[8:], v))
	}
	return v
}

func TestMACX919PublishedVector(t *testing.T) {
	// Published retail-MAC vector (mynw.cn/netsecurity/12427.html, "PBOC-MAC"
	// with 0x80 padding, whose later steps "are the same as X9.19"). We feed
	// the already-padded 80 bytes, so our zero padding adds nothing.
	key := Key(unhex(t, "5775204D69616F6A756E404726444311"))
	data := unhex(t, "4348454E48414F2D50437C424645424642464630303033303643337E3942503050443243"+
		"4E3730313633363649303034337C32303234303131317C32303235303130317C383139317C30800000000000")
	got, err := MACX919(key, data)
	if err != nil {
		t.Fatal(err)
	}
	if want := unhex(t, "4089819D3D991CC7"); !bytes.Equal(got, want) {
		t.Fatalf("X9.19 = %X, want published %X", got, want)
	}
}

func TestMACX919ByHand(t *testing.T) {
	key := unhex(t, "0123456789ABCDEFFEDCBA9876543210")
	mab := unhex(t, sampleMAB)
	for _, n := range []int{0, 1, 7, 8, 9, 16, len(mab)} {
		data := mab[:n]
		got, err := MACX919(key, data)
		if err != nil {
			t.Fatal(err)
		}
		if want := x919ByHand(t, key, data); !bytes.Equal(got, want) {
			t.Errorf("len %d: X9.19 = %X, want %X", n, got, want)
		}
		// Single-length key: X9.9 plain CBC-DES.
		got9, err := MACX919(key[:8], data)
		if err != nil {
			t.Fatal(err)
		}
		if want := x919ByHand(t, key[:8], data); !bytes.Equal(got9, want) {
			t.Errorf("len %d: X9.9 = %X, want %X", n, got9, want)
		}
		if bytes.Equal(got, got9) {
			t.Errorf("len %d: X9.19 and X9.9 agree; K2 unused?", n)
		}
	}
	// Trailing zeros are indistinguishable under zero padding (a property of
	// the algorithm, which is why the MAB's length is fixed by the message).
	a, _ := MACX919(key, []byte{1, 2, 3})
	b, _ := MACX919(key, []byte{1, 2, 3, 0})
	if !bytes.Equal(a, b) {
		t.Error("zero padding not applied")
	}
}

// cupECBByHand follows the CUP ECB MAC steps with crypto/des.
func cupECBByHand(t *testing.T, mak, data []byte) []byte {
	t.Helper()
	r := make([]byte, 8)
	for i := 0; i < len(data); i += 8 {
		blk := make([]byte, 8)
		copy(blk, data[i:])
		for j := range 8 {
			r[j] ^= blk[j]
		}
	}
	h := []byte(strings.ToUpper(hex.EncodeToString(r)))
	enc := func(b []byte) []byte {
		if len(mak) == 8 {
			return desEnc(t, mak, b)
		}
		return tdesEnc(t, mak, b)
	}
	e := enc(h[:8])
	for j := range 8 {
		e[j] ^= h[8+j]
	}
	e = enc(e)
	return []byte(strings.ToUpper(hex.EncodeToString(e))[:8])
}

func TestMACECBByHand(t *testing.T) {
	mab := unhex(t, sampleMAB)
	for _, mak := range [][]byte{unhex(t, "C24A8FB57AA20123"), unhex(t, "0123456789ABCDEFFEDCBA9876543210")} {
		for _, n := range []int{0, 1, 8, 13, 16, len(mab)} {
			got, err := MACECB(mak, mab[:n])
			if err != nil {
				t.Fatal(err)
			}
			want := cupECBByHand(t, mak, mab[:n])
			if !bytes.Equal(got, want) {
				t.Errorf("MAK len %d, data len %d: ECB MAC = %q, want %q", len(mak), n, got, want)
			}
			if len(got) != 8 || strings.ToUpper(string(got)) != string(got) {
				t.Errorf("MAC %q is not 8 uppercase hex chars", got)
			}
			if _, err := hex.DecodeString(string(got)); err != nil {
				t.Errorf("MAC %q is not hex", got)
			}
		}
	}
}

func TestMACECBPublishedVector(t *testing.T) {
	// Published CUP ECB MAC walk-through with a double-length TAK
	// (blog.csdn.net/zfr_xuexiao66/article/details/94665452): a 0830 MAB,
	// its XOR-fold, the intermediate 3DES results, and field 64 = "5FE058DB".
	mak := Key(unhex(t, "55036372B17543ECB173730768B8D6C4"))
	mab := unhex(t, "08300000000002C000153030363730303436343238393733373031373933323330303200110000000137200277"+
		"319F0605A0000003339F220103DF050832303234313233319F0605A0000003339F220104DF05083230323431323331"+
		"9F0605A0000003339F220102DF050832303231313233319F0605A0000000039F220107DF050832303137313233319F"+
		"0605A0000000039F220108DF050832303233313233319F0605A0000000039F220109DF050832303233313233319F06"+
		"05A0000000659F220110DF050832303232313233319F0605A0000000659F220112DF050832303232313233319F0605"+
		"A0000000659F220114DF050832303232313233319F0605A0000000049F220104DF050832303137313233319F0605A0"+
		"000000049F220105DF050832303231313233319F0605A0000000049F220106DF05083230323131323331")
	r := make([]byte, 8)
	for i, c := range mab {
		r[i%8] ^= c
	}
	if got := upperHex(r); got != "1212B04E1227809C" {
		t.Fatalf("published MAB transcribed wrongly: fold = %s, want 1212B04E1227809C", got)
	}
	got, err := MACECB(mak, mab)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "5FE058DB" {
		t.Fatalf("ECB MAC = %q, want published \"5FE058DB\"", got)
	}
	// Intermediate steps, to pin the algorithm and not just the answer.
	h := []byte("1212B04E1227809C")
	e := tdesEnc(t, mak, h[:8])
	if upperHex(e) != "8B29461A844BA5EC" {
		t.Errorf("step 4 = %X, want 8B29461A844BA5EC", e)
	}
	for j := range 8 {
		e[j] ^= h[8+j]
	}
	if upperHex(e) != "BA1B742DBC7B9CAF" {
		t.Errorf("step 5 xor = %X, want BA1B742DBC7B9CAF", e)
	}
	if e = tdesEnc(t, mak, e); upperHex(e) != "5FE058DB90680D33" {
		t.Errorf("step 5 = %X, want 5FE058DB90680D33", e)
	}
}

func TestMACECBFold(t *testing.T) {
	// The other published walk-through's XOR-fold: 9A11302004C020C0 after two
	// blocks and 9A1753638ED222D9 after four.
	mab := unhex(t, sampleMAB)
	for _, tc := range []struct {
		n    int
		want string
	}{{16, "9A11302004C020C0"}, {32, "9A1753638ED222D9"}} {
		r := make([]byte, 8)
		for i, c := range mab[:tc.n] {
			r[i%8] ^= c
		}
		if upperHex(r) != tc.want {
			t.Errorf("fold of %d bytes = %X, want %s", tc.n, r, tc.want)
		}
	}
	// The fold must feed the MAC: prefixes with these folds differ.
	mak := Key(unhex(t, "C24A8FB57AA20123"))
	a, _ := MACECB(mak, mab[:16])
	b, _ := MACECB(mak, mab[:32])
	if bytes.Equal(a, b) {
		t.Error("different folds gave the same MAC")
	}
}

func TestVerifyMAC(t *testing.T) {
	mak := Key(unhex(t, "0123456789ABCDEFFEDCBA9876543210"))
	data := unhex(t, sampleMAB)
	for _, alg := range []MACAlgorithm{MACCUPECB, MACANSIX919} {
		mac, err := ComputeMAC(alg, mak, data)
		if err != nil {
			t.Fatal(err)
		}
		if !VerifyMAC(alg, mak, data, mac) {
			t.Errorf("%v: valid MAC rejected", alg)
		}
		bad := bytes.Clone(data)
		bad[10] ^= 1
		if VerifyMAC(alg, mak, bad, mac) {
			t.Errorf("%v: MAC accepted for changed data", alg)
		}
		if VerifyMAC(alg, mak, data, mac[:4]) {
			t.Errorf("%v: truncated MAC accepted", alg)
		}
		if VerifyMAC(alg, mak[:7], data, mac) {
			t.Errorf("%v: bad key accepted", alg)
		}
	}
	if VerifyMAC(MACAlgorithm(9), mak, data, make([]byte, 8)) {
		t.Error("unknown algorithm accepted")
	}
	// The two algorithms must differ.
	a, _ := MACECB(mak, data)
	b, _ := MACX919(mak, data)
	if bytes.Equal(a, b) {
		t.Error("ECB and X9.19 gave the same MAC")
	}
}

func TestParseMACAlgorithm(t *testing.T) {
	for s, want := range map[string]MACAlgorithm{"ecb": MACCUPECB, "ECB": MACCUPECB, "x9.19": MACANSIX919, " X9.19 ": MACANSIX919, "x919": MACANSIX919} {
		if got, err := ParseMACAlgorithm(s); err != nil || got != want {
			t.Errorf("ParseMACAlgorithm(%q) = %v, %v", s, got, err)
		}
	}
	for _, a := range []MACAlgorithm{MACCUPECB, MACANSIX919} {
		if got, err := ParseMACAlgorithm(a.String()); err != nil || got != a {
			t.Errorf("round trip %v failed", a)
		}
	}
	if _, err := ParseMACAlgorithm("cbc"); err == nil {
		t.Error("ParseMACAlgorithm(cbc) accepted")
	}
	if _, err := MACECB(Key{1}, nil); err == nil {
		t.Error("MACECB accepted 1-byte key")
	}
	if _, err := MACX919(Key{1}, nil); err == nil {
		t.Error("MACX919 accepted 1-byte key")
	}
}
