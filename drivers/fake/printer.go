package fake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/shoukuan/pos/drivers/glyph"
	"github.com/shoukuan/pos/drivers/paper"
	"github.com/shoukuan/pos/hal"
)

// PrinterOptions configures a fake printer.
type PrinterOptions struct {
	Dir      string // where each job is written as NNNNNN-<slug>.txt and .png; "" writes nothing
	Columns  int    // characters per line at normal size; 32 for 58 mm paper (default 32 when 0)
	FontPath string // GNU Unifont .hex file; "" means glyph.DefaultPath
}

// PrintedJob is one document that came out of the printer.
type PrintedJob struct {
	Title    string
	Lines    []string // its Layout
	TextPath string   // the saved text; "" when not saved
	PNGPath  string   // the saved raster; "" when not saved
}

// Printer is a receipt printer on paper of a fixed width. It keeps the
// paper roll in memory and, with a Dir, saves each job as text and PNG.
// It is safe for concurrent use; jobs print one at a time, in order.
type Printer struct {
	cols     int
	dir      string
	fontPath string

	fontOnce sync.Once
	font     *glyph.Font // nil when the font could not be loaded: built-in ASCII
	fontErr  error

	jobMu   sync.Mutex // one job at a time, so roll, numbers and files agree
	nextNum int        // number of the next saved job; 0 until Dir is scanned

	mu       sync.Mutex
	paperOut bool
	roll     []string
	jobs     []PrintedJob
	onChange func()
}

var (
	_ hal.Printer    = (*Printer)(nil)
	_ hal.SelfTester = (*Printer)(nil)
)

// NewPrinter returns a printer with paper loaded. Nothing touches the disk
// until the first job or self-test.
func NewPrinter(o PrinterOptions) *Printer {
	fp := o.FontPath
	if fp == "" {
		fp = glyph.DefaultPath
	}
	return &Printer{cols: paper.Cols(o.Columns), dir: o.Dir, fontPath: fp}
}

// Columns is the paper width in normal-size characters, for Layout.
func (p *Printer) Columns() int { return p.cols }

// Print prints doc. An invalid document fails before anything prints;
// with the paper out Print returns an error wrapping hal.ErrNoPaper and
// prints nothing, so the application can ask for paper and print again.
//
// Saving the files comes after printing: if it fails, the job is on the
// roll and in Jobs (paper that came out stays out) and Print returns an
// error naming the file, so a broken Dir is noticed rather than hidden.
func (p *Printer) Print(ctx context.Context, doc hal.Document) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := printerValidate(doc, p.cols); err != nil {
		return fmt.Errorf("printer: %w", err)
	}
	lines := paper.Layout(doc, p.cols)
	var pngData []byte
	if p.dir != "" {
		// Rendered before taking the printer so that concurrent jobs
		// rasterise in parallel and only the bookkeeping is serial.
		var buf bytes.Buffer
		if err := png.Encode(&buf, RenderPNG(doc, p.cols, p.loadFont())); err != nil {
			return fmt.Errorf("printer: encoding PNG of %q: %w", doc.Title, err)
		}
		pngData = buf.Bytes()
	}

	f, err := p.printJob(ctx, doc.Title, lines, pngData)
	if f != nil {
		f() // after both locks, so the callback may use the printer freely
	}
	return err
}

