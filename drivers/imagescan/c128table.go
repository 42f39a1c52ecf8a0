package imagescan

import (
	"errors"

	"github.com/makiuchi-d/gozxing/oned"
)

var errNoRowDecoder = errors.New("imagescan: gozxing's Code 128 reader reads no rows")

// c128Widths are the Code 128 symbols of ISO/IEC 15417, values 0 to 105
// and the stop, as the widths in modules of bar, space, bar and so on.
// TestCode128Table holds them to gozxing's writer.
var c128Widths = [107]string{
	"212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212", "221213",
	"221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221", "223211", "221132",
	"221231", "213212", "223112", "312131", "311222", "321122", "321221", "312212", "322112", "322211",
	"212123", "212321", "232121", "111323", "131123", "131321", "112313", "132113", "132311", "211313",
	"231113", "231311", "112133", "112331", "132131", "113123", "113321", "133121", "313121", "211331",
	"231131", "213113", "213311", "213131", "311123", "311321", "331121", "312113", "312311", "332111",
	"314111", "221411", "431111", "111224", "111422", "121124", "121421", "141122", "141221", "112214",
	"112412", "122114", "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111",
	"111242", "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
	"214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311", "113141",
	"114131", "311141", "411131", "211412", "211214", "211232", "2331112",
}

// c128Stop is the stop symbol's index in c128Widths.
const c128Stop = 106

// c128ModuleTable is c128Widths as modules, true for bar.
var c128ModuleTable = func() (t [107][]bool) {
	for v, ws := range c128Widths {
		bar := true
		for _, w := range ws {
			for range w - '0' {
				t[v] = append(t[v], bar)
			}
			bar = !bar
		}
	}
	return t
}()

// c128Bars is where each symbol's three bars start and end, in modules
// (the stop's fourth bar is left out: it is only ever drawn whole).
var c128Bars = func() (t [107][6]int8) {
	for v, ws := range c128Widths {
		at := 0
		for i, w := range ws[:6] {
			if i%2 == 0 {
				t[v][i] = int8(at)
				t[v][i+1] = int8(at + int(w-'0'))
			}
			at += int(w - '0')
		}
	}
	return t
}()

func c128Modules(v int) []bool { return c128ModuleTable[v] }

// c128Tail is the class of a symbol's last three modules, bit 2 first:
// all the blur carries into the next symbol.
func c128Tail(v int) int {
	m := c128ModuleTable[v]
	c := 0
	for _, bar := range m[len(m)-3:] {
		c <<= 1
		if bar {
			c |= 1
		}
	}
	return c
}

func newCode128RowReader() (oned.RowDecoder, error) {
	r, ok := oned.NewCode128Reader().(oned.RowDecoder)
	if !ok {
		return nil, errNoRowDecoder
	}
	return r, nil
}
