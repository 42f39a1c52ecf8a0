package paper

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/shoukuan/pos/hal"
)

func prtDoc(title string, els ...hal.Element) hal.Document {
	return hal.Document{Title: title, Elements: els}
}

func prtSp(n int) string { return strings.Repeat(" ", n) }

func prtCheckLines(t *testing.T, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		var b strings.Builder
		for i := 0; i < max(len(got), len(want)); i++ {
			var g, w string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			mark := " "
			if g != w {
				mark = "!"
			}
			fmt.Fprintf(&b, "%s got  %q\n  want %q\n", mark, g, w)
		}
		t.Fatalf("layout differs:\n%s", b.String())
	}
}

func TestLayoutMixedChineseEnglish(t *testing.T) {
	doc := prtDoc("mixed",
		hal.Text("商户名称(MERCHANT NAME):上海浦东发展银行测试商户"),
		hal.Text("A"+strings.Repeat("中", 16)), // the 16th 中 would straddle the edge
		hal.Text("卡号 CARD NO 6222 **** **** 1234"),
		hal.Text("0123456789012345678901234567890 ABC"),
		hal.Text("第一行\nsecond\tline"),
		hal.Text(""),
	)
	prtCheckLines(t, Layout(doc, 32), []string{
		"商户名称(MERCHANT NAME):上海浦东",
		"发展银行测试商户",
		"A" + strings.Repeat("中", 15),
		"中",
		"卡号 CARD NO 6222 **** **** 1234",
		"0123456789012345678901234567890",
		"ABC",
		"第一行",
		"second line",
		"",
	})
}

// TestLayoutWrapsEnglishAtWords: an English word is never split across
// lines ("RECEI/PT"), unless it is longer than a line (a URL).
func TestLayoutWrapsEnglishAtWords(t *testing.T) {
	doc := prtDoc("words",
		hal.Text("I ACKNOWLEDGE SATISFACTORY RECEIPT OF RELATIVE GOODS/SERVICES"),
		hal.Text("本人确认 PLEASE KEEP THIS RECEIPT"),
		hal.Text("https://qr.95516.com/00010000/0123456789"),
	)
	prtCheckLines(t, Layout(doc, 32), []string{
		"I ACKNOWLEDGE SATISFACTORY",
		"RECEIPT OF RELATIVE",
		"GOODS/SERVICES",
		"本人确认 PLEASE KEEP THIS",
		"RECEIPT",
		"https://qr.95516.com/00010000/01",
		"23456789",
	})
}

func TestLayoutRightPair(t *testing.T) {
	doc := prtDoc("pairs",
		hal.Pair("AMOUNT", "RMB 12.34"),
		hal.Pair("金额(AMOUNT):", "RMB 12.34"),
		hal.Pair("TERMINAL", "12345678901234567890123"),  // 8+1+23: exactly full
		hal.Pair("TERMINAL", "123456789012345678901234"), // one too many
		hal.Pair("交易参考号(REFERENCE NUMBER):", "123456789012"),
		hal.Pair(strings.Repeat("商", 20), "1.00"), // value on the label's last line
		hal.Pair("", "RMB 1.00"),
		hal.Pair("TOTAL", strings.Repeat("9", 40)), // value itself wraps, right aligned
	)
	prtCheckLines(t, Layout(doc, 32), []string{
		"AMOUNT" + prtSp(17) + "RMB 12.34",
		"金额(AMOUNT):" + prtSp(10) + "RMB 12.34",
		"TERMINAL 12345678901234567890123",
		"TERMINAL",
		prtSp(8) + "123456789012345678901234",
		"交易参考号(REFERENCE NUMBER):",
		prtSp(20) + "123456789012",
		strings.Repeat("商", 16),
		"商商商商" + prtSp(20) + "1.00",
		prtSp(24) + "RMB 1.00",
		"TOTAL",
		strings.Repeat("9", 32),
		prtSp(24) + strings.Repeat("9", 8),
	})
}

func TestLayoutCenterAndRightWithCJK(t *testing.T) {
	center := hal.TextStyle{Align: hal.AlignCenter}
	doc := prtDoc("title",
		hal.Element{Kind: hal.KindText, Text: "签购单", Style: center},
		hal.Element{Kind: hal.KindText, Text: "POS签购单 (MERCHANT COPY)", Style: center},
		hal.Element{Kind: hal.KindText, Text: "第1页", Style: hal.TextStyle{Align: hal.AlignRight}},
		hal.Element{Kind: hal.KindText, Text: strings.Repeat("银", 17), Style: center},
	)
	prtCheckLines(t, Layout(doc, 32), []string{
		prtSp(13) + "签购单",
		prtSp(3) + "POS签购单 (MERCHANT COPY)",
		prtSp(27) + "第1页",
		strings.Repeat("银", 16),
		prtSp(15) + "银",
	})
}

