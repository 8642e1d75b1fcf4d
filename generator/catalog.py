"""What each department records: category frequencies, own codes and names, statuses, texts.

Frequencies are per record of that source and only need to look plausible: theft,
disputes and fraud common, the veto categories very rare. Unified codes are those of
config/taxonomy.yaml; each source exports them its own way (police: numeric codes mapped
by `categories:` in its mapping.yaml; the others: Chinese names that are taxonomy aliases
or, for justice, its own labels mapped in its mapping.yaml).
"""
from __future__ import annotations

# The default rules of the design brief; used only to write the expected outcomes in truth/.
VETO = ["homicide", "serious_assault", "rape", "robbery", "kidnapping", "arson", "explosion", "poisoning"]
DOWNGRADE = ["burglary", "prostitution", "gambling", "drugs", "fraud_den"]

SOURCE_SHARE = {"police": 0.55, "petition": 0.12, "justice": 0.13, "court": 0.12, "procuratorate": 0.08}
COURT_CRIMINAL_OF_PROC = 0.7  # share of prosecuted incidents that reach a court judgment

POLICE = {  # unified code: (police code, weight per 100 records)
    "theft": ("0201", 14.0), "ebike_theft": ("0204", 8.0), "pickpocketing": ("0203", 2.0),
    "burglary": ("0202", 0.6), "snatching": ("0205", 0.5),
    "telecom_fraud": ("0302", 12.0), "fraud": ("0301", 6.0), "fraud_den": ("0303", 0.03),
    "neighbour_dispute": ("0601", 15.0), "family_dispute": ("0602", 8.0), "property_dispute": ("0603", 5.0),
    "noise": ("0503", 10.0), "fighting": ("0502", 6.0), "provocation": ("0501", 2.0),
    "assault": ("0110", 3.0), "domestic_violence": ("0111", 2.0),
    "gambling": ("0402", 0.3), "drugs": ("0403", 0.3), "prostitution": ("0401", 0.2),
    "robbery": ("0104", 0.012), "homicide": ("0101", 0.003), "rape": ("0103", 0.008),
    "kidnapping": ("0105", 0.002), "arson": ("0106", 0.008), "explosion": ("0107", 0.001),
    "poisoning": ("0108", 0.001), "serious_assault": ("0102", 0.006),
}
# Police categories that open a criminal case (案件编号) and can go on to prosecution,
# with the relative chance of being prosecuted.
CRIMINAL = {
    "homicide": 30, "serious_assault": 20, "rape": 20, "robbery": 15, "kidnapping": 20, "arson": 15,
    "explosion": 15, "poisoning": 15, "assault": 3, "snatching": 2, "burglary": 3, "theft": 1,
    "pickpocketing": 1, "ebike_theft": 0.6, "fraud": 2, "telecom_fraud": 0.5, "fraud_den": 8,
    "prostitution": 1.5, "gambling": 2, "drugs": 3, "provocation": 2,
}
CHARGE = {  # unified code -> charge name as procuratorate and court write it (taxonomy aliases)
    "homicide": "故意杀人罪", "serious_assault": "故意伤害致人重伤", "rape": "强奸罪", "robbery": "抢劫罪",
    "kidnapping": "绑架罪", "arson": "放火罪", "explosion": "爆炸罪", "poisoning": "投放危险物质罪",
    "assault": "故意伤害罪", "snatching": "抢夺罪", "burglary": "入户盗窃", "theft": "盗窃罪",
    "pickpocketing": "扒窃", "ebike_theft": "盗窃罪", "fraud": "诈骗罪", "telecom_fraud": "电信网络诈骗",
    "fraud_den": "诈骗窝点", "prostitution": "组织卖淫罪", "gambling": "开设赌场罪",
    "drugs": "容留他人吸毒罪", "provocation": "寻衅滋事罪",
}
# How procuratorate and court labels read back in the taxonomy (only where not the same code).
CHARGE_CODE = {"ebike_theft": "theft"}
# A court may settle on a more final classification than police and procuratorate did.
ESCALATION = {"assault": ("serious_assault", 0.02), "theft": ("burglary", 0.03),
              "fraud": ("telecom_fraud", 0.2)}

