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
// The version is a semantic version, so that the update's "older" means
// something; a build without a release tag is 0.0.0-dev+COMMIT, older than
// any release.
var (
	version = ""
	commit  = "unknown"
)

func init() { version = softwareVersion(version, commit) }

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
  emulate    the image's PN532 and printer, on sockets  pos emulate --sockets DIR --out DIR
  boot       run the terminal from its software slots  pos boot --board rpi4-pos --data /data/pos
  bundle     make signed update bundles             pos bundle keygen K.pem K.pub | pos bundle create --key K.pem --version 1.3.0 --board B dist/pos
  update     check, install and follow updates      pos update verify F.bundle | pos update apply [--json] SOURCE | pos update status
  backup     copy the journal (while it runs)       pos backup /media/usb
  restore    put a backup's journal back           pos restore --confirm TID /media/usb/pos-backup-...
  export     transactions as CSV or JSON           pos export --from 2026-12-01 --to 2026-12-31 --out dec.csv
  version    print version, commit and platform

Run "pos COMMAND -h" for the flags of a command.
`

func main() {
	if isFirstProcess() {
		os.Exit(firstProcess(os.Stderr)) // the terminal image's /init
	}
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
	case "boot":
		err = cmdBoot(args, stdout, stderr)
	case "bundle":
		err = cmdBundle(args, stdout, stderr)
	case "update":
		err = cmdUpdate(args, stdout, stderr)
	case "backup":
		err = cmdBackup(args, stdout, stderr)
	case "restore":
		err = cmdRestore(args, stdout, stderr)
	case "export":
		err = cmdExport(args, stdout, stderr)
	case "escpos":
		err = cmdEscpos(args, stdout, stderr)
	case "emulate":
		err = cmdEmulate(args, stdin, stdout, stderr)
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
		var ee *exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

func platform() string { return runtime.GOOS + "/" + runtime.GOARCH }
