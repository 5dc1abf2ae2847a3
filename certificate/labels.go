package certificate

// labels are the certificate's texts by language.
var labels = map[string]map[string]string{
	LangZH: {
		"title":            "存证证书",
		"subtitle":         "电子数据存证及区块链验证证明",
		"record":           "存证记录",
		"chain":            "保全号",
		"step":             "步骤",
		"kind":             "类型",
		"commitment":       "存证哈希 (SM3)",
		"size":             "原件大小",
		"bytes":            "字节",
		"submitter":        "提交方",
		"position":         "日志位置",
		"tx":               "交易标识",
		"height":           "区块高度",
		"block_time":       "区块时间",
		"tsa_time":         "可信时间",
		"no_tsa":           "尚无可信时间戳",
		"cosigners":        "共同签名成员",
		"tree_size":        "检查点日志大小",
		"attestations":     "公证与司法声明",
		"custody":          "原件调取记录",
		"none":             "无",
		"issuer":           "出证方",
		"issued_at":        "出证时间",
		"verify":           "扫码或访问以下地址验证",
		"attachments":      "本证书内嵌附件 receipt.json（完整存证回执，含名册路径）与 certificate.json（出证方 SM2 签名内容），可离线验证：",
		"verify_cmd":       "evidenced verify --certificate CERT.pdf --roster ROSTER.json",
		"chain_id":         "联盟链",
		"role.bank":        "银行",
		"role.notary":      "公证处",
		"role.arbitration": "仲裁机构",
		"role.court":       "法院",
		"role.regulator":   "监管机构",
	},
	LangEN: {
		"title":        "Evidence Certificate",
		"subtitle":     "Proof of preservation of electronic evidence on the alliance ledger",
		"record":       "Record",
		"chain":        "Evidence chain",
		"step":         "Step",
		"kind":         "Kind",
		"commitment":   "Commitment (SM3)",
		"size":         "Original size",
		"bytes":        "bytes",
		"submitter":    "Submitter",
		"position":     "Log position",
		"tx":           "Transaction",
		"height":       "Block height",
		"block_time":   "Block time",
		"tsa_time":     "Trusted time",
		"no_tsa":       "no trusted timestamp yet",
		"cosigners":    "Co-signing members",
		"tree_size":    "Checkpoint log size",
		"attestations": "Attestations",
		"custody":      "Custody of the original",
		"none":         "none",
		"issuer":       "Issued by",
		"issued_at":    "Issued at",
		"verify":       "Scan or open to verify",
		"attachments":  "This PDF embeds receipt.json (the complete receipt, with its roster path) and certificate.json (the content the issuer signed with SM2); check it offline with:",
		"verify_cmd":   "evidenced verify --certificate CERT.pdf --roster ROSTER.json",
		"chain_id":     "Alliance chain",
	},
}

// roleLabel is a member role in the certificate's language (the role's
// name when the language has none for it).
func roleLabel(lb map[string]string, role string) string {
	if l, ok := lb["role."+role]; ok {
		return l
	}
	return role
}
