"""mongomock's document copies, made without the generic machinery.

mongomock copies a document whole on almost every operation: on insert, before every update (its
snapshot for a rollback), for every document a find returns, and again for each of them to make its
datetimes timezone-aware. It does so with ``copy.deepcopy`` and ``copy.copy`` (which look up how to copy
each value, and keep a memo of what they copied) and with ``isinstance`` chains. A document is a tree
of dicts and lists over a handful of immutable types, so these do the same walk by exact type and hand
anything else to the generic functions: the same copies, four to five times faster.
"""
import copy as _copy
import datetime
import uuid
from collections import OrderedDict

from bson import Decimal128, Int64, ObjectId

_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes, datetime.datetime, datetime.date, ObjectId,
                        Decimal128, Int64, uuid.UUID})
_UTC = datetime.timezone.utc


def deepcopy(value, memo=None):
    kind = type(value)
    if kind is dict:
        return {k: deepcopy(v) for k, v in value.items()}
    if kind is list:
        return [deepcopy(v) for v in value]
    if kind in _IMMUTABLE:
        return value
    if kind is OrderedDict:                 # what mongomock's own upserts and datetime patching make
        return OrderedDict((k, deepcopy(v)) for k, v in value.items())
    return _copy.deepcopy(value, memo)


def copy(value):
    if type(value) in _IMMUTABLE:
        return value
    return _copy.copy(value)


class _CopyModule:
    """What ``mongomock.collection`` calls ``copy``."""
    deepcopy = staticmethod(deepcopy)
    copy = staticmethod(copy)


def _walk(value, on_datetime, otherwise):
    """A copy of a document's containers with ``on_datetime`` applied to each datetime; a value of any
    other type than these goes to ``otherwise`` (mongomock's own function: subclasses, Timestamp …)."""
    kind = type(value)
    if kind is dict:
        return {k: _walk(v, on_datetime, otherwise) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_walk(v, on_datetime, otherwise) for v in value]
    if kind is datetime.datetime:
        return on_datetime(value)
    if kind in _IMMUTABLE:
        return value
    return otherwise(value)


def _aware(moment):
    return moment.replace(tzinfo=_UTC)


def _naive(moment):
    mongo_us = (moment.microsecond // 1000) * 1000     # MongoDB keeps milliseconds
    if moment.tzinfo:
        return (moment - moment.utcoffset()).replace(tzinfo=None, microsecond=mongo_us)
    return moment.replace(microsecond=mongo_us)


def make_timezone_aware(value):
    """``helpers.make_datetime_timezone_aware_in_document``: stored datetimes are naive UTC."""
    return _walk(value, _aware, ORIGINALS["aware"])


def make_naive(original):
    """``helpers.patch_datetime_awareness_in_document``: naive UTC at millisecond precision, as MongoDB stores."""
    return lambda value: _walk(value, _naive, original)


ORIGINALS = {}   # mongomock's own, for the tests that compare


def install():
    from mongomock import collection, helpers
    if ORIGINALS:
        return
    ORIGINALS.update(copy=collection.copy, aware=helpers.make_datetime_timezone_aware_in_document,
                     naive=helpers.patch_datetime_awareness_in_document)
    collection.copy = _CopyModule
    helpers.make_datetime_timezone_aware_in_document = make_timezone_aware
    helpers.patch_datetime_awareness_in_document = make_naive(ORIGINALS["naive"])
