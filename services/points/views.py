"""Documents as the outside world sees them: plain JSON, points with their yuan, no storage details."""
from civicgrid.events import isoformat

from .periods import aware

DESCRIPTIONS = {
    "petition_rated": "诉求评价奖励",
    "petition_handled": "办理诉求获好评奖励",
    "activity_attendance": "志愿服务活动签到",
    "claim_approved": "自主申报审核通过",
    "wish_fulfilled": "微心愿认领完成",
    "redeem": "积分超市兑换",
    "refund": "兑换取消退还",
    "reversal": "积分更正（冲正）",
}


def yuan(points):
    """1 point = 1 yuan, said as money: 12 -> '12.00'."""
    points = int(points or 0)
    sign = "-" if points < 0 else ""
    return f"{sign}{abs(points)}.00"


def time(moment):
    return isoformat(aware(moment)) if moment is not None else None


def entry_view(entry):
    return {
        "amount": entry["amount"], "yuan": yuan(entry["amount"]), "balance_after": entry.get("balance_after"),
        "reason": entry["reason"], "description": DESCRIPTIONS.get(entry["reason"], entry["reason"]),
        "transaction_id": entry["transaction_id"], "counter_account": entry.get("counter_account"),
        "source": entry.get("source"), "petition_id": entry.get("petition_id"), "actor": entry.get("actor"),
        "created_at": time(entry["created_at"]),
    }


def item_view(item):
    return {
        "id": item["_id"], "district": item["district"], "community": item["community"], "name": item["name"],
        "description": item.get("description", ""), "image_url": item.get("image_url"),
        "price": item["price"], "price_yuan": yuan(item["price"]), "stock": item["stock"],
        "active": item["active"], "per_person_limit": item.get("per_person_limit"),
        "limit_period": item.get("limit_period", "total"), "reserved": item.get("reserved", 0),
        "sold": item.get("sold", 0), "created_at": time(item["created_at"]), "updated_at": time(item["updated_at"]),
    }


def order_view(order, balance=None):
    return {
        "id": order["_id"], "district": order["district"], "community": order["community"],
        "user_id": order["user_id"], "item_id": order["item_id"], "item_name": order["item_name"],
        "quantity": order["quantity"], "unit_price": order["unit_price"], "points": order["points"],
        "yuan": yuan(order["points"]), "status": order["status"], "reason": order.get("reason"),
        "note": order.get("note"), "balance": balance, "created_at": time(order["created_at"]),
        "expires_at": time(order.get("expires_at")), "picked_up_at": time(order.get("picked_up_at")),
        "picked_up_by": order.get("picked_up_by"), "cancelled_at": time(order.get("cancelled_at")),
        "cancelled_by": order.get("cancelled_by"),
    }


def activity_view(activity, auth=None, staff=False):
    signups = activity.get("signups", [])
    view = {
        "id": activity["_id"], "district": activity["district"], "community": activity["community"],
        "title": activity["title"], "description": activity.get("description", ""), "place": activity["place"],
        "starts_at": time(activity["starts_at"]), "ends_at": time(activity.get("ends_at")),
        "capacity": activity["capacity"], "points": activity["points"], "status": activity["status"],
        "cancel_reason": activity.get("cancel_reason"), "signed_up": len(signups),
        "places_left": max(0, activity["capacity"] - len(signups)),
        "me_signed_up": bool(auth and any(s["user_id"] == auth.user_id for s in signups)),
        "checked_in": len(activity.get("checked_in", [])),
        "created_by": activity["created_by"], "created_at": time(activity["created_at"]),
    }
    if staff:
        view["signups"] = [dict(s, at=time(s["at"])) for s in signups]
        view["attendance"] = [dict(a, at=time(a["at"])) for a in activity.get("attendance", [])]
    return view


def claim_view(claim):
    return {
        "id": claim["_id"], "district": claim["district"], "community": claim["community"],
        "user_id": claim["user_id"], "title": claim["title"], "description": claim.get("description", ""),
        "media": claim.get("media", []), "category": claim.get("category"), "status": claim["status"],
        "points": claim.get("points"), "capped": bool(claim.get("capped")), "reason": claim.get("reason"),
        "note": claim.get("note"), "decided_by": claim.get("decided_by"),
        "decided_at": time(claim.get("decided_at")), "created_at": time(claim["created_at"]),
    }


def wish_view(wish, now=None):
    adopter, fulfilment, confirmation = wish.get("adopter"), wish.get("fulfilment"), wish.get("confirmation")
    late = bool(now and wish["status"] == "adopted" and wish.get("due_at") and aware(wish["due_at"]) <= now)
    return {
        "id": wish["_id"], "district": wish["district"], "community": wish["community"],
        "building_id": wish.get("building_id"), "resident_id": wish["resident_id"],
        "resident_name": wish.get("resident_name"), "title": wish["title"], "reason": wish.get("reason", ""),
        "wanted_by": wish["wanted_by"], "media": wish.get("media", []), "status": wish["status"],
        "posted_by": wish["posted_by"], "on_behalf": bool(wish.get("on_behalf")),
        "adopter": adopter, "adopted_at": time(wish.get("adopted_at")),
        "fulfilment": dict(fulfilment, at=time(fulfilment["at"])) if fulfilment else None,
        "confirmation": dict(confirmation, at=time(confirmation["at"])) if confirmation else None,
        "points": wish.get("points"), "capped": bool(wish.get("capped")), "flagged": bool(wish.get("flagged")),
        "flagged_at": time(wish.get("flagged_at")), "late": late, "withdraw_reason": wish.get("withdraw_reason"),
        "created_at": time(wish["created_at"]), "updated_at": time(wish["updated_at"]),
    }
