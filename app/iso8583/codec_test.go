package iso8583

import (
	"bytes"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func unhex(t testing.TB, parts ...string) []byte {
	t.Helper()
	s := strings.NewReplacer(" ", "", "\n", "", "\t", "").Replace(strings.Join(parts, ""))
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

func TestCUPSpecValid(t *testing.T) {
	if err := CUP.Validate(); err != nil {
		t.Fatal(err)
	}
}

// The expected bytes are written out by hand from the CUP layout, field by
// field, so this does not just compare the codec with itself.
func TestPackSaleVectorByHand(t *testing.T) {
	m := msg("0200",
		2, testPAN, 3, "000000", 4, "000000000100", 11, "000123", 14, "2512",
		22, "021", 25, "00", 26, "12", 35, testTrack2, 41, testTID, 42, testMID,
		49, "156", 52, testPIN, 53, "2600000000000000", 60, "22000001000", 64, testMAC)
	want := unhex(t,
		"0200",                                  // MTI n4 BCD
		"7024 04C0 20C0 9811",                   // bits 2 3 4 11 14 22 25 26 35 41 42 49 52 53 60 64
		"19 6217 0012 3456 7890 1230",           // 2: LL=19, 19 digits left-aligned + pad 0
		"000000",                                // 3
		"0000 0000 0100",                        // 4: 1.00 yuan in fen
		"000123",                                // 11
		"2512",                                  // 14
		"0210",                                  // 22: "021" left-aligned
		"00",                                    // 25
		"12",                                    // 26
		"27 6217 0012 3456 7890 123D 2512 2200", // 35: LL=27, '=' -> D, pad 0
		"3132333435363738",                      // 41 ASCII
		"313233343536373839303132333435",        // 42 ASCII
		"313536",                                // 49 "156"
		"1122334455667788",                      // 52 PIN block
		"2600000000000000",                      // 53
		"0011 2200 0001 0000",                   // 60: LLL=0011 in 2 bytes, "22000001000" + pad
		"A1B2C3D4E5F60718",                      // 64 MAC
	)
	got, err := CUP.Pack(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		for i := 0; i < len(got) && i < len(want); i++ {
			if got[i] != want[i] {
				t.Fatalf("first difference at byte %d: got %02X want %02X\ngot  %X\nwant %X", i, got[i], want[i], got, want)
			}
		}
		t.Fatalf("length differs: got %d want %d\ngot  %X\nwant %X", len(got), len(want), got, want)
	}
	back, err := CUP.Unpack(want)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Fields, m.Fields) || back.MTI != m.MTI {
		t.Fatalf("unpack of the hand vector differs:\n got %v\nwant %v", back, m)
	}
	mac, err := CUP.MACData(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mac, want[:len(want)-8]) {
		t.Fatalf("MAC data should be MTI..field 60 (all but the last 8 bytes)")
	}
}

func TestRoundTripSamples(t *testing.T) {
	samples := sampleMessages(t)
	for _, name := range sortedNames(samples) {
		m := samples[name]
		t.Run(name, func(t *testing.T) {
			b, err := CUP.Pack(m)
			if err != nil {
				t.Fatal(err)
			}
			back, err := CUP.Unpack(b)
			if err != nil {
				t.Fatalf("unpack: %v", err)
			}
			if back.MTI != m.MTI {
				t.Fatalf("MTI %q, want %q", back.MTI, m.MTI)
			}
			if len(back.Fields) != len(m.Fields) {
				t.Fatalf("fields %v, want %v", back.Numbers(), m.Numbers())
			}
			for _, n := range m.Numbers() {
				if !bytes.Equal(back.Fields[n], m.Fields[n]) {
					t.Errorf("field %d differs after round trip", n)
				}
			}
			again, err := CUP.Pack(back)
			if err != nil || !bytes.Equal(again, b) {
				t.Fatalf("repack differs (err %v)", err)
			}
		})
	}
}

func TestMessageSpecifics(t *testing.T) {
	s := sampleMessages(t)
	get := func(name string, n int) string {
		v, ok := s[name].Get(n)
		if !ok {
			t.Fatalf("%s: field %d missing", name, n)
		}
		return v
	}
	for _, c := range []struct {
		name string
		n    int
		want string
	}{
		{"sale 0200 swipe", 3, "000000"}, {"sale 0200 swipe", 22, "021"}, {"sale 0200 chip", 22, "051"},
		{"void 0200", 3, "200000"}, {"refund 0220", 3, "200000"}, {"balance 0200", 3, "310000"},
		{"reversal 0400 timeout", 39, "98"}, {"reversal 0400 error", 39, "06"},
	} {
		if got := get(c.name, c.n); got != c.want {
			t.Errorf("%s field %d = %q, want %q", c.name, c.n, got, c.want)
		}
	}
	for name, want := range map[string][2]string{
		"signon 0800 single": {"00", "003"}, "signon 0800 double": {"00", "004"},
		"sale 0200 swipe": {"22", "000"}, "void 0200": {"23", "000"}, "refund 0220": {"25", "000"},
		"balance 0200": {"01", "000"}, "signoff 0820": {"00", "002"},
	} {
		mt, batch, nc, _, err := ParseField60(get(name, 60))
		if err != nil || mt != want[0] || nc != want[1] || batch != "000001" {
			t.Errorf("%s: 60 = %q %q %q (%v), want %v", name, mt, batch, nc, err, want)
		}
	}
}

func TestOddPANPadding(t *testing.T) {
	m := msg("0200", 2, "62258812345678901") // 17 digits
	b, err := CUP.Pack(m)
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, "0200 4000000000000000 17 6225 8812 3456 7890 10")
	if !bytes.Equal(b, want) {
		t.Fatalf("got %X want %X", b, want)
	}
	// A pad nibble other than 0 (e.g. F, used by some terminals) is not
	// canonical CUP and would not round-trip.
	for _, last := range []string{"15", "1F"} {
		_, err := CUP.Unpack(unhex(t, "0200 4000000000000000 17 6225 8812 3456 7890", last))
		assertUnpackErr(t, err, ErrBadNibble, 2, 19)
	}
}

