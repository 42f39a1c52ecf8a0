package engine

import "os"

// CrashAt names a durable step at which the process dies on the spot, as
// if the power were cut: the crash-injection tests set it (through the
// POS_CRASH_AT environment variable of a child process). Empty in
// production.
var CrashAt = os.Getenv("POS_CRASH_AT")

// CrashPoints lists every step a crash can be injected at.
var CrashPoints = []string{
	"sale.intent", "sale.reply", "sale.outcome",
	"void.intent", "void.reply", "void.outcome",
	"refund.intent", "refund.reply", "refund.outcome",
	"reversal.reply", "reversal.outcome",
	"settle.reply", "settle.upload", "settle.outcome",
	"wallet.intent", "wallet.reply", "wallet.query", "wallet.cancel", "wallet.outcome",
	"precreate.intent", "precreate.reply",
	"walletrefund.intent", "walletrefund.reply",
}

func crashPoint(name string) {
	if CrashAt != "" && CrashAt == name {
		os.Exit(137) // no deferred functions, no flush: like a power cut
	}
}
