package escpos

import (
	"errors"

	"github.com/shoukuan/pos/hal"
)

// Errors a job can stop with besides hal.ErrNoPaper.
var (
	// ErrCoverOpen: the paper cover is open; close it and print again.
	ErrCoverOpen = hal.ErrCoverOpen
	// ErrPrinterError: the printer reports a fault (cutter jam, head too
	// hot, or an unrecoverable error).
	ErrPrinterError = errors.New("printer reports a fault")
)

// realTime is DLE EOT n. The printer answers it at once, even while
// offline or in the middle of another command's data, which is why the
// driver sends it only between commands.
func realTime(n byte) []byte { return []byte{0x10, 0x04, n} }

// isRealTimeReply: every DLE EOT answer has the pattern 0xx1xx10.
func isRealTimeReply(b byte) bool { return b&0x93 == 0x12 }

// isSyncReply: a GS r 1 answer has bits 4 and 7 clear, which tells it
// from a DLE EOT answer (bit 4 set) arriving at the same time.
func isSyncReply(b byte) bool { return b&0x90 == 0 }

// rawStatus is the four DLE EOT answers.
type rawStatus struct {
	printer, offline, errs, paper byte
}

func (r rawStatus) status() hal.PrinterStatus {
	return hal.PrinterStatus{
		Online:     r.printer&0x08 == 0,
		CoverOpen:  r.offline&0x04 != 0,
		PaperOut:   r.offline&0x20 != 0 || r.paper&0x60 != 0,
		PaperLow:   r.paper&0x0c != 0,
		Overheated: r.errs&0x40 != 0,
	}
}

// faulted is a fault other than paper, cover or heat: the cutter (bit 3)
// or an unrecoverable error (bit 5).
func (r rawStatus) faulted() bool { return r.errs&0x28 != 0 }

// statusErr is the error a job stops with for st, nil when it can print.
func statusErr(r rawStatus) error {
	st := r.status()
	switch {
	case st.PaperOut:
		return hal.ErrNoPaper
	case st.CoverOpen:
		return ErrCoverOpen
	case st.Overheated:
		return errors.Join(ErrPrinterError, errors.New("print head too hot: wait a minute"))
	case r.faulted():
		return errors.Join(ErrPrinterError, errors.New("cutter jam or unrecoverable error: open the cover and clear it"))
	case !st.Online:
		return errors.Join(ErrPrinterError, errors.New("printer offline"))
	}
	return nil
}
