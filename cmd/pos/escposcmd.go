package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/shoukuan/pos/drivers/escpos"
	"github.com/shoukuan/pos/drivers/escpos/escposemu"
)

const escposUsage = `usage: pos escpos render [--profile NAME] IN.bin OUT.png
       pos escpos virtual [--profile NAME] [--baud N] --out DIR

render prints a file of ESC/POS bytes (what any program sends a receipt
printer) on the emulated printer and writes the paper as a 1-bit PNG at
the profile's width; commands it does not draw are listed on stderr. With
several pages (cuts, or jobs on a printer without a cutter) OUT.png gets
-2, -3... siblings.

virtual runs the emulated printer on a pseudo-terminal until interrupted:
point a driver or a program at the device path it prints, and each page
comes out as DIR/page-NNNN.png with its text beside it.

Profiles: ` + "%s" + ` (default 58mm).
`

func cmdEscpos(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "render" && args[0] != "virtual") {
		fmt.Fprintf(stderr, escposUsage, strings.Join(escpos.ProfileNames(), ", "))
		return flag.ErrHelp
	}
	fs := newFlagSet("escpos "+args[0], stderr)
	profName := fs.String("profile", "58mm", "printer profile")
	baud := fs.Int("baud", 115200, "virtual: the line's rate")
	out := fs.String("out", "", "virtual: directory for the pages")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	prof, err := escpos.LookupProfile(*profName)
	if err != nil {
		return err
	}
	if args[0] == "virtual" {
		if *out == "" || fs.NArg() != 0 {
			return fmt.Errorf("usage: pos escpos virtual [--profile NAME] [--baud N] --out DIR")
		}
		return escposVirtual(prof, *baud, *out, stdout, stderr)
	}
	if fs.NArg() != 2 {
		return fmt.Errorf("usage: pos escpos render [--profile NAME] IN.bin OUT.png")
	}
	data, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		return err
	}
	e := escposemu.New(prof, escposemu.Options{})
	e.Write(data)
	e.Finish()
	for _, u := range e.Unknown() {
		fmt.Fprintln(stderr, "escpos:", u)
	}
	if n := e.Pending(); n > 0 {
		fmt.Fprintf(stderr, "escpos: the last %d bytes are an incomplete command\n", n)
	}
	pages := e.Pages()
	if len(pages) == 0 {
		pages = []escposemu.Page{{}}
	}
	for i, pg := range pages {
		path := fs.Arg(1)
		if i > 0 {
			ext := filepath.Ext(path)
			path = fmt.Sprintf("%s-%d%s", strings.TrimSuffix(path, ext), i+1, ext)
		}
		b, err := pg.PNG(prof.Dots)
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %dx%d dots, %d lines\n", path, prof.Dots, len(pg.Rows), len(pg.Lines))
	}
	return nil
}

// escposVirtual serves the emulator on a pty and saves pages as they
// finish; a page of a printer without a cutter finishes at the next job,
// or after two seconds of quiet.
func escposVirtual(prof escpos.Profile, baud int, dir string, stdout, stderr io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	e := escposemu.New(prof, escposemu.Options{})
	p, err := escposemu.ListenPTY(e, baud)
	if err != nil {
		return fmt.Errorf("virtual printer: %w", err)
	}
	defer p.Close()
	fmt.Fprintf(stdout, "virtual %s printer on %s (%d baud); pages go to %s\n", prof.Name, p.Path(), baud, dir)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(stop)
	done := make(chan struct{})
	go func() { <-stop; close(done) }()
	pages := newPageSaver(e, prof, dir, func(path string, lines int) {
		fmt.Fprintf(stdout, "%s.png: %d lines\n", strings.TrimSuffix(path, ".txt"), lines)
	})
	return pages.run(done)
}
