// Package hal holds the device contracts of the terminal: interfaces and
// value types only, standard library only. Drivers implement them; the
// application uses nothing else to reach hardware.
//
// Input devices follow one pattern: the application arms a device when a
// screen wants its input (Enable), and a reader goroutine blocks in Read
// until something arrives, the context ends, or the device fails. Arming
// matters on real hardware: a UART scanner's trigger or a PN532's polling
// loop should run only while a payment screen waits for them.
package hal

import (
	"context"
	"time"
)

// Keypad delivers key presses. It is always armed.
type Keypad interface {
	ReadKey(ctx context.Context) (KeyEvent, error)
}

// Display is a grid of cells. A wide (CJK) rune occupies its cell and the
// one to its right; see CellWidth. Nothing is visible until Flush.
type Display interface {
	Size() (cols, rows int)
	Clear()
	// SetCell writes r at column x, row y. Writes outside the grid are
	// ignored so that layout code never crashes the terminal.
	SetCell(x, y int, r rune, a Attr)
	Flush() error
}

// PictureDisplay is a display that can also show a 1-bit picture (a QR
// code for the customer to scan) beside or over its text, scaled to fit.
// ShowPicture(nil) removes it. Displays without graphics do not
// implement it; the application then says so instead of showing a code.
type PictureDisplay interface {
	ShowPicture(b *Bitmap)
}

// Scanner delivers decoded barcodes (customer payment codes).
type Scanner interface {
	// Enable turns the reader on (trigger, illumination, camera) or off.
	Enable(on bool) error
	Read(ctx context.Context) (Code, error)
}

// CardReader covers contactless, chip and magstripe acceptance.
type CardReader interface {
	// Enable arms the given interfaces; CardNone disarms the reader.
	Enable(modes CardMode) error
	Read(ctx context.Context) (Card, error)
}

// Printer prints device-independent documents.
type Printer interface {
	Print(ctx context.Context, doc Document) error
	Status() PrinterStatus
}

// Indicator is the buzzer and status LEDs.
type Indicator interface {
	Beep(kind BeepKind)
	SetLED(led LED, on bool)
}

// Devices is the bundle the application runs on. Every field is required;
// a board without a device gets a driver that reports ErrNoDevice.
type Devices struct {
	Keypad     Keypad
	Display    Display
	Scanner    Scanner
	CardReader CardReader
	Printer    Printer
	Indicator  Indicator
}

// SelfTester is implemented by drivers that can check their hardware.
type SelfTester interface {
	SelfTest(ctx context.Context) SelfTestResult
}

// SelfTestResult is one device's answer to a self-test.
type SelfTestResult struct {
	Device string        // "printer", "scanner", ...
	OK     bool          // passed
	Detail string        // firmware version, port, or what failed
	Took   time.Duration // time the test took
	// Skipped: nothing was tested (the board has no such device, or its
	// driver has no self-test). Neither passed nor failed: a technician
	// must never read an untested device as working.
	Skipped bool
}

// Verdict is the result in a word: ok, FAIL or not tested.
func (r SelfTestResult) Verdict() string {
	switch {
	case r.Skipped:
		return "not tested"
	case r.OK:
		return "ok"
	}
	return "FAIL"
}
