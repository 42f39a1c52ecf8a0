package terminal

import (
	"context"

	"github.com/shoukuan/pos/app/ui"
	"github.com/shoukuan/pos/hal"
)

// busy is shown while a job runs off the loop: keys are ignored, so a
// cashier cannot start a second transaction on top of the first.
type busy struct {
	title msg
	text  msg
}

func (s *busy) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(s.title))
	c.Center(c.Rows()/2, t.tr(s.text), hal.AttrBold)
}

func (s *busy) Key(*Terminal, hal.Key) {}

var mProcessing = m("处理中,请稍候...", "Processing, please wait...")

// work shows a busy screen, runs job off the loop and done on it.
func (t *Terminal) work(title, text msg, job func(ctx context.Context) any, done func(any)) {
	t.Show(&busy{title: title, text: text})
	t.Go(func() any { return job(context.Background()) }, done)
}

// printDocs prints documents in order, off the loop. On a paper-out the
// rest wait: the cashier loads paper and presses Enter, or Cancel to
// leave them (skip runs, or then when skip is nil). The transaction
// stands either way.
func (t *Terminal) printDocs(title msg, docs []hal.Document, then func(*Terminal), skip ...func(*Terminal)) {
	if t.dev.Printer == nil || len(docs) == 0 {
		then(t)
		return
	}
	later := then
	if len(skip) > 0 {
		later = skip[0]
	}
	t.work(title, mPrinting, func(ctx context.Context) any {
		for i, d := range docs {
			if err := t.dev.Printer.Print(ctx, d); err != nil {
				return printStop{left: docs[i:], err: err}
			}
		}
		return printStop{}
	}, func(v any) {
		st := v.(printStop)
		if st.err == nil {
			then(t)
			return
		}
		t.log.Warn("printing stopped", "err", st.err, "left", len(st.left))
		code := printCode(st.err)
		if t.dev.Indicator != nil {
			t.dev.Indicator.Beep(hal.BeepAttention)
		}
		t.Show(&printRetry{title: title, code: code, retry: func(t *Terminal) { t.printDocs(title, st.left, then, later) }, skip: later})
	})
}

type printStop struct {
	left []hal.Document
	err  error
}

var (
	mPrinting   = m("正在打印...", "Printing...")
	mPrintRetry = m("确认=继续打印 取消=稍后重打", "Enter=print  Cancel=reprint later")
)

type printRetry struct {
	title       msg
	code        ErrCode
	retry, skip func(*Terminal)
}

func (s *printRetry) Draw(t *Terminal, c *ui.Canvas) {
	c.Title(t.tr(s.title))
	c.Text(0, 2, s.code.Code+" "+t.tr(s.code.Title), hal.AttrError|hal.AttrBold)
	c.Paragraph(3, c.Rows()-1, t.tr(s.code.Fix), 0)
	c.Footer(t.tr(mPrintRetry))
}

func (s *printRetry) Key(t *Terminal, k hal.Key) {
	switch k {
	case hal.KeyEnter:
		s.retry(t)
	case hal.KeyCancel:
		s.skip(t)
	}
}
