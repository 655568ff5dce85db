"""A district's worth of petitions driven through the use cases on a moved clock, their events collected:
what the read model's tests feed in, deliver twice, shuffle, and rebuild from."""
import random
from datetime import datetime, timedelta, timezone

from civicgrid.outbox import publish_pending
from services.petitions import usecases
from services.petitions.analytics import feed, store
from services.petitions.dependencies import create_indexes
from services.petitions.repository import PetitionRepository

from .fakes import FakeDirectory
from .test_domain import COMMUNITY, DEPARTMENT, GRID_WORKER, LEADER, NEIGHBOUR, OWNER, PARTY, person

START = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
ZONGHE = person("zh1", "department_staff", department="zonghe")


class World:
    def __init__(self, db):
        create_indexes(db)
        self.db = db
        self.repo = PetitionRepository(db)
        self.directory = FakeDirectory()
        self.now = START
        self.events = []

    def later(self, hours):
        self.now += timedelta(hours=hours)

    def _drain(self):
        publish_pending(self.db.petitions, lambda _type, event: self.events.append(event))

    def submit(self, auth=OWNER, **body):
        body = {"category": "streetlight", "title": "路灯不亮", **body}
        petition = usecases.submit(self.repo, self.directory, auth, body, self.now)[0]
        self._drain()
        return petition["_id"]

    def act(self, auth, pid, action, payload=None):
        petition = usecases.act(self.repo, self.directory, auth, pid, action, payload or {}, self.now)
        self._drain()
        return petition

    def follow_up(self, pid, outcome):
        petition = usecases.record_follow_up(self.repo, COMMUNITY, pid, {"outcome": outcome, "note": "回访"}, self.now)
        self._drain()
        return petition

    def scan(self):
        usecases.scan_overdue(self.repo, self.now)
        self._drain()

    def feed(self, seed=7, twice=0.3):
        """Every event, some of them twice, in a shuffled order (delivery is at least once, retries reorder)."""
        rng = random.Random(seed)
        deliveries = list(self.events) + [e for e in self.events if rng.random() < twice]
        rng.shuffle(deliveries)
        for event in deliveries:
            feed.record(self.db, event)


def mixed_workload(world):
    """Seven petitions through the paths the loop has: returns their ids by name."""
    w, ids = world, {}
    ids["quick"] = w.submit(title="28栋路灯不亮")
    w.later(2)
    w.act(LEADER, ids["quick"], "claim")
    ids["dup"] = w.submit(NEIGHBOUR, building_id="b28", title="28栋门口路灯")
    w.act(LEADER, ids["dup"], "merge", {"into": ids["quick"]})
    ids["gone"] = w.submit(title="灯又亮了")
    w.later(1)
    w.act(OWNER, ids["gone"], "withdraw")
    ids["slope"] = w.submit(NEIGHBOUR, category="slope", title="29栋后坡滑坡")
    w.later(1)
    w.act(GRID_WORKER, ids["slope"], "escalate", {"reason": "需社区协调"})
    w.act(COMMUNITY, ids["slope"], "claim")
    w.act(COMMUNITY, ids["slope"], "dispatch", {"department_id": "zonghe"})
    w.later(3)
    w.act(ZONGHE, ids["slope"], "return", {"reason": "非本部门"})
    w.act(COMMUNITY, ids["slope"], "dispatch", {})          # the catalogue's chengjian
    ids["help"] = w.submit(NEIGHBOUR, category="help_errand", title="帮忙换灯泡")
    ids["theft"] = w.submit(category="security", title="电瓶车被偷", attributes={"kinds": ["theft"]})
    w.later(20)
    w.act(LEADER, ids["quick"], "resolve", {"note": "换了灯泡"})
    w.act(OWNER, ids["quick"], "rate", {"score": 5})
    w.later(6)                                              # 26 h on: claim and accept limits pass
    w.scan()
    w.later(4)
    w.act(DEPARTMENT, ids["slope"], "accept")                # late: its accept limit already fired
    w.act(GRID_WORKER, ids["help"], "claim")
    w.later(10)
    w.act(GRID_WORKER, ids["help"], "resolve", {"note": "已换好"})
    w.act(DEPARTMENT, ids["slope"], "resolve", {"note": "已加固"})
    w.act(NEIGHBOUR, ids["slope"], "rate", {"score": 2, "comment": "没修好"})
    reopened = w.follow_up(ids["slope"], "reopened")
    ids["reopened"] = reopened["follow_up"]["linked_petition_id"]
    w._drain()
    w.act(COMMUNITY, ids["reopened"], "claim")
    w.later(2)
    w.act(COMMUNITY, ids["reopened"], "resolve", {"note": "重新加固"})
    w.later(30)                                             # the theft waits at community past its limit
    w.scan()
    w.later(170)                                            # unrated resolved petitions close by themselves
    w.scan()
    return ids


def snapshot(db, district="hb"):
    """The current generation's counter documents by (day, node, facet), without bookkeeping (``_id``,
    generation, the marks of the events applied)."""
    gen = store.current_generation(db, district)
    out = {}
    for doc in db[store.COUNTERS].find({"gen": gen, "district": district}):
        out[(doc["day"], doc["node"], doc["facet"])] = {k: v for k, v in doc.items() if k not in ("_id", "gen", "pending")}
    return out


def unfinished(db):
    """Marks of events whose guard is not done: none once every delivery has finished."""
    marks = [(doc["gen"], doc["district"], m) for doc in db[store.COUNTERS].find({}) for m in doc.get("pending") or {}]
    done = {g["_id"] for g in db[store.APPLIED].find({"state": "done"})}
    return [m for m in marks if store._id(m[0], m[1], store.unkey(m[2])) not in done]


def most_marks(db):
    """The most event marks any counter document carries (bounded: not one per event it counted)."""
    return max((len(doc.get("pending") or {}) for doc in db[store.COUNTERS].find({})), default=0)