func TestTrack2EqualsNibble(t *testing.T) {
	b, err := CUP.Pack(msg("0200", 35, "1234=5678"))
	if err != nil {
		t.Fatal(err)
	}
	want := unhex(t, "0200 0000000020000000 09 1234 D567 80")
	if !bytes.Equal(b, want) {
		t.Fatalf("got %X want %X", b, want)
	}
	m, err := CUP.Unpack(want)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Get(35); v != "1234=5678" {
		t.Fatalf("track 2 decoded wrong (len %d)", len(v))
	}
	// Letter nibbles appear only in z: D as '=', the others in track data
	// encrypted under the TDK; n refuses them all.
	m, err = CUP.Unpack(unhex(t, "0200 0000000020000000 09 1234 E567 80"))
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := m.Get(35); v != "1234E5678" {
		t.Fatalf("encrypted track 2 decoded as %q", v)
	}
	if b, err := CUP.Pack(m); err != nil || !bytes.Equal(b, unhex(t, "0200 0000000020000000 09 1234 E567 80")) {
		t.Fatalf("encrypted track 2 packs back as %X, %v", b, err)
	}
	_, err = CUP.Unpack(unhex(t, "0200 4000000000000000 04 12D4"))
	assertUnpackErr(t, err, ErrBadNibble, 2, 12)
}

