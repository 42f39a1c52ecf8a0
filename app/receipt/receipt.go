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
}

// header opens every slip: the title in double size (Chinese, 16 columns
// at most on 58 mm paper) with its English line under it.
func header(t Terminal, title, titleEN string) []hal.Element {
	return []hal.Element{
		{Kind: hal.KindText, Text: title, Style: hal.TextStyle{Size: hal.SizeDouble, Bold: true, Align: hal.AlignCenter}},
		{Kind: hal.KindText, Text: titleEN, Style: hal.TextStyle{Align: hal.AlignCenter}},
		{Kind: hal.KindSeparator},
		hal.Text("商户名称(MERCHANT NAME):"),
		hal.Text(t.MerchantName),
		hal.Pair("商户编号(MERCHANT NO.):", ""),
		hal.Text(t.MerchantID),
		hal.Pair("终端编号(TERMINAL NO.):", t.TerminalID),
	}
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
	failed := 0
	for _, r := range results {
		status := "OK"
		if !r.OK {
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
		hal.Element{Kind: hal.KindText, Text: fmt.Sprintf("%d OK / %d FAIL", len(results)-failed, failed), Style: hal.TextStyle{Bold: true, Align: hal.AlignCenter}},
		hal.Element{Kind: hal.KindCut},
	)
	return hal.Document{Title: "self-test", Elements: els}
}
