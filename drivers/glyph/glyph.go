// Package glyph is the terminal's one bitmap font: GNU Unifont (8x16 and
// 16x16 glyphs, CJK included), with a small built-in ASCII font for when
// the .hex file is missing. The fake printer, the ESC/POS emulator and the
// framebuffer screen all draw with it, so the paper a test renders and the
// screen a cashier sees use the same glyphs.
package glyph

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// DefaultPath is where Debian's unifont package installs the font.
const DefaultPath = "/usr/share/unifont/unifont.hex"

var (
	defaultOnce sync.Once
	defaultFont *Font
	defaultErr  error
)

// Default is the Unifont at DefaultPath, loaded once per process (3.7 MB,
// tens of milliseconds). When it cannot be loaded Default returns the
// built-in ASCII font (nil) and the reason, which callers report once.
func Default() (*Font, error) {
	defaultOnce.Do(func() { defaultFont, defaultErr = Load(DefaultPath) })
	return defaultFont, defaultErr
}

// Font is a bitmap font read from a GNU Unifont .hex file. It is immutable
// once loaded and safe for concurrent use. A nil *Font is the built-in
// ASCII font that receipts fall back to when the .hex file is missing.
type Font struct {
	path string
	// glyphs maps a code point to its hex bitmap. The strings slice one copy
	// of the file and are decoded per call: indexing the 3.7 MB Unifont this
	// way takes milliseconds and keeps decoded glyphs out of memory.
	glyphs map[rune]string
}

// Load reads a .hex file: lines "XXXX:" followed by 32 hex digits (an
// 8x16 glyph) or 64 (16x16). Malformed lines are skipped so that a font
// with a few odd lines still works; a file without a single valid glyph is
// an error.
func Load(path string) (*Font, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("font: %w", err)
	}
	s := string(data)
	f := &Font{path: path, glyphs: make(map[rune]string, len(s)/40)}
	bad := 0
	for s != "" {
		var line string
		line, s, _ = strings.Cut(s, "\n")
		line = strings.TrimRight(line, "\r \t")
		if line == "" || line[0] == '#' {
			continue
		}
		r, hx, ok := parseLine(line)
		if !ok {
			bad++
			continue
		}
		f.glyphs[r] = hx
	}
	if len(f.glyphs) == 0 {
		return nil, fmt.Errorf("font %s: no valid glyph lines (%d malformed); want GNU Unifont .hex lines like 0041:0000000018242442427E424242420000", path, bad)
	}
	return f, nil
}

