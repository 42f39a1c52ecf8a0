package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/journal"
)

// TestBackupRestoreExportRoundTrip: the technician's data commands on a
// real terminal's journal: a backup while nothing is owed, an export that
// a spreadsheet opens with masked cards and yuan, a restore that brings
// the backup back and keeps the trace numbers moving on, so the host
// never sees one twice.
func TestBackupRestoreExportRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	c := newCrashEnv(t)
	c.run("setup", "", "")
	first, ok := lastApproved(c.run("op", scriptSale(2500), ""), engine.KindSale, false)
	if !ok {
		t.Fatal("no sale")
	}
	stick := t.TempDir()
	var out bytes.Buffer
	if code := run([]string{"backup", "--data", c.data, stick}, &out, &out); code != 0 {
		t.Fatalf("backup: exit %d\n%s", code, out.String())
	}
	list, err := journal.ListBackups(stick)
	if err != nil || len(list) != 1 {
		t.Fatalf("backups on the stick: %v %v", list, err)
	}
	backup := list[0]
	if backup.Transactions != 1 || backup.TerminalID != "10000001" || !strings.Contains(out.String(), backup.Dir) {
		t.Fatalf("backup manifest %+v\n%s", backup, out.String())
	}

	today := first.Created.Format("2006-01-02") // the terminal's clock, not this machine's
	export := func(format string) string {
		t.Helper()
		var o, e bytes.Buffer
		if code := run([]string{"export", "--data", c.data, "--from", today, "--format", format}, &o, &e); code != 0 {
			t.Fatalf("export %s: exit %d\n%s", format, code, e.String())
		}
		if strings.Contains(o.String(), crashCard) {
			t.Fatalf("export %s holds the full card number", format)
		}
		return o.String()
	}
	csv := export("csv")
	if !strings.HasPrefix(csv, "\ufeff") || !strings.Contains(csv, "25.00") || !strings.Contains(csv, first.MaskedPAN) || !strings.Contains(csv, first.STAN) {
		t.Fatalf("CSV export:\n%s", csv)
	}
	var doc struct {
		Transactions []map[string]any `json:"transactions"`
	}
	if err := json.Unmarshal([]byte(export("json")), &doc); err != nil || len(doc.Transactions) != 1 {
		t.Fatalf("JSON export: %v %+v", err, doc)
	}

	second, ok := lastApproved(c.run("op", scriptSale(9900), ""), engine.KindSale, false)
	if !ok {
		t.Fatal("no second sale")
	}
	out.Reset()
	if code := run([]string{"restore", "--data", c.data, "--confirm", "1000000X", backup.Dir}, &out, &out); code == 0 {
		t.Fatal("restore without the terminal ID confirmed")
	}
	out.Reset()
	if code := run([]string{"restore", "--data", c.data, "--confirm", "10000001", backup.Dir}, &out, &out); code != 0 {
		t.Fatalf("restore: exit %d\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "replaced-") {
		t.Fatalf("restore does not say where the replaced journal went:\n%s", out.String())
	}
	kept, _ := filepath.Glob(filepath.Join(c.data, "replaced-*", journal.JournalFile))
	if len(kept) != 1 {
		t.Fatalf("the replaced journal was not kept: %v", kept)
	}
	csv = export("csv")
	if !strings.Contains(csv, "25.00") || strings.Contains(csv, "99.00") {
		t.Fatalf("after the restore the export should hold the backup's sale only:\n%s", csv)
	}
	third, ok := lastApproved(c.run("op", scriptSale(1200), ""), engine.KindSale, false)
	if !ok {
		t.Fatal("no sale after the restore")
	}
	if third.STAN <= second.STAN {
		t.Fatalf("trace %s after the restore reuses a number the host has (last was %s)", third.STAN, second.STAN)
	}
	if _, err := os.Stat(filepath.Join(backup.Dir, journal.ChecksumsFile)); err != nil {
		t.Fatal(err)
	}
}
