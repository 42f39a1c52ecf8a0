// Package mutant plants known bugs for `make mutants`: a build with the
// "mutants" tag reads POS_MUTANT and turns one bug on, so the campaigns and
// scenarios can be shown to catch it. Without the tag On is a constant
// false and the compiler drops every planted branch from the binary.
package mutant

// Names lists every planted bug; scripts/mutants.sh runs the tests once
// with each and expects them to fail.
var Names = []string{
	"sale-refused-before-host",   // every card sale refused before it reaches the host
	"merchant-paid-as-cancelled", // a paid merchant-QR order recorded as cancelled
	"synchronous-off",            // the journal commits without syncing
	"no-announce",                // the cashier is not told an outcome found at start
	"paper-out-hides-approval",   // E301 after approval does not say the payment went through
	"no-lock",                    // a second pos may open the same data directory
	"no-marker-check",            // a lost journal or WAL starts a new terminal silently
	"unknown-is-declined",        // a 96/98/RT wallet answer is taken as a decline
	"builtin-tmk",                // the simulator master key is used outside demo mode
	"clear-track",                // track 2 goes out in the clear although a TDK was delivered
	"world-readable",             // data files are created readable by everyone
	"outcome-before-intent",      // the outcome is written where the intent should be
	"reversal-skipped",           // no reversal after a lost reply
	"refund-journaled-twice",     // an approved refund is added to its sale twice
	"wrong-sale-reversed",        // the reversal names another sale's trace number
	"card-decline-ignored",       // a host approval stands although the chip refused it (AAC)
	"oda-ignored",                // a failed offline data authentication is not put in the TVR
	"cvm-limit-ignored",          // a tap over the CVM limit is taken without the PIN
	"signature-unchecked",        // an update bundle is installed without checking its signature
	"floor-ignored",              // an update below the version floor installs (a downgrade)
	"update-ignores-owed",        // an update starts while reversals or receipts are owed
	"trial-self-test-ignored",    // new software keeps itself although its self-test failed
}