func TestLayoutDoubleSize(t *testing.T) {
	dbl := func(s string, a hal.Align) hal.Element {
		return hal.Element{Kind: hal.KindText, Text: s, Style: hal.TextStyle{Size: hal.SizeDouble, Align: a, Bold: true}}
	}
	pair := func(l, r string) hal.Element {
		e := hal.Pair(l, r)
		e.Style.Size = hal.SizeDouble
		return e
	}
	doc := prtDoc("double",
		dbl("ABCDEFGHIJKLMNOPQRST", hal.AlignLeft),
		dbl("RMB 12.34", hal.AlignRight),
		dbl("签购单", hal.AlignCenter),
		dbl("中文中文中文中文中", hal.AlignLeft),
		pair("TOTAL", "RMB 12.34"),
		pair("AMOUNT", "RMB 1234.56"),
	)
	prtCheckLines(t, Layout(doc, 32), []string{
		"ABCDEFGHIJKLMNOP",
		"QRST",
		prtSp(23) + "RMB 12.34",
		prtSp(13) + "签购单",
		"中文中文中文中文",
		"中",
		"TOTAL" + prtSp(18) + "RMB 12.34",
		"AMOUNT",
		prtSp(21) + "RMB 1234.56",
	})

	// On paper a double character takes two columns.
	right := Element(dbl("RMB 12.34", hal.AlignRight), 32)[0]
	center := Element(dbl("签购单", hal.AlignCenter), 32)[0]
	if right.Scale != 2 || right.Segs[0].Col != 32-18 || center.Segs[0].Col != (32-12)/2 {
		t.Fatalf("double placement on paper: right %+v, centre %+v", right, center)
	}
}

func TestLayoutRulesAndPlaceholders(t *testing.T) {
	doc := prtDoc("rules",
		hal.Element{Kind: hal.KindSeparator},
		hal.Element{Kind: hal.KindFeed},
		hal.Element{Kind: hal.KindCut},
		hal.Element{Kind: hal.KindQR, Text: "https://qr.95516.com/00010000/01234567890123456789"},
		hal.Element{Kind: hal.KindImage, Image: &hal.Bitmap{Width: 8, Height: 2, Pix: make([]byte, 16)}},
	)
	prtCheckLines(t, Layout(doc, 32), []string{
		strings.Repeat("-", 32),
		"",
		"- - - - - - - cut  - - - - - - -",
		"[QR] https://qr.95516.com/000100",
		"00/01234567890123456789",
		"[image 8x2]",
	})
	for _, cols := range []int{4, 5, 33, 40, 48} {
		for _, l := range Layout(prtDoc("", hal.Element{Kind: hal.KindCut}, hal.Element{Kind: hal.KindSeparator}), cols) {
			if hal.StringWidth(l) != cols {
				t.Errorf("cols %d: rule %q is not full width", cols, l)
			}
		}
	}
	if got := Layout(prtDoc("", hal.Text("x")), 0); len(got) != 1 || got[0] != "x" {
		t.Errorf("cols 0: %q", got)
	}
}

func FuzzLayout(f *testing.F) {
	f.Add("商户名称(MERCHANT NAME):上海浦东发展银行测试商户", "RMB 12.34", 32, uint8(0))
	f.Add("A中中中中中中中中中中中中中中中中", "", 5, uint8(1))
	f.Add("tab\there\nnew\x00line \u0301é", "中", 0, uint8(2))
	f.Add("\xff\xfe bad utf8", "  ", 1, uint8(3))
	f.Add("", "", 33, uint8(5))
	f.Fuzz(func(t *testing.T, text, right string, cols int, flags uint8) {
		cols %= 200
		e := hal.Element{Kind: hal.KindText, Text: text, Right: right, Style: hal.TextStyle{
			Size: hal.TextSize(flags & 1), Align: hal.Align(flags >> 1 % 3), Bold: flags&8 != 0,
		}}
		doc := prtDoc(text, e, hal.Element{Kind: hal.KindQR, Text: text}, hal.Element{Kind: hal.KindCut},
			hal.Element{Kind: hal.KindSeparator}, hal.Element{Kind: hal.ElementKind(flags)})
		width := Cols(cols)
		for _, l := range Layout(doc, cols) {
			if hal.StringWidth(l) > width {
				t.Fatalf("cols %d: line %q is %d cells", cols, l, hal.StringWidth(l))
			}
			if !utf8.ValidString(l) {
				t.Fatalf("line %q not UTF-8", l)
			}
			if strings.ContainsAny(l, "\n\t\r\x00") {
				t.Fatalf("control character in %q", l)
			}
		}
	})
}
