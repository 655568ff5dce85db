"""The event envelope and the catalogue of every event on the bus.

Every payload is one envelope; its ``data`` is validated by the schema the
catalogue names for its ``type``. Producers call ``make_event``; consumers
call ``validate_event`` before acting, so a malformed message is refused at
the boundary rather than half-applied.
"""
import uuid
from datetime import datetime, timezone

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate

from . import correlation
from .errors import Invalid
from .validation import schema


class ActorSchema(Schema):
    id = fields.String(required=True)
    role = fields.String(required=True)


class EnvelopeSchema(Schema):
    event_id = fields.UUID(required=True)
    type = fields.String(required=True)
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    district = fields.String(required=True)
    actor = fields.Nested(ActorSchema, required=True)
    data = fields.Dict(required=True)
    # the request that caused the event (civicgrid.correlation); envelopes from before it had none
    correlation_id = fields.String(validate=validate.Length(min=1, max=correlation.MAX_LENGTH))


class DeadlineRefSchema(Schema):
    """A time limit as it stood: what was due, at which level, since when and by when, and whether it had passed."""
    kind = fields.String(required=True)
    level = fields.String(required=True)
    since = fields.String(allow_none=True, load_default=None)
    due_at = fields.String(required=True)
    fired = fields.Boolean(required=True)


class FellDueSchema(Schema):
    """When the petition first fell due for resolution: resolved, or a time limit first passed unmet."""
    at = fields.String(required=True)
    level = fields.String(required=True)
    department_id = fields.String(allow_none=True, load_default=None)


class PetitionEventData(Schema):
    """One shape for every petition_* event: the petition as it now stands."""
    petition_id = fields.String(required=True)
    title = fields.String(required=True)
    category = fields.String(required=True)
    status = fields.String(required=True)
    level = fields.String(required=True)
    building_id = fields.String(required=True)
    path = fields.List(fields.String(), required=True)
    resident_id = fields.String(required=True)
    department_id = fields.String(allow_none=True, load_default=None)
    handler_id = fields.String(allow_none=True, load_default=None)
    rating = fields.Integer(allow_none=True, load_default=None)
    comment = fields.String(allow_none=True, load_default=None)
    reason = fields.String(allow_none=True, load_default=None)
    note = fields.String(allow_none=True, load_default=None)
    kind = fields.String(load_default="issue", validate=validate.OneOf(["issue", "help"]))
    due_at = fields.String(allow_none=True, load_default=None)
    # residents whose duplicates were merged into this petition: they hear what its resident hears
    followers = fields.List(fields.String(), load_default=list)
    # the micro-project (微项目) whose completion resolved it, if any
    project_id = fields.String(allow_none=True, load_default=None)
    # what the three rates are counted from (services/petitions/analytics); absent in older events
    submitted_at = fields.String(allow_none=True, load_default=None)
    community_id = fields.String(allow_none=True, load_default=None)
    grid_id = fields.String(allow_none=True, load_default=None)
    settled = fields.Nested(DeadlineRefSchema, allow_none=True, load_default=None,
                            metadata={"description": "the time limit in force before this step"})
    fell_due = fields.Nested(FellDueSchema, allow_none=True, load_default=None)


class PetitionOverdueData(PetitionEventData):
    deadline = fields.String(required=True, validate=validate.OneOf(
        ["claim", "resolve", "dispatch", "accept", "rate"]))
    overdue_level = fields.String(required=True)


class PetitionMergedData(PetitionEventData):
    merged_into = fields.String(required=True)


class FollowUpData(PetitionEventData):
    follow_up_status = fields.String(required=True, validate=validate.OneOf(["open", "done"]))
    outcome = fields.String(allow_none=True, load_default=None,
                            validate=validate.OneOf(["contacted", "reopened", "closed"]))
    linked_petition_id = fields.String(allow_none=True, load_default=None)


class PetitionClosedData(PetitionEventData):
    rating = fields.Integer(required=True, allow_none=True,
                            validate=validate.Range(min=1, max=5))


class PointsAwardedData(Schema):
    user_id = fields.String(required=True)
    amount = fields.Integer(required=True)
    balance = fields.Integer(required=True)
    reason = fields.String(required=True)
    transaction_id = fields.String(required=True)
    petition_id = fields.String(allow_none=True, load_default=None)
    title = fields.String(allow_none=True, load_default=None)


class ActivityCancelledData(Schema):
    activity_id = fields.String(required=True)
    title = fields.String(required=True)
    community = fields.String(required=True)
    starts_at = fields.String(required=True)
    attendees = fields.List(fields.String(), required=True)  # everyone signed up: they must hear
    reason = fields.String(allow_none=True, load_default=None)


class ClaimDecidedData(Schema):
    claim_id = fields.String(required=True)
    user_id = fields.String(required=True)
    title = fields.String(required=True)
    points = fields.Integer(required=True)  # 0 when rejected
    reason = fields.String(allow_none=True, load_default=None)


