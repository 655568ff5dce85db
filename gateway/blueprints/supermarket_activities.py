"""Volunteer activities (志愿服务活动) and what a community shows: its activities, report and leaderboard."""
from flask_smorest import Blueprint

from services.points.schemas import (ActivityIn, ActivityPageSchema, ActivityQuery, ActivitySchema, CancelActivityIn,
                                     CheckInAnswerSchema, CheckInIn, LeaderboardQuery, LeaderboardSchema, ReportSchema)

from ..security import BEARER, authenticated, call
from .supermarket_points import CSV_DOC, CsvQuery, report_csv, report_query

communities = Blueprint("communities", __name__, url_prefix="/api/v1/communities",
                        description="A community's activities, points report and leaderboard")
blp = Blueprint("activities", __name__, url_prefix="/api/v1/activities",
                description="Volunteer activities: sign up, check in (points once per person), cancel")


class CommunityReportQuery(CsvQuery):
    class Meta:
        exclude = ("community", "table")


class CommunityCsvQuery(CsvQuery):
    class Meta:
        exclude = ("community",)


@communities.route("/<community>/activities", methods=["GET"])
@communities.doc(security=BEARER)
@communities.arguments(ActivityQuery, location="query")
@communities.response(200, ActivityPageSchema)
@authenticated
def list_activities(query, community):
    """The community's activities, latest start first (members of the district)."""
    return call("points", "list_activities", community, ActivityQuery().dump(query))


@communities.route("/<community>/activities", methods=["POST"])
@communities.doc(security=BEARER)
@communities.arguments(ActivityIn)
@communities.response(201, ActivitySchema)
@communities.alt_response(403, description="not staff of this community")
@authenticated
def create_activity(activity, community):
    """Create an activity (the community's staff): title, time, place, capacity, points per attendee."""
    return call("points", "create_activity", community, ActivityIn().dump(activity))


@communities.route("/<community>/points-report", methods=["GET"])
@communities.doc(security=BEARER)
@communities.arguments(CommunityReportQuery, location="query")
@communities.response(200, ReportSchema)
@authenticated
def points_report(query, community):
    """The community's points report (its staff, the district's administrators)."""
    return call("points", "points_report", None, report_query(dict(query, community=community)))


@communities.route("/<community>/points-report.csv", methods=["GET"])
@communities.doc(security=BEARER, responses=CSV_DOC)
@communities.arguments(CommunityCsvQuery, location="query")
@authenticated
def points_report_csv(query, community):
    report = call("points", "points_report", None, report_query(dict(query, community=community)))
    return report_csv(report, query["table"], f"points-report-{community}")


@communities.route("/<community>/leaderboard", methods=["GET"])
@communities.doc(security=BEARER)
@communities.arguments(LeaderboardQuery, location="query")
@communities.response(200, LeaderboardSchema)
@authenticated
def leaderboard(query, community):
    """The community's top earners of the period (光荣榜); people who opted out never appear."""
    return call("points", "leaderboard", None, community, LeaderboardQuery().dump(query))


@blp.route("/<activity_id>", methods=["GET"])
@blp.doc(security=BEARER)
@blp.response(200, ActivitySchema)
@authenticated
def get_activity(activity_id):
    """An activity; its staff and administrators also see who signed up and who attended."""
    return call("points", "get_activity", activity_id)


@blp.route("/<activity_id>/signup", methods=["POST"])
@blp.doc(security=BEARER)
@blp.response(200, ActivitySchema)
@blp.alt_response(409, description="full, cancelled or started")
@authenticated
def signup(activity_id):
    """Sign myself up (signing up twice is once)."""
    return call("points", "signup", activity_id)


@blp.route("/<activity_id>/signup", methods=["DELETE"])
@blp.doc(security=BEARER)
@blp.response(200, ActivitySchema)
@authenticated
def withdraw(activity_id):
    """Withdraw my sign-up before I am checked in."""
    return call("points", "withdraw_signup", activity_id)


@blp.route("/<activity_id>/check-ins", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(CheckInIn)
@blp.response(200, CheckInAnswerSchema)
@authenticated
def check_in(body, activity_id):
    """Check attendees in, one (``user_id``) or a list (``user_ids``); each earns the activity's points once,
    within the district's caps. Everyone named must have signed up, or nothing is written."""
    return call("points", "check_in", activity_id, body)


@blp.route("/<activity_id>/cancel", methods=["POST"])
@blp.doc(security=BEARER)
@blp.arguments(CancelActivityIn)
@blp.response(200, ActivitySchema)
@blp.alt_response(409, description="somebody has been checked in")
@authenticated
def cancel(body, activity_id):
    """Cancel the activity (its staff) before anyone is checked in; everyone signed up is told."""
    return call("points", "cancel_activity", activity_id, body)
