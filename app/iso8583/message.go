package iso8583

import (
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
)

// Message is one ISO 8583 message before packing or after unpacking.
// Field values are kept as the caller sees them: digits for n fields,
// digits and '=' for z fields, text for an/ans fields, raw bytes for b.
//
// A Message prints (fmt, slog) through Dump, so card data stays masked
// even when a whole Message is logged by mistake.
type Message struct {
	MTI    string
	Fields map[int][]byte
}

// NewMessage returns an empty message of the given type.
func NewMessage(mti string) *Message {
	return &Message{MTI: mti, Fields: make(map[int][]byte)}
}

// Set stores a text or digit value.
func (m *Message) Set(n int, v string) {
	if m.Fields == nil {
		m.Fields = make(map[int][]byte)
	}
	m.Fields[n] = []byte(v)
}

// SetBytes stores a copy of a binary value.
func (m *Message) SetBytes(n int, v []byte) {
	if m.Fields == nil {
		m.Fields = make(map[int][]byte)
	}
	m.Fields[n] = append([]byte{}, v...)
}

// Get returns a field as a string and whether it is present.
func (m *Message) Get(n int) (string, bool) {
	v, ok := m.Fields[n]
	return string(v), ok
}

// GetBytes returns a copy of a field and whether it is present.
func (m *Message) GetBytes(n int) ([]byte, bool) {
	v, ok := m.Fields[n]
	if !ok {
		return nil, false
	}
	return append([]byte{}, v...), true
}

// Has reports whether field n is present.
func (m *Message) Has(n int) bool {
	_, ok := m.Fields[n]
	return ok
}

// Unset removes field n.
func (m *Message) Unset(n int) { delete(m.Fields, n) }

// Numbers returns the present field numbers in ascending order.
func (m *Message) Numbers() []int {
	ns := make([]int, 0, len(m.Fields))
	for n := range m.Fields {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	return ns
}

// Clone returns a deep copy.
func (m *Message) Clone() *Message {
	c := &Message{MTI: m.MTI, Fields: make(map[int][]byte, len(m.Fields))}
	for n, v := range m.Fields {
		c.Fields[n] = append([]byte{}, v...)
	}
	return c
}

// String, Format and LogValue all go through Dump so that no formatting
// verb (%v, %+v, %#v, %s) or slog handler can print card data.
func (m Message) String() string             { return Dump(&m) }
func (m Message) GoString() string           { return Dump(&m) }
func (m Message) Format(f fmt.State, _ rune) { io.WriteString(f, Dump(&m)) }
func (m Message) LogValue() slog.Value       { return slog.StringValue(Dump(&m)) }

// Dump renders a message for logs on one line. Field 2 shows only the first
// 6 and last 4 digits, tracks 2 and 3 are "***", and the PIN block (52), key
// material (62) and ICC data (55, which holds the PAN and track 2 equivalent)
// show only their size, as does field 48 of batch upload (0320/0330), whose
// entries carry card numbers. Other fields print as text when printable,
// else hex.
func Dump(m *Message) string {
	if m == nil {
		return "<nil>"
	}
	var b strings.Builder
	mti := m.MTI
	if checkChars(KindN, []byte(mti)) >= 0 {
		mti = fmt.Sprintf("%q", mti) // MTI is never card data; quote oddities
	}
	b.WriteString(mti)
	for _, n := range m.Numbers() {
		fmt.Fprintf(&b, " %d=%s", n, dumpField(m.MTI, n, m.Fields[n]))
	}
	return b.String()
}

func dumpField(mti string, n int, v []byte) string {
	if n == 48 && (mti == "0320" || mti == "0330") {
		return fmt.Sprintf("<%d bytes>", len(v))
	}
	switch n {
	case 2:
		return MaskPAN(string(v))
	case 35, 36:
		return "***"
	case 52, 55, 62:
		return fmt.Sprintf("<%d bytes>", len(v))
	case 59:
		return dumpTLV(v)
	}
	if checkChars(KindANS, v) < 0 {
		return string(v)
	}
	return "hex:" + strings.ToUpper(hex.EncodeToString(v))
}

// MaskPAN keeps the first 6 and last 4 digits of a PAN and stars the rest.
// Anything too short to leave at least 3 hidden digits, or not all digits,
// is fully masked.
func MaskPAN(pan string) string {
	if len(pan) < 13 || checkChars(KindN, []byte(pan)) >= 0 {
		return "***"
	}
	return pan[:6] + strings.Repeat("*", len(pan)-10) + pan[len(pan)-4:]
}
