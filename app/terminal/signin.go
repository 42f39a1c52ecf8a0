package terminal

import (
	"errors"
	"time"

	"github.com/shoukuan/pos/app/operator"
)

func roleOf(no string) operator.Role {
	if no == "00" {
		return operator.Supervisor
	}
	return operator.Cashier
}

func newSignIn(t *Terminal) Screen {
	t.op = nil
	return &entry{
		title:  mSignInTitle,
		prompt: t.tr(mOperatorNo),
		lines:  []string{t.cfg.Terminal.MerchantName, ""},
		max:    2,
		hint:   mSignInHint,
		ok: func(t *Terminal, s *entry) {
			if len(s.value) != 2 {
				s.fail(t, E101.Code+" "+t.tr(E101.Fix))
				return
			}
			t.Show(newSignInPassword(t, s.value))
		},
	}
}

func newSignInPassword(t *Terminal, no string) Screen {
	role := roleOf(no)
	return &entry{
		title:  mSignInTitle,
		lines:  []string{t.tr(mOperatorNo) + " " + no, ""},
		prompt: t.tr(mPassword),
		max:    operator.PasswordLength(role),
		masked: true,
		hint:   mSignInHint,
		cancel: func(t *Terminal, _ *entry) { t.Show(newSignIn(t)) },
		ok: func(t *Terminal, s *entry) {
			pw := s.value
			op, err := t.ops.SignIn(no, pw)
			var wrong *operator.WrongPasswordError
			var locked *operator.LockedError
			switch {
			case err == nil:
				t.log.Info("operator signed in", "operator", no)
				t.op = &op
				if op.MustChange {
					t.Show(newForcedChange(t, pw))
					return
				}
				t.afterSignIn()
			case errors.As(err, &locked):
				back := newSignIn(t).(*entry)
				back.fail(t, E103.Code+" "+t.tr(mLockedUntil, locked.Until.In(t.zone()).Format("15:04")))
				t.Show(back)
			case errors.As(err, &wrong):
				s.fail(t, E102.Code+" "+t.tr(mWrongPassword, wrong.Remaining))
			case errors.Is(err, operator.ErrUnknown):
				back := newSignIn(t).(*entry)
				back.fail(t, E104.Code+" "+t.tr(E104.Title))
				t.Show(back)
			case errors.Is(err, operator.ErrBadNumber):
				back := newSignIn(t).(*entry)
				back.fail(t, E101.Code+" "+t.tr(E101.Fix))
				t.Show(back)
			default:
				t.storageFailed(mSignInTitle, err, func(t *Terminal) { t.Show(newSignIn(t)) })
			}
		},
	}
}

// zone is where lock times are shown; terminals run on local time.
func (t *Terminal) zone() *time.Location { return time.Local }

// newForcedChange asks for a new password right after a sign-in with the
// default one; the old password is the one just entered.
func newForcedChange(t *Terminal, old string) Screen {
	return newPasswordChange(t, old, mMustChange, func(t *Terminal) { t.Show(newSignIn(t)) }, func(t *Terminal) { t.afterSignIn() })
}

// newPasswordChange runs old → new → repeat. With old known (forced
// change) the first step is skipped.
func newPasswordChange(t *Terminal, old string, why msg, cancel, done func(*Terminal)) Screen {
	no := t.op.No
	n := operator.PasswordLength(t.op.Role)
	askNew := func(t *Terminal, old string) Screen {
		return &entry{
			title:  mChangeTitle,
			lines:  []string{t.tr(why), ""},
			prompt: t.tr(mNewPassword, n),
			max:    n,
			masked: true,
			hint:   mEnterHint,
			cancel: func(t *Terminal, _ *entry) { cancel(t) },
			ok: func(t *Terminal, first *entry) {
				if len(first.value) != n {
					first.fail(t, E105.Code+" "+t.tr(mNewPassword, n))
					return
				}
				newPw := first.value
				t.Show(&entry{
					title:  mChangeTitle,
					lines:  []string{t.tr(why), ""},
					prompt: t.tr(mConfirmPass),
					max:    n,
					masked: true,
					hint:   mEnterHint,
					cancel: func(t *Terminal, _ *entry) { cancel(t) },
					ok: func(t *Terminal, again *entry) {
						if again.value != newPw {
							first.fail(t, E106.Code+" "+t.tr(E106.Title))
							t.Show(first)
							return
						}
						err := t.ops.ChangePassword(no, old, newPw)
						switch {
						case err == nil:
							t.log.Info("password changed", "operator", no)
							t.op.MustChange = false
							t.showDone(mChangeTitle, t.tr(mPasswordChange), done)
						case errors.Is(err, operator.ErrWeakPassword):
							first.fail(t, E105.Code+" "+t.tr(E105.Fix))
							t.Show(first)
						case errors.Is(err, operator.ErrLocked):
							t.showError(mChangeTitle, E103, "", func(t *Terminal) { t.Show(newSignIn(t)) })
						case errors.Is(err, operator.ErrWrongPassword):
							t.showError(mChangeTitle, E102, "", cancel)
						default:
							t.storageFailed(mChangeTitle, err, cancel)
						}
					},
				})
			},
		}
	}
	if old != "" {
		return askNew(t, old)
	}
	return &entry{
		title:  mChangeTitle,
		prompt: t.tr(mOldPassword),
		max:    n,
		masked: true,
		hint:   mEnterHint,
		cancel: func(t *Terminal, _ *entry) { cancel(t) },
		ok: func(t *Terminal, s *entry) {
			if s.value == "" {
				return
			}
			t.Show(askNew(t, s.value))
		},
	}
}
