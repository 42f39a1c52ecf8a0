package pn532emu

// Command codes (UM0701-02 §7).
const (
	cmdDiagnose            = 0x00
	cmdGetFirmwareVersion  = 0x02
	cmdGetGeneralStatus    = 0x04
	cmdReadRegister        = 0x06
	cmdWriteRegister       = 0x08
	cmdSetParameters       = 0x12
	cmdSAMConfiguration    = 0x14
	cmdPowerDown           = 0x16
	cmdRFConfiguration     = 0x32
	cmdInDataExchange      = 0x40
	cmdInCommunicateThru   = 0x42
	cmdInDeselect          = 0x44
	cmdInListPassiveTarget = 0x4A
	cmdInRelease           = 0x52
	cmdInSelect            = 0x54
	cmdInAutoPoll          = 0x60
)

// Status codes of InDataExchange and friends (UM0701-02 table 13).
const (
	stOK        = 0x00
	stTimeout   = 0x01 // the target did not answer: it has left
	stBadTarget = 0x27 // command not acceptable in this context
	stReleased  = 0x29 // the target was released
	stMI        = 0x40
)

// ats is what the virtual cards answer to RATS: FSCI 8 (256 bytes), TA,
// TB and TC present.
var ats = []byte{0x05, 0x78, 0x80, 0x70, 0x02}

// handle answers one command with the response data after the TFI
// (response code first), or nil for the syntax error frame.
func (e *Emulator) handle(cmd byte, in []byte) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := []byte{cmd + 1}
	switch cmd {
	case cmdDiagnose:
		if len(in) == 0 {
			return nil
		}
		switch in[0] {
		case 0x00: // communication test: echo
			return append(r, in...)
		case 0x06: // attention request: is the ISO 14443-4 target still there?
			switch t := e.active(); {
			case t == nil:
				return append(r, stTimeout)
			case t.card == nil:
				return append(r, stBadTarget) // not ISO 14443-4: no such test
			}
			return append(r, stOK)
		}
		return append(r, stOK)
	case cmdGetFirmwareVersion:
		return append(r, 0x32, 0x01, 0x06, 0x07) // PN532 v1.6, ISO 14443A/B, 18092
	case cmdGetGeneralStatus:
		field := byte(0)
		if e.rfOn {
			field = 1
		}
		nb := byte(0)
		if e.active() != nil {
			nb = 1
		}
		out := append(r, 0x00, field, nb)
		if nb == 1 {
			out = append(out, 0x01, 0x00, 0x00, 0x00) // Tg, BrRx, BrTx, type
		}
		return append(out, 0x00) // SAM status
	case cmdReadRegister:
		if len(in)%2 != 0 {
			return nil
		}
		for i := 0; i < len(in); i += 2 {
			r = append(r, e.regs[uint16(in[i])<<8|uint16(in[i+1])])
		}
		return r
	case cmdWriteRegister:
		if len(in)%3 != 0 {
			return nil
		}
		for i := 0; i < len(in); i += 3 {
			e.regs[uint16(in[i])<<8|uint16(in[i+1])] = in[i+2]
		}
		return r
	case cmdSetParameters:
		return r
	case cmdSAMConfiguration:
		if len(in) < 1 {
			return nil
		}
		e.samDone = true
		return r
	case cmdPowerDown:
		e.rfOn = false
		e.release()
		return append(r, stOK)
	case cmdRFConfiguration:
		if len(in) < 1 {
			return nil
		}
		if in[0] == 0x05 && len(in) >= 4 {
			e.maxRetries = in[3] // MxRtyPassiveActivation: FF polls for ever
		}
		if in[0] == 0x01 && len(in) >= 2 {
			e.rfOn = in[1]&0x01 != 0
			if !e.rfOn {
				e.release() // the field is gone: so are the cards' sessions
			}
		}
		return r
	case cmdInListPassiveTarget:
		return e.listPassive(r, in)
	case cmdInDataExchange:
		return e.dataExchange(r, in)
	case cmdInCommunicateThru:
		return append(r, stBadTarget)
	case cmdInDeselect, cmdInRelease:
		e.release()
		return append(r, stOK)
	case cmdInSelect:
		if t := e.active(); t != nil {
			return append(r, stOK)
		}
		return append(r, stReleased)
	case cmdInAutoPoll:
		return e.autoPoll(r, in)
	}
	return nil
}