func TestLLLLengthIsTwoByteBCD(t *testing.T) {
	m := msg("0500", 48, strings.Repeat("1", 62), 55, seq(200), 62, seq(512), 63, "001")
	b, err := CUP.Pack(m)
	if err != nil {
		t.Fatal(err)
	}
	// 48 starts right after MTI + bitmap: prefix 00 62, then 31 bytes.
	if got := b[10:12]; !bytes.Equal(got, []byte{0x00, 0x62}) {
		t.Fatalf("48 prefix %X, want 0062", got)
	}
	p55 := 12 + 31
	if got := b[p55 : p55+2]; !bytes.Equal(got, []byte{0x02, 0x00}) {
		t.Fatalf("55 prefix %X, want 0200 (200 bytes)", got)
	}
	p62 := p55 + 2 + 200
	if got := b[p62 : p62+2]; !bytes.Equal(got, []byte{0x05, 0x12}) {
		t.Fatalf("62 prefix %X, want 0512", got)
	}
	p63 := p62 + 2 + 512
	if got := b[p63:]; !bytes.Equal(got, unhex(t, "0003 303031")) {
		t.Fatalf("63 = %X, want 0003303031", got)
	}
	// Odd digit count in an LLLVAR n field: "123" is 00 03 12 30.
	b, err = CUP.Pack(msg("0500", 48, "123"))
	if err != nil || !bytes.Equal(b[10:], unhex(t, "0003 1230")) {
		t.Fatalf("48 odd: %X %v", b, err)
	}
}

func TestFixedOddAlignment(t *testing.T) {
	b, err := CUP.Pack(msg("0200", 22, "051", 23, "001"))
	if err != nil {
		t.Fatal(err)
	}
	// 22 left-aligned (05 10), 23 right-aligned (00 01).
	if !bytes.Equal(b[10:], unhex(t, "0510 0001")) {
		t.Fatalf("got %X", b[10:])
	}
	_, err = CUP.Unpack(unhex(t, "0200 0000060000000000 0511 0001"))
	assertUnpackErr(t, err, ErrBadNibble, 22, 11)
	_, err = CUP.Unpack(unhex(t, "0200 0000060000000000 0510 1001"))
	assertUnpackErr(t, err, ErrBadNibble, 23, 12)
}