// printJob is the serial part of Print: paper check, files, roll. It
// returns the change callback to run when a job came out.
func (p *Printer) printJob(ctx context.Context, title string, lines []string, pngData []byte) (func(), error) {
	p.jobMu.Lock()
	defer p.jobMu.Unlock()
	if err := ctx.Err(); err != nil { // given up while another job printed
		return nil, err
	}
	p.mu.Lock()
	out := p.paperOut
	p.mu.Unlock()
	if out {
		return nil, fmt.Errorf("printer: %q not printed: %w", title, hal.ErrNoPaper)
	}

	job := PrintedJob{Title: title, Lines: lines}
	var werr error
	if p.dir != "" {
		job.TextPath, job.PNGPath, werr = p.save(title, lines, pngData)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.roll = append(p.roll, lines...)
	p.jobs = append(p.jobs, job)
	return p.onChange, werr
}

// save writes one job's files. Each is written to a temporary file and
// renamed, so that a crash never leaves half a receipt under the real name.
func (p *Printer) save(title string, lines []string, pngData []byte) (txtPath, pngPath string, err error) {
	if err := os.MkdirAll(p.dir, 0o700); err != nil {
		return "", "", fmt.Errorf("printer: printed, but cannot save receipts in %s: %w", p.dir, err)
	}
	if p.nextNum == 0 {
		// Continue after the jobs already there so that a restarted
		// simulator never overwrites earlier receipts.
		p.nextNum = printerLastNumber(p.dir) + 1
	}
	base := filepath.Join(p.dir, fmt.Sprintf("%06d-%s", p.nextNum, printerSlug(title)))
	p.nextNum++

	var text strings.Builder
	for _, l := range lines {
		text.WriteString(l)
		text.WriteByte('\n')
	}
	txtPath = base + ".txt"
	if err := printerWriteFile(txtPath, []byte(text.String())); err != nil {
		return "", "", fmt.Errorf("printer: printed, but saving %s failed: %w", txtPath, err)
	}
	pngPath = base + ".png"
	if err := printerWriteFile(pngPath, pngData); err != nil {
		return txtPath, "", fmt.Errorf("printer: printed, but saving %s failed: %w", pngPath, err)
	}
	return txtPath, pngPath, nil
}

func printerWriteFile(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	// CreateTemp makes it 0600: receipts carry card numbers (masked) and
	// amounts, and stay private to the terminal's user like the journal.
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// printerLastNumber is the highest job number among dir's NNNNNN-*.txt and
// .png files, 0 when there are none.
func printerLastNumber(dir string) int {
	entries, _ := os.ReadDir(dir)
	last := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".txt") && !strings.HasSuffix(name, ".png") {
			continue
		}
		digits, _, ok := strings.Cut(name, "-")
		if !ok || len(digits) < 6 || strings.Trim(digits, "0123456789") != "" {
			continue
		}
		if n, err := strconv.Atoi(digits); err == nil && n > last {
			last = n
		}
	}
	return last
}

// printerSlug makes a file name part from a job title: lowercase ASCII
// letters and digits, other runs of characters as one hyphen, at most 40
// characters, "job" when nothing is left (a title in Chinese only).
func printerSlug(title string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(title) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
			continue
		}
		hyphen = true
	}
	s := b.String()
	if len(s) > 40 {
		s = strings.TrimRight(s[:40], "-")
	}
	if s == "" {
		return "job"
	}
	return s
}

// printerValidate rejects what a real printer driver could not print, so
// that a bad document prints nothing rather than half a receipt.
func printerValidate(doc hal.Document, cols int) error {
	for i, e := range doc.Elements {
		if err := printerCheckElement(e, cols); err != nil {
			return fmt.Errorf("invalid document %q: element %d: %w", doc.Title, i, err)
		}
	}
	return nil
}

