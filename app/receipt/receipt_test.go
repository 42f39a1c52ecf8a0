package receipt

import (
	"strings"
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
	want := []string{"老王面馆|", "printer|OK", "scanner|FAIL", "  no camera|", "2026/03/02 09:05:00|", "1 OK / 1 FAIL / 0 N/A|"}
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

func TestYuan(t *testing.T) {
	for fen, want := range map[int64]string{0: "RMB 0.00", 123456: "RMB 1,234.56", -500: "-RMB 5.00", 100000000: "RMB 1,000,000.00"} {
		if got := Yuan(fen); got != want {
			t.Errorf("Yuan(%d) = %q, want %q", fen, got, want)
		}
	}
}

func TestTransactionReceiptCopies(t *testing.T) {
	term := Terminal{MerchantName: "老王面馆", MerchantID: "898310058120001", TerminalID: "10000001"}
	x := Txn{Kind: "refund", Method: "swipe", AmountFen: 1234, MaskedPAN: "622202*********0128", STAN: "000007", Batch: "000001", RRN: "030200000001", Operator: "00", At: time.Date(2026, 3, 2, 9, 5, 0, 0, time.UTC), OrigRRN: "030200000000"}
	m := Transaction(term, x, MerchantCopy)
	c := Transaction(term, x, CustomerCopy)
	text := func(d hal.Document) string {
		s := ""
		for _, e := range d.Elements {
			s += e.Text + "|" + e.Right + "\n"
		}
		return s
	}
	for _, want := range []string{"商户存根 MERCHANT COPY", "622202*********0128 S", "退货 REFUND", "-RMB 12.34", "持卡人签名", "原参考号(ORIG REFER):|030200000000"} {
		if !strings.Contains(text(m), want) {
			t.Errorf("merchant copy lacks %q", want)
		}
	}
	if strings.Contains(text(c), "持卡人签名") || !strings.Contains(text(c), "持卡人存根 CUSTOMER COPY") {
		t.Error("customer copy wrong")
	}
}

// TestWalletAndDemoReceipts: a wallet payment is not signed for and
// charges no card account; the merchant's fee is on the merchant copy
// only; a demo terminal's slips say they are not payments, top and bottom.
func TestWalletAndDemoReceipts(t *testing.T) {
	term := Terminal{MerchantName: "老王面馆", MerchantID: "898310058120001", TerminalID: "10000001", Demo: true}
	x := Txn{Kind: "sale", Method: "wechat", AmountFen: 5000, STAN: "000009", Batch: "000001", RRN: "030200000009", Operator: "01",
		At: time.Date(2026, 3, 2, 9, 5, 0, 0, time.UTC), OrderNo: "10000001260302090500000009", FeeFen: 19}
	text := func(d hal.Document) string {
		s := ""
		for _, e := range d.Elements {
			s += e.Text + "|" + e.Right + "\n"
		}
		return s
	}
	m, c := text(Transaction(term, x, MerchantCopy)), text(Transaction(term, x, CustomerCopy))
	for _, copy := range []string{m, c} {
		if strings.Contains(copy, "持卡人签名") || strings.Contains(copy, "记入本卡账户") {
			t.Errorf("a wallet receipt asks for a card signature:\n%s", copy)
		}
		if strings.Count(copy, "非真实交易 NOT A PAYMENT") != 2 {
			t.Errorf("a demo receipt must say twice that it is not a payment:\n%s", copy)
		}
	}
	if !strings.Contains(m, "商户手续费(FEE):|RMB 0.19") {
		t.Errorf("merchant copy without the fee:\n%s", m)
	}
	if strings.Contains(c, "手续费") {
		t.Errorf("the customer's copy shows the merchant's fee:\n%s", c)
	}
	term.Demo = false
	if strings.Contains(text(Transaction(term, x, CustomerCopy)), "DEMO") {
		t.Error("a real terminal's receipt says DEMO")
	}
}

func TestSettlementSlip(t *testing.T) {
	d := SettlementSlip(Terminal{}, Settlement{Batch: "000001", Balanced: false, Uploaded: 3, Classes: []ClassTotals{
		{Class: "card", DebitCount: 2, DebitFen: 3000, CreditCount: 1, CreditFen: 300, FeeFen: 18},
	}})
	s := ""
	for _, e := range d.Elements {
		s += e.Text + "|" + e.Right + "\n"
	}
	for _, want := range []string{"消费 SALE 2笔|RMB 30.00", "合计 TOTAL 3笔|RMB 27.00", "结算净额 NET|RMB 26.82", "对账不平 UNBALANCED", "批上送 UPLOADED|3"} {
		if !strings.Contains(s, want) {
			t.Errorf("slip lacks %q:\n%s", want, s)
		}
	}
}

// TestChipReceipts: a chip or tap slip shows the application and its
// cryptogram; only a signature CVM asks for a signature; a tap under the
// CVM limit says 免密免签.
func TestChipReceipts(t *testing.T) {
	term := Terminal{MerchantName: "老王面馆", MerchantID: "898310058120001", TerminalID: "10000001"}
	text := func(d hal.Document) string {
		s := ""
		for _, e := range d.Elements {
			s += e.Text + "|" + e.Right + "\n"
		}
		return s
	}
	chip := &Chip{Label: "UnionPay Debit", AID: "A000000333010101", ACType: "TC", Cryptogram: "0123456789ABCDEF", TVR: "0000008000", TSI: "F800", ATC: "0011"}
	x := Txn{Kind: "sale", Method: "chip", AmountFen: 1234, MaskedPAN: "622202*********0128", STAN: "000007", Batch: "000001", Chip: chip}
	m := text(Transaction(term, x, MerchantCopy))
	for _, want := range []string{"622202*********0128 I", "插卡 CHIP", "应用标签(APP LABEL):|UnionPay Debit", "AID:|A000000333010101", "TC:|0123456789ABCDEF", "TVR:|0000008000", "TSI:|F800", "ATC:|0011"} {
		if !strings.Contains(m, want) {
			t.Errorf("chip slip lacks %q:\n%s", want, m)
		}
	}
	if strings.Contains(m, "持卡人签名") || strings.Contains(m, "免密免签") {
		t.Errorf("a PIN-verified chip slip asks for a signature or says 免密免签:\n%s", m)
	}
	signed := *chip
	signed.Signature = true
	x.Chip = &signed
	if m := text(Transaction(term, x, MerchantCopy)); !strings.Contains(m, "持卡人签名") {
		t.Error("a signature CVM slip has no signature line")
	}
	tap := *chip
	tap.NoCVM, tap.ACType = true, "ARQC"
	x.Method, x.Chip = "tap", &tap
	c := text(Transaction(term, x, CustomerCopy))
	if !strings.Contains(c, "免密免签 NO PIN NO SIGNATURE") || !strings.Contains(c, "闪付 QUICKPASS") || !strings.Contains(c, "ARQC:|") {
		t.Errorf("tap slip:\n%s", c)
	}
	x.Method, x.Chip, x.Fallback = "swipe", nil, true
	if m := text(Transaction(term, x, MerchantCopy)); !strings.Contains(m, "降级交易(FALLBACK):") || !strings.Contains(m, "持卡人签名") {
		t.Errorf("fallback slip:\n%s", m)
	}
}