func TestPackValidation(t *testing.T) {
	long := func(n int) string { return strings.Repeat("1", n) }
	cases := []struct {
		name    string
		m       *Message
		kind    error
		field   int
		message string // exact text after "iso8583: "
	}{
		{"MTI short", msg("200"), ErrLength, PosMTI, "MTI: want 4 digits, got 3"},
		{"MTI letters", msg("02A0"), ErrBadChar, PosMTI, "MTI: character 3 is not a digit"},
		{"fixed n too long", msg("0200", 4, long(13)), ErrLength, 4, "field 4: want 12 digits, got 13"},
		{"fixed n too short", msg("0200", 3, "00000"), ErrLength, 3, "field 3: want 6 digits, got 5"},
		{"n non-digit", msg("0200", 3, "00000A"), ErrBadChar, 3, "field 3: character 6 is not a digit"},
		{"LLVAR n over max", msg("0200", 2, long(20)), ErrTooLong, 2, "field 2: want at most 19 digits, got 20"},
		{"LLVAR n non-digit", msg("0200", 32, "12-4"), ErrBadChar, 32, "field 32: character 3 is not a digit"},
		{"z over max", msg("0200", 35, long(38)), ErrTooLong, 35, "field 35: want at most 37 characters, got 38"},
		{"z letter", msg("0200", 35, "1234D5678"), ErrBadChar, 35, "field 35: character 5 is not track data (a digit, '=' or A-C, E, F)"},
		{"LLLVAR z over max", msg("0200", 36, long(105)), ErrTooLong, 36, "field 36: want at most 104 characters, got 105"},
		{"an symbol", msg("0210", 39, "0!"), ErrBadChar, 39, "field 39: character 2 is not a letter, digit or space"},
		{"an fixed length", msg("0210", 37, "123"), ErrLength, 37, "field 37: want 12 characters, got 3"},
		{"ans control", msg("0200", 41, "1234567\n"), ErrBadChar, 41, "field 41: character 8 is not printable ASCII"},
		{"ans high byte", msg("0200", 42, "12345678901234\xB9"), ErrBadChar, 42, "field 42: character 15 is not printable ASCII"},
		{"LLVAR ans over max", msg("0200", 44, long(26)), ErrTooLong, 44, "field 44: want at most 25 characters, got 26"},
		{"LLLVAR n over max", msg("0500", 48, long(323)), ErrTooLong, 48, "field 48: want at most 322 digits, got 323"},
		{"LLLVAR an over max", msg("0210", 54, long(21)), ErrTooLong, 54, "field 54: want at most 20 characters, got 21"},
		{"b fixed length", msg("0200", 52, "1234567"), ErrLength, 52, "field 52: want 8 bytes, got 7"},
		{"LLLVAR b over max", msg("0200", 55, long(256)), ErrTooLong, 55, "field 55: want at most 255 bytes, got 256"},
		{"60 over max", msg("0200", 60, long(18)), ErrTooLong, 60, "field 60: want at most 17 digits, got 18"},
		{"61 over max", msg("0200", 61, long(30)), ErrTooLong, 61, "field 61: want at most 29 digits, got 30"},
		{"62 over max", msg("0810", 62, long(513)), ErrTooLong, 62, "field 62: want at most 512 bytes, got 513"},
		{"63 control", msg("0500", 63, "00\x01"), ErrBadChar, 63, "field 63: character 3 is a control character"},
		{"63 over max", msg("0500", 63, long(164)), ErrTooLong, 63, "field 63: want at most 163 bytes, got 164"},
		{"MAC length", msg("0200", 64, "123"), ErrLength, 64, "field 64: want 8 bytes, got 3"},
		{"secondary bitmap", msg("0200", 1, "x"), ErrSecondaryBitmap, PosBitmap, "bitmap: field 1 set: secondary bitmap not supported in spec CUP"},
		{"field 65", msg("0200", 65, "x"), ErrUndefinedField, 65, "field 65: field number outside 2..64"},
		{"field 0", msg("0200", 0, "x"), ErrUndefinedField, 0, "field 0: field number outside 2..64"},
		{"not in spec", msg("0200", 5, "000000000100"), ErrUndefinedField, 5, "field 5: not defined in spec CUP"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.m.Set(2, testPAN) // a PAN present must never show up in errors
			if c.field == 2 {
				c.m.Set(2, long(20))
			}
			_, err := CUP.Pack(c.m)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, c.kind) {
				t.Errorf("error %q is not %v", err, c.kind)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || fe.Offset != -1 {
				t.Errorf("error %q: want FieldError for field %d without offset, got %+v", err, c.field, fe)
			}
			if err.Error() != "iso8583: "+c.message {
				t.Errorf("error text\n got %q\nwant %q", err.Error(), "iso8583: "+c.message)
			}
			if strings.Contains(err.Error(), testPAN) {
				t.Errorf("error leaks the PAN")
			}
		})
	}
}

func TestPackNil(t *testing.T) {
	if _, err := CUP.Pack(nil); err == nil {
		t.Fatal("nil message packed")
	}
	var s *Spec
	if _, err := s.Pack(NewMessage("0200")); err == nil {
		t.Fatal("nil spec packed")
	}
	if _, err := s.Unpack([]byte{2, 0}); err == nil {
		t.Fatal("nil spec unpacked")
	}
}

func assertUnpackErr(t *testing.T, err error, kind error, field, offset int) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v in field %d at offset %d", kind, field, offset)
	}
	if !errors.Is(err, kind) {
		t.Errorf("error %q is not %v", err, kind)
	}
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %q is not a *FieldError", err)
	}
	if fe.Field != field || fe.Offset != offset {
		t.Errorf("error %q: field %d offset %d, want field %d offset %d", err, fe.Field, fe.Offset, field, offset)
	}
}

