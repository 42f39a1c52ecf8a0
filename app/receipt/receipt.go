// Package receipt builds the terminal's printed documents as hal
// documents: device independent, laid out by the printer driver. Texts are
// bilingual where a bank POS prints both; the rest follow the UI language.
package receipt

import (
	"fmt"
	"time"

	"github.com/shoukuan/pos/hal"
)

// Terminal is who printed the slip.
type Terminal struct {
	MerchantName string
	MerchantID   string
	TerminalID   string
	Version      string
	// Demo: a demonstration terminal; every slip says it is not a payment.
	Demo bool
}

// DemoLines are printed at the top and the bottom of every slip of a demo
// terminal, so no one takes it for proof of payment.
var DemoLines = []string{"*** 演示 DEMO ***", "非真实交易 NOT A PAYMENT"}

func demoBanner(t Terminal) []hal.Element {
	if !t.Demo {
		return nil
	}
	var out []hal.Element
	for _, l := range DemoLines {
		out = append(out, hal.Element{Kind: hal.KindText, Text: l, Style: hal.TextStyle{Bold: true, Align: hal.AlignCenter}})
	}
	return out
}

// header opens every slip: the title in double size (Chinese, 16 columns
// at most on 58 mm paper) with its English line under it.
func header(t Terminal, title, titleEN string) []hal.Element {
	return append(demoBanner(t),
		hal.Element{Kind: hal.KindText, Text: title, Style: hal.TextStyle{Size: hal.SizeDouble, Bold: true, Align: hal.AlignCenter}},
		hal.Element{Kind: hal.KindText, Text: titleEN, Style: hal.TextStyle{Align: hal.AlignCenter}},
		hal.Element{Kind: hal.KindSeparator},
		hal.Text("商户名称(MERCHANT NAME):"),
		hal.Text(t.MerchantName),
		hal.Pair("商户编号(MERCHANT NO.):", ""),
		hal.Text(t.MerchantID),
		hal.Pair("终端编号(TERMINAL NO.):", t.TerminalID),
	)
}

// footer closes every slip: the demo banner again, then the cut.
func footer(t Terminal, els []hal.Element) []hal.Element {
	return append(append(els, demoBanner(t)...), hal.Element{Kind: hal.KindCut})
}

// SelfTest is the slip a technician gets from Maintenance > Self-test.
func SelfTest(t Terminal, results []hal.SelfTestResult, at time.Time) hal.Document {
	els := header(t, "自检报告", "SELF-TEST REPORT")
	els = append(els,
		hal.Pair("日期时间(DATE/TIME):", ""),
		hal.Text(at.Format("2006/01/02 15:04:05")),
		hal.Pair("版本(VERSION):", t.Version),
		hal.Element{Kind: hal.KindSeparator},
	)
	failed, skipped := 0, 0
	for _, r := range results {
		status := "OK"
		switch {
		case r.Skipped:
			status = "未测 N/A"
			skipped++
		case !r.OK:
			status = "FAIL"
			failed++
		}
		els = append(els, hal.Pair(r.Device, status))
		if r.Detail != "" {
			els = append(els, hal.Element{Kind: hal.KindText, Text: "  " + r.Detail})
		}
	}
	els = append(els,
		hal.Element{Kind: hal.KindSeparator},
		hal.Element{Kind: hal.KindText, Text: fmt.Sprintf("%d OK / %d FAIL / %d N/A", len(results)-failed-skipped, failed, skipped), Style: hal.TextStyle{Bold: true, Align: hal.AlignCenter}},
	)
	return hal.Document{Title: "self-test", Elements: footer(t, els)}
}

// Copy is which copy of a receipt this is.
type Copy int

const (
	MerchantCopy Copy = iota
	CustomerCopy
)

func (c Copy) label() string {
	if c == MerchantCopy {
		return "商户存根 MERCHANT COPY"
	}
	return "持卡人存根 CUSTOMER COPY"
}

