package iso8583

import "fmt"

// Field 60.1 transaction type codes used by this terminal.
const (
	MsgTypeNetwork = "00" // sign-on, sign-off, settlement and other network management
	MsgTypeBalance = "01"
	MsgTypeSale    = "22"
	MsgTypeVoid    = "23"
	MsgTypeRefund  = "25"
	// Scan-code (wallet) messages of this dialect; field 59 carries the
	// order (see TLV).
	MsgTypeWalletPay    = "41"
	MsgTypeWalletQuery  = "42"
	MsgTypeWalletCancel = "43"
	MsgTypePrecreate    = "44"
	MsgTypeWalletClose  = "45"
	MsgTypeWalletRefund = "46"
)

func digitsOf(name, v string, want int) error {
	if len(v) != want {
		return fmt.Errorf("iso8583: %s: want %d digits, got %d", name, want, len(v))
	}
	if i := checkChars(KindN, []byte(v)); i >= 0 {
		return fmt.Errorf("iso8583: %s: character %d is not a digit", name, i+1)
	}
	return nil
}

// joinSub checks optional trailing subfields and the total length.
func joinSub(field string, max int, head string, rest []string) (string, error) {
	v := head
	for k, r := range rest {
		if i := checkChars(KindN, []byte(r)); i >= 0 {
			return "", fmt.Errorf("iso8583: %s extra subfield %d: character %d is not a digit", field, k+1, i+1)
		}
		v += r
	}
	if len(v) > max {
		return "", fmt.Errorf("iso8583: %s: want at most %d digits, got %d", field, max, len(v))
	}
	return v, nil
}

// Field60 builds field 60: 60.1 message type code n2, 60.2 batch n6, 60.3
// network management code n3, then any further subfields (60.4 terminal
// read capability, 60.5 IC condition code, ...) as digits. netCode may be
// empty only if nothing follows it.
func Field60(msgType, batch, netCode string, rest ...string) (string, error) {
	if err := digitsOf("60.1 message type", msgType, 2); err != nil {
		return "", err
	}
	if err := digitsOf("60.2 batch", batch, 6); err != nil {
		return "", err
	}
	if netCode == "" && len(rest) > 0 {
		return "", fmt.Errorf("iso8583: 60.3 network code: required before further subfields")
	}
	if netCode != "" {
		if err := digitsOf("60.3 network code", netCode, 3); err != nil {
			return "", err
		}
	}
	return joinSub("field 60", CUP.Fields[60].Max, msgType+batch+netCode, rest)
}

// ParseField60 splits field 60. rest holds the digits after 60.3.
func ParseField60(v string) (msgType, batch, netCode, rest string, err error) {
	if i := checkChars(KindN, []byte(v)); i >= 0 {
		return "", "", "", "", fmt.Errorf("iso8583: field 60: character %d is not a digit", i+1)
	}
	switch {
	case len(v) < 8:
		return "", "", "", "", fmt.Errorf("iso8583: field 60: want at least 8 digits (60.1 + 60.2), got %d", len(v))
	case len(v) < 11 && len(v) != 8:
		return "", "", "", "", fmt.Errorf("iso8583: field 60: 60.3 truncated: %d digits", len(v))
	case len(v) > CUP.Fields[60].Max:
		return "", "", "", "", fmt.Errorf("iso8583: field 60: want at most %d digits, got %d", CUP.Fields[60].Max, len(v))
	}
	msgType, batch = v[:2], v[2:8]
	if len(v) >= 11 {
		netCode, rest = v[8:11], v[11:]
	}
	return msgType, batch, netCode, rest, nil
}

// Field61 builds field 61 (original transaction): 61.1 original batch n6,
// 61.2 original trace n6, 61.3 original date MMDD n4, then any further
// subfields as digits. origDate may be empty (void) only if nothing follows.
func Field61(origBatch, origTrace, origDate string, rest ...string) (string, error) {
	if err := digitsOf("61.1 original batch", origBatch, 6); err != nil {
		return "", err
	}
	if err := digitsOf("61.2 original trace", origTrace, 6); err != nil {
		return "", err
	}
	if origDate == "" && len(rest) > 0 {
		return "", fmt.Errorf("iso8583: 61.3 original date: required before further subfields")
	}
	if origDate != "" {
		if err := digitsOf("61.3 original date", origDate, 4); err != nil {
			return "", err
		}
	}
	return joinSub("field 61", CUP.Fields[61].Max, origBatch+origTrace+origDate, rest)
}

// ParseField61 splits field 61. rest holds the digits after 61.3.
func ParseField61(v string) (origBatch, origTrace, origDate, rest string, err error) {
	if i := checkChars(KindN, []byte(v)); i >= 0 {
		return "", "", "", "", fmt.Errorf("iso8583: field 61: character %d is not a digit", i+1)
	}
	switch {
	case len(v) < 12:
		return "", "", "", "", fmt.Errorf("iso8583: field 61: want at least 12 digits (61.1 + 61.2), got %d", len(v))
	case len(v) < 16 && len(v) != 12:
		return "", "", "", "", fmt.Errorf("iso8583: field 61: 61.3 truncated: %d digits", len(v))
	case len(v) > CUP.Fields[61].Max:
		return "", "", "", "", fmt.Errorf("iso8583: field 61: want at most %d digits, got %d", CUP.Fields[61].Max, len(v))
	}
	origBatch, origTrace = v[:6], v[6:12]
	if len(v) >= 16 {
		origDate, rest = v[12:16], v[16:]
	}
	return origBatch, origTrace, origDate, rest, nil
}
