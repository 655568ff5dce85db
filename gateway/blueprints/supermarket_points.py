"""Points accounts, statements, reports (JSON and CSV), leaderboards, shop settings, corrections."""
import csv
import io
import re
from urllib.parse import quote

from flask import Response
from flask_smorest import Blueprint
from marshmallow import fields, validate

from services.points.schemas import (AccountStatementSchema, LeaderboardQuery, LeaderboardSchema, MySettingsSchema,
                                     ReportQuery, ReportSchema, ReversalIn, ReversalSchema, ShopSettingsSchema,
                                     StatementQuery, StatementSchema)

from ..security import BEARER, authenticated, call

blp = Blueprint("points_accounts", __name__, url_prefix="/api/v1/points",
                description="Points accounts and statements (1 point = 1 yuan)")
districts = Blueprint("district_points", __name__, url_prefix="/api/v1/districts",
                      description="Points reports, leaderboards and shop settings of a district")

TABLES = ("summary", "communities", "monthly", "leaderboard")
CSV_DOC = {"200": {"description": "the report as CSV (UTF-8 with BOM, opens in Excel)",
                   "content": {"text/csv": {"schema": {"type": "string"}}}}}


class CsvQuery(ReportQuery):
    table = fields.String(load_default="summary", validate=validate.OneOf(TABLES), metadata={
        "description": "summary (key,value), communities, monthly or leaderboard"})


def report_query(query):
    """What the service takes: the query as text again (dates as ISO strings), without gateway-only keys."""
    query = dict(query)
    query.pop("table", None)
    return ReportQuery().dump(query)


def report_csv(report, table, filename):
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    if table == "summary":
        writer.writerow(["key", "value"])
        for key in ("district", "community", "from", "to", "registered_accounts", "issued", "issued_yuan",
                    "redeemed", "redeemed_yuan", "outstanding", "outstanding_yuan", "activities_held",
                    "activities_cancelled", "attendance", "signups"):
            writer.writerow([key, report.get(key)])
        for group in ("issued_by_rule", "claims", "orders"):
            for key, value in sorted(report.get(group, {}).items()):
                writer.writerow([f"{group}.{key}", value])
    elif table == "communities":
        columns = ["community", "registered_accounts", "issued", "issued_yuan", "redeemed", "redeemed_yuan",
                   "outstanding", "outstanding_yuan", "activities_held", "attendance"]
        writer.writerow(columns)
        rows = report.get("communities") or [dict(report, community=report.get("community") or report["district"])]
        for row in rows:
            writer.writerow([row.get(c) for c in columns])
        if report.get("communities"):
            writer.writerow(["total"] + [report.get(c) for c in columns[1:]])
    elif table == "monthly":
        columns = ["month", "issued", "redeemed", "activities_held", "attendance"]
        writer.writerow(columns)
        for row in report["monthly"]:
            writer.writerow([row[c] for c in columns])
    else:
        columns = ["rank", "user_id", "name", "community", "points", "yuan"]
        writer.writerow(columns)
        for row in report["top_earners"]:
            writer.writerow([row.get(c) for c in columns])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": _attachment(f"{filename}-{table}.csv")})


def _attachment(filename):
    """A header is latin-1: a community id in Chinese goes in RFC 6266's filename*, with an ASCII fallback."""
    fallback = re.sub(r"[^A-Za-z0-9._-]", "_", filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"


# -- my points and statements ------------------------------------------------------------

@blp.route("/me/settings", methods=["PUT"])
@blp.doc(security=BEARER)
@blp.arguments(MySettingsSchema)
@blp.response(200, StatementSchema)
@authenticated
def my_settings(settings):
    """Stay off (or return to) the leaderboards."""
    return call("points", "set_my_settings", settings)


@blp.route("/accounts/<account>/statement", methods=["GET"])
@blp.doc(security=BEARER)
@blp.arguments(StatementQuery, location="query")
@blp.response(200, AccountStatementSchema)
@authenticated
def statement(query, account):
    """An account's statement for a period: ``me``, ``user:<id>``, ``community:<id>``, ``shop:<id>`` or
    ``issuance:<district>``; people see their own, staff their community's, administrators any."""
    return call("points", "statement", account, StatementQuery().dump(query))


# -- the district's reports ----------------------------------------------------------------

@districts.route("/<code>/points-report", methods=["GET"])
@districts.doc(security=BEARER)
@districts.arguments(ReportQuery, location="query")
@districts.response(200, ReportSchema)
@authenticated
def points_report(query, code):
    """Registered accounts, points issued by rule, redeemed, outstanding, activities and attendance, top earners,
    a monthly series and one row per community (district administrators; ``community`` narrows it)."""
    return call("points", "points_report", code, report_query(query))


@districts.route("/<code>/points-report.csv", methods=["GET"])
@districts.doc(security=BEARER, responses=CSV_DOC)
@districts.arguments(CsvQuery, location="query")
@authenticated
def points_report_csv(query, code):
    """The same report as CSV, one table at a time."""
    report = call("points", "points_report", code, report_query(query))
    return report_csv(report, query["table"], f"points-report-{code}")


@districts.route("/<code>/leaderboard", methods=["GET"])
@districts.doc(security=BEARER)
@districts.arguments(LeaderboardQuery, location="query")
@districts.response(200, LeaderboardSchema)
@authenticated
def leaderboard(query, code):
    """Top earners of the period (光荣榜) for the district's members; people who opted out never appear."""
    return call("points", "leaderboard", code, None, LeaderboardQuery().dump(query))


@districts.route("/<code>/shop-settings", methods=["GET"])
@districts.doc(security=BEARER)
@districts.response(200, ShopSettingsSchema)
@authenticated
def get_shop_settings(code):
    return call("points", "get_shop_settings", code)


@districts.route("/<code>/shop-settings", methods=["PUT"])
@districts.doc(security=BEARER)
@districts.arguments(ShopSettingsSchema)
@districts.response(200, ShopSettingsSchema)
@authenticated
def set_shop_settings(settings, code):
    """Days a reservation waits for pickup (default 3); reservations made before keep their date."""
    return call("points", "set_shop_settings", code, settings)


@districts.route("/<code>/points/transactions/<transaction_id>/reversal", methods=["POST"])
@districts.doc(security=BEARER)
@districts.arguments(ReversalIn)
@districts.response(201, ReversalSchema)
@districts.alt_response(409, description="not an award, or the points were spent")
@authenticated
def reverse(body, code, transaction_id):
    """Correct an award with a reversing transaction (district administrators); entries are never edited."""
    return call("points", "reverse_transaction", code, transaction_id, body)
