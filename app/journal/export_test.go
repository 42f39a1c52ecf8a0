package journal

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"
)

var cst = time.FixedZone("CST", 8*3600)

const fullPAN = "6228480402564890018" // 19 digits

// exportJournal has one row of each kind, and rows at the edges of
// 2026-12-01..02 (Beijing time).
func exportJournal(t *testing.T) *DB {
	t.Helper()
	d := openTerm(t, t.TempDir())
	t.Cleanup(func() { d.Close() })
	day := func(dd, h, m, s int) int64 { return time.Date(2026, 12, dd, h, m, s, 0, cst).Unix() }
	insertTxn(t, d, txnRow{stan: "000001", amount: 5, created: day(1, 0, 0, 0) - 1})         // before: out
	sale := insertTxn(t, d, txnRow{stan: "000002", amount: 123456, created: day(1, 0, 0, 0), // first second: in
		pan: "622848******1234", rrn: "123456789012", auth: "A1B2C3", refunded: 100, fee: 741})
	insertTxn(t, d, txnRow{kind: "refund", stan: "000003", amount: 100, origID: sale, created: day(1, 12, 0, 0), pan: "622848******1234"})
	insertTxn(t, d, txnRow{method: "swipe", stan: "000004", amount: 1, created: day(2, 8, 0, 0), pan: fullPAN, voided: true})
	insertTxn(t, d, txnRow{method: "wechat", stan: "000005", amount: 10, created: day(2, 23, 59, 59), // last second: in
		order: "=HYPERLINK(\"http://x\")", operator: "@1", rrn: "+1", auth: "-2"})
	insertTxn(t, d, txnRow{stan: "000006", amount: 7, created: day(3, 0, 0, 0)}) // next day: out
	return d
}

func exportT(t *testing.T, d *DB, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	// from and to are any instants of their days; to in another zone
	// is taken in from's.
	from := time.Date(2026, 12, 1, 15, 0, 0, 0, cst)
	to := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC) // 11:00 on the 2nd in Beijing
	n, err := d.Export(&buf, from, to, format)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Fatalf("%s: %d transactions exported, want 4", format, n)
	}
	return buf.Bytes()
}

