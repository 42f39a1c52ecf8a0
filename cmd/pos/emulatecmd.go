package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/shoukuan/pos/drivers/escpos"
	"github.com/shoukuan/pos/drivers/escpos/escposemu"
	"github.com/shoukuan/pos/drivers/fake"
	"github.com/shoukuan/pos/drivers/pn532/pn532emu"
	"github.com/shoukuan/pos/drivers/uartscan/scanemu"
	"github.com/shoukuan/pos/hal"
)

const emulateUsage = `usage: pos emulate [--cards DIR] [--profile NAME] --sockets DIR --out DIR

Runs the terminal's devices on this machine for the terminal image under
qemu (make qemu-devices): a PN532 reader with the virtual cards in its
field on DIR/pn532.sock, a receipt printer on DIR/printer.sock and a
serial barcode scanner (Honeywell trigger commands, CR suffix) on
DIR/scanner.sock. Qemu connects to them and the guest's real drivers see
them as serial lines (/dev/hvc0, /dev/hvc1 and /dev/hvc2, board
qemu-virt-devices). Each page printed comes out as OUT/page-NNNN.png
with its text beside it.

Commands on stdin, one per line:
  tap CARD      put a virtual card (or phone) into the reader's field
  remove        take every card out of the field
  cards         list the virtual cards
  scan CODE     show the scanner a code (a customer's payment code)
  paper ROWS    load paper (0: an endless roll); cover open|close
`

