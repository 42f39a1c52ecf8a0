package engine

import (
	"fmt"
	"os"
)

// CrashAt names a durable step at which the process dies on the spot, as
// if the power were cut: the crash-injection tests set it (through the
// POS_CRASH_AT environment variable of a child process). Empty in
// production. An engine takes it when made; SetCrash overrides it.
var CrashAt = os.Getenv("POS_CRASH_AT")

// CrashExit is the exit status of a process that died at its crash point,
// as a kill -9 leaves it.
const CrashExit = 137

// CrashPoints lists every step a crash can be injected at: the engine's
// durable steps, then the terminal's (receipts printed, outcome shown).
var CrashPoints = []string{
	"sale.intent", "sale.reply", "sale.card", "sale.outcome",
	"void.intent", "void.reply", "void.outcome",
	"refund.intent", "refund.reply", "refund.outcome",
	"reversal.reply", "reversal.outcome",
	"settle.reply", "settle.upload", "settle.outcome",
	"wallet.intent", "wallet.reply", "wallet.query", "wallet.cancel", "wallet.outcome",
	"precreate.intent", "precreate.reply",
	"walletrefund.intent", "walletrefund.reply",
	"receipt.printed", "announce.shown",
}

// SetCrash arms a crash at point (empty disarms). hook, when set, is
// called instead of exiting: the scenario rig freezes the terminal there
// and "cuts the power" itself; hook must not return.
func (e *Engine) SetCrash(point string, hook func(point string)) {
	e.stmtMu.Lock()
	e.crashAt, e.crashHook = point, hook
	e.stmtMu.Unlock()
}

// CrashPoint dies at name when a crash is armed there. The terminal calls
// it at its own durable steps.
func (e *Engine) CrashPoint(name string) { e.crashPoint(name) }

func (e *Engine) crashPoint(name string) {
	e.stmtMu.Lock()
	at, hook := e.crashAt, e.crashHook
	e.stmtMu.Unlock()
	if at == "" || at != name {
		return
	}
	if hook != nil {
		hook(name)
	}
	// Said on stderr so the crash campaign can tell this death from any
	// other; then out, no deferred functions, no flush: like a power cut.
	fmt.Fprintf(os.Stderr, "pos: crash point %s reached\n", name)
	os.Exit(CrashExit)
}
