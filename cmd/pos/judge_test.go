package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/shoukuan/pos/app/engine"
	"github.com/shoukuan/pos/app/hostsim"
)

// The judge of both campaigns compares the terminal's journal with the
// host's ledger transaction by transaction: every approved row has the
// host's record of the same kind and amount in the same state (a voided
// sale voided, refunds adding up), every row that did not happen has no
// record in effect at the host, and every record the host holds is one the
// journal knows. Reversing the wrong sale, refunding twice or losing a
// charge all show up as a disagreement on one trace number.

func traceKey(batch, stan string) string { return batch + "/" + stan }

// judgeTxn checks one journal row against the host's record of it (nil:
// the host has none). A pending row may stand either way, and so may the
// voided and refunded state of a sale with a void or refund still pending.
func judgeTxn(x engine.Txn, rec *hostsim.Record, childPending bool) error {
	if x.Kind == engine.KindBalance || x.Status == engine.StatusPending {
		return nil
	}
	at := fmt.Sprintf("%s %s trace %s/%s (%d fen, %s)", x.Kind, x.Method, x.Batch, x.STAN, x.AmountFen, x.Status)
	inEffect := rec != nil && rec.Status != hostsim.StatusReversed
	if x.Status != engine.StatusApproved {
		if inEffect {
			return fmt.Errorf("%s: the journal says it did not happen, the host holds it as %s", at, rec.Status)
		}
		return nil
	}
	switch {
	case rec == nil:
		return fmt.Errorf("%s: approved in the journal, unknown to the host", at)
	case !inEffect:
		return fmt.Errorf("%s: approved in the journal, reversed at the host", at)
	case rec.Kind != string(x.Kind):
		return fmt.Errorf("%s: the host recorded a %s under this trace", at, rec.Kind)
	case rec.AmountFen != x.AmountFen:
		return fmt.Errorf("%s: the host recorded %d fen", at, rec.AmountFen)
	}
	if x.Kind == engine.KindSale && !childPending {
		want := hostsim.StatusApproved
		if x.Voided {
			want = hostsim.StatusVoided
		}
		if rec.Status != want {
			return fmt.Errorf("%s: journal voided=%v, host status %s", at, x.Voided, rec.Status)
		}
		if rec.RefundedFen != x.RefundedFen {
			return fmt.Errorf("%s: journal has %d fen refunded, the host %d", at, x.RefundedFen, rec.RefundedFen)
		}
	}
	return nil
}

// judgeLedger checks a whole journal against a whole ledger.
func judgeLedger(txns []engine.Txn, recs []hostsim.Record) error {
	byTrace := map[string]*hostsim.Record{}
	for i := range recs {
		byTrace[traceKey(recs[i].Batch, recs[i].STAN)] = &recs[i]
	}
	known := map[string]bool{}
	pendingChild := map[int64]bool{}
	for _, x := range txns {
		if x.Status == engine.StatusPending && x.OrigID != 0 {
			pendingChild[x.OrigID] = true
		}
	}
	var errs []string
	for _, x := range txns {
		k := traceKey(x.Batch, x.STAN)
		known[k] = true
		if err := judgeTxn(x, byTrace[k], pendingChild[x.ID]); err != nil {
			errs = append(errs, err.Error())
		}
	}
	for _, r := range recs {
		if r.Status != hostsim.StatusReversed && !known[traceKey(r.Batch, r.STAN)] {
			errs = append(errs, fmt.Sprintf("the host holds a %s of %d fen (trace %s/%s, %s) the journal does not know", r.Kind, r.AmountFen, r.Batch, r.STAN, r.Status))
		}
	}
	if len(errs) > 0 {
		if len(errs) > 5 {
			errs = append(errs[:5], fmt.Sprintf("and %d more", len(errs)-5))
		}
		return fmt.Errorf("journal and host disagree:\n  %s", strings.Join(errs, "\n  "))
	}
	return nil
}

// paperJudge knows which receipts came out of a fake printer: it reads
// each receipt file once.
type paperJudge struct {
	dir     string
	read    map[string]bool
	printed map[string]bool // batch/stan of every receipt printed
}

var (
	receiptBatch = regexp.MustCompile(`批次号\(BATCH NO\.\):\s*(\d{6})`)
	receiptTrace = regexp.MustCompile(`凭证号\(VOUCHER NO\.\):\s*(\d{6})`)
)

func newPaperJudge(dataDir string) *paperJudge {
	return &paperJudge{dir: filepath.Join(dataDir, "receipts"), read: map[string]bool{}, printed: map[string]bool{}}
}

func (p *paperJudge) scan() error {
	ents, err := os.ReadDir(p.dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".txt") || p.read[name] {
			continue
		}
		b, err := os.ReadFile(filepath.Join(p.dir, name))
		if err != nil {
			return err
		}
		p.read[name] = true
		batch, trace := receiptBatch.FindSubmatch(b), receiptTrace.FindSubmatch(b)
		if batch != nil && trace != nil {
			p.printed[traceKey(string(batch[1]), string(trace[1]))] = true
		}
	}
	return nil
}

// unprinted lists the host's records in effect whose receipt never came out.
func (p *paperJudge) unprinted(recs []hostsim.Record) ([]string, error) {
	if err := p.scan(); err != nil {
		return nil, err
	}
	var out []string
	for _, r := range recs {
		if r.Status == hostsim.StatusReversed {
			continue
		}
		if !p.printed[traceKey(r.Batch, r.STAN)] {
			out = append(out, fmt.Sprintf("%s of %d fen, trace %s/%s", r.Kind, r.AmountFen, r.Batch, r.STAN))
		}
	}
	return out, nil
}
