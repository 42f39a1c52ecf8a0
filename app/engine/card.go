package engine

import (
	"fmt"
	"strings"
)

// cardFromTrack2 reads PAN, expiry and service code from ISO 7813 track 2
// data (no sentinels). Anything malformed is ErrBadCard: a bad swipe must
// never reach the host.
func cardFromTrack2(t2 string) (pan, expiry, service string, err error) {
	t2 = strings.Trim(t2, ";?")
	sep := strings.IndexAny(t2, "=D")
	if sep < 0 || len(t2) > 37 {
		return "", "", "", fmt.Errorf("%w: no field separator", ErrBadCard)
	}
	pan, rest := t2[:sep], t2[sep+1:]
	if len(pan) < 13 || len(pan) > 19 || !digits(pan) || !luhn(pan) {
		return "", "", "", fmt.Errorf("%w: card number invalid", ErrBadCard)
	}
	if len(rest) < 7 || !digits(rest[:7]) {
		return "", "", "", fmt.Errorf("%w: expiry or service code missing", ErrBadCard)
	}
	return pan, rest[:4], rest[4:7], nil
}

// MaskPAN keeps the first 6 and last 4 digits, as receipts and the journal
// may show.
func MaskPAN(pan string) string {
	if len(pan) < 11 {
		return strings.Repeat("*", len(pan))
	}
	return pan[:6] + strings.Repeat("*", len(pan)-10) + pan[len(pan)-4:]
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func luhn(pan string) bool {
	sum, dbl := 0, false
	for i := len(pan) - 1; i >= 0; i-- {
		d := int(pan[i] - '0')
		if dbl {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		dbl = !dbl
	}
	return sum%10 == 0
}
