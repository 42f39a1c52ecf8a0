package journal

import (
	"bufio"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Export is the merchant's copy of the transactions for a spreadsheet or
// an accountant: never a full card number, amounts exact to the fen.

// exportHeader is bilingual: the merchant reads Chinese, the acquirer's
// support often English.
var exportHeader = []string{
	"时间 Time", "类型 Type", "方式 Method", "金额(元) Amount", "状态 Status",
	"凭证号 Trace", "批次号 Batch", "参考号 RRN", "授权码 Auth code", "卡号 Card",
	"订单号 Order", "操作员 Operator", "原凭证号 Original trace", "已撤销 Voided",
	"已退款(元) Refunded", "手续费(元) Fee",
}

// utf8BOM lets Excel and WPS in a Chinese locale take the CSV for UTF-8
// instead of GBK.
const utf8BOM = "\xef\xbb\xbf"

// ExportTxn is one transaction as exported in JSON.
type ExportTxn struct {
	ID          int64  `json:"id"`
	Time        string `json:"time"`    // 2006-01-02 15:04:05, local
	Created     int64  `json:"created"` // unix seconds, terminal clock
	Kind        string `json:"kind"`
	Method      string `json:"method"`
	AmountFen   int64  `json:"amount_fen"`
	Amount      string `json:"amount"` // yuan, two decimals
	Status      string `json:"status"`
	Trace       string `json:"trace"`
	Batch       string `json:"batch"`
	RRN         string `json:"rrn"`
	AuthCode    string `json:"auth_code"`
	MaskedPAN   string `json:"masked_pan"`
	OrderNo     string `json:"order_no"`
	Operator    string `json:"operator"`
	OrigTrace   string `json:"orig_trace"`
	Voided      bool   `json:"voided"`
	RefundedFen int64  `json:"refunded_fen"`
	Refunded    string `json:"refunded"`
	FeeFen      int64  `json:"fee_fen"`
	Fee         string `json:"fee"`
}

const exportQuery = `SELECT t.id, t.created, t.kind, t.method, t.amount_fen, t.status, t.stan, t.batch,
	t.rrn, t.auth_code, t.masked_pan, t.order_no, t.operator, o.stan, t.voided, t.refunded_fen, t.fee_fen
	FROM txns t LEFT JOIN txns o ON o.id = t.orig_id
	WHERE t.created >= ? AND t.created < ? ORDER BY t.id`

// Export writes the transactions created from the start of from's day to
// the end of to's day, in from's location, as "csv" or "json", ordered
// by id. It returns how many it wrote.
func (d *DB) Export(w io.Writer, from, to time.Time, format string) (n int, err error) {
	if format != "csv" && format != "json" {
		return 0, fmt.Errorf("journal: export format %q: want csv or json", format)
	}
	loc := from.Location()
	start := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, loc)
	last := to.In(loc)
	last = time.Date(last.Year(), last.Month(), last.Day(), 0, 0, 0, 0, loc)
	end := last.AddDate(0, 0, 1)
	if last.Before(start) {
		return 0, fmt.Errorf("journal: export from %s to %s: the end is before the start", start.Format(time.DateOnly), last.Format(time.DateOnly))
	}
	// Read before the rows: there is one connection.
	tid, _, err := d.Setting(settingTerminalID)
	if err != nil {
		return 0, err
	}
	rows, err := d.sql.Query(exportQuery, start.Unix(), end.Unix())
	if err != nil {
		return 0, fmt.Errorf("journal: export: %w", err)
	}
	defer rows.Close()
	bw := bufio.NewWriter(w)
	var put func(ExportTxn) error
	var finish func() error
	if format == "csv" {
		put, finish = csvExporter(bw)
	} else {
		put, finish = jsonExporter(bw, tid, start, last)
	}
	for rows.Next() {
		x, err := scanExport(rows, loc)
		if err != nil {
			return n, fmt.Errorf("journal: export: %w", err)
		}
		if err := put(x); err != nil {
			return n, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("journal: export: %w", err)
	}
	if err := finish(); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

func scanExport(rows *sql.Rows, loc *time.Location) (ExportTxn, error) {
	var x ExportTxn
	var orig sql.NullString
	var voided int64
	err := rows.Scan(&x.ID, &x.Created, &x.Kind, &x.Method, &x.AmountFen, &x.Status, &x.Trace, &x.Batch,
		&x.RRN, &x.AuthCode, &x.MaskedPAN, &x.OrderNo, &x.Operator, &orig, &voided, &x.RefundedFen, &x.FeeFen)
	if err != nil {
		return x, err
	}
	x.Time = time.Unix(x.Created, 0).In(loc).Format(time.DateTime)
	x.MaskedPAN = MaskPAN(x.MaskedPAN)
	x.OrigTrace = orig.String
	x.Voided = voided != 0
	x.Amount, x.Refunded, x.Fee = Yuan(x.AmountFen), Yuan(x.RefundedFen), Yuan(x.FeeFen)
	return x, nil
}

func csvExporter(w *bufio.Writer) (put func(ExportTxn) error, finish func() error) {
	w.WriteString(utf8BOM)
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	cw.Write(exportHeader)
	put = func(x ExportTxn) error {
		voided := "no"
		if x.Voided {
			voided = "yes"
		}
		// Amounts are ours and numeric (never a formula); every text
		// field may hold what a host or wallet sent.
		return cw.Write([]string{
			x.Time, defuse(x.Kind), defuse(x.Method), x.Amount, defuse(x.Status),
			defuse(x.Trace), defuse(x.Batch), defuse(x.RRN), defuse(x.AuthCode), defuse(x.MaskedPAN),
			defuse(x.OrderNo), defuse(x.Operator), defuse(x.OrigTrace), voided,
			x.Refunded, x.Fee,
		})
	}
	finish = func() error {
		cw.Flush()
		return cw.Error()
	}
	return put, finish
}

func jsonExporter(w *bufio.Writer, tid string, from, to time.Time) (put func(ExportTxn) error, finish func() error) {
	head, _ := json.Marshal(struct {
		TerminalID string `json:"terminal_id"`
		From       string `json:"from"`
		To         string `json:"to"`
	}{tid, from.Format(time.DateOnly), to.Format(time.DateOnly)})
	// The object is written open and each transaction streamed into it,
	// so a long range is never held in memory.
	w.Write(head[:len(head)-1])
	w.WriteString(`,"transactions":[`)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	first := true
	put = func(x ExportTxn) error {
		if !first {
			w.WriteByte(',')
		}
		first = false
		w.WriteByte('\n')
		return enc.Encode(x) // Encode ends with a newline, which JSON allows
	}
	finish = func() error {
		_, err := w.WriteString("]}\n")
		return err
	}
	return put, finish
}

// defuse stops a spreadsheet taking a field for a formula.
func defuse(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Yuan formats fen as yuan with exactly two decimals, in integers: a
// float would turn some amounts into ...99.
func Yuan(fen int64) string {
	sign := ""
	u := uint64(fen)
	if fen < 0 {
		sign, u = "-", -u
	}
	frac := u % 100
	s := sign + strconv.FormatUint(u/100, 10) + "."
	if frac < 10 {
		s += "0"
	}
	return s + strconv.FormatUint(frac, 10)
}

// MaskPAN masks a card number whatever the column holds: at most the
// first 6 and the last 4 digits stay, everything else becomes '*', and a
// number too short to keep both (under 11 places) keeps the last 4 only.
// Spaces and dashes are dropped; anything else counts as a masked place.
func MaskPAN(s string) string {
	var r []rune
	for _, c := range s {
		if c != ' ' && c != '-' {
			r = append(r, c)
		}
	}
	keepHead := 6
	if len(r) < 11 {
		keepHead = 0
	}
	out := make([]byte, len(r))
	for i, c := range r {
		if (i < keepHead || i >= len(r)-4) && '0' <= c && c <= '9' {
			out[i] = byte(c)
		} else {
			out[i] = '*'
		}
	}
	return string(out)
}
