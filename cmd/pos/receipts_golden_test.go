package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/shoukuan/pos/app/receipt"
	"github.com/shoukuan/pos/drivers/escpos"
	"github.com/shoukuan/pos/drivers/escpos/escposemu"
	"github.com/shoukuan/pos/hal"
)

var updateReceipts = flag.Bool("update-receipts", false, "rewrite testdata/receipts/*.png from the emulator")

// goldenReceipts are the terminal's slips, one of each kind, with fixed
// contents.
func goldenReceipts() map[string]hal.Document {
	term := receipt.Terminal{MerchantName: "老王面馆", MerchantID: "898310058120001", TerminalID: "10000001", Version: "1.2.0"}
	at := time.Date(2026, 3, 2, 9, 5, 0, 0, time.UTC)
	chip := &receipt.Chip{Label: "UnionPay Debit", AID: "A000000333010101", ACType: "TC", Cryptogram: "0123456789ABCDEF", TVR: "0000008000", TSI: "F800", ATC: "0011"}
	card := receipt.Txn{Kind: "sale", Method: "chip", AmountFen: 1234, MaskedPAN: "622202*********0128", STAN: "000007", Batch: "000001",
		RRN: "030200000007", AuthCode: "123456", Operator: "01", At: at, Chip: chip}
	void := card
	void.Kind, void.Method, void.Chip, void.STAN, void.OrigSTAN = "void", "swipe", nil, "000008", "000007"
	refund := card
	refund.Kind, refund.Method, refund.Chip, refund.STAN, refund.OrigRRN = "refund", "swipe", nil, "000009", "030200000007"
	wechat := receipt.Txn{Kind: "sale", Method: "wechat", AmountFen: 5000, STAN: "000010", Batch: "000001", RRN: "030200000010", Operator: "01",
		At: at, OrderNo: "10000001260302090500000010", Buyer: "o***x9", TradeNo: "4200001234202603020000000010", FeeFen: 19}
	huabei := receipt.Txn{Kind: "sale", Method: "alipay", AmountFen: 360000, STAN: "000011", Batch: "000001", RRN: "030200000011", Operator: "01",
		At: at, OrderNo: "10000001260302090500000011", Buyer: "138****0000", TradeNo: "2026030222001400000000000011", Periods: 12, SellerPct: 0, InstallFeeFen: 27000}
	settle := receipt.Settlement{Batch: "000001", At: at, Operator: "01", Balanced: true, Uploaded: 2, Classes: []receipt.ClassTotals{
		{Class: "card", DebitCount: 2, DebitFen: 3000, CreditCount: 1, CreditFen: 300, FeeFen: 18},
		{Class: "wechat", DebitCount: 1, DebitFen: 5000, FeeFen: 19},
	}}
	self := []hal.SelfTestResult{
		{Device: "printer", OK: true, Detail: "ESC/POS 58mm: ready", Took: 12 * time.Millisecond},
		{Device: "scanner", OK: false, Detail: "no answer on /dev/ttyS1", Took: 500 * time.Millisecond},
		{Device: "indicator", Skipped: true, Detail: "absent: not on this board"},
	}
	return map[string]hal.Document{
		"sale-chip":   receipt.Transaction(term, card, receipt.MerchantCopy),
		"void":        receipt.Transaction(term, void, receipt.MerchantCopy),
		"refund":      receipt.Transaction(term, refund, receipt.CustomerCopy),
		"qr-wechat":   receipt.Transaction(term, wechat, receipt.MerchantCopy),
		"qr-huabei":   receipt.Transaction(term, huabei, receipt.CustomerCopy),
		"settlement":  receipt.SettlementSlip(term, settle),
		"self-test":   receipt.SelfTest(term, self, at),
		"qr-raster58": receipt.Transaction(term, wechat, receipt.CustomerCopy),
	}
}

