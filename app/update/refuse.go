package update

import "errors"

// Reason is why a terminal refuses a bundle.
type Reason int

const (
	NotABundle Reason = iota + 1
	BadManifest
	NoSignature
	BadSignature
	UnknownKey
	WrongProduct
	WrongBoard
	WrongArch
	Downgrade
	TooNewForRunning
	SameVersion
	Truncated
	Corrupt
	TooLarge
)

var reasons = map[Reason][2]string{
	NotABundle:       {"not-a-bundle", "不是升级包"},
	BadManifest:      {"bad-manifest", "升级包描述错误"},
	NoSignature:      {"no-signature", "升级包没有签名"},
	BadSignature:     {"bad-signature", "签名无效"},
	UnknownKey:       {"unknown-key", "签名密钥不受信任"},
	WrongProduct:     {"wrong-product", "不是本产品的升级包"},
	WrongBoard:       {"wrong-board", "不适用于本机型"},
	WrongArch:        {"wrong-arch", "不适用于本机处理器"},
	Downgrade:        {"downgrade", "版本低于允许的最低版本"},
	TooNewForRunning: {"needs-newer-running", "须先升级到中间版本"},
	SameVersion:      {"same-version", "已是该版本"},
	Truncated:        {"truncated", "升级包不完整"},
	Corrupt:          {"corrupt", "升级包已损坏"},
	TooLarge:         {"too-large", "升级包过大"},
}

// String is the reason as a script reads it (pos update apply --json).
func (r Reason) String() string {
	if s, ok := reasons[r]; ok {
		return s[0]
	}
	return "unknown"
}

// Chinese is the reason as the terminal's screen shows it.
func (r Reason) Chinese() string {
	if s, ok := reasons[r]; ok {
		return s[1]
	}
	return "升级包被拒绝"
}

// ErrRefused matches every RefusedError with errors.Is.
var ErrRefused = errors.New("update refused")

// RefusedError is a bundle the terminal will not install; nothing was
// written when it is returned.
type RefusedError struct {
	Reason Reason
	Detail string
}

func refuse(r Reason, detail string) *RefusedError { return &RefusedError{r, detail} }

func (e *RefusedError) Error() string {
	return "update refused (" + e.Reason.String() + "): " + e.Detail
}

func (e *RefusedError) Is(target error) bool { return target == ErrRefused }

// Chinese lets the terminal's screen say why in a few words.
func (e *RefusedError) Chinese() string { return e.Reason.Chinese() }
