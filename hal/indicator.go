package hal

// BeepKind is a buzzer pattern.
type BeepKind uint8

const (
	BeepKey       BeepKind = iota // short click on a key press
	BeepOK                        // one tone: approved, card read
	BeepError                     // low double tone: declined, bad input
	BeepAttention                 // repeated: take your card, paper out
)

func (b BeepKind) String() string {
	switch b {
	case BeepKey:
		return "key"
	case BeepOK:
		return "ok"
	case BeepError:
		return "error"
	case BeepAttention:
		return "attention"
	}
	return "beep?"
}

// LED is one status light. Contactless readers have four (EMV Book A).
type LED uint8

const (
	LEDBlue LED = iota
	LEDYellow
	LEDGreen
	LEDRed
	LEDCount
)

func (l LED) String() string {
	switch l {
	case LEDBlue:
		return "blue"
	case LEDYellow:
		return "yellow"
	case LEDGreen:
		return "green"
	case LEDRed:
		return "red"
	}
	return "led?"
}
