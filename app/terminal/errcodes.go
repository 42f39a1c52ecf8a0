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
	E113 = ErrCode{"E113", m("主管未修改默认密码", "Supervisor PW is default"),
		m("请主管(00)签到并修改默认密码,之后才能授权撤销和退货", "Sign in as the supervisor (00) and change the default password; only then can it authorise voids and refunds")}
	E111 = ErrCode{"E111", m("金额超过单笔限额", "Over the transaction limit"),
		m("请分笔收款或联系收单机构调整限额", "Split the payment, or ask the acquirer to raise the limit")}
	E201 = ErrCode{"E201", m("本终端未开通此功能", "Function not available"),
		m("此版本尚不支持该交易,请联系收单机构", "This software version does not offer it yet; contact the acquirer")}
	E301 = ErrCode{"E301", m("打印机缺纸", "Printer out of paper"),
		m("请装纸后在查询菜单选择重打印", "Load paper, then choose Reprint under Query")}
	E302 = ErrCode{"E302", m("设备故障", "Device fault"),
		m("请在维护菜单运行设备自检,并联系维修", "Run Maintenance > Self-test and call service")}
	E303 = ErrCode{"E303", m("打印机盖未合上", "Printer cover open"),
		m("请合上打印机盖,再按确认打印", "Close the printer cover, then press Enter to print")}
	E901 = ErrCode{"E901", m("存储错误", "Storage error"),
		m("请重启终端;仍出现请联系维修", "Restart the terminal; if it persists, call service")}
	E902 = ErrCode{"E902", m("交易记录不能使用", "Journal unusable"),
		m("终端拒绝启动:交易记录丢失、损坏或被替换。不要删除任何文件;请技术人员从备份恢复,或在监督下运行 pos journal reinit", "The terminal will not start: its journal is missing, damaged or replaced. Delete nothing; a technician restores it from a backup, or runs pos journal reinit under supervision")}
)

// ErrCodes is the table in order, for the documentation.
var ErrCodes = []ErrCode{E101, E102, E103, E104, E105, E106, E107, E108, E109, E110, E111, E113, E201, E301, E302, E303, E901, E902}

// Transaction and host errors.
var (
	E112 = ErrCode{"E112", m("超过当日限额", "Over the daily limit"),
		m("今日此支付方式已达限额,请换其他方式", "This method has reached today's limit; use another")}
	E120 = ErrCode{"E120", m("读卡失败", "Card not read"),
		m("请重新刷卡,刷卡速度均匀", "Swipe again at an even speed")}
	E130 = ErrCode{"E130", m("原交易不存在", "Original not found"),
		m("核对凭证号或参考号和日期", "Check the voucher or reference number and date")}
	E131 = ErrCode{"E131", m("原交易不能撤销", "Cannot void"),
		m("只能撤销本批次未撤销的消费;其他请做退货", "Only unvoided sales of this batch; otherwise refund")}
	E132 = ErrCode{"E132", m("退货金额超限", "Refund too large"),
		m("累计退货不能超过原交易金额", "Refunds cannot add up to more than the sale")}
	E401 = ErrCode{"E401", m("交易超时", "No reply from host"),
		m("交易已冲正,顾客未被扣款;请重新交易", "Reversed: the customer was not charged; try again")}
	E402 = ErrCode{"E402", m("冲正未完成", "Reversal pending"),
		m("检查网络;恢复后终端自动冲正,之前不能交易", "Check the network; the terminal reverses when it is back")}
	E403 = ErrCode{"E403", m("签到失败", "Sign-on failed"),
		m("检查网络和主机地址,在维护菜单重新签到", "Check the network and host address, sign on under Maintenance")}
	E404 = ErrCode{"E404", m("主机拒绝交易", "Declined by host"),
		m("按提示处理或请顾客联系发卡行", "Follow the reason shown, or ask the card issuer")}
	E405 = ErrCode{"E405", m("结算失败", "Settlement failed"),
		m("检查网络后重新结算;批次保持打开", "Check the network and settle again; the batch stays open")}
)

// QR payment errors.
var (
	E121 = ErrCode{"E121", m("不是付款码", "Not a payment code"),
		m("请顾客打开支付宝/微信/云闪付的付款码", "Ask for the payment code in Alipay, WeChat or UnionPay")}
	E133 = ErrCode{"E133", m("不能花呗分期", "Huabei not possible"),
		m("检查金额是否在花呗分期范围内,或改用普通收款", "Check the amount is within the Huabei range, or take a normal payment")}
	E408 = ErrCode{"E408", m("主机无响应", "Host not answering"),
		m("检查网络后重试;订单状态未变", "Check the network and try again; nothing changed")}
	E406 = ErrCode{"E406", m("订单结果未知", "Order outcome unknown"),
		m("终端会自动查询并撤单;可在查询菜单订单查询", "The terminal queries and cancels it; see Query > Order query")}
	E407 = ErrCode{"E407", m("订单已撤销", "Order cancelled"),
		m("顾客未付款或已原路退回,未扣款;请重新收款", "Not paid, or paid back: the customer was not charged; collect again")}
	E409 = ErrCode{"E409", m("上笔扫码订单未完成", "A QR order is still open"),
		m("主机无响应,订单结果未知。网络恢复后终端自动查询并撤单,顾客已付的款会退回;检查网络后重试,不要删除数据", "The host is not answering, so the order's outcome is unknown. When it answers the terminal queries and cancels it, and any money paid goes back; check the network and try again, delete nothing")}
	E410 = ErrCode{"E410", m("主密钥未装载", "No master key loaded"),
		m("请技术人员用 pos keys load 装载收单机构的主密钥", "A technician loads the acquirer's master key with pos keys load")}
)

func init() {
	ErrCodes = append(ErrCodes, E112, E120, E121, E130, E131, E132, E133, E401, E402, E403, E404, E405, E406, E407, E408, E409, E410)
}

// hostReasons explains host response codes (field 39) to the cashier.
var hostReasons = map[string]msg{
	"05": m("05 不予承兑", "05 Do not honour"),
	"12": m("12 无效交易", "12 Invalid transaction"),
	"14": m("14 无效卡号", "14 Invalid card number"),
	"25": m("25 找不到原交易", "25 Original not found"),
	"51": m("51 余额不足", "51 Insufficient funds"),
	"54": m("54 卡已过期", "54 Expired card"),
	"55": m("55 密码错误", "55 Wrong PIN"),
	"61": m("61 超出金额限制", "61 Over amount limit"),
	"75": m("75 密码错误次数超限", "75 PIN tries exceeded"),
	"96": m("96 发卡方系统故障", "96 Issuer system error"),
	"A0": m("A0 校验错,请重新签到", "A0 MAC error, sign on again"),
}
