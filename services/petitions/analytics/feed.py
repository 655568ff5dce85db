"""Petition events in, counters up: the live path of the read model."""
from . import steps, store


def record(db, event):
    """Add one petition event to the read model (every generation a query or a rebuild reads), once;
    ``store.Busy`` when another delivery of it is being applied right now (the handler is retried)."""
    step = steps.from_event(event)
    if step is None:
        return 0
    return store.apply(db, store.generations(db, step.district), step)
