package emv

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func FuzzParseTLV(f *testing.F) {
	f.Add(MustHex("6F2A840E325041592E5359532E4444463031A518BF0C1561134F08A000000333010101500455504453870101"))
	f.Add(MustHex("7081B45A0862220212345678905F24033012315F25032001015F280201565F3401018E0E0000000000000000420341031F03"))
	f.Add(MustHex("9F4682012C"))
	f.Add([]byte{0x5F})
	f.Fuzz(func(t *testing.T, b []byte) {
		list, err := Parse(b)
		if err == nil {
			var out []byte
			for _, o := range list {
				out = append(out, Encode(o.Tag, o.Value)...)
			}
			again, err := Parse(out)
			if err != nil || len(again) != len(list) {
				t.Fatalf("re-encoded TLVs do not parse back: %v", err)
			}
		}
		d := Data{}
		_ = d.Flatten(b)
		Find(b, 0x9F26)
		maskCardData(append([]byte{}, b...), 0)
	})
}

func FuzzDOL(f *testing.F) {
	f.Add(MustHex("9F66049F02069F03069F1A0295055F2A029A039C019F3704"), MustHex("0000"))
	f.Add(MustHex("8A0295059F3704"), []byte{})
	f.Fuzz(func(t *testing.T, dol, data []byte) {
		entries, err := ParseDOL(dol)
		if err != nil {
			return
		}
		built := BuildDOL(entries, Data{0x9F02: data, 0x9F37: data, 0x95: data})
		n := 0
		for _, e := range entries {
			n += e.Len
		}
		if len(built) != n {
			t.Fatalf("DOL data of %d bytes for a list of %d", len(built), n)
		}
		if _, err := SplitDOL(entries, built); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzHostICC(f *testing.F) {
	f.Add(MustHex("910A1122334455667788303072129F180400000001860D84DA9F58080111223344"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHostICC(b)
		if err == nil && len(h.ARPC) != 0 && (len(h.ARPC) < 8 || len(h.ARPC) > 16) {
			t.Fatalf("91 of %d bytes accepted", len(h.ARPC))
		}
	})
}

func FuzzParseTrace(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "traces", "*.json"))
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		tr, err := ParseTrace(b)
		if err != nil {
			return
		}
		Replay(context.Background(), testConfig(t), tr, 100, time.Now())
	})
}

// fuzzCard answers the n-th command with the n-th answer of its blob
// (each prefixed by a 2-byte length): every card response parser of the
// kernel meets arbitrary bytes.
type fuzzCard struct{ blob []byte }

func (c *fuzzCard) Exchange(_ context.Context, cmd []byte) ([]byte, error) {
	if len(c.blob) < 2 {
		return []byte{0x6F, 0x00}, nil
	}
	n := int(binary.BigEndian.Uint16(c.blob))
	c.blob = c.blob[2:]
	n = min(n, len(c.blob))
	r := c.blob[:n]
	c.blob = c.blob[n:]
	return r, nil
}

// FuzzCardAnswers runs whole transactions, contact and contactless,
// against a card whose answers are fuzzed (seeded with the recorded
// traces): a card never panics the terminal.
func FuzzCardAnswers(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "traces", "*.json"))
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		tr, err := ParseTrace(b)
		if err != nil {
			f.Fatal(err)
		}
		var blob []byte
		for _, e := range tr.Exchanges {
			r, _ := hex.DecodeString(e.R)
			blob = binary.BigEndian.AppendUint16(blob, uint16(len(r)))
			blob = append(blob, r...)
		}
		f.Add(tr.Mode == "contactless", blob)
	}
	f.Fuzz(func(t *testing.T, contactless bool, blob []byte) {
		mode := Contact
		if contactless {
			mode = Contactless
		}
		ctx := context.Background()
		tx, err := New(testConfig(t), &fuzzCard{blob: blob}, Input{Mode: mode, AmountFen: 12345, Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if err := tx.Read(ctx, -1); err != nil {
			if err := tx.Read(ctx, 0); err != nil {
				return
			}
		}
		if tx.CVM() == CVMOfflinePIN {
			tx.PINTries(ctx)
			tx.VerifyOfflinePIN(ctx, "1234")
		}
		on, err := tx.RequestOnline(ctx)
		_ = tx.Summary()
		if err != nil {
			return
		}
		if len(on.Field55) > 255 {
			t.Fatalf("field 55 of %d bytes", len(on.Field55))
		}
		tx.Complete(ctx, true, MustHex("910A11223344556677883030"))
	})
}