// Every kind of slip, printed by the real driver into the emulator, is
// the golden page to the dot; the QR codes on them decode with gozxing
// and with zbarimg, an independent decoder.
func TestGoldenReceipts(t *testing.T) {
	zbar, zerr := exec.LookPath("zbarimg")
	if zerr != nil && os.Getenv("POS_REQUIRE_ZBAR") != "" {
		t.Fatal("zbarimg (zbar-tools) is required here")
	}
	for name, doc := range goldenReceipts() {
		t.Run(name, func(t *testing.T) {
			prof := "58mm"
			if strings.HasSuffix(name, "raster58") {
				prof = "58mm-raster"
			}
			page, dots := printOnEmulator(t, prof, doc)
			img := page.Render(dots)
			var got bytes.Buffer
			if err := png.Encode(&got, img); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(repoRoot, "testdata", "receipts", name+".png")
			if *updateReceipts {
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/pos -run TestGoldenReceipts -update-receipts and look at the pages)", err)
			}
			if d := pageDiff(t, want, img); d != "" {
				os.WriteFile(filepath.Join(t.TempDir(), name+".png"), got.Bytes(), 0o644)
				t.Fatalf("%s differs from %s: %s", name, path, d)
			}
			var qrText string
			for _, e := range doc.Elements {
				if e.Kind == hal.KindQR {
					qrText = e.Text
				}
			}
			if qrText == "" {
				return
			}
			padded := quietZone(img)
			if got := decodeGozxing(t, padded); got != qrText {
				t.Fatalf("gozxing reads %q, want %q", got, qrText)
			}
			if zerr != nil {
				t.Log("no zbarimg: apt-get install zbar-tools")
				return
			}
			f := filepath.Join(t.TempDir(), name+".png")
			var b bytes.Buffer
			png.Encode(&b, padded)
			os.WriteFile(f, b.Bytes(), 0o644)
			out, err := exec.Command(zbar, "-q", "--raw", "-Sdisable", "-Sqrcode.enable", f).Output()
			if err != nil || strings.TrimSpace(string(out)) != qrText {
				t.Fatalf("zbarimg reads %q (%v), want %q", out, err, qrText)
			}
		})
	}
}

func printOnEmulator(t *testing.T, profName string, doc hal.Document) (escposemu.Page, int) {
	t.Helper()
	prof, err := escpos.LookupProfile(profName)
	if err != nil {
		t.Fatal(err)
	}
	e := escposemu.New(prof, escposemu.Options{})
	p, err := escpos.New(e.Conn(), prof, escpos.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Print(context.Background(), doc); err != nil {
		t.Fatal(err)
	}
	if u := e.Unknown(); len(u) > 0 {
		t.Fatalf("the driver sent what the printer does not know: %v", u)
	}
	e.Finish()
	pages := e.Pages()
	if len(pages) != 1 {
		t.Fatalf("%d pages", len(pages))
	}
	return pages[0], prof.Dots
}

func pageDiff(t *testing.T, want []byte, got *image.Paletted) string {
	w, err := png.Decode(bytes.NewReader(want))
	if err != nil {
		return err.Error()
	}
	if w.Bounds() != got.Bounds() {
		return "size " + w.Bounds().String() + " became " + got.Bounds().String()
	}
	b := got.Bounds()
	n := 0
	first := image.Point{-1, -1}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r1, _, _, _ := w.At(x, y).RGBA()
			r2, _, _, _ := got.At(x, y).RGBA()
			if (r1 < 0x8000) != (r2 < 0x8000) {
				if n == 0 {
					first = image.Pt(x, y)
				}
				n++
			}
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d dots differ, the first at %v", n, first)
}

// quietZone puts the page on a wider sheet: the printed page ends at its
// last dot, paper does not.
func quietZone(img image.Image) *image.Gray {
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dx()+64, b.Dy()+64))
	for i := range out.Pix {
		out.Pix[i] = 0xff
	}
	draw.Draw(out, b.Add(image.Pt(32, 32)), img, b.Min, draw.Src)
	return out
}

func decodeGozxing(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("gozxing: %v", err)
	}
	return res.GetText()
}

// A sale slip with its QR code, merchant copy, through the real driver
// into the emulator: bytes on the wire, their time on a 115200-baud line
// (10 bits a byte; the printer's own printing time comes on top), and the
// time to lay out, encode and interpret it.
func benchmarkReceipt(b *testing.B, profName string) {
	prof, err := escpos.LookupProfile(profName)
	if err != nil {
		b.Fatal(err)
	}
	doc := goldenReceipts()["qr-wechat"]
	e := escposemu.New(prof, escposemu.Options{})
	p, err := escpos.New(e.Conn(), prof, escpos.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := p.Print(context.Background(), doc); err != nil {
			b.Fatal(err)
		}
		e.TakePages()
	}
	b.StopTimer()
	perJob := float64(e.Received()) / float64(b.N)
	b.ReportMetric(perJob, "bytes/receipt")
	b.ReportMetric(perJob*10/115200*1000, "wire-ms@115200")
}

func BenchmarkReceiptNativeQR(b *testing.B) { benchmarkReceipt(b, "58mm") }
func BenchmarkReceiptRasterQR(b *testing.B) { benchmarkReceipt(b, "58mm-raster") }
