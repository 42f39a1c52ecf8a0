package hal

// Attr is a cell's look. Displays that cannot show an attribute ignore it.
type Attr uint8

const (
	AttrNone    Attr = 0
	AttrBold    Attr = 1 << iota
	AttrReverse      // selected menu line, title bar
	AttrDim          // hints
	AttrError        // red on colour displays
	AttrOK           // green on colour displays
)

// CellWidth is the number of cells r takes: 2 for East Asian wide and
// fullwidth runes, 0 for combining marks and controls, 1 otherwise. Drivers
// and the application both use it so that they agree on layout.
func CellWidth(r rune) int {
	switch {
	case r < 0x20 || (r >= 0x7f && r < 0xa0):
		return 0
	case r < 0x300:
		return 1
	case r >= 0x300 && r <= 0x36f, r == 0x200b, r >= 0xfe00 && r <= 0xfe0f:
		return 0
	case isWide(r):
		return 2
	}
	return 1
}

// wideRanges are the East Asian Wide (W) and Fullwidth (F) blocks a POS
// meets: Hangul Jamo, CJK punctuation, kana, CJK ideographs, Hangul
// syllables, compatibility ideographs, vertical and fullwidth forms.
var wideRanges = [][2]rune{
	{0x1100, 0x115f}, {0x2e80, 0x303e}, {0x3041, 0x33ff}, {0x3400, 0x4dbf},
	{0x4e00, 0x9fff}, {0xa000, 0xa4cf}, {0xac00, 0xd7a3}, {0xf900, 0xfaff},
	{0xfe10, 0xfe19}, {0xfe30, 0xfe6f}, {0xff00, 0xff60}, {0xffe0, 0xffe6},
	{0x1f300, 0x1f64f}, {0x1f900, 0x1f9ff}, {0x20000, 0x2fffd}, {0x30000, 0x3fffd},
}

func isWide(r rune) bool {
	for _, rg := range wideRanges {
		if r < rg[0] {
			return false
		}
		if r <= rg[1] {
			return true
		}
	}
	return false
}

// StringWidth is the number of cells s takes.
func StringWidth(s string) int {
	n := 0
	for _, r := range s {
		n += CellWidth(r)
	}
	return n
}
