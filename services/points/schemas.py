"""What the points service accepts and answers at its RPC boundary (the gateway reuses them for HTTP).

Points and yuan are 1:1; every amount a person reads comes with its ``*_yuan``
twin, a string with two decimals ("12.00").
"""
from datetime import timedelta, timezone

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

AMOUNT = validate.Range(min=0, max=1000)
CAP = validate.Range(min=0, max=100000)
KEY = validate.Regexp(r"^[\w-]{1,64}\Z", error="must be 1-64 letters, digits, '_' or '-'")
ID = validate.Length(min=1, max=64)
SHORT = validate.Length(min=1, max=120)
REASON = validate.Length(min=1, max=500)
TEXT = validate.Length(max=2000)
PAGE = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
MEDIA = fields.List(fields.Url(schemes={"http", "https"}), load_default=list,
                    validate=validate.Length(max=9, error="at most 9 photos or files"),
                    metadata={"description": "photo/file URLs, at most 9"})


def page_size(default=20, maximum=100):
    return fields.Integer(load_default=default, validate=validate.Range(min=1, max=maximum))


class DistrictSchema(Schema):
    district = fields.String(required=True, validate=validate.Length(min=1, max=64))


# -- earning rules -----------------------------------------------------------------

class CapSchema(Schema):
    """Points one person may earn this way per local day / month; null means no cap."""
    per_day = fields.Integer(strict=True, allow_none=True, validate=CAP)
    per_month = fields.Integer(strict=True, allow_none=True, validate=CAP)

    @validates_schema
    def day_within_month(self, data, **kwargs):
        day, month = data.get("per_day"), data.get("per_month")
        if day is not None and month is not None and day > month:
            raise ValidationError("per_day cannot exceed per_month", "per_day")


class CapsSchema(Schema):
    petition = fields.Nested(CapSchema, metadata={"description": "reporter_rated + handler_* together"})
    activity = fields.Nested(CapSchema, metadata={"description": "activity attendance"})
    claim = fields.Nested(CapSchema, metadata={"description": "approved claims (自主申报)"})
    wish = fields.Nested(CapSchema, metadata={"description": "micro-wishes fulfilled (微心愿)"})


class RulesSchema(Schema):
    """Earning rules of a district; marshmallow refuses unknown keys, naming each one.

    Amounts are points per award; a PUT changes the keys it names (``caps`` per
    kind and field, ``claim_categories`` as a whole). Entries already booked keep
    the amounts they had.
    """
    reporter_rated = fields.Integer(strict=True, validate=AMOUNT,
                                    metadata={"description": "the resident who rates a closed petition"})
    handler_5_star = fields.Integer(strict=True, validate=AMOUNT)
    handler_4_star = fields.Integer(strict=True, validate=AMOUNT)
    activity_attendance = fields.Integer(strict=True, validate=AMOUNT, metadata={
        "description": "points per attendee of an activity that names none"})
    claim_approved = fields.Integer(strict=True, validate=AMOUNT, metadata={
        "description": "an approved claim whose category has no amount of its own"})
    wish_fulfilled = fields.Integer(strict=True, validate=AMOUNT, metadata={
        "description": "a micro-wish (微心愿) a person fulfilled, once the resident confirms (cap: wish)"})
    wish_fulfilled_organisation = fields.Integer(strict=True, validate=AMOUNT, metadata={
        "description": "a micro-wish an organisation fulfilled: to its account org:<district>:<id>, no cap"})
    claim_categories = fields.Dict(keys=fields.String(validate=KEY),
                                   values=fields.Integer(strict=True, validate=AMOUNT),
                                   metadata={"description": "claim category -> points, e.g. {\"助老\": 8}"})
    caps = fields.Nested(CapsSchema)


# -- statements and the ledger check ------------------------------------------------

class SourceSchema(Schema):
    type = fields.String()
    id = fields.String()