class OrderData(Schema):
    order_id = fields.String(required=True)
    user_id = fields.String(required=True)
    community = fields.String(required=True)
    item_id = fields.String(required=True)
    item_name = fields.String(required=True)
    quantity = fields.Integer(required=True)
    points = fields.Integer(required=True)
    status = fields.String(required=True)
    reason = fields.String(allow_none=True, load_default=None)  # why cancelled: resident, staff, expired


class MemberAssignedData(Schema):
    user_id = fields.String(required=True)
    name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    scope = fields.String(allow_none=True, load_default=None)
    department_id = fields.String(allow_none=True, load_default=None)
    community = fields.String(allow_none=True, load_default=None)


class DepartmentRegisteredData(Schema):
    department_id = fields.String(required=True)
    name = fields.String(required=True)
    categories = fields.List(fields.String(), required=True)


class ClaimSubmittedData(Schema):
    """A resident declared a good deed (自主申报): it waits for the community's staff to decide."""
    claim_id = fields.String(required=True)
    user_id = fields.String(required=True)
    title = fields.String(required=True)
    community = fields.String(required=True)
    category = fields.String(allow_none=True, load_default=None)


class NotificationOutcomeData(Schema):
    """A notice left the platform on one channel (webhook, sms, wechat), or finally could not."""
    delivery_id = fields.String(required=True)
    event_id = fields.String(required=True)  # the event (or broadcast, digest) the notice is about
    event_type = fields.String(required=True)
    channel = fields.String(required=True)
    recipient = fields.String(required=True)  # a user id, or a webhook id
    attempts = fields.Integer(required=True)
    error = fields.String(allow_none=True, load_default=None)


class BroadcastSentData(Schema):
    """Community staff sent a notice to everyone in a building, grid or community (公示 / 楼栋群通知)."""
    broadcast_id = fields.String(required=True)
    title = fields.String(required=True)
    body = fields.String(required=True)
    target_kind = fields.String(required=True)
    node_id = fields.String(required=True)
    node_name = fields.String(allow_none=True, load_default=None)
    confirm_required = fields.Boolean(required=True)
    recipients = fields.Integer(required=True)
    sender = fields.String(required=True)


class ProjectEventData(Schema):
    """A micro-project (微项目) as it now stands; ``resident_id`` is the supporter of ``project_supported``."""
    project_id = fields.String(required=True)
    title = fields.String(required=True)
    community = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(
        ["proposed", "approved", "in_progress", "done", "cancelled"]))
    buildings = fields.List(fields.String(), required=True)
    petition_ids = fields.List(fields.String(), required=True)
    budget_fen = fields.Integer(allow_none=True, load_default=None)
    sponsor = fields.String(allow_none=True, load_default=None)
    supporters = fields.Integer(required=True)
    note = fields.String(allow_none=True, load_default=None)
    resident_id = fields.String(allow_none=True, load_default=None)


PROJECT_EVENTS = (
    "project_proposed", "project_approved", "project_started", "project_done", "project_cancelled",
    "project_supported",
)
class WishEventData(Schema):
    """One shape for every wish_* event (微心愿): the wish as it now stands."""
    wish_id = fields.String(required=True)
    title = fields.String(required=True)
    community = fields.String(required=True)
    building_id = fields.String(allow_none=True, load_default=None)
    resident_id = fields.String(required=True)
    status = fields.String(required=True)
    wanted_by = fields.String(allow_none=True, load_default=None)
    adopter_kind = fields.String(allow_none=True, load_default=None,
                                 validate=validate.OneOf(["person", "organisation"]))
    adopter_id = fields.String(allow_none=True, load_default=None)  # the person who adopted (for an organisation too)
    adopter_name = fields.String(allow_none=True, load_default=None)
    organisation_id = fields.String(allow_none=True, load_default=None)
    organisation_name = fields.String(allow_none=True, load_default=None)
    points = fields.Integer(allow_none=True, load_default=None)  # wish_confirmed: what the adopter earned
    note = fields.String(allow_none=True, load_default=None)
    flag_days = fields.Integer(allow_none=True, load_default=None)  # wish_flagged: open this many days


class OrganisationRegisteredData(Schema):
    """An organisation (驻区单位, a company) registered with a community, or changed: its members now."""
    organisation_id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    community = fields.String(required=True)
    members = fields.List(fields.String(), required=True)


WISH_EVENTS = ("wish_posted", "wish_adopted", "wish_fulfilled", "wish_confirmed", "wish_withdrawn",
               "wish_expired", "wish_flagged")