func TestUnpackErrors(t *testing.T) {
	cases := []struct {
		name          string
		hex           string
		kind          error
		field, offset int
	}{
		{"empty", "", ErrTruncated, PosMTI, 0},
		{"half MTI", "02", ErrTruncated, PosMTI, 0},
		{"MTI not BCD", "0A00 0000000000000000", ErrBadNibble, PosMTI, 0},
		{"MTI not BCD byte 2", "020F 0000000000000000", ErrBadNibble, PosMTI, 1},
		{"bitmap truncated", "0200 00000000", ErrTruncated, PosBitmap, 2},
		{"secondary bitmap", "0200 C000000000000000 19", ErrSecondaryBitmap, PosBitmap, 2},
		{"field not in spec", "0200 0800000000000000 000000000100", ErrUndefinedField, 5, 10},
		{"LL prefix missing", "0200 4000000000000000", ErrTruncated, 2, 10},
		{"LL prefix not BCD", "0200 4000000000000000 1A 1234", ErrBadNibble, 2, 10},
		{"LL over max", "0200 4000000000000000 20 1234567890 1234567890", ErrTooLong, 2, 10},
		{"LL truncated value", "0200 4000000000000000 19 1234", ErrTruncated, 2, 11},
		{"fixed truncated", "0200 2000000000000000 0000", ErrTruncated, 3, 10},
		{"n bad nibble", "0200 1000000000000000 0000 0000 01A0", ErrBadNibble, 4, 15},
		{"LLL prefix truncated", "0200 0000000000010000 00", ErrTruncated, 48, 10},
		{"LLL prefix not BCD", "0200 0000000000010000 00A3 1230", ErrBadNibble, 48, 11},
		{"LLL top nibble set", "0200 0000000000000010 1003 1230", ErrTooLong, 60, 10},
		{"LLL over max", "0200 0000000000000010 0018 123456789012345678", ErrTooLong, 60, 10},
		{"LLL b truncated", "0200 0000000000000200 0010 0102", ErrTruncated, 55, 12},
		{"an bad byte", "0200 0000000002000000 3021", ErrBadChar, 39, 11},
		{"ans control byte", "0200 0000000000800000 31323334353637 0A", ErrBadChar, 41, 17},
		{"text control byte", "0200 0000000000000002 0003 30 00 31", ErrBadChar, 63, 13},
		{"trailing bytes", "0200 2000000000000000 000000 FF", ErrTrailingBytes, PosMessage, 13},
		{"trailing after no fields", "0800 0000000000000000 00", ErrTrailingBytes, PosMessage, 10},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := CUP.Unpack(unhex(t, c.hex))
			if m != nil {
				t.Errorf("message returned with error")
			}
			assertUnpackErr(t, err, c.kind, c.field, c.offset)
		})
	}
}

func TestUnpackDoesNotAliasInput(t *testing.T) {
	b, err := CUP.Pack(msg("0810", 62, seq(24), 41, testTID))
	if err != nil {
		t.Fatal(err)
	}
	m, err := CUP.Unpack(b)
	if err != nil {
		t.Fatal(err)
	}
	clear(b)
	if v, _ := m.GetBytes(62); !bytes.Equal(v, seq(24)) {
		t.Fatal("field 62 changed when the input buffer was cleared")
	}
	if v, _ := m.Get(41); v != testTID {
		t.Fatal("field 41 changed when the input buffer was cleared")
	}
}

