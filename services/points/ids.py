"""Readable ids that count per district: ``hb-o000042`` is easy to read out at the shop counter."""
from pymongo import ReturnDocument

PREFIXES = {"item": "i", "order": "o", "activity": "a", "claim": "c", "wish": "w"}


def next_id(db, district, kind):
    prefix = PREFIXES[kind]
    doc = db.counters.find_one_and_update({"_id": f"{kind}:{district}"}, {"$inc": {"seq": 1}},
                                          upsert=True, return_document=ReturnDocument.AFTER)
    return f"{district}-{prefix}{doc['seq']:06d}"
