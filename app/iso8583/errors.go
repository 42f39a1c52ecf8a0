package iso8583

import (
	"errors"
	"fmt"
)

// Sentinels, for errors.Is. Errors never quote field values: they may be
// card data.
var (
	ErrTruncated       = errors.New("truncated")
	ErrLength          = errors.New("wrong length")
	ErrTooLong         = errors.New("too long")
	ErrBadChar         = errors.New("character not allowed")
	ErrBadNibble       = errors.New("bad BCD nibble")
	ErrSecondaryBitmap = errors.New("secondary bitmap not supported")
	ErrUndefinedField  = errors.New("field not defined in spec")
	ErrTrailingBytes   = errors.New("trailing bytes")
	ErrNoMAC           = errors.New("no MAC field")

	ErrFrameTooShort = errors.New("frame too short")
	ErrFrameTooLarge = errors.New("frame too large")
	ErrFrameLength   = errors.New("frame length prefix does not match")
	ErrTPDUID        = errors.New("bad TPDU id")
	ErrHeader        = errors.New("bad header")
)

// Positions used in FieldError.Field for the parts that are not fields.
const (
	PosMessage = -1 // the message as a whole (e.g. trailing bytes)
	PosMTI     = -2
	PosBitmap  = -3
)

// FieldError says which part of a message failed and, when unpacking, at
// which byte offset of the packed message (MTI is offset 0).
type FieldError struct {
	Field  int // field number, or PosMTI, PosBitmap, PosMessage
	Offset int // byte offset when unpacking; -1 when packing
	Err    error
}

func (e *FieldError) Error() string {
	var where string
	switch e.Field {
	case PosMTI:
		where = "MTI"
	case PosBitmap:
		where = "bitmap"
	case PosMessage:
		where = "message"
	default:
		where = fmt.Sprintf("field %d", e.Field)
	}
	if e.Offset >= 0 {
		where += fmt.Sprintf(" at offset %d", e.Offset)
	}
	return "iso8583: " + where + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

// detail is an error whose text is msg and which matches kind in errors.Is,
// so messages read naturally ("want 12 digits, got 13") yet stay testable.
type detail struct {
	kind error
	msg  string
}

func (d *detail) Error() string { return d.msg }
func (d *detail) Unwrap() error { return d.kind }

func detailf(kind error, format string, args ...any) error {
	return &detail{kind: kind, msg: fmt.Sprintf(format, args...)}
}

func packErr(field int, err error) error {
	return &FieldError{Field: field, Offset: -1, Err: err}
}

func unpackErr(field, offset int, err error) error {
	return &FieldError{Field: field, Offset: offset, Err: err}
}