func printerCheckElement(e hal.Element, cols int) error {
	switch e.Kind {
	case hal.KindText:
		if e.Style.Size > hal.SizeDouble {
			return fmt.Errorf("unknown text size %d", e.Style.Size)
		}
		if e.Style.Align > hal.AlignRight {
			return fmt.Errorf("unknown alignment %d", e.Style.Align)
		}
	case hal.KindQR:
		if e.Text == "" {
			return errors.New("QR code with empty text")
		}
		m, err := pngQR(e.Text)
		if err != nil {
			return fmt.Errorf("QR text of %d bytes cannot be encoded: %w", len(e.Text), err)
		}
		if _, ok := pngModulePx(m.GetWidth(), cols); !ok {
			return fmt.Errorf("QR text of %d bytes is too long: %d modules do not fit %d columns at %d dots per module",
				len(e.Text), m.GetWidth(), cols, pngMinModPx)
		}
	case hal.KindImage:
		b := e.Image
		switch {
		case b == nil:
			return errors.New("image without a bitmap")
		case b.Width <= 0 || b.Height <= 0 || b.Width > pngMaxDim || b.Height > pngMaxDim:
			return fmt.Errorf("image size %dx%d out of range", b.Width, b.Height)
		case len(b.Pix) != b.Width*b.Height:
			return fmt.Errorf("image %dx%d has %d pixels, want %d", b.Width, b.Height, len(b.Pix), b.Width*b.Height)
		}
	case hal.KindSeparator, hal.KindFeed, hal.KindCut:
	default:
		return fmt.Errorf("unknown element kind %d", e.Kind)
	}
	return nil
}

// loadFont loads the font on first use; nil means the built-in font.
func (p *Printer) loadFont() *glyph.Font {
	p.fontOnce.Do(func() {
		if p.fontPath == glyph.DefaultPath {
			p.font, p.fontErr = glyph.Default() // shared with the other devices
			return
		}
		p.font, p.fontErr = glyph.Load(p.fontPath)
	})
	return p.font
}

// Status reports the printer online, with paper as last set.
func (p *Printer) Status() hal.PrinterStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return hal.PrinterStatus{Online: true, PaperOut: p.paperOut}
}

// SetPaperOut takes the paper out (true) or loads it (false).
func (p *Printer) SetPaperOut(out bool) {
	p.mu.Lock()
	changed := p.paperOut != out
	p.paperOut = out
	f := p.onChange
	p.mu.Unlock()
	if changed && f != nil {
		f()
	}
}

// Roll returns every line printed so far, oldest first.
func (p *Printer) Roll() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.roll)
}

// Jobs returns the jobs printed so far, oldest first.
func (p *Printer) Jobs() []PrintedJob {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := slices.Clone(p.jobs)
	for i := range out {
		out[i].Lines = slices.Clone(out[i].Lines)
	}
	return out
}

// OnChange sets a callback run after every job and every paper change. It
// runs outside the printer's lock, so it may call the printer.
func (p *Printer) OnChange(f func()) {
	p.mu.Lock()
	p.onChange = f
	p.mu.Unlock()
}

// SelfTest checks paper and, with a Dir, that receipts can be saved there.
// A missing font is reported in Detail but passes: receipts still print,
// in the built-in ASCII font.
func (p *Printer) SelfTest(ctx context.Context) hal.SelfTestResult {
	start := time.Now()
	res := hal.SelfTestResult{Device: "printer"}
	var notes []string
	fail := func(detail string) hal.SelfTestResult {
		res.Detail = detail
		res.Took = time.Since(start)
		return res
	}
	if err := ctx.Err(); err != nil {
		return fail(err.Error())
	}
	if p.Status().PaperOut {
		return fail("paper out: load paper")
	}
	notes = append(notes, fmt.Sprintf("%d columns", p.cols))
	if p.dir == "" {
		notes = append(notes, "receipts not saved")
	} else {
		if err := printerCheckDir(p.dir); err != nil {
			return fail(fmt.Sprintf("cannot save receipts in %s: %v", p.dir, err))
		}
		notes = append(notes, "saving to "+p.dir)
	}
	if f := p.loadFont(); f != nil {
		notes = append(notes, fmt.Sprintf("font %s (%d glyphs)", p.fontPath, f.Len()))
	} else {
		notes = append(notes, fmt.Sprintf("font missing (%v): PNG receipts use the built-in ASCII font", p.fontErr))
	}
	res.OK = true
	res.Detail = strings.Join(notes, "; ")
	res.Took = time.Since(start)
	return res
}

func printerCheckDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".selftest-*.tmp")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