class CareLevelChangedData(Schema):
    """A household's care level (红橙绿) changed; why stays with the grid service, which owns it."""
    household_id = fields.String(required=True)
    building_id = fields.String(required=True)
    path = fields.List(fields.String(), required=True)
    from_level = fields.String(required=True, allow_none=True, validate=validate.OneOf(["green", "orange", "red"]))
    to_level = fields.String(required=True, validate=validate.OneOf(["green", "orange", "red"]))


PETITION_EVENTS = (
    "petition_submitted", "petition_claimed", "petition_escalated",
    "petition_dispatched", "petition_accepted", "petition_returned",
    "petition_resolved", "petition_closed", "petition_withdrawn",
    "petition_overdue", "petition_merged", "follow_up_opened", "follow_up_recorded",
)

# type -> (source service, version, data schema)
CATALOGUE = {
    **{name: ("petitions", 1, PetitionEventData) for name in PETITION_EVENTS},
    "petition_closed": ("petitions", 1, PetitionClosedData),
    "petition_overdue": ("petitions", 1, PetitionOverdueData),
    "petition_merged": ("petitions", 1, PetitionMergedData),
    "follow_up_opened": ("petitions", 1, FollowUpData),
    "follow_up_recorded": ("petitions", 1, FollowUpData),
    **{name: ("petitions", 1, ProjectEventData) for name in PROJECT_EVENTS},
    "points_awarded": ("points", 1, PointsAwardedData),
    "activity_cancelled": ("points", 1, ActivityCancelledData),
    "claim_approved": ("points", 1, ClaimDecidedData),
    "claim_rejected": ("points", 1, ClaimDecidedData),
    "points_redeemed": ("points", 1, OrderData),
    "order_picked_up": ("points", 1, OrderData),
    "order_cancelled": ("points", 1, OrderData),
    "member_assigned": ("grid", 1, MemberAssignedData),
    "department_registered": ("grid", 1, DepartmentRegisteredData),
    "care_level_changed": ("grid", 1, CareLevelChangedData),
    "claim_submitted": ("points", 1, ClaimSubmittedData),
    "notification_delivered": ("notify", 1, NotificationOutcomeData),
    "notification_failed": ("notify", 1, NotificationOutcomeData),
    "broadcast_sent": ("notify", 1, BroadcastSentData),
    **{name: ("points", 1, WishEventData) for name in WISH_EVENTS},
    "organisation_registered": ("grid", 1, OrganisationRegisteredData),
}

_envelope = EnvelopeSchema()
_tolerant_envelope = EnvelopeSchema(unknown=EXCLUDE)


def utcnow():
    return datetime.now(timezone.utc)


def isoformat(moment):
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def validate_event(payload, tolerant=False):
    """Raise ``Invalid`` unless ``payload`` is a well-formed envelope of a known type.

    A consumer passes ``tolerant``: fields it does not know yet are ignored, so a producer upgraded
    first (a new optional field in the envelope or the data) is not parked by consumers still on the
    old code during a rolling upgrade. Producers stay strict, so a misspelt field never leaves."""
    if not isinstance(payload, dict):
        raise Invalid("event is not an object", {"_schema": ["not an object"]})
    unknown = EXCLUDE if tolerant else RAISE
    errors = (_tolerant_envelope if tolerant else _envelope).validate(payload)
    if not errors:
        if payload["type"] not in CATALOGUE:
            errors = {"type": [f"unknown event type {payload['type']!r}"]}
        else:
            data_errors = schema(CATALOGUE[payload["type"]][2], unknown=unknown).validate(payload["data"])
            if data_errors:
                errors = {"data": data_errors}
    if errors:
        raise Invalid(f"malformed {payload.get('type', 'event')} event", errors)
    return payload


def make_event(type_, district, actor, data, event_id=None, occurred_at=None, correlation_id=None):
    """Build and validate one envelope.

    ``event_id`` may be given when a consumer derives an event from another:
    a deterministic id (uuid5 of the cause) lets the next consumer recognise a
    redelivery of the cause as the same fact. ``correlation_id`` defaults to the
    current request's: stored with the event (an outbox keeps it), so whoever
    publishes it later and whoever handles it log under the request's id.
    """
    source, version, _ = CATALOGUE[type_]
    payload = {
        "event_id": str(event_id or uuid.uuid4()),
        "type": type_,
        "version": version,
        "occurred_at": isoformat(occurred_at or utcnow()),
        "district": district,
        "actor": {"id": actor["id"], "role": actor["role"]},
        "data": data,
    }
    correlation_id = correlation.clean(correlation_id) or correlation.current()
    if correlation_id:
        payload["correlation_id"] = correlation_id
    return validate_event(payload)


def derived_event_id(cause_event_id, *parts):
    """A stable uuid for an event caused by ``cause_event_id``."""
    return str(uuid.uuid5(uuid.UUID(str(cause_event_id)), ":".join(parts)))


def source_of(type_):
    return CATALOGUE[type_][0]