// active is the selected target still in the field.
func (e *Emulator) active() *target {
	for _, t := range e.field {
		if t.active {
			return t
		}
	}
	return nil
}

func (e *Emulator) release() {
	for _, t := range e.field {
		t.active, t.session, t.pending, t.incoming = false, nil, nil, nil
	}
}

// listPassive is InListPassiveTarget: 106 kbps type A finds the cards in
// the field (and activates them as ISO 14443-4, RATS and all); other
// modulations find nothing, as no such card is there.
func (e *Emulator) listPassive(r, in []byte) []byte {
	if len(in) < 2 || in[0] < 1 || in[0] > 2 {
		return nil
	}
	maxTg, brty := int(in[0]), in[1]
	if !e.samDone {
		return nil // a chip still in LowVbat takes SAMConfiguration first
	}
	e.rfOn = true // the chip switches its field on to poll
	if brty != 0x00 {
		return append(r, 0x00)
	}
	e.release()
	var found []*target
	for _, t := range e.field {
		if len(found) < maxTg {
			found = append(found, t)
		}
	}
	out := append(r, byte(len(found)))
	for i, t := range found {
		t.active = i == 0
		sak := byte(0x20)
		if t.card == nil {
			sak = 0x08 // a MIFARE Classic: no ISO 14443-4, no ATS
		} else {
			t.session = t.card.PowerOn(true)
		}
		out = append(out, byte(i+1), 0x00, 0x04, sak, byte(len(t.uid)))
		out = append(out, t.uid...)
		if t.card != nil {
			out = append(out, ats...)
		}
	}
	return out
}

// dataExchange is InDataExchange: an APDU to the selected card, and its
// answer, chained (MI) when longer than a frame takes.
func (e *Emulator) dataExchange(r, in []byte) []byte {
	if len(in) < 1 {
		return nil
	}
	t := e.active()
	if t == nil || in[0]&0x3F != 0x01 || t.card == nil {
		return append(r, stBadTarget)
	}
	if e.fault(RemoveMidway) {
		e.removeLocked(t)
		return append(r, stTimeout)
	}
	if in[0]&0x40 != 0 { // the host chains: more of this APDU follows
		t.incoming = append(t.incoming, in[1:]...)
		return append(r, stOK)
	}
	if len(in) > 1 {
		t.pending = nil // a new APDU: what was left of the last answer is dropped
	}
	if len(t.pending) == 0 {
		apdu := append(t.incoming, in[1:]...)
		t.incoming = nil
		if len(apdu) < 4 {
			return append(r, stBadTarget)
		}
		t.pending = t.session.Exchange(apdu)
	}
	n := min(len(t.pending), e.o.Chunk)
	status := byte(stOK)
	if n < len(t.pending) {
		status |= stMI
	}
	out := append(append(r, status), t.pending[:n]...)
	t.pending = t.pending[n:]
	return out
}

func (e *Emulator) removeLocked(t *target) {
	var keep []*target
	for _, x := range e.field {
		if x != t {
			keep = append(keep, x)
		}
	}
	e.field = keep
}

// autoPoll is InAutoPoll for the ISO 14443-4 type A target type (0x20,
// and the generic 106 kbps type A, 0x10): one poll, no wait.
func (e *Emulator) autoPoll(r, in []byte) []byte {
	if len(in) < 3 {
		return nil
	}
	for _, ty := range in[2:] {
		if ty != 0x10 && ty != 0x20 || !e.rfOn {
			continue
		}
		lp := e.listPassive([]byte{}, []byte{0x01, 0x00})
		if len(lp) < 2 || lp[0] == 0 {
			break
		}
		data := lp[1:]
		return append(append(r, 0x01, ty, byte(len(data))), data...)
	}
	return append(r, 0x00)
}