class StatementEntrySchema(Schema):
    amount = fields.Integer()
    yuan = fields.String()
    balance_after = fields.Integer(allow_none=True)
    reason = fields.String()
    description = fields.String()
    transaction_id = fields.String()
    counter_account = fields.String()
    source = fields.Nested(SourceSchema, allow_none=True)
    petition_id = fields.String(allow_none=True)
    actor = fields.Dict(allow_none=True)
    created_at = fields.String()


class StatementSchema(Schema):
    """``GET /points/me``: my balance (points and yuan) and my latest entries, newest first."""
    user_id = fields.String()
    balance = fields.Integer()
    balance_yuan = fields.String()
    community = fields.String(allow_none=True)
    show_on_leaderboard = fields.Boolean()
    entries = fields.List(fields.Nested(StatementEntrySchema))


class MySettingsSchema(Schema):
    show_on_leaderboard = fields.Boolean(required=True, metadata={
        "description": "false keeps me off every leaderboard (光荣榜)"})


class PeriodQuery(Schema):
    """Local dates (UTC+8), both inclusive; by default the current year up to today."""
    from_ = fields.Date(data_key="from", load_default=None, allow_none=True)
    to = fields.Date(load_default=None, allow_none=True)

    @validates_schema
    def ordered(self, data, **kwargs):
        first, last = data.get("from_"), data.get("to")
        if first and last:
            if first > last:
                raise ValidationError("must not be after 'to'", "from")
            if last - first > timedelta(days=366 * 5):
                raise ValidationError("a period spans at most five years", "from")


class StatementQuery(PeriodQuery):
    district = fields.String(load_default=None, allow_none=True, validate=ID,
                             metadata={"description": "platform administrators name the district"})
    page = PAGE
    page_size = page_size(100, 500)


class AccountStatementSchema(Schema):
    account = fields.String()
    district = fields.String()
    kind = fields.String(metadata={"description": "user, org (an organisation), issuance, community or shop"})
    owner = fields.String(allow_none=True)
    community = fields.String(allow_none=True)
    period_from = fields.String(data_key="from", attribute="from")
    period_to = fields.String(data_key="to", attribute="to")
    opening_balance = fields.Integer()
    opening_yuan = fields.String()
    credits = fields.Integer()
    debits = fields.Integer()
    closing_balance = fields.Integer()
    closing_yuan = fields.String()
    entries = fields.List(fields.Nested(StatementEntrySchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class ReversalIn(Schema):
    reason = fields.String(required=True, validate=REASON)


class ReversalSchema(Schema):
    transaction_id = fields.String()
    reverses = fields.String()
    user_id = fields.String()
    amount = fields.Integer()
    balance = fields.Integer()
    reason = fields.String()


class BreakSchema(Schema):
    account = fields.String()
    order_id = fields.String()
    item_id = fields.String()
    problem = fields.String()


class LedgerCheckSchema(Schema):
    district = fields.String()
    entries = fields.Integer()
    sum = fields.Integer()
    balanced = fields.Boolean(metadata={"description": "true when every list of problems below is empty"})
    negative_accounts = fields.List(fields.String())
    unbalanced_transactions = fields.List(fields.String())
    chain_breaks = fields.List(fields.Nested(BreakSchema))
    order_breaks = fields.List(fields.Nested(BreakSchema))
    stock_breaks = fields.List(fields.Nested(BreakSchema))
    accounts_with_entries = fields.Integer(metadata={"description": "people whose accounts have entries"})
    orders = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "by status"})
    orders_in_flight = fields.Integer(metadata={"description": "pending or still settling (not a break)"})


# -- shop -------------------------------------------------------------------------

PRICE = validate.Range(min=1, max=100000, error="must be a whole number of points from {min} to {max}")
STOCK = validate.Range(min=0, max=100000, error="must be from {min} to {max}")