func cmdEmulate(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("emulate", stderr)
	cards := fs.String("cards", "testdata/cards", "directory of virtual card profiles")
	profName := fs.String("profile", "58mm", "printer profile")
	sockets := fs.String("sockets", "", "directory for pn532.sock, printer.sock and scanner.sock")
	out := fs.String("out", "", "directory for the printed pages")
	fs.Usage = func() { fmt.Fprint(stderr, emulateUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sockets == "" || *out == "" || fs.NArg() != 0 {
		fs.Usage()
		return errors.New("emulate: --sockets and --out are required")
	}
	prof, err := escpos.LookupProfile(*profName)
	if err != nil {
		return err
	}
	em, err := startEmulators(*sockets, *cards, *out, prof, stdout)
	if err != nil {
		return err
	}
	defer em.Close()
	fmt.Fprintf(stdout, "emulate: PN532 on %s, %s printer on %s, scanner on %s; pages go to %s\n",
		filepath.Join(*sockets, "pn532.sock"), prof.Name, filepath.Join(*sockets, "printer.sock"), filepath.Join(*sockets, "scanner.sock"), *out)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(stop)
	for {
		select {
		case <-stop:
			return nil
		case l, ok := <-lines:
			if !ok {
				return nil
			}
			if err := em.command(l); err != nil {
				fmt.Fprintln(stdout, "emulate:", err)
			}
		}
	}
}

// emulators are the PN532, the printer and the scanner of a terminal that runs
// elsewhere (a qemu guest), each on a unix socket: one connection at a
// time, and a new one whenever the terminal restarts. The devices keep
// their state across connections, as real ones keep theirs across a
// terminal's reboot.
type emulators struct {
	cards   map[string]*fake.CardProfile
	field   *pn532emu.Emulator
	printer *escposemu.Emulator
	scanner *scanemu.Module
	pages   *pageSaver
	out     io.Writer
	outMu   sync.Mutex
	lns     []net.Listener
	done    chan struct{}
	wg      sync.WaitGroup

	mu   sync.Mutex
	conn net.Conn          // the printer's current connection, for its answers
	open map[net.Conn]bool // every connection, closed by Close
}

func startEmulators(sockets, cardsDir, outDir string, prof escpos.Profile, out io.Writer) (*emulators, error) {
	profiles, err := fake.LoadCardProfiles(cardsDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(sockets, 0o700); err != nil {
		return nil, err
	}
	e := &emulators{cards: map[string]*fake.CardProfile{}, out: out, done: make(chan struct{}), open: map[net.Conn]bool{},
		field: pn532emu.New(pn532emu.Options{}), printer: escposemu.New(prof, escposemu.Options{}), scanner: scanemu.New(scanemu.Options{})}
	for _, p := range profiles {
		e.cards[p.Name] = p
	}
	e.pages = newPageSaver(e.printer, prof, outDir, func(path string, lines int) { e.say("printed %s (%d lines)", path, lines) })
	for _, name := range []string{"pn532.sock", "printer.sock", "scanner.sock"} {
		path := filepath.Join(sockets, name)
		os.Remove(path) // a previous run's
		l, err := net.Listen("unix", path)
		if err != nil {
			e.Close()
			return nil, err
		}
		e.lns = append(e.lns, l)
	}
	e.wg.Add(5)
	go e.accept(e.lns[0], "PN532", func(c net.Conn) { e.field.Serve(c) })
	go e.accept(e.lns[1], "printer", e.servePrinter)
	go e.accept(e.lns[2], "scanner", func(c net.Conn) { e.scanner.Serve(c) })
	go e.answerPrinter()
	go func() {
		defer e.wg.Done()
		if err := e.pages.run(e.done); err != nil {
			e.say("printer: %v", err)
		}
	}()
	return e, nil
}

func (e *emulators) say(f string, a ...any) {
	e.outMu.Lock()
	defer e.outMu.Unlock()
	fmt.Fprintf(e.out, "emulate: "+f+"\n", a...)
}

func (e *emulators) accept(l net.Listener, what string, serve func(net.Conn)) {
	defer e.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		e.mu.Lock()
		e.open[c] = true
		e.mu.Unlock()
		e.say("%s connected", what)
		serve(c)
		c.Close()
		e.mu.Lock()
		delete(e.open, c)
		e.mu.Unlock()
		e.say("%s disconnected", what)
	}
}

func (e *emulators) servePrinter(c net.Conn) {
	e.mu.Lock()
	e.conn = c
	e.mu.Unlock()
	io.Copy(e.printer, c)
	e.mu.Lock()
	e.conn = nil
	e.mu.Unlock()
}

// answerPrinter carries the printer's status answers to whichever
// terminal is connected; with none, they are lost, as on an unplugged
// cable.
func (e *emulators) answerPrinter() {
	defer e.wg.Done()
	buf := make([]byte, 64)
	for {
		n, err := e.printer.Read(buf)
		e.mu.Lock()
		if c := e.conn; c != nil && n > 0 {
			c.Write(buf[:n])
		}
		e.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (e *emulators) command(line string) error {
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil
	}
	switch {
	case f[0] == "tap" && len(f) == 2:
		p, ok := e.cards[f[1]]
		if !ok {
			return fmt.Errorf("no card %q (cards lists them)", f[1])
		}
		if err := e.field.Place(p); err != nil {
			return err
		}
		e.say("%s is in the field", f[1])
	case f[0] == "remove" && len(f) == 1:
		e.field.Remove("")
		e.say("the field is empty")
	case f[0] == "cards" && len(f) == 1:
		var names []string
		for n, p := range e.cards {
			if p.ChipCard() != nil {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		e.say("cards: %s", strings.Join(names, " "))
	case f[0] == "scan" && len(f) == 2:
		code := hal.Code{Text: f[1], Symbology: hal.SymQR}
		if strings.Trim(f[1], "0123456789") == "" {
			code.Symbology = hal.SymCode128 // a payment code's bar code
		}
		if err := e.scanner.Present(code); errors.Is(err, scanemu.ErrNotArmed) {
			return errors.New("the scanner is not reading: the terminal has not asked for a code")
		} else if err != nil {
			return err
		}
		e.say("scanned %s", f[1])
	case f[0] == "paper" && len(f) == 2:
		var rows int
		if _, err := fmt.Sscan(f[1], &rows); err != nil || rows < 0 {
			return fmt.Errorf("paper %q: want a number of dot rows", f[1])
		}
		e.printer.LoadPaper(rows)
	case f[0] == "cover" && len(f) == 2 && (f[1] == "open" || f[1] == "close"):
		e.printer.SetCoverOpen(f[1] == "open")
	default:
		return fmt.Errorf("unknown command %q: tap CARD, remove, cards, scan CODE, paper ROWS, cover open|close", line)
	}
	return nil
}

func (e *emulators) Close() {
	select {
	case <-e.done:
		return
	default:
	}
	close(e.done)
	for _, l := range e.lns {
		l.Close()
	}
	e.mu.Lock()
	for c := range e.open {
		c.Close()
	}
	e.mu.Unlock()
	e.printer.Close()
	e.wg.Wait()
}

// pageSaver writes an emulated printer's pages as they finish; a page of
// a printer without a cutter finishes at the next job, or after two
// seconds of quiet.
type pageSaver struct {
	e     *escposemu.Emulator
	prof  escpos.Profile
	dir   string
	saved func(path string, lines int)
	n     int
}

func newPageSaver(e *escposemu.Emulator, prof escpos.Profile, dir string, saved func(string, int)) *pageSaver {
	return &pageSaver{e: e, prof: prof, dir: dir, saved: saved}
}

func (s *pageSaver) save() error {
	for _, pg := range s.e.TakePages() {
		s.n++
		b, err := pg.PNG(s.prof.Dots)
		if err != nil {
			return err
		}
		base := filepath.Join(s.dir, fmt.Sprintf("page-%04d", s.n))
		if err := os.WriteFile(base+".png", b, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(base+".txt", []byte(strings.Join(pg.Lines, "\n")+"\n"), 0o644); err != nil {
			return err
		}
		s.saved(base+".txt", len(pg.Lines))
	}
	return nil
}

// run saves pages until done, then the last one.
func (s *pageSaver) run(done <-chan struct{}) error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return err
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	last, seen := 0, time.Now()
	for {
		select {
		case <-done:
			s.e.Finish()
			return s.save()
		case <-tick.C:
			if r := s.e.Received(); r != last {
				last, seen = r, time.Now()
			} else if time.Since(seen) > 2*time.Second {
				s.e.Finish()
			}
			if err := s.save(); err != nil {
				return err
			}
		}
	}
}
