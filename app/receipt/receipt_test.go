package receipt

import (
	"testing"
	"time"

	"github.com/shoukuan/pos/hal"
)

func TestSelfTestSlip(t *testing.T) {
	doc := SelfTest(Terminal{MerchantName: "老王面馆", MerchantID: "898310058120001", TerminalID: "10000001", Version: "v1"},
		[]hal.SelfTestResult{{Device: "printer", OK: true, Detail: "fake"}, {Device: "scanner", OK: false, Detail: "no camera"}},
		time.Date(2026, 3, 2, 9, 5, 0, 0, time.UTC))
	var texts []string
	for _, e := range doc.Elements {
		texts = append(texts, e.Text+"|"+e.Right)
	}
	want := []string{"老王面馆|", "printer|OK", "scanner|FAIL", "  no camera|", "2026/03/02 09:05:00|", "1 OK / 1 FAIL|"}
	for _, w := range want {
		found := false
		for _, s := range texts {
			found = found || s == w
		}
		if !found {
			t.Errorf("slip lacks %q: %q", w, texts)
		}
	}
	if doc.Elements[len(doc.Elements)-1].Kind != hal.KindCut {
		t.Error("slip is not cut")
	}
}