class ItemIn(Schema):
    community = fields.String(load_default=None, allow_none=True, validate=ID,
                              metadata={"description": "defaults to the staff member's community"})
    name = fields.String(required=True, validate=SHORT)
    description = fields.String(load_default="", validate=TEXT)
    image_url = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"})
    price = fields.Integer(required=True, strict=True, validate=PRICE, metadata={"description": "points (= yuan)"})
    stock = fields.Integer(required=True, strict=True, validate=STOCK)
    active = fields.Boolean(load_default=True)
    per_person_limit = fields.Integer(load_default=None, allow_none=True, strict=True,
                                      validate=validate.Range(min=1, max=1000),
                                      metadata={"description": "units one person may hold or have picked up"})
    limit_period = fields.String(load_default="total", validate=validate.OneOf(["total", "month"]),
                                 metadata={"description": "the limit counts for all time, or per local month"})


class ItemPatch(Schema):
    """Any of these; stock changes go through POST .../stock."""
    name = fields.String(validate=SHORT)
    description = fields.String(validate=TEXT)
    image_url = fields.Url(allow_none=True, schemes={"http", "https"})
    price = fields.Integer(strict=True, validate=PRICE)
    active = fields.Boolean()
    per_person_limit = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=1, max=1000))
    limit_period = fields.String(validate=validate.OneOf(["total", "month"]))


class StockChangeIn(Schema):
    change = fields.Integer(required=True, strict=True,
                            validate=[validate.Range(min=-100000, max=100000),
                                      validate.NoneOf([0], error="must not be zero")],
                            metadata={"description": "units added (positive) or written off (negative)"})


class ItemQuery(Schema):
    community = fields.String(load_default=None, allow_none=True, validate=ID,
                              metadata={"description": "defaults to my community"})
    active = fields.Boolean(load_default=None, allow_none=True)


class ItemSchema(Schema):
    id = fields.String()
    district = fields.String()
    community = fields.String()
    name = fields.String()
    description = fields.String()
    image_url = fields.String(allow_none=True)
    price = fields.Integer()
    price_yuan = fields.String()
    stock = fields.Integer()
    active = fields.Boolean()
    per_person_limit = fields.Integer(allow_none=True)
    limit_period = fields.String()
    reserved = fields.Integer(metadata={"description": "units held by orders waiting for pickup"})
    sold = fields.Integer(metadata={"description": "units picked up"})
    created_at = fields.String()
    updated_at = fields.String()


class OrderIn(Schema):
    item_id = fields.String(required=True, validate=ID)
    quantity = fields.Integer(load_default=1, strict=True,
                              validate=validate.Range(min=1, max=99, error="must be from {min} to {max}"))


class CancelIn(Schema):
    note = fields.String(load_default=None, allow_none=True, validate=REASON)


class OrderQuery(Schema):
    status = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(["reserved", "picked_up", "cancelled"]))
    community = fields.String(load_default=None, allow_none=True, validate=ID)
    user_id = fields.String(load_default=None, allow_none=True, validate=ID)
    page = PAGE
    page_size = page_size()


class OrderSchema(Schema):
    id = fields.String()
    district = fields.String()
    community = fields.String()
    user_id = fields.String()
    item_id = fields.String()
    item_name = fields.String()
    quantity = fields.Integer()
    unit_price = fields.Integer()
    points = fields.Integer()
    yuan = fields.String()
    status = fields.String(metadata={"description": "reserved, picked_up, cancelled"})
    reason = fields.String(allow_none=True, metadata={"description": "why cancelled: resident, staff, expired"})
    note = fields.String(allow_none=True)
    balance = fields.Integer(allow_none=True, metadata={"description": "the buyer's balance after reserving"})
    created_at = fields.String()
    expires_at = fields.String(allow_none=True)
    picked_up_at = fields.String(allow_none=True)
    picked_up_by = fields.String(allow_none=True)
    cancelled_at = fields.String(allow_none=True)
    cancelled_by = fields.String(allow_none=True)


