package hal

// Symbology is the barcode type a scanner decoded.
type Symbology string

const (
	SymQR      Symbology = "QR_CODE"
	SymCode128 Symbology = "CODE_128"
	SymEAN13   Symbology = "EAN_13"
	SymOther   Symbology = "OTHER"
)

// Code is one decoded barcode. Text is kept exactly as decoded: payment
// codes are strings, never numbers (leading zeros and length matter).
type Code struct {
	Symbology Symbology
	Text      string
}
