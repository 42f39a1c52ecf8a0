package main

import (
	"bufio"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/shoukuan/pos/app/journal"
	"github.com/shoukuan/pos/app/seckey"
)

const keysUsage = `usage: pos keys load [--components 2|3] [--kcv CHECK] [--data DIR] [--secrets DIR] [--board B] [--config F]

Loads the terminal master key (TMK) from the key custodians' components.
Each custodian keys in one line: the component as 32 hex digits, a space,
and the check value printed on their sheet (6 to 8 hex digits). Every
check value is verified before the components are combined (XOR); the
key's own check value is shown (and compared with --kcv), and the key is
sealed into the journal under the device key. Nothing is echoed back but
check values (a terminal does not echo the components), and nothing is
logged but the final check value.

The terminal must be stopped (the data directory is locked while it runs).
Set host.tmk to "loaded" in the configuration to use the key.
`

func cmdKeys(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "load" {
		fmt.Fprint(stderr, keysUsage)
		return flag.ErrHelp
	}
	fs := newFlagSet("keys load", stderr)
	var c common
	c.register(fs, "posdata")
	n := fs.Int("components", 2, "how many components the key comes in (2 or 3)")
	want := fs.String("kcv", "", "the combined key's check value from the acquirer, to compare")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *n != 2 && *n != 3 {
		return fmt.Errorf("keys load: --components must be 2 or 3, not %d", *n)
	}
	cfg, desc, err := c.load()
	if err != nil {
		return err
	}
	at, err := c.place(desc)
	if err != nil {
		return err
	}
	readLine := lineReader(stdin, stdout)
	var parts []seckey.Key
	for i := 1; i <= *n; i++ {
		fmt.Fprintf(stdout, "component %d of %d (hex, space, check value): ", i, *n)
		line, err := readLine()
		if err != nil {
			return fmt.Errorf("keys load: component %d: %w", i, err)
		}
		k, kcv, err := parseComponent(line)
		if err != nil {
			return fmt.Errorf("keys load: component %d: %w", i, err)
		}
		got := fmt.Sprintf("%X", seckey.CheckValue(k))
		if !kcvMatches(got, kcv) {
			return fmt.Errorf("keys load: component %d: its check value is %s, the sheet says %s: keyed in wrong; nothing was loaded", i, got[:6], strings.ToUpper(kcv))
		}
		fmt.Fprintf(stdout, "component %d check value %s: matches\n", i, got[:6])
		for j, p := range parts {
			if p.Equal(k) {
				return fmt.Errorf("keys load: component %d is the same as component %d", i, j+1)
			}
		}
		parts = append(parts, k)
	}
	tmk, err := combineComponents(parts)
	for _, p := range parts {
		p.Zero()
	}
	if err != nil {
		return fmt.Errorf("keys load: %w", err)
	}
	defer tmk.Zero()
	kcv := fmt.Sprintf("%X", seckey.CheckValue(tmk))
	if *want != "" && !kcvMatches(kcv, *want) {
		return fmt.Errorf("keys load: the combined key's check value is %s, the acquirer's is %s; nothing was loaded", kcv[:6], strings.ToUpper(*want))
	}
	db, notes, err := journal.OpenTerminal(at.data, cfg.Terminal.TerminalID)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, note := range notes {
		fmt.Fprintln(stderr, "journal:", note)
	}
	store, err := keyStore(db, cfg, at)
	if err != nil {
		return err
	}
	if _, err := store.SaveTMK(tmk, time.Now().Unix()); err != nil {
		return fmt.Errorf("keys load: %w", err)
	}
	// Working keys came under the old master key: the next transaction
	// signs on for new ones.
	if _, err := db.SQL().Exec(`DELETE FROM settings WHERE key = 'signon_date'`); err != nil {
		return err
	}
	if log, f, err := openLog(at.data); err == nil {
		log.Info("terminal master key loaded", "kcv", kcv[:6], "components", *n)
		f.Close()
	}
	fmt.Fprintf(stdout, "master key loaded and sealed, check value %s\n", kcv[:6])
	if cfg.Host.TMK != "loaded" {
		fmt.Fprintln(stdout, `the configuration still says host.tmk "simulator": set it to "loaded" to use this key`)
	}
	return nil
}

// lineReader reads one line at a time: from a terminal without echo, so a
// component never stands on the screen or in its scrollback; from a pipe
// (a script, a test) as it comes.
func lineReader(stdin io.Reader, stdout io.Writer) func() (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return func() (string, error) {
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(stdout)
			return string(b), err
		}
	}
	in := bufio.NewScanner(io.LimitReader(stdin, 4096))
	return func() (string, error) {
		if !in.Scan() {
			return "", errors.New("no input")
		}
		return in.Text(), nil
	}
}

// parseComponent reads "HEX KCV": a double-length component and the check
// value from its sheet.
func parseComponent(line string) (seckey.Key, string, error) {
	f := strings.Fields(line)
	if len(f) != 2 {
		return nil, "", errors.New("want the component's 32 hex digits, a space and its check value")
	}
	if len(f[0]) != 2*seckey.DoubleLen {
		return nil, "", fmt.Errorf("want 32 hex digits (a double-length key), got %d characters", len(f[0]))
	}
	k, err := seckey.ParseKeyHex(f[0])
	if err != nil {
		return nil, "", err
	}
	if allZero(k) {
		return nil, "", errors.New("a component of zeros is not a key")
	}
	kcv := f[1]
	if len(kcv) < 6 || len(kcv) > 8 || strings.Trim(strings.ToUpper(kcv), "0123456789ABCDEF") != "" {
		return nil, "", errors.New("the check value is 6 to 8 hex digits")
	}
	return k, kcv, nil
}

func kcvMatches(got, sheet string) bool {
	sheet = strings.ToUpper(sheet)
	return len(sheet) <= len(got) && subtle.ConstantTimeCompare([]byte(got[:len(sheet)]), []byte(sheet)) == 1
}

// combineComponents XORs the components into the key.
func combineComponents(parts []seckey.Key) (seckey.Key, error) {
	k := make(seckey.Key, seckey.DoubleLen)
	for _, p := range parts {
		for i := range k {
			k[i] ^= p[i]
		}
	}
	if allZero(k) {
		return nil, errors.New("the components cancel out: the key would be all zeros")
	}
	return k, nil
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}
