package ui

import (
	"math"
	"reflect"
	"testing"

	"github.com/shoukuan/pos/hal"
)

type grid struct {
	cols, rows int
	cells      map[[2]int]rune
}

func (g *grid) Size() (int, int)                     { return g.cols, g.rows }
func (g *grid) Clear()                               { g.cells = map[[2]int]rune{} }
func (g *grid) SetCell(x, y int, r rune, _ hal.Attr) { g.cells[[2]int{x, y}] = r }
func (g *grid) Flush() error                         { return nil }
func (g *grid) row(y int) string {
	s := ""
	for x := 0; x < g.cols; x++ {
		if r, ok := g.cells[[2]int{x, y}]; ok {
			s += string(r)
		} else if x == 0 || hal.CellWidth(g.cells[[2]int{x - 1, y}]) != 2 {
			s += " "
		}
	}
	return s
}

func TestFormatFen(t *testing.T) {
	for fen, want := range map[int64]string{
		0: "0.00", 5: "0.05", 100: "1.00", 123456: "1,234.56", 100000000: "1,000,000.00",
		-250: "-2.50", 999999999999: "9,999,999,999.99", math.MinInt64: "-92,233,720,368,547,758.08",
	} {
		if got := FormatFen(fen); got != want {
			t.Errorf("FormatFen(%d) = %q, want %q", fen, got, want)
		}
	}
	if Yuan(1) != "¥0.01" {
		t.Fatal(Yuan(1))
	}
}

func TestCanvasLayout(t *testing.T) {
	g := &grid{cols: 16, rows: 4}
	g.Clear()
	c := NewCanvas(g)
	c.Center(0, "消费", 0)
	c.Pair(1, "金额", "¥12.34", 0)
	c.Right(2, "END", 0)
	c.Text(10, 3, "中文中文", 0) // cut at the edge, no half rune
	if got := g.row(0); got != "      消费      " {
		t.Errorf("center %q", got)
	}
	if got := g.row(1); got != "金额      ¥12.34" {
		t.Errorf("pair %q", got)
	}
	if got := g.row(2); got != "             END" {
		t.Errorf("right %q", got)
	}
	if got := g.row(3); got != "          中文中" {
		t.Errorf("cut %q", got)
	}
}

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		s     string
		width int
		want  []string
	}{
		{"Load paper, then choose Reprint", 12, []string{"Load paper,", "then choose", "Reprint"}},
		{"请装入打印纸后选择重打印", 10, []string{"请装入打印", "纸后选择重", "打印"}},
		{"", 8, []string{""}},
		{"a\nb", 8, []string{"a", "b"}},
		{"abcdefghijk", 4, []string{"abcd", "efgh", "ijk"}},
	} {
		if got := Wrap(tc.s, tc.width); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Wrap(%q, %d) = %q, want %q", tc.s, tc.width, got, tc.want)
		}
	}
}
