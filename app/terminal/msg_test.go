package terminal

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoukuan/pos/hal"
)

var update = flag.Bool("update", false, "rewrite docs/errors.md from the table")

func TestEveryTextHasBothLanguages(t *testing.T) {
	for _, v := range allMsgs {
		if strings.TrimSpace(v.zh) == "" || strings.TrimSpace(v.en) == "" {
			t.Errorf("missing translation: %+v", v)
		}
		if strings.Count(v.zh, "%") != strings.Count(v.en, "%") {
			t.Errorf("format verbs differ: %+v", v)
		}
	}
}

// A code and its title fit one line of the usual 32-column display.
func TestErrorTitlesFitTheScreen(t *testing.T) {
	seen := map[string]bool{}
	for _, e := range ErrCodes {
		if seen[e.Code] {
			t.Errorf("duplicate code %s", e.Code)
		}
		seen[e.Code] = true
		for _, l := range []Lang{ZH, EN} {
			if w := hal.StringWidth(e.Code + " " + e.Title.in(l)); w > 32 {
				t.Errorf("%s %s title is %d cells", e.Code, l, w)
			}
		}
	}
}

func errorDoc() string {
	var b strings.Builder
	b.WriteString("# Terminal error codes\n\n")
	b.WriteString("The terminal shows these codes on its error screens. Generated from\n")
	b.WriteString("app/terminal/errcodes.go by `go test ./app/terminal -run TestErrorDoc -update`.\n\n")
	b.WriteString("| Code | What happened | 中文 | What to do | 处理方法 |\n|---|---|---|---|---|\n")
	for _, e := range ErrCodes {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", e.Code, e.Title.en, e.Title.zh, e.Fix.en, e.Fix.zh)
	}
	return b.String()
}

func TestErrorDoc(t *testing.T) {
	path := filepath.Join("..", "..", "docs", "errors.md")
	want := errorDoc()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("docs/errors.md is out of date with errcodes.go: run go test ./app/terminal -run TestErrorDoc -update")
	}
}