func parseLine(line string) (rune, string, bool) {
	cp, hx, ok := strings.Cut(line, ":")
	if !ok || len(cp) < 4 || len(cp) > 6 || (len(hx) != 32 && len(hx) != 64) {
		return 0, "", false
	}
	n, err := strconv.ParseUint(cp, 16, 32)
	if err != nil || !utf8.ValidRune(rune(n)) {
		return 0, "", false
	}
	for i := 0; i < len(hx); i++ {
		if hexVal(hx[i]) < 0 {
			return 0, "", false
		}
	}
	return rune(n), hx, true
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// Height is the height of every glyph Glyph returns.
const Height = 16

// Glyph returns r's bitmap: 16 rows of width/8 bytes each, most
// significant bit leftmost, a set bit inked. width is 8 or 16. ok is false
// when the font has no glyph for r (the renderer then draws a hollow box).
func (f *Font) Glyph(r rune) (bitmap []byte, width int, ok bool) {
	if f == nil {
		return builtinGlyph(r)
	}
	hx, ok := f.glyphs[r]
	if !ok {
		return nil, 0, false
	}
	b := make([]byte, len(hx)/2)
	for i := range b {
		b[i] = byte(hexVal(hx[2*i])<<4 | hexVal(hx[2*i+1]))
	}
	return b, len(hx) / 4, true
}

// Has reports whether the font has a glyph for r.
func (f *Font) Has(r rune) bool {
	if f == nil {
		return r >= 0x20 && r <= 0x7e
	}
	_, ok := f.glyphs[r]
	return ok
}

// Len is the number of glyphs in the font.
func (f *Font) Len() int {
	if f == nil {
		return len(builtin5x7)
	}
	return len(f.glyphs)
}

// Box is the glyph drawn for a rune the font lacks: a hollow box of width
// 8 or 16, so a missing character is visible instead of silently dropped.
func Box(width int) []byte {
	stride := width / 8
	b := make([]byte, Height*stride)
	set := func(x, y int) { b[y*stride+x/8] |= 0x80 >> (x % 8) }
	for x := 1; x < width-1; x++ {
		set(x, 1)
		set(x, Height-2)
	}
	for y := 1; y < Height-1; y++ {
		set(1, y)
		set(width-2, y)
	}
	return b
}

// Bit reports whether pixel x of a glyph row is inked.
func Bit(row []byte, x int) bool { return row[x/8]&(0x80>>(x%8)) != 0 }

// builtinGlyph draws printable ASCII from a 5x7 table inside an 8x16
// cell, low enough that its baseline sits near Unifont's.
func builtinGlyph(r rune) ([]byte, int, bool) {
	if r < 0x20 || r > 0x7e {
		return nil, 0, false
	}
	rows := builtin5x7[r-0x20]
	b := make([]byte, Height)
	for i := 0; i < 7; i++ {
		v := hexVal(rows[2*i])<<4 | hexVal(rows[2*i+1])
		b[6+i] = byte(v << 2) // 5 bits, one blank column on the left
	}
	return b, 8, true
}

// builtin5x7 holds the printable ASCII glyphs, 0x20 to 0x7e: seven
// rows of five bits each, top row first, bit 4 leftmost.
var builtin5x7 = [95]string{
	"00000000000000", // space
	"04040404040004", // !
	"0A0A0A00000000", // "
	"0A0A1F0A1F0A0A", // #
	"040F140E051E04", // $
	"18190204081303", // %
	"0C12140815120D", // &
	"04040800000000", // '
	"02040808080402", // (
	"08040202020408", // )
	"0004150E150400", // *
	"0004041F040400", // +
	"000000000C0408", // ,
	"0000001F000000", // -
	"00000000000C0C", // .
	"00010204081000", // /
	"0E11131519110E", // 0
	"040C040404040E", // 1
	"0E11010204081F", // 2
	"1F02040201110E", // 3
	"02060A121F0202", // 4
	"1F101E0101110E", // 5
	"0608101E11110E", // 6
	"1F010204080808", // 7
	"0E11110E11110E", // 8
	"0E11110F01020C", // 9
	"000C0C000C0C00", // :
	"000C0C000C0408", // ;
	"02040810080402", // <
	"00001F001F0000", // =
	"08040201020408", // >
	"0E110102040004", // ?
	"0E11010D15150E", // @
	"0E1111111F1111", // A
	"1E11111E11111E", // B
	"0E11101010110E", // C
	"1C12111111121C", // D
	"1F10101E10101F", // E
	"1F10101E101010", // F
	"0E11101711110F", // G
	"1111111F111111", // H
	"0E04040404040E", // I
	"0702020202120C", // J
	"11121418141211", // K
	"1010101010101F", // L
	"111B1515111111", // M
	"11111915131111", // N
	"0E11111111110E", // O
	"1E11111E101010", // P
	"0E11111115120D", // Q
	"1E11111E141211", // R
	"0F10100E01011E", // S
	"1F040404040404", // T
	"1111111111110E", // U
	"11111111110A04", // V
	"1111111515150A", // W
	"11110A040A1111", // X
	"1111110A040404", // Y
	"1F01020408101F", // Z
	"0E08080808080E", // [
	"00100804020100", // backslash
	"0E02020202020E", // ]
	"040A1100000000", // ^
	"0000000000001F", // _
	"08040200000000", // `
	"00000E010F110F", // a
	"1010161911111E", // b
	"00000E1010110E", // c
	"01010D1311110F", // d
	"00000E111F100E", // e
	"0609081C080808", // f
	"000F11110F010E", // g
	"10101619111111", // h
	"04000C0404040E", // i
	"0200060202120C", // j
	"10101214181412", // k
	"0C04040404040E", // l
	"00001A15151111", // m
	"00001619111111", // n
	"00000E1111110E", // o
	"00001E111E1010", // p
	"00000D130F0101", // q
	"00001619101010", // r
	"00000E100E011E", // s
	"08081C08080906", // t
	"0000111111130D", // u
	"00001111110A04", // v
	"0000111115150A", // w
	"0000110A040A11", // x
	"000011110F010E", // y
	"00001F0204081F", // z
	"02040408040402", // {
	"04040404040404", // |
	"08040402040408", // }
	"00000815020000", // ~
}