class OrderPageSchema(Schema):
    items = fields.List(fields.Nested(OrderSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class ShopSettingsSchema(Schema):
    pickup_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=30), metadata={
        "description": "days a reservation waits for pickup before it is cancelled and refunded (default 3)"})


# -- activities -------------------------------------------------------------------

class ActivityIn(Schema):
    title = fields.String(required=True, validate=SHORT)
    description = fields.String(load_default="", validate=TEXT)
    place = fields.String(required=True, validate=validate.Length(min=1, max=200))
    starts_at = fields.AwareDateTime(required=True, default_timezone=timezone.utc)
    ends_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=timezone.utc)
    capacity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=10000))
    points = fields.Integer(load_default=None, allow_none=True, strict=True, validate=AMOUNT,
                            metadata={"description": "per attendee; defaults to the rule activity_attendance"})

    @validates_schema
    def ends_after_start(self, data, **kwargs):
        if data.get("ends_at") and data["ends_at"] <= data["starts_at"]:
            raise ValidationError("must be after starts_at", "ends_at")


class ActivityQuery(Schema):
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["open", "cancelled"]))
    page = PAGE
    page_size = page_size()


class CheckInIn(Schema):
    user_ids = fields.List(fields.String(validate=ID), load_default=None, allow_none=True,
                           validate=validate.Length(min=1, max=1000))
    user_id = fields.String(load_default=None, allow_none=True, validate=ID)

    @validates_schema
    def one_or_many(self, data, **kwargs):
        if (data.get("user_ids") is None) == (data.get("user_id") is None):
            raise ValidationError("give user_id (one attendee) or user_ids (a list), not both", "user_ids")


class CancelActivityIn(Schema):
    reason = fields.String(required=True, validate=REASON)


class SignupSchema(Schema):
    user_id = fields.String()
    name = fields.String(allow_none=True)
    at = fields.String()


class AttendanceSchema(Schema):
    user_id = fields.String()
    points = fields.Integer()
    capped = fields.Boolean(metadata={"description": "true when a cap lowered the points"})
    at = fields.String()
    by = fields.String()


class ActivitySchema(Schema):
    id = fields.String()
    district = fields.String()
    community = fields.String()
    title = fields.String()
    description = fields.String()
    place = fields.String()
    starts_at = fields.String()
    ends_at = fields.String(allow_none=True)
    capacity = fields.Integer()
    points = fields.Integer()
    status = fields.String(metadata={"description": "open or cancelled"})
    cancel_reason = fields.String(allow_none=True)
    signed_up = fields.Integer()
    places_left = fields.Integer()
    me_signed_up = fields.Boolean()
    checked_in = fields.Integer()
    signups = fields.List(fields.Nested(SignupSchema), metadata={"description": "staff only"})
    attendance = fields.List(fields.Nested(AttendanceSchema), metadata={"description": "staff only"})
    created_by = fields.String()
    created_at = fields.String()


class ActivityPageSchema(Schema):
    items = fields.List(fields.Nested(ActivitySchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


class CheckInResultSchema(Schema):
    user_id = fields.String()
    status = fields.String(metadata={"description": "checked_in, or already (checked in before)"})
    points = fields.Integer()
    capped = fields.Boolean()


class CheckInAnswerSchema(Schema):
    activity_id = fields.String()
    results = fields.List(fields.Nested(CheckInResultSchema))


# -- claims (自主申报) ---------------------------------------------------------------

class ClaimIn(Schema):
    title = fields.String(required=True, validate=SHORT)
    description = fields.String(load_default="", validate=TEXT)
    media = MEDIA
    category = fields.String(load_default=None, allow_none=True, validate=KEY,
                             metadata={"description": "suggested category (staff may change it)"})


class ApproveIn(Schema):
    category = fields.String(load_default=None, allow_none=True, validate=KEY,
                             metadata={"description": "defaults to the suggested one; picks the rule amount"})
    note = fields.String(load_default=None, allow_none=True, validate=REASON)


class RejectIn(Schema):
    reason = fields.String(required=True, validate=REASON)


class ClaimQuery(Schema):
    status = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(["pending", "approved", "rejected"]))
    page = PAGE
    page_size = page_size()


class ClaimSchema(Schema):
    id = fields.String()
    district = fields.String()
    community = fields.String()
    user_id = fields.String()
    title = fields.String()
    description = fields.String()
    media = fields.List(fields.String())
    category = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "pending, approved or rejected"})
    points = fields.Integer(allow_none=True)
    capped = fields.Boolean()
    reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decided_at = fields.String(allow_none=True)
    created_at = fields.String()


