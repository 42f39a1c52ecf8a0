package hal

import "testing"

func TestCellWidth(t *testing.T) {
	for r, want := range map[rune]int{
		'a': 1, '¥': 1, '中': 2, '，': 2, '。': 2, 'Ａ': 2, '한': 2, 'ア': 2,
		'\n': 0, 0x7f: 0, 0x301: 0, '€': 1, '😀': 2, 0x20000: 2,
	} {
		if got := CellWidth(r); got != want {
			t.Errorf("CellWidth(%U) = %d, want %d", r, got, want)
		}
	}
	if StringWidth("消费 Sale") != 9 {
		t.Error(StringWidth("消费 Sale"))
	}
}

func TestKeyNamesRoundTrip(t *testing.T) {
	for k := Key(1); k < keyCount; k++ {
		got, err := ParseKey(k.String())
		if err != nil || got != k {
			t.Errorf("%v: %v %v", k, got, err)
		}
	}
	if _, err := ParseKey("none"); err == nil {
		t.Error("none parsed as a key")
	}
	if d, ok := Key7.Digit(); !ok || d != 7 {
		t.Error("Key7.Digit")
	}
	if _, ok := KeyEnter.Digit(); ok {
		t.Error("Enter is a digit")
	}
}

func TestCardModeString(t *testing.T) {
	if s := (CardContactless | CardMagstripe).String(); s != "contactless+magstripe" {
		t.Error(s)
	}
	if CardNone.String() != "none" {
		t.Error(CardNone.String())
	}
}

func TestPrinterReady(t *testing.T) {
	if (PrinterStatus{Online: true, PaperOut: true}).Ready() || !(PrinterStatus{Online: true, PaperLow: true}).Ready() {
		t.Error("Ready")
	}
}