// Txn is what a transaction receipt shows. Amounts are fen; the PAN is
// already masked by the engine.
type Txn struct {
	Kind      string // sale, void, refund
	Method    string // swipe, chip, tap, alipay, wechat, unionpay_qr
	AmountFen int64
	MaskedPAN string
	STAN      string
	Batch     string
	RRN       string
	AuthCode  string
	Operator  string
	At        time.Time
	OrigSTAN  string
	OrigRRN   string
	OrderNo   string
	Reprint   bool
	// Wallet payments.
	Buyer         string // masked wallet account
	TradeNo       string
	Periods       int // Huabei installments
	SellerPct     int
	InstallFeeFen int64 // the customer's installment fee
	OrigOrderNo   string
	// FeeFen is the merchant's own acquiring fee: on the merchant copy
	// only, never on what the customer takes away.
	FeeFen int64
	// Recovered: printed at the start after a crash or power cut that
	// came between the payment and its receipt.
	Recovered bool
	// Chip is the card application of a chip or contactless payment.
	Chip *Chip
	// Fallback: a chip card swiped after its chip failed to read.
	Fallback bool
}

// Chip is what a slip shows of the card's application, as CUP slips do.
type Chip struct {
	Label, AID string
	ACType     string // TC, ARQC or AAC
	Cryptogram string
	TVR, TSI   string
	ATC        string
	// NoCVM: a tap at or under the CVM limit, 免密免签.
	NoCVM bool
	// Device: the phone verified its holder.
	Device bool
	// Signature: the card asked for the cardholder's signature.
	Signature bool
}

var kindTitles = map[string]string{
	"sale":   "消费 SALE",
	"void":   "消费撤销 VOID",
	"refund": "退货 REFUND",
}

var methodNames = map[string]string{
	"swipe":       "磁条 SWIPE",
	"chip":        "插卡 CHIP",
	"tap":         "闪付 QUICKPASS",
	"alipay":      "支付宝 ALIPAY",
	"wechat":      "微信支付 WECHAT PAY",
	"unionpay_qr": "银联二维码 UNIONPAY QR",
	"qr":          "扫码支付 QR",
}

// Yuan formats fen for paper: RMB 1,234.56.
func Yuan(fen int64) string {
	neg := fen < 0
	if neg {
		fen = -fen
	}
	s := fmt.Sprintf("%d.%02d", fen/100, fen%100)
	intPart := s[:len(s)-3]
	var b []byte
	for i := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, intPart[i])
	}
	out := "RMB " + string(b) + s[len(s)-3:]
	if neg {
		out = "-" + out
	}
	return out
}

