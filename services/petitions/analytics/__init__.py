"""The three rates (三率) and the figures around them, as a read model fed by the petition events.

``feed.record`` turns each petition event into a step (``steps``) and adds what ``definitions`` says it
contributes to the counter documents of each node on its path and day (``store``: read and written by
``_id`` only, each event once); ``queries`` answers from those documents only, reading D of them for a
question over D days; ``rebuild`` recomputes them from the petitions' timelines. ``python -m services.petitions.analytics rebuild`` runs
the rebuild through the petitions service (so it works with mongomock too).
"""
from .definitions import EVENTS  # noqa: F401
