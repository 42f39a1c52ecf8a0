package console

import (
	"image"
	"image/color"

	"context"
	"errors"
	"fmt"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nsf/termbox-go"

	"github.com/shoukuan/pos/hal"
)

// grid is an in-memory screen.
type grid struct {
	w, h    int
	r       []rune
	a       []hal.Attr
	flushes int
}

func newGrid(w, h int) *grid {
	g := &grid{w: w, h: h, r: make([]rune, w*h), a: make([]hal.Attr, w*h)}
	g.clear()
	return g
}

func (g *grid) set(x, y int, r rune, a hal.Attr) {
	if x < 0 || y < 0 || x >= g.w || y >= g.h {
		return
	}
	g.r[y*g.w+x], g.a[y*g.w+x] = r, a
}
func (g *grid) size() (int, int) { return g.w, g.h }
func (g *grid) clear() {
	for i := range g.r {
		g.r[i], g.a[i] = ' ', 0
	}
}
func (g *grid) flush() error     { g.flushes++; return nil }
func (g *grid) at(x, y int) rune { return g.r[y*g.w+x] }

// row is line y as text, wide runes once.
func (g *grid) row(y int) string {
	var b strings.Builder
	for _, r := range g.r[y*g.w : (y+1)*g.w] {
		if r != contRune {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func (g *grid) String() string {
	var b strings.Builder
	for y := 0; y < g.h; y++ {
		b.WriteString(g.row(y))
		b.WriteByte('\n')
	}
	return b.String()
}

// findBox returns the top-left corner of the box whose top border holds title.
func (g *grid) findBox(title string) (int, int, bool) {
	for y := 0; y < g.h; y++ {
		for x := 0; x < g.w; x++ {
			if g.at(x, y) != '┌' {
				continue
			}
			if strings.HasPrefix(rowFrom(g, x+2, y), " "+title+" ") {
				return x, y, true
			}
		}
	}
	return 0, 0, false
}

// rowFrom is line y as text from column x.
func rowFrom(g *grid, x, y int) string {
	var b strings.Builder
	for _, r := range g.r[y*g.w+x : (y+1)*g.w] {
		if r != contRune {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// boxSize measures the box with its top-left corner at (x, y).
func boxSize(g *grid, x, y int) (w, h int) {
	x1 := x + 1
	for x1 < g.w && g.at(x1, y) != '┐' {
		x1++
	}
	y1 := y + 1
	for y1 < g.h && g.at(x, y1) != '└' {
		y1++
	}
	return x1 - x + 1, y1 - y + 1
}

type fakePanel struct {
	mu     sync.Mutex
	title  string
	lines  []string
	fill   bool // show as many lines as there is room for, like a paper roll
	accept func(KeyPress) bool
	got    []KeyPress
	w, h   int // last size asked for
}

func (p *fakePanel) Title() string { return p.title }

func (p *fakePanel) Lines(w, h int) []Line {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.w, p.h = w, h
	var out []Line
	if p.fill {
		for i := 0; i < h; i++ {
			out = append(out, Line{Text: fmt.Sprintf("paper %d", i)})
		}
		return out
	}
	for _, s := range p.lines {
		out = append(out, Line{Text: s})
	}
	return out
}

func (p *fakePanel) HandleKey(k KeyPress) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got = append(p.got, k)
	return p.accept != nil && p.accept(k)
}

func testPanels() (*fakePanel, *fakePanel, *fakePanel) {
	paper := &fakePanel{title: "打印纸 Paper", fill: true}
	codes := &fakePanel{title: "付款码 Codes", lines: []string{"1 微信 134567890123456789", "2 支付宝 28123", "3 云闪付 62"}}
	leds := &fakePanel{title: "LEDs", lines: []string{"● ○ ○ ○  beep: ok"}}
	return paper, codes, leds
}

var testHelp = []string{"0-9 digits  d 00  . dot", "Enter OK  Esc cancel  F10 quit"}

func TestLayout80x24(t *testing.T) {
	paper, codes, _ := testPanels()
	g := newGrid(80, 24)
	c := newConsole(Options{Title: "POS 收款 sim", Panels: []Panel{paper, codes}, Help: testHelp}, g)
	if w, h := c.Size(); w != 32 || h != 12 {
		t.Fatalf("Size = %dx%d, want default 32x12", w, h)
	}
	c.SetCell(0, 0, 'A', hal.AttrNone)
	c.SetCell(2, 0, '收', hal.AttrBold)
	c.SetCell(31, 11, 'Z', hal.AttrNone)
	c.SetCell(32, 0, 'X', hal.AttrNone) // outside: ignored
	c.SetCell(0, -1, 'X', hal.AttrNone)
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", g)

	for _, tc := range []struct {
		x, y int
		r    rune
	}{
		{0, 0, '┌'}, {33, 0, '┐'}, {0, 13, '└'}, {33, 13, '┘'}, {0, 5, '│'}, {33, 5, '│'},
		{1, 1, 'A'}, {3, 1, '收'}, {4, 1, contRune}, {32, 12, 'Z'},
	} {
		if got := g.at(tc.x, tc.y); got != tc.r {
			t.Errorf("cell (%d,%d) = %q, want %q", tc.x, tc.y, got, tc.r)
		}
	}
	if g.a[1*80+3] != hal.AttrBold {
		t.Errorf("attr of 收 = %v, want bold", g.a[1*80+3])
	}
	if !strings.HasPrefix(g.row(0), "┌─ POS 收款 sim ─") {
		t.Errorf("title row = %q", g.row(0))
	}
	for i, h := range testHelp {
		if got := g.row(14 + i); !strings.HasPrefix(got, h) {
			t.Errorf("help row %d = %q, want %q", 14+i, got, h)
		}
	}
	px, py, ok := g.findBox(paper.title)
	if !ok || px != 35 || py != 0 {
		t.Fatalf("paper box at (%d,%d) found=%v, want (35,0)", px, py, ok)
	}
	pw, ph := boxSize(g, px, py)
	cx, cy, ok := g.findBox(codes.title)
	if !ok || cx != 35 || cy != ph {
		t.Fatalf("codes box at (%d,%d) found=%v, want (35,%d) under paper", cx, cy, ok, ph)
	}
	cw, ch := boxSize(g, cx, cy)
	if pw != 45 || cw != 45 {
		t.Errorf("panel widths %d, %d; want 45 (to the right edge)", pw, cw)
	}
	if ph+ch != 24 {
		t.Errorf("panel heights %d+%d, want the full 24 rows", ph, ch)
	}
	if ph <= ch {
		t.Errorf("paper box %d rows, codes %d: paper should get the most room", ph, ch)
	}
	if ch != len(codes.lines)+2 {
		t.Errorf("codes box %d rows, want %d (all its lines)", ch, len(codes.lines)+2)
	}
	if paper.w != 43 || paper.h != ph-2 {
		t.Errorf("paper asked for %dx%d, want 43x%d", paper.w, paper.h, ph-2)
	}
	if got := rowFrom(g, 36, 1); !strings.HasPrefix(got, "paper 0") {
		t.Errorf("paper first line = %q", got)
	}
	if got := rowFrom(g, cx+1, cy+1); !strings.HasPrefix(got, codes.lines[0]) {
		t.Errorf("codes first line = %q", got)
	}
}

func TestLayoutBigTwoColumns(t *testing.T) {
	paper, codes, leds := testPanels()
	g := newGrid(160, 50)
	c := newConsole(Options{Cols: 32, Rows: 12, Title: "POS", Panels: []Panel{paper, codes, leds}, Help: testHelp}, g)
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", g)
	px, py, _ := g.findBox(paper.title)
	cx, cy, _ := g.findBox(codes.title)
	lx, ly, _ := g.findBox(leds.title)
	if px != 35 || py != 0 {
		t.Fatalf("paper at (%d,%d), want (35,0)", px, py)
	}
	if cx <= px+minPanelW || cy != 0 {
		t.Fatalf("codes at (%d,%d), want a second column at the top", cx, cy)
	}
	if lx != cx || ly <= cy {
		t.Fatalf("leds at (%d,%d), want under codes at x=%d", lx, ly, cx)
	}
	pw, ph := boxSize(g, px, py)
	cw, _ := boxSize(g, cx, cy)
	_, lh := boxSize(g, lx, ly)
	if ph != 50 {
		t.Errorf("paper height %d, want the whole column of 50", ph)
	}
	if pw <= 45 || cw <= 45 {
		t.Errorf("column widths %d, %d: want wider than at 80 columns", pw, cw)
	}
	if ly+lh != 50 {
		t.Errorf("second column ends at %d, want 50", ly+lh)
	}
	if cx+cw != 160 {
		t.Errorf("second column ends at x=%d, want 160", cx+cw)
	}
}

func TestLayoutBigOnePanelIsWider(t *testing.T) {
	paper, _, _ := testPanels()
	g := newGrid(160, 50)
	c := newConsole(Options{Panels: []Panel{paper}}, g)
	_ = c.Flush()
	px, _, _ := g.findBox(paper.title)
	pw, ph := boxSize(g, px, 0)
	if pw != 160-35 || ph != 50 {
		t.Errorf("single panel %dx%d, want %dx50", pw, ph, 160-35)
	}
	if paper.h != 48 {
		t.Errorf("paper asked for %d lines, want 48", paper.h)
	}
}

func TestLayoutTiny(t *testing.T) {
	paper, codes, _ := testPanels()
	g := newGrid(40, 10)
	c := newConsole(Options{Title: "POS", Panels: []Panel{paper, codes}, Help: testHelp}, g)
	c.SetCell(0, 0, '1', 0)
	_ = c.Flush()
	t.Logf("\n%s", g)
	if g.at(0, 0) != '┌' || g.at(33, 0) != '┐' || g.at(1, 1) != '1' {
		t.Errorf("POS frame not drawn:\n%s", g)
	}
	if got := g.row(9); !strings.HasPrefix(got, "enlarge to 80x24 for device panels") {
		t.Errorf("last row = %q, want the note", got)
	}
	if strings.Contains(g.String(), "Paper") {
		t.Errorf("panels drawn in a tiny terminal")
	}

	// Room under the frame: the note goes right under it.
	g = newGrid(60, 20)
	c = newConsole(Options{Title: "POS", Panels: []Panel{paper, codes}, Help: testHelp}, g)
	_ = c.Flush()
	if got := g.row(14); !strings.HasPrefix(got, "enlarge to 80x24") {
		t.Errorf("row 14 = %q, want the note", got)
	}
	if got := g.row(15); !strings.HasPrefix(got, testHelp[0]) {
		t.Errorf("row 15 = %q, want help", got)
	}
}

func TestMinSizeFollowsDisplay(t *testing.T) {
	v := &view{cols: 64, rows: 24, panels: []Panel{&fakePanel{}}}
	if w, h := minSize(v); w != 66+1+minPanelW || h != 26 {
		t.Errorf("minSize = %dx%d", w, h)
	}
	v = &view{cols: 32, rows: 12}
	if w, h := minSize(v); w != 34 || h != 14 {
		t.Errorf("minSize without panels = %dx%d", w, h)
	}
}

func TestPanelTextTruncation(t *testing.T) {
	g := newGrid(10, 1)
	if n := putText(g, 0, 0, 5, "收款码", hal.AttrNone); n != 4 {
		t.Errorf("used %d cells, want 4", n)
	}
	if g.at(0, 0) != '收' || g.at(1, 0) != contRune || g.at(2, 0) != '款' || g.at(4, 0) != ' ' {
		t.Errorf("row = %q", g.r)
	}
	g = newGrid(10, 1)
	putText(g, 0, 0, 4, "ab\u0301c\tde", hal.AttrNone) // combining mark and tab dropped
	if got := g.row(0); got != "abcd      " {
		t.Errorf("row = %q", got)
	}

	// In a panel, a line wider than the box stops before the border.
	p := &fakePanel{title: "T", lines: []string{"一二三四五六七八九十"}}
	g = newGrid(11, 4)
	drawPanel(g, rect{0, 0, 11, 4}, p) // 9 cells inside: 4 wide runes and a blank
	if got := g.row(1); got != "│一二三四 │" {
		t.Errorf("panel row = %q", got)
	}
	if g.at(10, 1) != '│' {
		t.Errorf("border overwritten")
	}
}

func TestSetCellWideRunes(t *testing.T) {
	g := newGrid(80, 24)
	c := newConsole(Options{Cols: 4, Rows: 1}, g)
	c.SetCell(3, 0, '收', 0) // no room for the right half
	c.SetCell(0, 0, '款', 0)
	c.SetCell(1, 0, 'x', 0) // breaks 款: its left half goes too
	_ = c.Flush()
	if got := rowFrom(g, 1, 1)[:4]; got != " x  " {
		t.Errorf("row = %q, want \" x  \"", got)
	}
	c.SetCell(1, 0, '码', 0)
	c.SetCell(0, 0, '一', 0) // overwrites x..x+1, so 码's right half goes
	_ = c.Flush()
	if got := string([]rune(rowFrom(g, 1, 1))[:3]); got != "一  " {
		t.Errorf("row = %q, want \"一  \"", got)
	}
	c.Clear()
	c.SetCell(0, 0, '\n', 0) // zero width: ignored
	_ = c.Flush()
	if got := rowFrom(g, 1, 1)[:4]; got != "    " {
		t.Errorf("after Clear row = %q", got)
	}
}

func TestFlushIsDoubleBuffered(t *testing.T) {
	g := newGrid(80, 24)
	c := newConsole(Options{}, g)
	c.SetCell(0, 0, 'A', 0)
	if err := c.redraw(); err != nil { // what Refresh does
		t.Fatal(err)
	}
	if g.at(1, 1) != ' ' {
		t.Errorf("back buffer shown before Flush")
	}
	_ = c.Flush()
	if g.at(1, 1) != 'A' {
		t.Errorf("Flush did not show the back buffer")
	}
	c.SetCell(0, 0, 'B', 0)
	_ = c.redraw()
	if g.at(1, 1) != 'A' {
		t.Errorf("redraw showed the back buffer")
	}
}

func TestMapEvent(t *testing.T) {
	key := func(k termbox.Key) termbox.Event { return termbox.Event{Type: termbox.EventKey, Key: k} }
	ch := func(r rune) termbox.Event { return termbox.Event{Type: termbox.EventKey, Ch: r} }
	for _, tc := range []struct {
		ev   termbox.Event
		key  hal.Key
		kp   KeyPress
		want action
	}{
		{ch('0'), hal.Key0, KeyPress{}, actKeypad},
		{ch('7'), hal.Key7, KeyPress{}, actKeypad},
		{ch('9'), hal.Key9, KeyPress{}, actKeypad},
		{ch('d'), hal.Key00, KeyPress{}, actKeypad},
		{ch('='), hal.Key00, KeyPress{}, actKeypad},
		{ch('.'), hal.KeyDot, KeyPress{}, actKeypad},
		{ch('m'), hal.KeyMenu, KeyPress{}, actKeypad},
		{key(termbox.KeyEnter), hal.KeyEnter, KeyPress{}, actKeypad},
		{key(termbox.KeyEsc), hal.KeyCancel, KeyPress{}, actKeypad},
		{key(termbox.KeyBackspace), hal.KeyClear, KeyPress{}, actKeypad},
		{key(termbox.KeyBackspace2), hal.KeyClear, KeyPress{}, actKeypad},
		{key(termbox.KeyDelete), hal.KeyClear, KeyPress{}, actKeypad},
		{key(termbox.KeyArrowUp), hal.KeyUp, KeyPress{}, actKeypad},
		{key(termbox.KeyArrowDown), hal.KeyDown, KeyPress{}, actKeypad},
		{key(termbox.KeyF1), hal.KeyF1, KeyPress{}, actKeypad},
		{key(termbox.KeyF4), hal.KeyF4, KeyPress{}, actKeypad},
		{key(termbox.KeyCtrlC), hal.KeyNone, KeyPress{}, actQuit},
		{key(termbox.KeyCtrlQ), hal.KeyNone, KeyPress{}, actQuit},
		{key(termbox.KeyF10), hal.KeyNone, KeyPress{}, actQuit},
		{ch('a'), hal.KeyNone, KeyPress{Rune: 'a'}, actPanel},
		{ch('D'), hal.KeyNone, KeyPress{Rune: 'D'}, actPanel},
		{ch('['), hal.KeyNone, KeyPress{Rune: '['}, actPanel},
		{ch(']'), hal.KeyNone, KeyPress{Rune: ']'}, actPanel},
		{ch('收'), hal.KeyNone, KeyPress{Rune: '收'}, actPanel},
		{key(termbox.KeySpace), hal.KeyNone, KeyPress{Name: "space"}, actPanel},
		{ch(' '), hal.KeyNone, KeyPress{Name: "space"}, actPanel},
		{key(termbox.KeyTab), hal.KeyNone, KeyPress{Name: "tab"}, actPanel},
		{key(termbox.KeyArrowLeft), hal.KeyNone, KeyPress{Name: "left"}, actPanel},
		{key(termbox.KeyArrowRight), hal.KeyNone, KeyPress{Name: "right"}, actPanel},
		{key(termbox.KeyPgup), hal.KeyNone, KeyPress{Name: "pgup"}, actPanel},
		{key(termbox.KeyPgdn), hal.KeyNone, KeyPress{Name: "pgdn"}, actPanel},
		{key(termbox.KeyF5), hal.KeyNone, KeyPress{Name: "f5"}, actPanel},
		{key(termbox.KeyF9), hal.KeyNone, KeyPress{Name: "f9"}, actPanel},
		{key(termbox.KeyF11), hal.KeyNone, KeyPress{Name: "f11"}, actPanel},
		{key(termbox.KeyF12), hal.KeyNone, KeyPress{Name: "f12"}, actPanel},
		{key(termbox.KeyCtrlA), hal.KeyNone, KeyPress{}, actIgnore},
		{termbox.Event{Type: termbox.EventResize, Width: 100, Height: 30}, hal.KeyNone, KeyPress{}, actRedraw},
		{termbox.Event{Type: termbox.EventError, Err: errors.New("eof")}, hal.KeyNone, KeyPress{}, actError},
		{termbox.Event{Type: termbox.EventMouse}, hal.KeyNone, KeyPress{}, actIgnore},
	} {
		k, kp, act := mapEvent(tc.ev)
		if k != tc.key || kp != tc.kp || act != tc.want {
			t.Errorf("mapEvent(key %#x ch %q type %d) = %v %+v %d, want %v %+v %d",
				tc.ev.Key, tc.ev.Ch, tc.ev.Type, k, kp, act, tc.key, tc.kp, tc.want)
		}
	}
}

func TestPanelRouting(t *testing.T) {
	a := &fakePanel{title: "A"}
	b := &fakePanel{title: "B", accept: func(k KeyPress) bool { return k.Rune == 'x' }}
	c := &fakePanel{title: "C", accept: func(KeyPress) bool { return true }}
	con := newConsole(Options{Panels: []Panel{a, b, c}}, newGrid(80, 24))

	con.handleEvent(termbox.Event{Type: termbox.EventKey, Ch: 'x'})
	con.handleEvent(termbox.Event{Type: termbox.EventKey, Ch: 'y'})
	con.handleEvent(termbox.Event{Type: termbox.EventKey, Key: termbox.KeyPgdn})
	con.handleEvent(termbox.Event{Type: termbox.EventKey, Ch: '5'}) // keypad: no panel sees it

	want := func(p *fakePanel, ks ...KeyPress) {
		t.Helper()
		if fmt.Sprint(p.got) != fmt.Sprint(ks) {
			t.Errorf("panel %s got %+v, want %+v", p.title, p.got, ks)
		}
	}
	x, y, pg := KeyPress{Rune: 'x'}, KeyPress{Rune: 'y'}, KeyPress{Name: "pgdn"}
	want(a, x, y, pg)
	want(b, x, y, pg)
	want(c, y, pg)

	k, err := con.ReadKey(context.Background())
	if err != nil || k.Key != hal.Key5 {
		t.Errorf("ReadKey = %v, %v; want 5", k.Key, err)
	}
	select {
	case <-con.refresh:
	default:
		t.Errorf("a consumed panel key did not ask for a redraw")
	}
	if routeKey(nil, x) {
		t.Errorf("routeKey with no panels consumed a key")
	}
}

func TestReadKeyQuitAndCancel(t *testing.T) {
	c := newConsole(Options{}, newGrid(80, 24))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(10 * time.Millisecond)
		cancel()
	}()
	if _, err := c.ReadKey(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("ReadKey after cancel: %v", err)
	}

	c.handleEvent(termbox.Event{Type: termbox.EventKey, Ch: '1'})
	go c.handleEvent(termbox.Event{Type: termbox.EventKey, Key: termbox.KeyF10})
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done not closed after F10")
	}
	if _, err := c.ReadKey(context.Background()); !errors.Is(err, ErrQuit) {
		t.Errorf("ReadKey after quit: %v, want ErrQuit even with a key buffered", err)
	}
	c.handleEvent(termbox.Event{Type: termbox.EventKey, Key: termbox.KeyCtrlC}) // second quit is harmless

	c = newConsole(Options{}, newGrid(80, 24))
	c.handleEvent(termbox.Event{Type: termbox.EventError, Err: errors.New("tty gone")})
	<-c.Done()
	if _, err := c.ReadKey(context.Background()); err == nil || !strings.Contains(err.Error(), "tty gone") {
		t.Errorf("ReadKey after input error: %v", err)
	}

	c = newConsole(Options{}, newGrid(80, 24))
	done := make(chan error)
	go func() {
		_, err := c.ReadKey(context.Background())
		done <- err
	}()
	c.Close()
	c.Close()
	if err := <-done; !errors.Is(err, ErrQuit) {
		t.Errorf("ReadKey across Close: %v", err)
	}
	if err := c.Flush(); err == nil {
		t.Errorf("Flush after Close succeeded")
	}
}

func TestKeyBufferDropsWhenFull(t *testing.T) {
	c := newConsole(Options{}, newGrid(80, 24))
	for i := 0; i < keyBuffer+10; i++ {
		c.handleEvent(termbox.Event{Type: termbox.EventKey, Ch: '1'}) // must not block
	}
	if len(c.keys) != keyBuffer {
		t.Errorf("%d keys buffered, want %d", len(c.keys), keyBuffer)
	}
}

func TestRefreshRedrawsAsync(t *testing.T) {
	paper, _, _ := testPanels()
	g := newGrid(80, 24)
	c := newConsole(Options{Panels: []Panel{paper}}, g)
	c.wg.Add(1)
	go c.render()
	defer c.Close()

	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				c.Refresh()
				c.SetCell(j%32, 0, 'r', 0)
				_ = c.Flush()
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		n := g.flushes
		c.mu.Unlock()
		if n > 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d redraws", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.handleEvent(termbox.Event{Type: termbox.EventResize})
	time.Sleep(20 * time.Millisecond)
}

func TestTermAttr(t *testing.T) {
	for _, tc := range []struct {
		a  hal.Attr
		fg termbox.Attribute
	}{
		{hal.AttrNone, termbox.ColorDefault},
		{hal.AttrBold, termbox.AttrBold},
		{hal.AttrReverse, termbox.AttrReverse},
		{hal.AttrError, termbox.ColorRed},
		{hal.AttrOK | hal.AttrBold, termbox.ColorGreen | termbox.AttrBold},
		{hal.AttrDim, termbox.ColorDarkGray},
		{hal.AttrError | hal.AttrDim | hal.AttrReverse, termbox.ColorRed | termbox.AttrReverse},
	} {
		fg, bg := termAttr(tc.a)
		if fg != tc.fg || bg != termbox.ColorDefault {
			t.Errorf("termAttr(%v) = %#x/%#x, want %#x", tc.a, fg, bg, tc.fg)
		}
	}
	if outputMode("tmux-256color", "") != termbox.Output256 ||
		outputMode("screen", "") != termbox.OutputNormal ||
		outputMode("xterm", "truecolor") != termbox.Output256 {
		t.Errorf("outputMode picks wrong modes")
	}
}

// The merchant's QR drawn with half blocks must read back as the same
// text: turn the characters into pixels as a phone camera sees the
// screen, and decode.
func TestPictureDecodes(t *testing.T) {
	const payload = "https://qr.alipay.com/bax2026030200000001"
	b := qrBitmap(t, payload)
	g := newGrid(80, 24)
	render(g, &view{cols: 32, rows: 12, cells: make([]cell, 32*12), picture: b})
	// Light-on-dark terminal: a block is light. Cell = 4x8 px, halves 4x4.
	const cw, hh = 4, 4
	img := image.NewGray(image.Rect(0, 0, 80*cw, 24*2*hh))
	for y := 0; y < 24; y++ {
		for x := 0; x < 80; x++ {
			top, bottom := false, false
			switch g.at(x, y) {
			case '█':
				top, bottom = true, true
			case '▀':
				top = true
			case '▄':
				bottom = true
			}
			for py := 0; py < 2*hh; py++ {
				on := top
				if py >= hh {
					on = bottom
				}
				for px := 0; px < cw; px++ {
					if on {
						img.SetGray(x*cw+px, y*2*hh+py, color.Gray{Y: 255})
					}
				}
			}
		}
	}
	bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
	r, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		t.Fatalf("drawn QR does not decode: %v\n%s", err, g)
	}
	if r.GetText() != payload {
		t.Fatalf("decoded %q", r.GetText())
	}
}

// companion is a fakePanel that stays with a picture, as the phone does.
type companion struct{ fakePanel }

func (c *companion) WithPicture() bool { return true }

// TestPictureGetsItsOwnBox80x24: at 80x24 with the simulator's five
// panels, the merchant's QR sits in a box of its own with the phone panel
// (all three keys) under it: it covers no panel, and it still decodes.
func TestPictureGetsItsOwnBox80x24(t *testing.T) {
	paper, codes, leds := testPanels()
	cards := &fakePanel{title: "Cards", lines: []string{"银联借记卡 **0128"}}
	phone := &companion{fakePanel{title: "Customer phone", lines: []string{"y=Alipay  u=WeChat  o=UnionPay"}}}
	b := qrBitmap(t, "https://wxpay.example/q/2026120200000001")
	g := newGrid(80, 24)
	render(g, &view{cols: 32, rows: 12, cells: make([]cell, 32*12), title: "POS",
		panels: []Panel{paper, codes, cards, leds, phone}, picture: b})
	t.Logf("\n%s", g)
	qx, qy, ok := g.findBox(PictureTitle)
	if !ok || qx != 35 || qy != 0 {
		t.Fatalf("picture box at (%d,%d) found %v", qx, qy, ok)
	}
	_, qh := boxSize(g, qx, qy)
	px, py, ok := g.findBox(phone.title)
	if !ok || py != qh || px != 35 {
		t.Fatalf("phone box at (%d,%d) found %v, want under the picture (35,%d)", px, py, ok, qh)
	}
	if got := rowFrom(g, px+1, py+1); !strings.Contains(got, "o=UnionPay") {
		t.Errorf("phone keys cut: %q", got)
	}
	// No panel drawn under the picture (it would show through or be hidden).
	for _, p := range []*fakePanel{paper, codes, cards, leds} {
		if x, y, ok := g.findBox(p.title); ok && y < qh {
			t.Errorf("panel %q at (%d,%d) under the picture", p.title, x, y)
		}
	}
}

func TestWrapNeverCutsAWord(t *testing.T) {
	msg := "! card reader: not armed for magstripe; the screen does not want a card"
	lines := Wrap(msg, 20)
	if strings.Join(lines, " ") != msg {
		t.Fatalf("text changed: %q", lines)
	}
	for _, l := range lines {
		if hal.StringWidth(l) > 20 {
			t.Errorf("line %q wider than 20", l)
		}
	}
	if got := Wrap("https://qr.95516.com/00010000/0123456789", 16); len(got) != 3 || got[0] != "https://qr.95516" {
		t.Errorf("a long word: %q", got)
	}
	if got := Wrap("", 10); len(got) != 1 || got[0] != "" {
		t.Errorf("empty: %q", got)
	}
}

// qrBitmap is payload as a QR, one pixel a module, no quiet zone: what
// the terminal hands the display.
func qrBitmap(t *testing.T, payload string) *hal.Bitmap {
	t.Helper()
	m, err := qrcode.NewQRCodeWriter().Encode(payload, gozxing.BarcodeFormat_QR_CODE, 0, 0,
		map[gozxing.EncodeHintType]any{gozxing.EncodeHintType_MARGIN: 0})
	if err != nil {
		t.Fatal(err)
	}
	b := &hal.Bitmap{Width: m.GetWidth(), Height: m.GetHeight(), Pix: make([]byte, m.GetWidth()*m.GetHeight())}
	for y := 0; y < b.Height; y++ {
		for x := 0; x < b.Width; x++ {
			if m.Get(x, y) {
				b.Pix[y*b.Width+x] = 1
			}
		}
	}
	return b
}

// TestEscapeSequenceInPieces: a key sequence that a serial line delivers
// in pieces is still one key; an Escape on its own, or followed by what
// no sequence continues with, stays Escape.
func TestEscapeSequenceInPieces(t *testing.T) {
	esc := termbox.Event{Type: termbox.EventKey, Key: termbox.KeyEsc}
	r := func(s string) []termbox.Event {
		var evs []termbox.Event
		for _, c := range s {
			evs = append(evs, termbox.Event{Type: termbox.EventKey, Ch: c})
		}
		return evs
	}
	for _, tc := range []struct {
		name string
		in   []termbox.Event
		out  []termbox.Event
		held bool // still waiting at the end
	}{
		{"F10 split after ESC", append([]termbox.Event{esc}, r("[21~")...), []termbox.Event{{Type: termbox.EventKey, Key: termbox.KeyF10}}, false},
		{"F1 of the Linux console", append([]termbox.Event{esc}, r("[[A")...), []termbox.Event{{Type: termbox.EventKey, Key: termbox.KeyF1}}, false},
		{"up, application mode", append([]termbox.Event{esc}, r("OA")...), []termbox.Event{{Type: termbox.EventKey, Key: termbox.KeyArrowUp}}, false},
		{"Escape then a digit", append([]termbox.Event{esc}, r("1")...), append([]termbox.Event{esc}, r("1")...), false},
		{"Escape, '[', then a digit no key sends", append([]termbox.Event{esc}, r("[9")...), append([]termbox.Event{esc}, r("[9")...), false},
		{"Escape then Enter", []termbox.Event{esc, {Type: termbox.EventKey, Key: termbox.KeyEnter}}, []termbox.Event{esc, {Type: termbox.EventKey, Key: termbox.KeyEnter}}, false},
		{"two Escapes", []termbox.Event{esc, esc}, []termbox.Event{esc}, true},
		{"a lone Escape waits", []termbox.Event{esc}, nil, true},
		{"a whole F10 from termbox", []termbox.Event{{Type: termbox.EventKey, Key: termbox.KeyF10}}, []termbox.Event{{Type: termbox.EventKey, Key: termbox.KeyF10}}, false},
	} {
		var j escJoiner
		var out []termbox.Event
		var wait bool
		for _, ev := range tc.in {
			var o []termbox.Event
			o, wait = j.feed(ev)
			out = append(out, o...)
		}
		if fmt.Sprint(out) != fmt.Sprint(tc.out) || wait != tc.held {
			t.Errorf("%s: %v, waiting %v; want %v, waiting %v", tc.name, out, wait, tc.out, tc.held)
		}
	}

	// Through the console: a lone Escape is Cancel once escWait passed,
	// and F10 in pieces quits rather than opening menu 2.1.
	c := newConsole(Options{}, newGrid(80, 24))
	c.input(esc)
	select {
	case k := <-c.keys:
		if k.Key != hal.KeyCancel {
			t.Errorf("a lone Escape gave %v", k.Key)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a lone Escape never became Cancel")
	}
	c.input(esc)
	time.Sleep(escWait / 4)
	for _, ev := range r("[21~") {
		c.input(ev)
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("F10 in pieces did not quit")
	}
	if len(c.keys) != 0 {
		t.Errorf("F10 in pieces also pressed %d keys", len(c.keys))
	}
}