// Transaction is a sale, void or refund receipt.
func Transaction(t Terminal, x Txn, copy Copy) hal.Document {
	els := header(t, "签购单", "POS SALES SLIP")
	els = append(els,
		hal.Element{Kind: hal.KindText, Text: copy.label(), Style: hal.TextStyle{Align: hal.AlignCenter}},
		hal.Element{Kind: hal.KindSeparator},
		hal.Pair("操作员号(OPERATOR NO.):", x.Operator),
	)
	if x.MaskedPAN != "" {
		els = append(els, hal.Text("卡号(CARD NO.):"),
			hal.Element{Kind: hal.KindText, Text: x.MaskedPAN + " " + methodShort(x.Method), Style: hal.TextStyle{Bold: true}})
	}
	if x.Buyer != "" {
		els = append(els, hal.Pair("付款账号(BUYER):", x.Buyer))
	}
	if x.OrderNo != "" {
		label := "订单号(ORDER NO.):"
		if x.Kind == "refund" {
			label = "退款单号(REFUND NO.):"
		}
		els = append(els, hal.Text(label), hal.Text(x.OrderNo))
	}
	if x.OrigOrderNo != "" {
		els = append(els, hal.Text("原订单号(ORIG ORDER NO.):"), hal.Text(x.OrigOrderNo))
	}
	if x.TradeNo != "" {
		els = append(els, hal.Text("交易单号(TRADE NO.):"), hal.Text(x.TradeNo))
	}
	if x.Periods > 0 {
		payer := "顾客承担 CUSTOMER"
		if x.SellerPct == 100 {
			payer = "商户承担 MERCHANT"
		}
		els = append(els, hal.Pair("花呗分期(HUABEI):", fmt.Sprintf("%d期 %d PERIODS", x.Periods, x.Periods)),
			hal.Pair("分期手续费(FEE):", Yuan(x.InstallFeeFen)), hal.Pair("手续费承担(FEE BY):", payer))
	}
	els = append(els,
		hal.Pair("交易类型(TRANS TYPE):", ""),
		hal.Element{Kind: hal.KindText, Text: kindTitles[x.Kind], Style: hal.TextStyle{Bold: true, Size: hal.SizeDouble}},
		hal.Pair("支付方式(METHOD):", methodNames[x.Method]),
	)
	if x.Fallback {
		els = append(els, hal.Pair("降级交易(FALLBACK):", "芯片读卡失败 CHIP FAILED"))
	}
	if c := x.Chip; c != nil {
		els = append(els, hal.Pair("应用标签(APP LABEL):", c.Label), hal.Pair("AID:", c.AID))
		if c.Cryptogram != "" {
			els = append(els, hal.Pair(c.ACType+":", c.Cryptogram))
		}
		els = append(els, hal.Pair("TVR:", c.TVR), hal.Pair("TSI:", c.TSI), hal.Pair("ATC:", c.ATC))
	}
	els = append(els,
		hal.Pair("批次号(BATCH NO.):", x.Batch),
		hal.Pair("凭证号(VOUCHER NO.):", x.STAN),
	)
	if x.AuthCode != "" {
		els = append(els, hal.Pair("授权码(AUTH NO.):", x.AuthCode))
	}
	els = append(els,
		hal.Pair("参考号(REFER NO.):", x.RRN),
		hal.Pair("日期/时间(DATE/TIME):", ""),
		hal.Text(x.At.Format("2006/01/02 15:04:05")),
	)
	if x.OrigSTAN != "" {
		els = append(els, hal.Pair("原凭证号(ORIG VOUCHER):", x.OrigSTAN))
	}
	if x.OrigRRN != "" {
		els = append(els, hal.Pair("原参考号(ORIG REFER):", x.OrigRRN))
	}
	amount := x.AmountFen
	if x.Kind != "sale" {
		amount = -amount
	}
	els = append(els,
		hal.Text("金额(AMOUNT):"),
		hal.Element{Kind: hal.KindText, Text: Yuan(amount), Style: hal.TextStyle{Size: hal.SizeDouble, Bold: true, Align: hal.AlignRight}},
		hal.Element{Kind: hal.KindSeparator},
	)
	if copy == MerchantCopy && x.FeeFen > 0 && x.Kind == "sale" {
		els = append(els, hal.Pair("商户手续费(FEE):", Yuan(x.FeeFen)))
	}
	if x.OrderNo != "" && x.Kind == "sale" {
		// Scanned back at the counter for a refund.
		els = append(els, hal.Element{Kind: hal.KindQR, Text: x.OrderNo})
	}
	if x.Reprint {
		els = append(els, hal.Element{Kind: hal.KindText, Text: "重打印凭证 DUPLICATED", Style: hal.TextStyle{Bold: true, Align: hal.AlignCenter}})
	}
	if x.Recovered {
		els = append(els, hal.Element{Kind: hal.KindText, Text: "断电后补打 AFTER RESTART", Style: hal.TextStyle{Align: hal.AlignCenter}})
	}
	if c := x.Chip; c != nil && c.NoCVM && x.Kind == "sale" {
		els = append(els, hal.Element{Kind: hal.KindText, Text: "免密免签 NO PIN NO SIGNATURE", Style: hal.TextStyle{Bold: true, Align: hal.AlignCenter}})
	}
	if c := x.Chip; c != nil && c.Device && x.Kind == "sale" {
		els = append(els, hal.Element{Kind: hal.KindText, Text: "持卡人已在手机上验证 VERIFIED ON DEVICE", Style: hal.TextStyle{Align: hal.AlignCenter}})
	}
	// A swiped card is signed for; a chip or a tap only when the card
	// asked for a signature; a wallet payment was confirmed on the
	// customer's phone and charges no card account.
	signed := !isWallet(x.Method) && (x.Chip == nil || x.Chip.Signature)
	if copy == MerchantCopy && signed {
		els = append(els, hal.Text("持卡人签名(CARDHOLDER SIGNATURE):"), hal.Element{Kind: hal.KindFeed}, hal.Element{Kind: hal.KindFeed},
			hal.Text("本人确认以上交易,同意将其记入本卡账户"),
			hal.Text("I ACKNOWLEDGE SATISFACTORY RECEIPT OF RELATIVE GOODS/SERVICES"))
	}
	return hal.Document{Title: x.Kind + " " + x.STAN + " " + copyName(copy), Elements: footer(t, els)}
}

