"""What the CAPA report prints, in both languages: its numbers, titles, labels and columns."""

from __future__ import annotations

from csc_forms import Column, Labels, Signature

EIGHT_D_NUMBER = "CSC-F-8D"
CPAR_NUMBER = "CSC-F-CPAR"
CUSTOMER_NUMBER = "CSC-F-CUSTOMER"
CLAUSE = "4.3.4"
EIGHT_D_TITLE = ("8D 报告", "8D Report")
CPAR_TITLE = ("纠正/预防措施要求单", "Corrective/Preventive Action Request")
CUSTOMER_TITLE = ("纠正预防措施报告（顾客格式）", "Corrective and Preventive Action Report")

STATUSES: Labels = {
    "investigating": ("调查中", "investigating"),
    "not_confirmed": ("未确认", "not confirmed"),
    "misuse": ("客户误用", "customer misuse"),
    "confirmed": ("已确认", "confirmed"),
    "in_progress": ("进行中", "in progress"),
    "closed": ("已结案", "closed"),
}
SOURCES: Labels = {
    "complaint": ("顾客投诉 4.4", "customer complaint"),
    "pnpr": ("退货不合格处理报告 4.3.3", "PNPR of returned goods"),
}
OUTCOMES: Labels = {
    "confirmed": ("确认属实", "confirmed"),
    "not_confirmed": ("未确认", "not confirmed"),
    "misuse": ("客户误用", "customer misuse"),
}
ACTION_KINDS: Labels = {
    "corrective": ("纠正", "corrective"),
    "preventive": ("预防", "preventive"),
}
ACTION_STATUSES: Labels = {
    "open": ("未完成", "open"),
    "implemented": ("已实施", "implemented"),
}
DOCUMENT_KINDS: Labels = {
    "standard": ("标准", "standard"),
    "fmea": ("失效模式分析", "FMEA"),
    "control_plan": ("控制计划", "control plan"),
    "work_instruction": ("作业指导书", "work instruction"),
    "drawing": ("图纸", "drawing"),
    "specification": ("规格书", "specification"),
}
YES, NO = ("是", "Yes"), ("否", "No")
OVERDUE = ("逾期", "overdue")
LEADER, MEMBER = ("组长", "Leader"), ("组员", "Member")
RECORDED = ("记录", "Recorded")
NOTE = ("说明", "Note")
# D2 in 5W2H, as the team writes it.
FIVE_W_TWO_H = (
    ("what", "什么", "What"),
    ("where", "何地", "Where"),
    ("when", "何时", "When"),
    ("who", "何人", "Who"),
    ("why", "为何", "Why"),
    ("how", "如何", "How"),
    ("how_many", "多少", "How many"),
)
DISCIPLINES = {
    "d0": ("D0 紧急响应措施", "D0 Emergency response"),
    "d1": ("D1 成立小组", "D1 Team"),
    "d2": ("D2 问题描述（5W2H）", "D2 Problem description (5W2H)"),
    "d3": ("D3 临时遏制措施", "D3 Interim containment"),
    "d4": ("D4 根本原因分析", "D4 Root cause analysis"),
    "d5": ("D5 永久纠正措施", "D5 Permanent corrective actions"),
    "d6": ("D6 实施与验证", "D6 Implementation and validation"),
    "verification": ("效果验证", "Verification of effectiveness"),
    "d7": ("D7 预防再发生", "D7 Prevent recurrence"),
    "d8": ("D8 小组祝贺/结案", "D8 Team recognition and closure"),
}
CPAR_SECTIONS = {
    "problem": ("问题描述", "Problem"),
    "source": ("问题来源", "Source"),
    "finding": ("不合格确认", "Nonconformity found"),
    "team": ("责任小组", "Team"),
    "containment": ("应急及临时措施", "Emergency response and containment"),
    "cause": ("原因分析", "Cause analysis"),
    "corrective": ("纠正措施", "Corrective action"),
    "preventive": ("预防措施", "Preventive action"),
    "documents": ("预防措施：文件更新", "Preventive action: documents updated"),
    "verification": ("效果验证", "Verification of effectiveness"),
    "closure": ("结案", "Closure"),
}
EIGHT_D_SIGNATURES = (
    Signature("组长", "Team leader"),
    Signature("审核", "Reviewed by"),
    Signature("批准", "Approved by"),
)

ITEM, DETAILS = Column("项目", "Item", 1.8), Column("内容", "Details", 5)
BY, TIME = Column("人员", "By", 1.6), Column("时间", "Time (UTC)", 1.3)
ROUND = Column("轮次", "Round", 0.8)
NUMBER = Column("编号", "No.", 0.6)