func TestMACHelpers(t *testing.T) {
	m := sampleMessages(t)["sale 0200 swipe"].Clone()
	m.Unset(64)
	var seen []byte
	fake := func(data []byte) ([]byte, error) {
		seen = append([]byte{}, data...)
		return testMAC, nil
	}
	packed, err := CUP.PackWithMAC(m, fake)
	if err != nil {
		t.Fatal(err)
	}
	if m.Has(64) {
		t.Fatal("PackWithMAC modified its input")
	}
	if !bytes.Equal(packed[len(packed)-8:], testMAC) {
		t.Fatalf("MAC not patched: %X", packed[len(packed)-8:])
	}
	if !bytes.Equal(seen, packed[:len(packed)-8]) {
		t.Fatal("MAC computed over the wrong bytes")
	}
	// The MAC input includes bit 64 in the bitmap.
	if seen[9]&0x01 == 0 {
		t.Fatal("bit 64 not set in the MAC input")
	}
	data, err := CUP.MACData(packed)
	if err != nil || !bytes.Equal(data, seen) {
		t.Fatalf("MACData = %X, %v", data, err)
	}
	if cap(data) != len(data) {
		t.Fatal("MACData capacity reaches into the MAC")
	}
	if err := CUP.PatchMAC(packed, []byte("ABCDEFGH")); err != nil {
		t.Fatal(err)
	}
	if string(packed[len(packed)-8:]) != "ABCDEFGH" {
		t.Fatal("PatchMAC did not write the MAC")
	}
	if err := CUP.PatchMAC(packed, []byte("short")); !errors.Is(err, ErrLength) {
		t.Fatalf("short MAC: %v", err)
	}

	noMAC, _ := CUP.Pack(msg("0800", 11, "000001"))
	if _, err := CUP.MACData(noMAC); !errors.Is(err, ErrNoMAC) {
		t.Fatalf("MACData without bit 64: %v", err)
	}
	if err := CUP.PatchMAC(noMAC, testMAC); !errors.Is(err, ErrNoMAC) {
		t.Fatalf("PatchMAC without bit 64: %v", err)
	}
	if _, err := CUP.MACData(packed[:len(packed)-1]); !errors.Is(err, ErrTruncated) {
		t.Fatalf("MACData on a truncated message: %v", err)
	}
	boom := errors.New("HSM down")
	if _, err := CUP.PackWithMAC(m, func([]byte) ([]byte, error) { return nil, boom }); !errors.Is(err, boom) {
		t.Fatalf("MAC function error not passed on: %v", err)
	}
	if _, err := CUP.PackWithMAC(m, func([]byte) ([]byte, error) { return []byte{1}, nil }); !errors.Is(err, ErrLength) {
		t.Fatalf("short MAC from function: %v", err)
	}
}

func TestBadSpecDoesNotPanic(t *testing.T) {
	bad := &Spec{Name: "bad", Fields: map[int]FieldSpec{
		2:  {Kind: KindN, Len: LLVar, Max: 150},
		3:  {Kind: KindN, Len: Fixed, Max: -4},
		4:  {Kind: 99, Len: Fixed, Max: 4},
		64: {Kind: KindN, Len: Fixed, Max: 16},
	}}
	if err := bad.Validate(); err == nil {
		t.Fatal("bad spec validated")
	}
	for _, n := range []int{2, 3, 4} {
		if _, err := bad.Pack(msg("0200", n, "1234")); err == nil {
			t.Errorf("field %d: packed with a bad spec", n)
		}
	}
	for _, h := range []string{"0200 4000000000000000 99", "0200 2000000000000000 00", "0200 1000000000000000 00"} {
		if _, err := bad.Unpack(unhex(t, h)); err == nil {
			t.Errorf("%s: unpacked with a bad spec", h)
		}
	}
	if _, err := bad.MACData(unhex(t, "0200 0000000000000001 0000000000000000")); !errors.Is(err, ErrNoMAC) {
		t.Errorf("MACData with a non-binary field 64: %v", err)
	}
	if err := (&Spec{Name: "x", Fields: map[int]FieldSpec{1: {Kind: KindB, Len: Fixed, Max: 8}}}).Validate(); err == nil {
		t.Error("field 1 in a spec validated")
	}
}