func isWallet(method string) bool {
	switch method {
	case "alipay", "wechat", "unionpay_qr", "qr":
		return true
	}
	return false
}

func copyName(c Copy) string {
	if c == MerchantCopy {
		return "merchant"
	}
	return "customer"
}

func methodShort(m string) string {
	switch m {
	case "swipe":
		return "S"
	case "chip":
		return "I"
	case "tap":
		return "C"
	}
	return ""
}

// ClassTotals is one payment class's line on the settlement slip.
type ClassTotals struct {
	Class                   string
	DebitCount, CreditCount int
	DebitFen, CreditFen     int64
	FeeFen                  int64
}

// Settlement is the end-of-day slip.
type Settlement struct {
	Batch    string
	At       time.Time
	Operator string
	Classes  []ClassTotals
	Balanced bool
	Uploaded int
	Reprint  bool
}

var classNames = map[string]string{
	"card":        "银行卡 CARD",
	"alipay":      "支付宝 ALIPAY",
	"wechat":      "微信 WECHAT",
	"unionpay_qr": "银联二维码 UP QR",
}

// SettlementSlip is the settlement (结算) slip with totals per method.
func SettlementSlip(t Terminal, s Settlement) hal.Document {
	els := header(t, "结算总计单", "SETTLEMENT")
	els = append(els,
		hal.Pair("批次号(BATCH NO.):", s.Batch),
		hal.Pair("操作员号(OPERATOR NO.):", s.Operator),
		hal.Pair("日期/时间(DATE/TIME):", ""),
		hal.Text(s.At.Format("2006/01/02 15:04:05")),
		hal.Element{Kind: hal.KindSeparator},
	)
	var tot ClassTotals
	for _, c := range s.Classes {
		els = append(els,
			hal.Element{Kind: hal.KindText, Text: classNames[c.Class], Style: hal.TextStyle{Bold: true}},
			hal.Pair(fmt.Sprintf("消费 SALE %d笔", c.DebitCount), Yuan(c.DebitFen)),
			hal.Pair(fmt.Sprintf("退货 REFUND %d笔", c.CreditCount), Yuan(c.CreditFen)),
			hal.Pair("手续费 FEE", Yuan(c.FeeFen)),
		)
		tot.DebitCount += c.DebitCount
		tot.CreditCount += c.CreditCount
		tot.DebitFen += c.DebitFen
		tot.CreditFen += c.CreditFen
		tot.FeeFen += c.FeeFen
	}
	if len(s.Classes) == 0 {
		els = append(els, hal.Element{Kind: hal.KindText, Text: "本批次无交易 NO TRANSACTIONS", Style: hal.TextStyle{Align: hal.AlignCenter}})
	}
	verdict := "对账平 BALANCED"
	if !s.Balanced {
		verdict = "对账不平 UNBALANCED"
	}
	els = append(els,
		hal.Element{Kind: hal.KindSeparator},
		hal.Pair(fmt.Sprintf("合计 TOTAL %d笔", tot.DebitCount+tot.CreditCount), Yuan(tot.DebitFen-tot.CreditFen)),
		hal.Pair("手续费合计 FEES", Yuan(tot.FeeFen)),
		hal.Pair("结算净额 NET", Yuan(tot.DebitFen-tot.CreditFen-tot.FeeFen)),
		hal.Element{Kind: hal.KindText, Text: verdict, Style: hal.TextStyle{Bold: true, Align: hal.AlignCenter}},
	)
	if s.Uploaded > 0 {
		els = append(els, hal.Pair("批上送 UPLOADED", fmt.Sprintf("%d", s.Uploaded)))
	}
	if s.Reprint {
		els = append(els, hal.Element{Kind: hal.KindText, Text: "重打印 DUPLICATED", Style: hal.TextStyle{Align: hal.AlignCenter}})
	}
	return hal.Document{Title: "settlement " + s.Batch, Elements: footer(t, els)}
}
