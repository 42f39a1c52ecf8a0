package terminal

import "fmt"

// Lang is a UI language.
type Lang string

const (
	ZH Lang = "zh-CN"
	EN Lang = "en"
)

// msg is one UI text in both languages. Declaring texts as Go values, not
// string keys, makes a missing translation a compile error.
type msg struct{ zh, en string }

var allMsgs []msg

func m(zh, en string) msg {
	v := msg{zh, en}
	allMsgs = append(allMsgs, v)
	return v
}

// In is the text in l, for the commands that print an error code.
func (v msg) In(l Lang) string { return v.in(l) }

func (v msg) in(l Lang, args ...any) string {
	s := v.zh
	if l == EN {
		s = v.en
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

var (
	mAppName         = m("收款 POS", "Shoukuan POS")
	mSignInTitle     = m("操作员签到", "Operator sign-in")
	mOperatorNo      = m("操作员号:", "Operator no.:")
	mPassword        = m("密码:", "Password:")
	mSignInHint      = m("确认=继续 取消=清除", "Enter=next Cancel=clear")
	mEnterHint       = m("确认=继续 取消=返回", "Enter=next Cancel=back")
	mMenuHint        = m("数字键选择 取消=返回", "Digit selects, Cancel=back")
	mContinueHint    = m("按确认键继续", "Press Enter to continue")
	mScrollHint      = m("↑↓翻看 确认=继续", "Up/Down scroll, Enter=continue")
	mWrongPassword   = m("密码错误,还可试%d次", "Wrong password, %d tries left")
	mLockedUntil     = m("已锁定至 %s", "Locked until %s")
	mChangeTitle     = m("修改密码", "Change password")
	mMustChange      = m("首次使用请修改默认密码", "Change the default password")
	mOldPassword     = m("原密码:", "Old password:")
	mNewPassword     = m("新密码(%d位):", "New password (%d):")
	mConfirmPass     = m("再输一次:", "Repeat:")
	mPasswordChange  = m("密码已修改", "Password changed")
	mMainTitle       = m("主菜单", "Main menu")
	mTransaction     = m("交易", "Transaction")
	mQuery           = m("查询", "Query")
	mSettings        = m("设置", "Settings")
	mMaintenance     = m("维护", "Maintenance")
	mSignOff         = m("签退", "Sign off")
	mOperatorLine    = m("操作员 %s", "Operator %s")
	mSale            = m("消费", "Sale")
	mVoid            = m("消费撤销", "Void")
	mRefund          = m("退货", "Refund")
	mBalance         = m("余额查询", "Balance inquiry")
	mAmountTitle     = m("请输入金额", "Enter amount")
	mAmountHint      = m("确认=继续 清除=退格 取消=返回", "Enter=ok Clear=del Cancel=back")
	mConfirmTitle    = m("请确认", "Please confirm")
	mAmount          = m("金额", "Amount")
	mConfirmHint     = m("确认=确定 取消=返回", "Enter=confirm Cancel=back")
	mQueryToday      = m("当日交易", "Today's transactions")
	mQueryTrace      = m("按凭证号查询", "By trace number")
	mReprint         = m("重打印", "Reprint")
	mChangePassword  = m("修改密码", "Change password")
	mLanguage        = m("语言 Language", "Language 语言")
	mTerminalInfo    = m("终端信息", "Terminal info")
	mLangSet         = m("已切换为中文", "Language set to English")
	mTerminalID      = m("终端号", "Terminal ID")
	mMerchantID      = m("商户号", "Merchant ID")
	mMerchantName    = m("商户名", "Merchant")
	mHost            = m("主机", "Host")
	mVersion         = m("版本", "Version")
	mSelfTest        = m("设备自检", "Self-test")
	mOperators       = m("操作员管理", "Operators")
	mVersionInfo     = m("版本信息", "Version info")
	mTesting         = m("正在检测...", "Testing...")
	mPass            = m("正常", "OK")
	mFail            = m("故障", "FAIL")
	mNotTested       = m("未测", "not tested")
	mAddCashier      = m("增加操作员", "Add cashier")
	mRemoveCashier   = m("删除操作员", "Remove cashier")
	mUnlock          = m("解锁操作员", "Unlock operator")
	mResetPassword   = m("重置密码", "Reset password")
	mListOperators   = m("操作员列表", "List operators")
	mWhichOperator   = m("操作员号(01-99):", "Operator no. (01-99):")
	mDone            = m("操作成功", "Done")
	mAdded           = m("操作员%s已增加,初始密码需修改", "Cashier %s added; must change the initial password")
	mRemoved         = m("操作员%s已删除", "Cashier %s removed")
	mUnlocked        = m("操作员%s已解锁", "Operator %s unlocked")
	mReset           = m("操作员%s密码已重置", "Operator %s password reset")
	mLockedShort     = m("锁定", "locked")
	mMustChangeTag   = m("待改密", "new pw")
	mSupervisor      = m("主管", "supervisor")
	mCashier         = m("操作员", "cashier")
	mSignedOff       = m("已签退", "Signed off")
	mPaperWaiting    = m("打印机缺纸", "Printer out of paper")
	mSelfTestDone    = m("%d项正常 %d项故障", "%d passed, %d failed")
	mKeyTest         = m("键盘测试", "Keypad test")
	mPressEveryKey   = m("请按下每个键", "Press every key")
	mKeysPressed     = m("已按%d/%d个键", "%d of %d keys pressed")
	mSoftwareUpdate  = m("软件更新", "Software update")
	mCheckingUpdate  = m("正在检查更新...", "Checking for updates...")
	mUpToDate        = m("已是最新版本 %s", "Up to date: %s")
	mRunningVersion  = m("当前版本", "Running")
	mNewVersion      = m("新版本", "New version")
	mSize            = m("大小", "Size")
	mInstallHint     = m("确认=下载安装 取消=返回", "Enter=install Cancel=back")
	mDownloading     = m("正在下载", "Downloading")
	mInstalling      = m("正在安装", "Installing")
	mTimeLeft        = m("剩余 %s", "%s left")
	mDoNotPowerOff   = m("请勿断电", "Do not power off")
	mUpdateInstalled = m("新版本 %s 已安装。重启后试运行:自检通过才正式启用,否则自动回到当前版本。", "Version %s is installed. It runs on trial after a restart: it is kept only if its self-test passes, otherwise the terminal goes back to this version.")
	mRestartHint     = m("确认=立即重启 取消=稍后", "Enter=restart now Cancel=later")
	mUpdateOffered   = m("收单机构通知:有新软件,请在维护菜单更新", "The acquirer has new software: update under Maintenance")
	mBackup          = m("数据备份", "Data backup")
	mBackingUp       = m("正在备份到U盘...", "Backing up to USB...")
	mBackedUp        = m("已备份到U盘 %s,共%d笔交易", "Backed up to USB %s, %d transactions")
	mExport          = m("导出交易", "Export transactions")
	mExporting       = m("正在导出到U盘...", "Exporting to USB...")
	mExported        = m("已导出%d笔交易到U盘 %s", "%d transactions exported to USB %s")
	mRolledBack      = m("新软件 %s 试运行失败,已回到 %s:%s", "The new software %s failed its trial; back on %s: %s")
	mKeyTestHint     = m("连按3次取消键结束", "Cancel 3 times to stop")
	mKeyEnter        = m("确认", "Enter")
	mKeyCancel       = m("取消", "Cancel")
	mKeyClear        = m("清除", "Clear")
	mKeyMenu         = m("菜单", "Menu")
)
