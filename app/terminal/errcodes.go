package terminal

// ErrCode is a terminal error as the cashier sees it: a short code to read
// out on the phone to the help desk, what happened, and how to fix it.
// docs/errors.md is generated from this table (go test -run TestErrorDoc -update).
type ErrCode struct {
	Code  string
	Title msg
	Fix   msg
}

var (
	E101 = ErrCode{"E101", m("操作员号无效", "Invalid operator number"),
		m("请输入两位数字 00-99", "Enter two digits, 00-99")}
	E102 = ErrCode{"E102", m("密码错误", "Wrong password"),
		m("请核对密码;连续错误将锁定操作员", "Check the password; repeated failures lock the operator")}
	E103 = ErrCode{"E103", m("操作员已锁定", "Operator locked"),
		m("请等待解锁时间或请主管解锁", "Wait until the time shown, or ask the supervisor to unlock")}
	E104 = ErrCode{"E104", m("操作员不存在", "No such operator"),
		m("请主管在维护菜单中增加操作员", "Ask the supervisor to add the operator under Maintenance")}
	E105 = ErrCode{"E105", m("密码太简单", "Password too weak"),
		m("不能用默认密码、原密码、相同或连续数字", "Do not use the default, the old one, one repeated digit or a run like 123456")}
	E106 = ErrCode{"E106", m("两次输入的密码不一致", "Passwords do not match"),
		m("请重新输入新密码", "Enter the new password again")}
	E107 = ErrCode{"E107", m("需要主管权限", "Supervisor only"),
		m("请主管(00)签到后操作", "Sign in as the supervisor (00) to do this")}
	E108 = ErrCode{"E108", m("操作员已存在", "Operator already exists"),
		m("请换一个操作员号", "Choose another operator number")}
	E109 = ErrCode{"E109", m("主管不能删除", "Cannot remove supervisor"),
		m("主管可修改密码,不能删除", "The supervisor can change the password but not be removed")}
	E110 = ErrCode{"E110", m("金额不能为零", "Amount is zero"),
		m("请输入大于零的金额", "Enter an amount above zero")}
	E111 = ErrCode{"E111", m("金额超过单笔限额", "Over the transaction limit"),
		m("请分笔收款或联系收单机构调整限额", "Split the payment, or ask the acquirer to raise the limit")}
	E201 = ErrCode{"E201", m("本终端未开通此功能", "Function not available"),
		m("此版本尚不支持该交易,请联系收单机构", "This software version does not offer it yet; contact the acquirer")}
	E301 = ErrCode{"E301", m("打印机缺纸", "Printer out of paper"),
		m("请装纸后在查询菜单选择重打印", "Load paper, then choose Reprint under Query")}
	E302 = ErrCode{"E302", m("设备故障", "Device fault"),
		m("请在维护菜单运行设备自检,并联系维修", "Run Maintenance > Self-test and call service")}
	E901 = ErrCode{"E901", m("存储错误", "Storage error"),
		m("请重启终端;仍出现请联系维修", "Restart the terminal; if it persists, call service")}
)

// ErrCodes is the table in order, for the documentation.
var ErrCodes = []ErrCode{E101, E102, E103, E104, E105, E106, E107, E108, E109, E110, E111, E201, E301, E302, E901}