class ClaimPageSchema(Schema):
    items = fields.List(fields.Nested(ClaimSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()


# -- reports ------------------------------------------------------------------------

class ReportQuery(PeriodQuery):
    community = fields.String(load_default=None, allow_none=True, validate=ID,
                              metadata={"description": "one community of the district"})
    top = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100),
                         metadata={"description": "how many top earners"})


class EarnerSchema(Schema):
    rank = fields.Integer()
    user_id = fields.String()
    name = fields.String(allow_none=True)
    community = fields.String(allow_none=True)
    points = fields.Integer()
    yuan = fields.String()


class MonthSchema(Schema):
    month = fields.String()
    issued = fields.Integer()
    redeemed = fields.Integer()
    activities_held = fields.Integer()
    attendance = fields.Integer()


class CommunityFiguresSchema(Schema):
    community = fields.String()
    registered_accounts = fields.Integer()
    issued = fields.Integer()
    issued_yuan = fields.String()
    redeemed = fields.Integer()
    redeemed_yuan = fields.String()
    outstanding = fields.Integer()
    outstanding_yuan = fields.String()
    activities_held = fields.Integer()
    attendance = fields.Integer()


class ReportSchema(Schema):
    district = fields.String()
    community = fields.String(allow_none=True)
    period_from = fields.String(data_key="from", attribute="from")
    period_to = fields.String(data_key="to", attribute="to")
    registered_accounts = fields.Integer(metadata={"description": "people with a points account at the end"})
    issued = fields.Integer(metadata={"description": "points earned in the period, net of reversals"})
    issued_yuan = fields.String()
    issued_by_rule = fields.Dict(keys=fields.String(), values=fields.Integer())
    redeemed = fields.Integer(metadata={"description": "points spent in the shop in the period, net of refunds"})
    redeemed_yuan = fields.String()
    outstanding = fields.Integer(metadata={"description": "points held by people at the end of the period"})
    outstanding_yuan = fields.String()
    activities_held = fields.Integer()
    activities_cancelled = fields.Integer()
    attendance = fields.Integer(metadata={"description": "check-ins at activities held in the period"})
    signups = fields.Integer()
    claims = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "by status"})
    orders = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={"description": "by status"})
    top_earners = fields.List(fields.Nested(EarnerSchema))
    monthly = fields.List(fields.Nested(MonthSchema))
    communities = fields.List(fields.Nested(CommunityFiguresSchema))


class LeaderboardQuery(PeriodQuery):
    top = fields.Integer(load_default=10, validate=validate.Range(min=1, max=100))


class LeaderboardSchema(Schema):
    district = fields.String()
    community = fields.String(allow_none=True)
    period_from = fields.String(data_key="from", attribute="from")
    period_to = fields.String(data_key="to", attribute="to")
    items = fields.List(fields.Nested(EarnerSchema))


# -- micro-wishes (微心愿) ---------------------------------------------------------------

WISH_STATUSES = ("open", "adopted", "fulfilled", "confirmed", "withdrawn", "expired")


class WishIn(Schema):
    title = fields.String(required=True, validate=SHORT, metadata={"description": "what is wished for"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000),
                           metadata={"description": "why: who it is for and what it would change"})
    wanted_by = fields.Date(required=True, metadata={"description": "local date (UTC+8) it is wanted by; an "
                                                                    "unadopted wish expires after it"})
    media = MEDIA
    resident_id = fields.String(load_default=None, allow_none=True, validate=ID, metadata={
        "description": "community staff posting on a resident's behalf name the resident"})


