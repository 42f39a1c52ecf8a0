package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shoukuan/pos/app/emv"
	"github.com/shoukuan/pos/app/hostsim"
	"github.com/shoukuan/pos/drivers/fake"
	"github.com/shoukuan/pos/drivers/vcard"
)

// The virtual cards' chips are personalised like real ones: a test CA
// certifies a test issuer, the issuer certifies each card's key over its
// static data, and each card's cryptogram key is derived from the
// simulated issuer's master key. `go test ./cmd/pos -run
// TestVirtualCardsPersonalised -personalise` makes them anew (new keys
// for every card; the CA and issuer keys are kept in pki.json unless
// that file is removed).
var (
	personalise    = flag.Bool("personalise", false, "personalise the virtual cards' chips in testdata/cards that are not yet")
	personaliseAll = flag.Bool("personalise-all", false, "with -personalise: every card anew")
)

const cardsDir = "../../testdata/cards"

// pki is the test CA and issuer of the virtual cards. Test keys only:
// a terminal trusts this CA in demonstration mode and nowhere else.
type pki struct {
	RID     string     `json:"rid"`
	CAIndex string     `json:"ca_index"`
	CA      *vcard.Key `json:"ca"`
	Issuer  *vcard.Key `json:"issuer"`
}

func loadPKI(t testing.TB) pki {
	var p pki
	data, err := os.ReadFile(filepath.Join(cardsDir, "pki", "test-pki.json"))
	if os.IsNotExist(err) && *personalise {
		ca, err1 := rsa.GenerateKey(rand.Reader, 1408)
		is, err2 := rsa.GenerateKey(rand.Reader, 1152)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		p = pki{RID: "A000000333", CAIndex: "F8", CA: vcard.KeyOf(ca), Issuer: vcard.KeyOf(is)}
		out, _ := json.MarshalIndent(p, "", "  ")
		os.MkdirAll(filepath.Join(cardsDir, "pki"), 0o755)
		if err := os.WriteFile(filepath.Join(cardsDir, "pki", "test-pki.json"), append(out, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVirtualCardsPersonalised(t *testing.T) {
	p := loadPKI(t)
	paths, _ := filepath.Glob(filepath.Join(cardsDir, "*.json"))
	chips := 0
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			t.Fatal(err)
		}
		if fields["chip"] == nil {
			continue
		}
		chips++
		var card struct {
			PAN    string         `json:"pan"`
			Expiry string         `json:"expiry"`
			Chip   *vcard.Profile `json:"chip"`
		}
		if err := json.Unmarshal(raw, &card); err != nil {
			t.Fatal(err)
		}
		mk, err := emv.DeriveICCMasterKey(hostsim.TestIssuerMasterKey(), card.PAN, card.Chip.PSN)
		if err != nil {
			t.Fatal(err)
		}
		if *personalise && (card.Chip.ICCKey == nil || *personaliseAll) {
			card.Chip.MKAC = strings.ToUpper(hex.EncodeToString(mk))
			if err := vcard.Personalise(card.Chip, card.PAN, card.Expiry, vcard.Personalisation{CA: p.CA, CAIndex: p.CAIndex, Issuer: p.Issuer}); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			fields["chip"], _ = json.Marshal(card.Chip)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(fields); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if !strings.EqualFold(card.Chip.MKAC, hex.EncodeToString(mk)) {
			t.Errorf("%s: mk_ac is not derived from the simulated issuer's master key: personalise the cards", path)
		}
	}
	if chips < 8 {
		t.Errorf("%d chip cards in testdata, want the full set", chips)
	}
	if _, err := fake.LoadCardProfiles(cardsDir); err != nil {
		t.Fatal(err)
	}
}
