"""Petitions (诉求): submit, the whistle-blowing actions, and what each user may see."""
from flask_smorest import Blueprint

from services.petitions.schemas import (ACTION_SCHEMAS, FollowUpListSchema, FollowUpPageSchema,
                                        FollowUpRecordSchema, ListSchema, PetitionPageSchema, PetitionSchema,
                                        SubmitSchema)

from ..security import BEARER, authenticated, call

blp = Blueprint("petitions", __name__, url_prefix="/api/v1/petitions", description="Petitions (诉求)")

ACTION_DOCS = {
    "claim": "Take the petition on at its level (building leader, grid worker; community staff once escalated).",
    "escalate": "Whistle it up to the community (网格吹哨，社区报到).",
    "dispatch": "Send it to a department (社区吹哨，部门报到); defaults to the catalogue's department.",
    "accept": "The department takes it on (接单).",
    "return": "The department sends it back to the community with a reason (退单).",
    "resolve": "Mark it handled, with a note (办结).",
    "rate": "The resident rates the result 1–5 (评单); this closes the petition.",
    "withdraw": "The resident withdraws it before it is resolved.",
    "merge": "Fold this duplicate into an open original; its resident then follows the original.",
}


@blp.route("", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(SubmitSchema)
@blp.response(201, PetitionSchema)
@authenticated
def submit(petition):
    """File a petition (residents); the building defaults to the resident's own.

    The answer lists open petitions of the same category in the same building from the
    last seven days as ``possible_duplicates``.
    """
    return call("petitions", "submit", petition)


@blp.route("", methods=["GET"])
@blp.doc(security=BEARER)
@blp.arguments(ListSchema, location="query")
@blp.response(200, PetitionPageSchema)
@authenticated
def list_(query):
    """What the caller may see, filtered; ``queue=mine`` is each role's work queue, deadline first."""
    return call("petitions", "list", query)


@blp.route("/<petition_id>", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, PetitionSchema)
@authenticated
def get(petition_id):
    return call("petitions", "get", petition_id)


def _action_view(action, schema):
    @blp.route(f"/<petition_id>/{action}", methods=["POST"], endpoint=f"{action}_petition")
    @blp.doc(security=BEARER, summary=ACTION_DOCS[action])
    @blp.arguments(schema)
    @blp.response(200, PetitionSchema)
    @blp.alt_response(403, description="not allowed for this user")
    @blp.alt_response(409, description="not allowed in the petition's current state")
    @authenticated
    def view(payload, petition_id):
        return call("petitions", "act", petition_id, action, payload)
    view.__name__ = f"{action}_petition"
    return view


for _action, _schema in ACTION_SCHEMAS.items():
    _action_view(_action, _schema)


@blp.route("/<petition_id>/follow-up", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(FollowUpRecordSchema)
@blp.response(200, PetitionSchema)
@authenticated
def record_follow_up(payload, petition_id):
    """Community staff record the follow-up visit (回访) a low rating opened."""
    return call("petitions", "record_follow_up", petition_id, payload)


follow_ups = Blueprint("follow_ups", __name__, url_prefix="/api/v1/follow-ups",
                       description="Follow-up visits (回访) opened by 1–2 star ratings")


@follow_ups.route("", methods=["GET"])
@follow_ups.doc(security=BEARER)
@follow_ups.arguments(FollowUpListSchema, location="query")
@follow_ups.response(200, FollowUpPageSchema)
@authenticated
def list_follow_ups(query):
    """Follow-ups the caller may see, with counts of open and done ones."""
    return call("petitions", "follow_ups", query)
