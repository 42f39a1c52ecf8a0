// Package engine is the transaction engine: it records every transaction
// in the journal before and after talking to the acquirer host, owes the
// host a reversal from the moment a request may have reached it until the
// outcome is known, and pays those debts before anything new.
//
// A sale costs two durable writes: the intent (transaction row PENDING,
// STAN taken, reversal owed — one SQLite transaction) and the outcome
// (row final, reversal settled — one more). A crash between them leaves a
// reversal that Recover sends on the next start, so the customer is never
// charged for a sale the terminal did not record as approved.
package engine

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Kind is what a transaction does.
type Kind string

const (
	KindSale    Kind = "sale"
	KindVoid    Kind = "void"
	KindRefund  Kind = "refund"
	KindBalance Kind = "balance"
)

// Method is how the customer paid.
type Method string

const (
	MethodSwipe  Method = "swipe"
	MethodChip   Method = "chip"
	MethodTap    Method = "tap"
	MethodAlipay Method = "alipay"
	MethodWeChat Method = "wechat"
	MethodUPQR   Method = "unionpay_qr"
	// MethodQR is a merchant-presented code any wallet may pay; the row
	// takes the paying wallet's method when the host reports it.
	MethodQR Method = "qr"
)

// IsWallet reports whether the method is a QR wallet payment.
func (m Method) IsWallet() bool {
	return m == MethodAlipay || m == MethodWeChat || m == MethodUPQR || m == MethodQR
}

// LimitClass groups methods that share limits and fees: every card
// interface is one card.
func (m Method) LimitClass() string {
	switch m {
	case MethodSwipe, MethodChip, MethodTap:
		return "card"
	}
	return string(m)
}

// Status is where a transaction stands.
type Status string

const (
	StatusPending  Status = "pending"  // intent written; outcome unknown
	StatusApproved Status = "approved" // host said 00
	StatusDeclined Status = "declined" // host said no
	StatusReversed Status = "reversed" // no reply, reversal taken by the host
	// StatusCancelled is a wallet order the host cancelled or closed:
	// nobody paid (or the wallet gave the money back).
	StatusCancelled Status = "cancelled"
)

// How a wallet payment was presented.
const (
	PresentedCustomer = "customer" // the terminal scanned the customer's code
	PresentedMerchant = "merchant" // the customer scanned the terminal's QR
)

// Txn is one journal row.
type Txn struct {
	ID          int64
	Kind        Kind
	Method      Method
	AmountFen   int64
	STAN        string
	Batch       string
	Status      Status
	RespCode    string
	RRN         string
	AuthCode    string
	HostDate    string // MMDD
	HostTime    string // hhmmss
	MaskedPAN   string
	OrderNo     string
	Operator    string
	OrigID      int64
	Voided      bool
	RefundedFen int64
	FeeFen      int64
	Created     time.Time
	// Wallet payments.
	Presented     string
	Buyer         string // masked wallet account
	TradeNo       string
	Periods       int // Huabei installments
	SellerPct     int // share of the installment fee the merchant pays
	InstallFeeFen int64
	// Announced: the cashier has seen how it ended. A transaction the
	// terminal finished but never showed (a crash, a power cut) is shown
	// at the next start, before anything new.
	Announced bool
	// ReceiptsOwed is how many of its receipts have yet to print.
	ReceiptsOwed int
	// Chip is what the receipt shows of a chip or contactless card's
	// application (the kernel's summary, JSON); "" for other methods.
	Chip string
}

// Card is what the engine gets from a card read: the track as read and
// the PIN block made on the PIN pad path. The engine never stores Track2.
type Card struct {
	Method   Method
	Track2   string
	PINBlock []byte // nil: no PIN entered
	// ICC is chip data (field 55), nil for swipe.
	ICC []byte
	// Seq is the card sequence number (field 23) for chip cards.
	Seq string
	// Info is the kernel's summary for the receipt and the journal.
	Info string
	// ReversalICC is the field 55 a reversal of this card's transaction
	// carries; the journal keeps it with the row.
	ReversalICC []byte
	// Fallback: a chip card swiped after its chip failed to read.
	Fallback bool
}

// ChipCompleter finishes with the card after the host's answer (the
// second GENERATE AC). An error after an approval means the card refused
// it: the engine reverses the approval at once. info is the kernel's
// summary after completion, reversalICC the field 55 a reversal now
// carries (the card's last TVR and issuer data).
type ChipCompleter interface {
	Complete(ctx context.Context, approved bool, hostICC []byte) (info string, reversalICC []byte, err error)
}

