package glyph

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.hex", "not a font\n0041:XYZ\nZZZZ:0000000018242442427E424242420000\n0042:00\n\x00\xff\n")
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), "no valid glyph") {
		t.Fatalf("malformed font: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "absent.hex")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("absent font: %v", err)
	}
	mixed := write("mixed.hex", "junk\r\n0041:0000000018242442427E424242420000\r\n"+
		"4E2D:01000100010001003FF8210821082108210821083FF821080100010001000100\n110000:0000000018242442427E424242420000\n")
	f, err := Load(mixed)
	if err != nil {
		t.Fatal(err)
	}
	if bm, w, ok := f.Glyph('A'); !ok || w != 8 || len(bm) != 16 || bm[5] != 0x24 {
		t.Fatalf("Glyph(A) = %x %d %v", bm, w, ok)
	}
	if bm, w, ok := f.Glyph('中'); !ok || w != 16 || len(bm) != 32 || bm[8] != 0x3f || bm[9] != 0xf8 {
		t.Fatalf("Glyph(中) = %x %d %v", bm, w, ok)
	}
	if _, _, ok := f.Glyph('B'); ok || f.Has('B') || !f.Has('A') || f.Len() != 2 {
		t.Fatal("Glyph(B) found in a font without it")
	}
}

func TestBuiltin(t *testing.T) {
	var f *Font
	for r := rune(0x20); r <= 0x7e; r++ {
		if bm, w, ok := f.Glyph(r); !ok || w != 8 || len(bm) != Height || !f.Has(r) {
			t.Fatalf("built-in font lacks %q", r)
		}
	}
	if _, _, ok := f.Glyph('中'); ok || f.Has('中') {
		t.Fatal("built-in font claims 中")
	}
	b := Box(16)
	if !Bit(b[1*2:], 1) || !Bit(b[14*2:], 14) || Bit(b[8*2:], 8) || Bit(b, 0) {
		t.Fatal("box is not a hollow outline one dot inside the cell")
	}
}

func TestUnifontLoadsWhole(t *testing.T) {
	if _, err := os.Stat(DefaultPath); err != nil {
		t.Skipf("no Unifont at %s", DefaultPath)
	}
	f, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() < 50000 {
		t.Fatalf("only %d glyphs", f.Len())
	}
	for _, r := range "A签购单￥" {
		want := 16
		if r == 'A' {
			want = 8
		}
		if _, w, ok := f.Glyph(r); !ok || w != want {
			t.Errorf("Glyph(%q): width %d ok %v", r, w, ok)
		}
	}
	if g, _ := Default(); g != f {
		t.Fatal("Default loads the font twice")
	}
}