COURT_CIVIL = [  # (unified code, court's cause of action, weight)
    ("property_dispute", "物业服务合同纠纷", 40.0), ("neighbour_dispute", "相邻关系纠纷", 25.0),
    ("family_dispute", "离婚纠纷", 35.0),
]
JUSTICE = [  # (unified code, the justice bureau's own label, weight)
    ("neighbour_dispute", "调解-邻里纠纷", 30.0), ("family_dispute", "调解-婚姻家庭", 20.0),
    ("property_dispute", "调解-物业纠纷", 15.0), ("community_correction", "社区矫正对象", 20.0),
    ("resettlement", "安置帮教对象", 15.0),
]
PETITION = [
    ("petition_security", "社会治安", 20.0), ("petition_property", "物业管理", 30.0),
    ("petition_neighbour", "邻里关系", 20.0), ("petition_mass", "集体访", 5.0),
    ("petition_other", "城建", 12.0), ("petition_other", "劳动社保", 13.0),
]

STATUS = {  # source -> (valid statuses, revoked statuses)
    "police": (["已处警", "已立案", "已办结"], ["撤销", "不立案"]),
    "procuratorate": (["审查起诉", "批准逮捕", "已起诉"], ["撤案"]),
    "court": (["已判决", "审理中", "已调解"], ["撤诉"]),
    "justice": (["调解成功", "在册", "已办结"], ["撤销"]),
    "petition": (["已办结", "办理中", "已受理"], ["撤销"]),
}

UNKNOWN_CATEGORY = {"police": "9999", "procuratorate": "其他罪名", "court": "未列明案由",
                    "justice": "调解-其他", "petition": "未分类"}

# Case summaries: {n} a fake name, {p} a masked phone, {a} the place. Placeholders always
# appear in that order, so templates can be split once and filled column-wise.
TEMPLATES = {
    "暴力": "{n}（联系电话{p}）报称在{a}与人发生冲突后被殴打受伤，已送医。",
    "盗窃": "事主{n}（电话{p}）报称其放在{a}的财物被盗，损失待核实。",
    "诈骗": "受害人{n}（{p}）称接到陌生来电后被骗转账，案发地{a}。",
    "黄赌毒": "群众{n}（电话{p}）举报{a}有人员聚集从事违法活动，民警到场查处。",
    "治安": "报警人{n}（{p}）称{a}有人吵闹滋事，影响居民休息。",
    "纠纷": "当事人{n}（电话{p}）与邻居因琐事在{a}发生纠纷，经调解双方达成一致。",
    "矫正帮教": "{n}（联系电话{p}）居住于{a}，按规定接受监督管理和帮扶。",
    "信访": "信访人{n}（电话{p}）反映{a}存在问题，要求有关部门尽快处理。",
}
GROUP = {
    "homicide": "暴力", "serious_assault": "暴力", "rape": "暴力", "robbery": "暴力", "kidnapping": "暴力",
    "arson": "暴力", "explosion": "暴力", "poisoning": "暴力", "assault": "暴力", "domestic_violence": "暴力",
    "snatching": "盗窃", "burglary": "盗窃", "theft": "盗窃", "pickpocketing": "盗窃", "ebike_theft": "盗窃",
    "fraud": "诈骗", "telecom_fraud": "诈骗", "fraud_den": "诈骗",
    "prostitution": "黄赌毒", "gambling": "黄赌毒", "drugs": "黄赌毒",
    "provocation": "治安", "fighting": "治安", "noise": "治安",
    "neighbour_dispute": "纠纷", "family_dispute": "纠纷", "property_dispute": "纠纷",
    "community_correction": "矫正帮教", "resettlement": "矫正帮教",
    "petition_security": "信访", "petition_property": "信访", "petition_neighbour": "信访",
    "petition_mass": "信访", "petition_other": "信访",
}