class AdoptIn(Schema):
    adopter = fields.String(load_default=None, allow_none=True,
                            validate=validate.OneOf(["person", "organisation"]), metadata={
                                "description": "adopt for myself or for my organisation; by default for my "
                                               "organisation when I am only an organisation's member"})


class FulfilIn(Schema):
    note = fields.String(required=True, validate=REASON, metadata={"description": "what was done"})
    media = MEDIA


class ConfirmIn(Schema):
    note = fields.String(load_default=None, allow_none=True, validate=REASON,
                         metadata={"description": "a word of thanks, or how the staff confirmed it"})


class WithdrawWishIn(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=REASON)


class WishQuery(Schema):
    view = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["mine", "adopted", "community"]),
                         metadata={"description": "mine (posted by or for me), adopted (by me or my organisation) "
                                                  "or community (default when community is given)"})
    community = fields.String(load_default=None, allow_none=True, validate=ID,
                              metadata={"description": "a community: its staff see all, adopters the open ones"})
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(WISH_STATUSES))
    flagged = fields.Boolean(load_default=None, allow_none=True)
    page = PAGE
    page_size = page_size()


class WishSettingsSchema(Schema):
    flag_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=90), metadata={
        "description": "days a wish may wait unadopted before the community's staff are told (default 7)"})


class PersonRefSchema(Schema):
    id = fields.String()
    name = fields.String(allow_none=True)
    role = fields.String(allow_none=True)


class AdopterSchema(Schema):
    kind = fields.String(metadata={"description": "person or organisation"})
    user_id = fields.String(metadata={"description": "who adopted it (an organisation's member, for one)"})
    name = fields.String(allow_none=True)
    organisation_id = fields.String(allow_none=True)
    organisation_name = fields.String(allow_none=True)
    account = fields.String(metadata={"description": "the points account the award goes to"})


class FulfilmentSchema(Schema):
    note = fields.String()
    media = fields.List(fields.String())
    by = fields.String()
    at = fields.String()


class ConfirmationSchema(Schema):
    by = fields.String()
    on_behalf = fields.Boolean(metadata={"description": "confirmed by community staff for the resident"})
    note = fields.String(allow_none=True)
    at = fields.String()


class WishSchema(Schema):
    id = fields.String()
    district = fields.String()
    community = fields.String()
    building_id = fields.String(allow_none=True)
    resident_id = fields.String()
    resident_name = fields.String(allow_none=True)
    title = fields.String()
    reason = fields.String()
    wanted_by = fields.String()
    media = fields.List(fields.String())
    status = fields.String(metadata={"description": ", ".join(WISH_STATUSES)})
    posted_by = fields.Nested(PersonRefSchema)
    on_behalf = fields.Boolean(metadata={"description": "posted by community staff for the resident"})
    adopter = fields.Nested(AdopterSchema, allow_none=True)
    adopted_at = fields.String(allow_none=True)
    fulfilment = fields.Nested(FulfilmentSchema, allow_none=True)
    confirmation = fields.Nested(ConfirmationSchema, allow_none=True)
    points = fields.Integer(allow_none=True, metadata={"description": "what the adopter earned on confirmation"})
    capped = fields.Boolean()
    flagged = fields.Boolean(metadata={"description": "waited unadopted past the district's flag_days"})
    flagged_at = fields.String(allow_none=True)
    late = fields.Boolean(metadata={"description": "adopted, past its wanted_by, not fulfilled yet"})
    withdraw_reason = fields.String(allow_none=True)
    created_at = fields.String()
    updated_at = fields.String()


class WishPageSchema(Schema):
    items = fields.List(fields.Nested(WishSchema))
    total = fields.Integer()
    page = fields.Integer()
    page_size = fields.Integer()
