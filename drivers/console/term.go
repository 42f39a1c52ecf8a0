package console

import (
	"fmt"
	"os"
	"strings"

	"github.com/nsf/termbox-go"

	"github.com/shoukuan/pos/hal"
)

// screen is a canvas that can be cleared and shown: the terminal, or a grid
// in tests.
type screen interface {
	canvas
	// clear blanks the canvas and picks up a new terminal size.
	clear()
	flush() error
}

// termScreen draws on the terminal through termbox.
type termScreen struct{}

func (termScreen) set(x, y int, r rune, a hal.Attr) {
	if r == contRune {
		// termbox skips the cell after a rune it knows is wide; a blank
		// keeps the row aligned if its width table disagrees with hal's.
		r = ' '
	}
	fg, bg := termAttr(a)
	termbox.SetCell(x, y, r, fg, bg)
}

func (termScreen) size() (int, int) { return termbox.Size() }

func (termScreen) clear() { _ = termbox.Clear(termbox.ColorDefault, termbox.ColorDefault) }

func (termScreen) flush() error { return termbox.Flush() }

// termAttr maps a cell look to termbox colours. Dark grey (SGR 90) stands
// for dim because termbox's dim needs a terminfo entry many terminals lack.
func termAttr(a hal.Attr) (fg, bg termbox.Attribute) {
	fg = termbox.ColorDefault
	switch {
	case a&hal.AttrError != 0:
		fg = termbox.ColorRed
	case a&hal.AttrOK != 0:
		fg = termbox.ColorGreen
	case a&hal.AttrDim != 0:
		fg = termbox.ColorDarkGray
	}
	if a&hal.AttrBold != 0 {
		fg |= termbox.AttrBold
	}
	if a&hal.AttrReverse != 0 {
		fg |= termbox.AttrReverse
	}
	return fg, termbox.ColorDefault
}

// outputMode picks 256 colours when the terminal says it has them.
func outputMode(term, colorterm string) termbox.OutputMode {
	if strings.Contains(term, "256color") || colorterm != "" {
		return termbox.Output256
	}
	return termbox.OutputNormal
}

// initTerm starts termbox. A tmux TERM without a terminfo entry on this
// machine falls back to screen, which tmux emulates and termbox knows.
func initTerm() error {
	err := termbox.Init()
	if err == nil {
		return nil
	}
	term := os.Getenv("TERM")
	if strings.HasPrefix(term, "tmux") && strings.Contains(err.Error(), "terminfo") {
		fallback := "screen"
		if strings.Contains(term, "256color") {
			fallback = "screen-256color"
		}
		os.Setenv("TERM", fallback)
		if termbox.Init() == nil {
			return nil
		}
		os.Setenv("TERM", term)
	}
	return fmt.Errorf("console: cannot open the terminal (a tty is required): %w", err)
}
