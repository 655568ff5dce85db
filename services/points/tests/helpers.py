"""People of 河边镇 and 綦江, a clock, and a database that yields like a real one."""
import random
import uuid
from datetime import datetime, timedelta, timezone

import eventlet

from civicgrid.auth import AuthContext
from services.points import ledger

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)  # 10:00 in 河边镇
LATER = NOW + timedelta(hours=1)


def person(user_id, roles, scope, community, district="hb", name=None):
    return AuthContext(user_id=user_id, district=district, roles=tuple(roles), scope=scope,
                       community=community, name=name or user_id)


WEN = person("wenxiaohua", ["resident"], "b28", "wenchang", name="文小华")
ZHANG = person("zhangyiqin", ["resident"], "b28", "wenchang", name="张意琴")
HU = person("huxingyou", ["resident"], "b29", "wenchang", name="胡兴友")
YJ_RESIDENT = person("yj-resident", ["resident"], "yj-b1", "yanjinghe", name="盐井河村民")
STAFF = person("wc-secretary", ["community_staff"], "wenchang", "wenchang", name="文昌社区书记")
YJ_STAFF = person("yj-secretary", ["community_staff"], "yanjinghe", "yanjinghe", name="盐井河村书记")
LEADER = person("daiyunzhong", ["building_leader"], "b28", "wenchang", name="代云中")
ADMIN = person("hb-admin", ["district_admin"], "hb", None, name="河边镇管理员")
QJ_RESIDENT = person("qj-resident", ["resident"], "qs-b1", "qingshan", district="qj")
QJ_ADMIN = person("qj-admin", ["district_admin"], "qj", None, district="qj")
PLATFORM = AuthContext(user_id="admin", roles=("platform_admin",))
ANONYMOUS = AuthContext()


def fund(db, who, points, now=NOW, community="wenchang"):
    """Give someone points the way a community does (an approved good deed), outside any cap."""
    return ledger.transfer(db, who.district, who.user_id, points, ledger.community_account(community),
                           f"seed:{uuid.uuid4()}", "claim_approved", now=now, earning="seed",
                           community=community)


def balance(db, who):
    return ledger.balance(db, who.district, ledger.user_account(who.user_id))


class _Yielding:
    """A collection whose every call lets other green threads run first, as real I/O would."""

    def __init__(self, collection, rng):
        self._collection, self._rng = collection, rng

    def __getattr__(self, name):
        attr = getattr(self._collection, name)
        if not callable(attr) or name.startswith("_"):
            return attr

        def call(*args, **kwargs):
            eventlet.sleep(self._rng.random() * 0.0005)
            result = attr(*args, **kwargs)
            eventlet.sleep(0)
            return result
        return call


class YieldingDb:
    """Wraps a mongomock database so that concurrent green threads really interleave between operations."""

    def __init__(self, db, seed=7):
        self._db, self._rng = db, random.Random(seed)

    def __getattr__(self, name):
        return _Yielding(self._db[name], self._rng)

    def __getitem__(self, name):
        return _Yielding(self._db[name], self._rng)