// HostRequest is one request to the acquirer host, independent of the
// wire format; the host client turns it into ISO 8583.
type HostRequest struct {
	Kind      HostKind
	STAN      string
	Batch     string
	AmountFen int64
	Card      *Card
	PAN       string // from the track, sent in field 2; never stored
	Expiry    string // YYMM
	// ICC is the field 55 of a reversal of a chip transaction.
	ICC []byte
	// Original transaction, for void, refund and reversal.
	OrigSTAN, OrigBatch, OrigRRN, OrigAuth, OrigDate string
	// OrigKind is what a reversal undoes.
	OrigKind Kind
	// ReversalReason is field 39 of a 0400.
	ReversalReason string
	// Wallet requests.
	PayCode   string // customer's payment code, never stored
	OrderNo   string
	RefundNo  string
	Wallet    Method // precreate: the wallet asked for, "" any
	Periods   int
	SellerPct int
	Totals    *BatchTotals // settlement
	Upload    *Txn         // batch upload
	Operator  string
}

// HostKind is the message a request becomes.
type HostKind string

const (
	HostSignOn   HostKind = "signon"
	HostEcho     HostKind = "echo"
	HostSale     HostKind = "sale"
	HostVoid     HostKind = "void"
	HostRefund   HostKind = "refund"
	HostBalance  HostKind = "balance"
	HostReversal HostKind = "reversal"
	HostSettle   HostKind = "settle"
	HostUpload   HostKind = "upload"
	HostSignOff  HostKind = "signoff"
	// Wallet (QR) messages.
	HostWalletPay    HostKind = "wallet_pay"
	HostWalletQuery  HostKind = "wallet_query"
	HostWalletCancel HostKind = "wallet_cancel"
	HostWalletClose  HostKind = "wallet_close"
	HostPrecreate    HostKind = "precreate"
	HostWalletRefund HostKind = "wallet_refund"
)

// Wallet reply codes (field 39) beyond the card ones.
const (
	CodeUserPaying  = "UP" // the customer must confirm on the phone (Alipay 10003): never success
	CodeRetry       = "RT" // cancel not done yet: try again
	CodeAlreadyPaid = "PD" // close refused: the order was paid
)

// Wallet order states in a query reply.
const (
	OrderPaid     = "PAID"
	OrderPaying   = "PAYING"
	OrderNotPaid  = "NOTPAID"
	OrderClosed   = "CLOSED"
	OrderRefunded = "REFUNDED"
)

// HostReply is the host's answer.
type HostReply struct {
	Code       string // field 39
	RRN        string
	AuthCode   string
	Date       string // MMDD
	Time       string // hhmmss
	BalanceFen int64
	// SettleResult is the host's reconciliation verdict for a 0510.
	SettleResult SettleResult
	// Wallet replies.
	OrderStatus   string
	Wallet        Method
	Buyer         string
	TradeNo       string
	QRPayload     string
	InstallFeeFen int64
	Retry         bool
	WalletCode    string
	// SignOnAgain is the header's processing requirement: the host wants
	// a new sign-on before the next transaction.
	SignOnAgain bool
	// TMSDownload is the processing requirement "TMS download": the
	// acquirer's terminal management has new software for this terminal.
	TMSDownload bool
	// ICC is the host's field 55 for the card (ARPC, issuer scripts).
	ICC []byte
}

// SettleResult is the host's reconciliation verdict.
type SettleResult int

const (
	SettleUnknown SettleResult = iota
	SettleBalanced
	SettleUnbalanced
	SettleError
)

// Host exchanges one request and its reply. An error means no usable
// reply: timeout, connection lost, garbage, or a reply whose MAC failed —
// all of which leave the outcome unknown to the terminal.
type Host interface {
	Exchange(ctx context.Context, req HostRequest) (HostReply, error)
}

// ErrNoReply wraps every Host error the engine treats as "outcome unknown".
var ErrNoReply = errors.New("no reply from host")

// Errors the UI shows as terminal error codes.
var (
	ErrNotSignedOn    = errors.New("terminal not signed on to the host")
	ErrLimit          = errors.New("over the limit")
	ErrDailyLimit     = errors.New("over the daily limit")
	ErrNotFound       = errors.New("original transaction not found")
	ErrNotVoidable    = errors.New("original transaction cannot be voided")
	ErrRefundTooLarge = errors.New("refund exceeds what is left of the original")
	ErrReversalOwed   = errors.New("a reversal is still owed to the host")
	ErrBadCard        = errors.New("card data unreadable")
	ErrBadAmount      = errors.New("amount must be above zero")
	// ErrWalletOpen: a wallet order's outcome is still unknown; nothing
	// new goes out until it is resolved.
	ErrWalletOpen = errors.New("a wallet order is still unresolved")
	ErrHuabei     = errors.New("Huabei installments not allowed")
	ErrBadCode    = errors.New("not a payment code")
	// ErrCancelled: the wallet order was cancelled or closed; nobody paid.
	ErrCancelled = errors.New("order cancelled; the customer was not charged")
	// ErrCardDeclined: the host approved but the chip refused to complete;
	// the approval was reversed (or the reversal is owed).
	ErrCardDeclined = errors.New("the card declined after the host approved; approval reversed")
)

// DeclinedError is a host decline with its response code.
type DeclinedError struct {
	Code string
	Txn  Txn
}

func (e *DeclinedError) Error() string {
	return fmt.Sprintf("declined by host: response code %s", e.Code)
}
