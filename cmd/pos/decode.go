package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/shoukuan/pos/drivers/imagescan"
	"github.com/shoukuan/pos/hal"
)

const decodeUsage = `usage: pos decode [--json] IMAGE...

Reads the QR or Code 128 code in each PNG or JPEG file with the camera
scanner's decode pipeline. One line per file, in the order given:

  FILE<TAB>SYMBOLOGY<TAB>TEXT     SYMBOLOGY is QR_CODE or CODE_128
  FILE<TAB>-<TAB>ERROR            the file did not decode

In FILE and TEXT, a backslash, tab, CR, LF, other control characters and
bytes that are not UTF-8 are escaped (\\ \t \r \n \xNN), so that each file
stays on one line. --json gives the exact text: one JSON object per line,
always with the four keys file, symbology, text and error; error is ""
when the file decoded, symbology and text are "" when it did not.

Exit status: 0 if every file decoded, 1 if any did not, 2 on a usage error.
`

// decodeResult is one line of `pos decode --json`.
type decodeResult struct {
	File      string `json:"file"`
	Symbology string `json:"symbology"`
	Text      string `json:"text"`
	Error     string `json:"error"`
}

// cmdDecode returns the exit status itself: "some file did not decode"
// (1) is an answer, not a failure of the command.
func cmdDecode(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("decode", stderr)
	asJSON := fs.Bool("json", false, "one JSON object per file")
	fs.Usage = func() { fmt.Fprint(stderr, decodeUsage) }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fmt.Fprint(stderr, "pos decode: name one or more image files\n\n"+decodeUsage)
		return 2
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false) // payment URLs keep their & and <>
	d := imagescan.NewDecoder()
	status := 0
	for _, path := range fs.Args() {
		r := decodeResult{File: path}
		c, err := decodeImage(d, path)
		if err != nil {
			r.Error = err.Error()
			status = 1
		} else {
			r.Symbology, r.Text = string(c.Symbology), c.Text
		}
		if *asJSON {
			if err := enc.Encode(r); err != nil {
				fmt.Fprintln(stderr, "pos decode:", err)
				return 1
			}
			continue
		}
		second, third := r.Symbology, r.Text
		if err != nil {
			second, third = "-", r.Error
		}
		fmt.Fprintf(stdout, "%s\t%s\t%s\n", escapeField(path), second, escapeField(third))
	}
	return status
}

// decodeImage reads one file; the error does not repeat the path, which
// is in the first column already.
func decodeImage(d *imagescan.Decoder, path string) (hal.Code, error) {
	f, err := imagescan.ReadFrame(path)
	if err != nil {
		return hal.Code{}, err
	}
	c, err := d.DecodeFrame(f)
	if errors.Is(err, imagescan.ErrNoCode) {
		err = imagescan.ErrNoCode // without the decoder's detail
	}
	return c, err
}

// escapeField keeps a value on one tab-separated line.
func escapeField(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
