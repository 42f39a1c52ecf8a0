package ui

import (
	"strconv"
)

// FormatFen formats an amount in fen as yuan with two decimals and
// thousands separators: 123456 → "1,234.56". Money is integer fen
// everywhere; this is the only place it becomes a decimal string.
func FormatFen(fen int64) string {
	neg := fen < 0
	u := uint64(fen)
	if neg {
		u = uint64(-fen) // for MinInt64 this wraps to the right magnitude
	}
	yuan := strconv.FormatUint(u/100, 10)
	cents := u % 100
	var b []byte
	if neg {
		b = append(b, '-')
	}
	for i, d := range []byte(yuan) {
		if i > 0 && (len(yuan)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, d)
	}
	b = append(b, '.', byte('0'+cents/10), byte('0'+cents%10))
	return string(b)
}

// Yuan is FormatFen with the ¥ sign.
func Yuan(fen int64) string { return "¥" + FormatFen(fen) }
