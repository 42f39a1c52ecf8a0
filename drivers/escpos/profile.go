package escpos

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Profile is what the driver must know about a printer model. It is data
// (profiles.json, or a board's own), because the same commands mean
// different paper, fonts and features on different printers.
type Profile struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Dots is the print width: 384 on 58 mm paper, 576 on 80 mm.
	Dots int `json:"dots"`
	// Charset is the printer's Chinese font: gb2312, gbk, gb18030 (its
	// two-byte part; four-byte characters are never in a printer's font)
	// or ascii for a printer without one. A character outside it prints
	// as a raster drawn with Unifont.
	Charset string `json:"charset"`
	// NativeQR: the printer draws QR codes itself (GS ( k); otherwise the
	// driver sends them as raster images.
	NativeQR bool `json:"native_qr"`
	// Cutter: none (tear bar), partial or full.
	Cutter string `json:"cutter"`
	// BandRows is the height of one raster band: big images go in bands
	// so that a small receive buffer is never overrun.
	BandRows int `json:"band_rows"`
	// FeedLines brings the last line past the tear bar or the cutter.
	FeedLines int `json:"feed_lines"`
}

// Font A: a narrow character is 12x24 dots, a Chinese one 24x24, a line
// 30 dots (24 plus the default spacing).
const (
	CellDots = 12
	CharRows = 24
	LineRows = 30
)

// Columns is the paper width in narrow Font A characters: 32 on 58 mm.
func (p Profile) Columns() int { return p.Dots / CellDots }

//go:embed profiles.json
var profilesJSON []byte

var builtin = func() map[string]Profile {
	var list []Profile
	dec := json.NewDecoder(bytes.NewReader(profilesJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&list); err != nil {
		panic("escpos: profiles.json: " + err.Error())
	}
	m := map[string]Profile{}
	for _, p := range list {
		if err := p.Validate(); err != nil {
			panic("escpos: profiles.json: " + err.Error())
		}
		m[p.Name] = p
	}
	return m
}()

// LookupProfile finds a built-in profile by name.
func LookupProfile(name string) (Profile, error) {
	p, ok := builtin[name]
	if !ok {
		return Profile{}, fmt.Errorf("printer profile %q: unknown (one of %s)", name, strings.Join(ProfileNames(), ", "))
	}
	return p, nil
}

// ProfileNames lists the built-in profiles.
func ProfileNames() []string {
	var out []string
	for n := range builtin {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Validate names the first field that no printer could have.
func (p Profile) Validate() error {
	switch {
	case p.Name == "":
		return fmt.Errorf("profile: name missing")
	case p.Dots < 192 || p.Dots > 832 || p.Dots%8 != 0:
		return fmt.Errorf("profile %s: dots %d; want a multiple of 8 from 192 to 832 (384 for 58 mm, 576 for 80 mm)", p.Name, p.Dots)
	case p.BandRows < 8 || p.BandRows > 2048:
		return fmt.Errorf("profile %s: band_rows %d; want 8-2048", p.Name, p.BandRows)
	case p.FeedLines < 0 || p.FeedLines > 20:
		return fmt.Errorf("profile %s: feed_lines %d; want 0-20", p.Name, p.FeedLines)
	}
	switch p.Charset {
	case "ascii", "gb2312", "gbk", "gb18030":
	default:
		return fmt.Errorf("profile %s: charset %q; want ascii, gb2312, gbk or gb18030", p.Name, p.Charset)
	}
	switch p.Cutter {
	case "none", "partial", "full":
	default:
		return fmt.Errorf("profile %s: cutter %q; want none, partial or full", p.Name, p.Cutter)
	}
	return nil
}
