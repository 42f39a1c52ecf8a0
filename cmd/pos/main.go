// Command pos is the payment terminal: the application, the desktop
// simulator, the headless scenario runner and the technician's tools.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// Stamped at build time: -ldflags "-X main.version=... -X main.commit=...".
var (
	version = "dev"
	commit  = "unknown"
)

// processStart is as early as Go lets us take it: cold start figures count
// from here.
var processStart = time.Now()

const usage = `usage: pos [command] [flags]

commands:
  run        start the terminal (default)          pos run --board sim
  scenario   run scenario scripts headless         pos scenario testdata/scenarios/*.txt
  selftest   test every device of a board          pos selftest --board sim
  board      check a board description             pos board check FILE | pos board list
  decode     read QR/Code 128 in image files       pos decode [--json] IMAGE...
  keys       load the terminal master key          pos keys load --components 2
  journal    check or re-initialise the journal    pos journal check | pos journal reinit --confirm TID
  emv        replay a card's recorded APDU trace   pos emv replay [--json] TRACE.json
  escpos     render ESC/POS bytes, or a virtual printer  pos escpos render IN.bin OUT.png | pos escpos virtual --out DIR
  version    print version, commit and platform

Run "pos COMMAND -h" for the flags of a command.
`

func main() {
	os.Exit(runWith(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	return runWith(args, strings.NewReader(""), stdout, stderr)
}

func runWith(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	cmd := "run"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "run":
		err = cmdRun(args, stderr)
	case "scenario":
		err = cmdScenario(args, stdout, stderr)
	case "selftest":
		err = cmdSelfTest(args, stdout, stderr)
	case "board":
		err = cmdBoard(args, stdout, stderr)
	case "decode":
		return cmdDecode(args, stdout, stderr)
	case "keys":
		err = cmdKeys(args, stdin, stdout, stderr)
	case "journal":
		err = cmdJournal(args, stdout, stderr)
	case "emv":
		err = cmdEMV(args, stdout, stderr)
	case "escpos":
		err = cmdEscpos(args, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "pos %s commit %s %s/%s %s\n", version, commit, runtime.GOOS, runtime.GOARCH, runtime.Version())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "pos: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 2
		}
		fmt.Fprintln(stderr, "pos:", err)
		return 1
	}
	return 0
}

func platform() string { return runtime.GOOS + "/" + runtime.GOARCH }
