"""The zh-CN texts of every notice: (event type, audience) -> (heading, body).

Bodies name the petition so a notice makes sense on its own in the inbox.
Fields an event may lack (a reason, a note, a rating) render as empty text.
Followers of a petition (residents of merged duplicates) read the resident's text.
"""
TEMPLATES = {
    ("petition_submitted", "resident"): ("诉求已提交", "您的诉求「{title}」已提交"),
    ("petition_submitted", "building"): ("楼栋新诉求", "楼栋有新诉求：「{title}」"),
    ("petition_submitted", "party"): ("居民吹哨", "居民吹哨：求助「{title}」等待党员认领"),
    ("petition_claimed", "resident"): ("诉求已接手", "您的诉求「{title}」已有人接手办理"),
    ("petition_escalated", "resident"): ("诉求已上报社区", "您的诉求「{title}」已上报社区"),
    ("petition_escalated", "community"): (
        "网格吹哨", "网格吹哨：诉求「{title}」需要社区处理，原因：{reason}"),
    ("petition_escalated", "community_overdue"): (
        "超时自动上报", "超时自动上报：诉求「{title}」需要社区处理"),
    ("petition_escalated", "resident_grid"): ("求助转网格", "您的求助「{title}」已转网格处理"),
    ("petition_escalated", "building"): (
        "党员吹哨", "党员吹哨：求助「{title}」需要网格处理，原因：{reason}"),
    ("petition_escalated", "building_unclaimed"): (
        "党员未接单", "党员未接单：求助「{title}」转网格处理"),
    ("petition_dispatched", "resident"): ("诉求已派单", "您的诉求「{title}」已派单至部门"),
    ("petition_dispatched", "department"): (
        "社区吹哨", "社区吹哨：诉求「{title}」派至贵部门，请及时接单"),
    ("petition_accepted", "resident"): ("部门已接单", "您的诉求「{title}」已由部门接单办理"),
    ("petition_returned", "resident"): (
        "诉求退回社区", "您的诉求「{title}」被部门退回社区重新处理，原因：{reason}"),
    ("petition_returned", "community"): (
        "部门退单", "部门退单：诉求「{title}」已退回社区，原因：{reason}"),
    ("petition_resolved", "resident"): (
        "诉求已办结", "您的诉求「{title}」已办结：{note}。请对办理结果进行评价"),
    ("petition_closed", "resident"): ("诉求已归档", "您的诉求「{title}」已办结归档"),
    ("petition_closed", "resident_unrated"): (
        "诉求已归档", "您的诉求「{title}」超过评价时限，已自动归档"),
    ("petition_closed", "handler"): ("收到评价", "您办理的诉求「{title}」获得{rating}星评价"),
    ("petition_closed", "handler_unrated"): (
        "诉求已归档", "您办理的诉求「{title}」已办结归档，居民未评价"),
    ("petition_withdrawn", "resident"): ("诉求已撤回", "您的诉求「{title}」已撤回"),
    ("petition_overdue", "handler"): (
        "诉求超时", "您办理的诉求「{title}」已超过{deadline_text}时限，请尽快处理"),
    ("petition_overdue", "building"): ("诉求超时", "诉求「{title}」已超过{deadline_text}时限"),
    ("petition_overdue", "community"): ("诉求超时", "诉求「{title}」已超过{deadline_text}时限"),
    ("petition_overdue", "district"): ("诉求超时", "诉求「{title}」已超过{deadline_text}时限，请督办"),
    ("petition_overdue", "department"): (
        "诉求超时", "诉求「{title}」已超过{deadline_text}时限，请尽快处理"),
    ("petition_merged", "resident"): (
        "诉求已合并", "您的诉求「{title}」与已有诉求合并办理，后续进展将同步通知您"),
    ("follow_up_opened", "community"): (
        "差评回访", "差评回访：诉求「{title}」获得{rating}星评价，请回访"),
    ("follow_up_recorded", "resident"): ("回访结果", "您的诉求「{title}」{outcome_text}：{note}"),
    ("points_awarded", "awardee"): (
        "积分到账", "您获得{amount}积分（{reason_text}），当前余额{balance}分"),
}

# The points service's reason codes, as a resident would say them.
REASON_TEXTS = {
    "petition_rated": "诉求评价奖励",
    "petition_handled": "办理诉求获好评奖励",
}

# The time limits of petition_overdue (data.deadline), named as staff say them.
DEADLINE_TEXTS = {
    "claim": "认领",
    "resolve": "办结",
    "dispatch": "派单",
    "accept": "接单",
    "rate": "评价",
}

# The outcomes of a follow-up visit (follow_up_recorded data.outcome).
OUTCOME_TEXTS = {
    "contacted": "社区已回访",
    "reopened": "已重新立案办理",
    "closed": "回访已完结",
}


class _Blank(dict):
    def __missing__(self, key):
        return ""


def render(type_, audience, data):
    """(heading, body) for one audience of one event; unknown fields render empty."""
    heading, body = TEMPLATES[(type_, audience)]
    values = _Blank({k: "" if v is None else v for k, v in data.items()})
    if "reason" in data:
        values["reason_text"] = REASON_TEXTS.get(data["reason"], values["reason"])
    if "deadline" in data:
        values["deadline_text"] = DEADLINE_TEXTS.get(data["deadline"], values["deadline"])
    if "outcome" in data:
        values["outcome_text"] = OUTCOME_TEXTS.get(data["outcome"], values["outcome"])
    return heading.format_map(values), body.format_map(values)