// TestExportCSV: BOM, CRLF, the bilingual header, and every value as a
// spreadsheet should show it: amounts exact, card masked, formulas
// defused, the refund naming its sale's trace.
func TestExportCSV(t *testing.T) {
	b := exportT(t, exportJournal(t), "csv")
	if !bytes.HasPrefix(b, []byte("\xef\xbb\xbf")) {
		t.Fatal("no UTF-8 BOM")
	}
	b = b[3:]
	if strings.Count(string(b), "\r\n") != 5 || strings.Count(string(b), "\n") != 5 {
		t.Fatalf("line ends are not CRLF:\n%q", b)
	}
	if bytes.Contains(b, []byte(fullPAN)) || bytes.Contains(b, []byte("0402564890")) {
		t.Fatal("a full card number left in the export")
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "时间 Time,类型 Type,方式 Method,金额(元) Amount,状态 Status,凭证号 Trace,批次号 Batch,参考号 RRN,授权码 Auth code,卡号 Card,订单号 Order,操作员 Operator,原凭证号 Original trace,已撤销 Voided,已退款(元) Refunded,手续费(元) Fee" {
		t.Fatalf("header %q", recs[0])
	}
	want := [][]string{
		{"2026-12-01 00:00:00", "sale", "chip", "1234.56", "approved", "000002", "000001", "123456789012", "A1B2C3", "622848******1234", "", "01", "", "no", "1.00", "7.41"},
		{"2026-12-01 12:00:00", "refund", "chip", "1.00", "approved", "000003", "000001", "", "", "622848******1234", "", "01", "000002", "no", "0.00", "0.00"},
		{"2026-12-02 08:00:00", "sale", "swipe", "0.01", "approved", "000004", "000001", "", "", "622848*********0018", "", "01", "", "yes", "0.00", "0.00"},
		{"2026-12-02 23:59:59", "sale", "wechat", "0.10", "approved", "000005", "000001", "'+1", "'-2", "", "'=HYPERLINK(\"http://x\")", "'@1", "", "no", "0.00", "0.00"},
	}
	if len(recs) != len(want)+1 {
		t.Fatalf("%d records", len(recs))
	}
	for i, w := range want {
		if got := strings.Join(recs[i+1], "|"); got != strings.Join(w, "|") {
			t.Errorf("row %d:\n got %s\nwant %s", i+1, got, strings.Join(w, "|"))
		}
	}
}

// TestExportJSON: the same facts, with integer fen beside the yuan text.
func TestExportJSON(t *testing.T) {
	b := exportT(t, exportJournal(t), "json")
	if bytes.HasPrefix(b, []byte("\xef")) || bytes.Contains(b, []byte(fullPAN)) {
		t.Fatal("BOM or full card number in JSON")
	}
	var doc struct {
		TerminalID   string `json:"terminal_id"`
		From, To     string
		Transactions []ExportTxn `json:"transactions"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if doc.TerminalID != tid || doc.From != "2026-12-01" || doc.To != "2026-12-02" || len(doc.Transactions) != 4 {
		t.Fatalf("document %+v", doc)
	}
	s := doc.Transactions[0]
	if s.AmountFen != 123456 || s.Amount != "1234.56" || s.MaskedPAN != "622848******1234" || s.Trace != "000002" ||
		s.Time != "2026-12-01 00:00:00" || s.RefundedFen != 100 || s.Refunded != "1.00" || s.Fee != "7.41" || s.Voided {
		t.Fatalf("sale %+v", s)
	}
	if r := doc.Transactions[1]; r.Kind != "refund" || r.OrigTrace != "000002" {
		t.Fatalf("refund %+v", r)
	}
	if v := doc.Transactions[2]; v.MaskedPAN != "622848*********0018" || !v.Voided {
		t.Fatalf("swiped %+v", v)
	}
	if w := doc.Transactions[3]; w.OrderNo != `=HYPERLINK("http://x")` || w.Method != "wechat" {
		t.Fatalf("JSON is data, not a spreadsheet: no defusing wanted: %+v", w)
	}
	for i := 1; i < len(doc.Transactions); i++ {
		if doc.Transactions[i].ID <= doc.Transactions[i-1].ID {
			t.Fatal("not ordered by id")
		}
	}
}

// TestExportEmptyAndBadArguments: no rows is still a document; unknown
// formats and reversed ranges are refused.
func TestExportEmptyAndBadArguments(t *testing.T) {
	d := exportJournal(t)
	day := time.Date(2027, 1, 1, 0, 0, 0, 0, cst)
	for _, f := range []string{"csv", "json"} {
		var buf bytes.Buffer
		n, err := d.Export(&buf, day, day, f)
		if err != nil || n != 0 {
			t.Fatalf("%s: %d, %v", f, n, err)
		}
		if f == "json" && !json.Valid(buf.Bytes()) {
			t.Fatalf("empty JSON export is not JSON: %s", buf.Bytes())
		}
		if f == "csv" && buf.String() != utf8BOM+strings.Join(exportHeader, ",")+"\r\n" {
			t.Fatalf("empty CSV: %q", buf.String())
		}
	}
	if _, err := d.Export(&bytes.Buffer{}, day, day, "xlsx"); err == nil {
		t.Fatal("xlsx accepted")
	}
	if _, err := d.Export(&bytes.Buffer{}, day, day.AddDate(0, 0, -1), "csv"); err == nil {
		t.Fatal("end before start accepted")
	}
}

func TestYuan(t *testing.T) {
	for fen, want := range map[int64]string{
		0: "0.00", 1: "0.01", 9: "0.09", 10: "0.10", 99: "0.99", 100: "1.00", 123456: "1234.56",
		-5: "-0.05", -123456: "-1234.56", 100000000000: "1000000000.00",
		math.MaxInt64: "92233720368547758.07", math.MinInt64: "-92233720368547758.08",
	} {
		if got := Yuan(fen); got != want {
			t.Errorf("Yuan(%d) = %q, want %q", fen, got, want)
		}
	}
}

func TestMaskPAN(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "",
		"622848******1234":        "622848******1234",
		fullPAN:                   "622848*********0018",
		"6228 4804 0256 4890 018": "622848*********0018",
		"4111111111111111":        "411111******1111",
		"41111111111":             "411111*1111",
		"4111111111":              "******1111", // under 11 places: last 4 only
		"1234":                    "1234",
		"****1234":                "****1234",
		"62284８0402564890018":     "62284**********0018", // a full-width digit is not kept
		"abcdefghijklmnop":        "****************",
	} {
		if got := MaskPAN(in); got != want {
			t.Errorf("MaskPAN(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzMaskPAN: whatever the column holds, at most 6 leading and 4
// trailing digits come out, and nothing but digits and '*'.
func FuzzMaskPAN(f *testing.F) {
	f.Add(fullPAN)
	f.Add("622848******1234")
	f.Add("1234-5678 9012")
	f.Fuzz(func(t *testing.T, s string) {
		m := MaskPAN(s)
		for i := 0; i < len(m); i++ {
			c := m[i]
			if c == '*' {
				continue
			}
			if c < '0' || c > '9' {
				t.Fatalf("MaskPAN(%q) = %q: not a digit or '*'", s, m)
			}
			if len(m) < 11 && i < len(m)-4 || len(m) >= 11 && i >= 6 && i < len(m)-4 {
				t.Fatalf("MaskPAN(%q) = %q: digit %d kept", s, m, i)
			}
		}
	})
}
