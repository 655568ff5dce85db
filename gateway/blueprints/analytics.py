"""The three rates (三率) and the figures around them, from the petitions service's read model.

Every view takes the same query (node, department, category, from, to …) and answers JSON, or CSV with
``format=csv`` or ``Accept: text/csv``. Who sees what is decided by the petitions service: the district's
administrators the district, community staff and grid workers their area, departments their own figures.
"""
from flask import request
from flask_smorest import Blueprint
from marshmallow import fields, validate

from services.petitions.analytics.schemas import (AnalyticsQuery, DurationsSchema, HotspotsSchema,
                                                  OverdueCountsSchema, RankingsSchema, RatesSchema, RebuildSchema,
                                                  WhistlesSchema)

from ..security import BEARER, authenticated, call
from .analytics_csv import as_csv

blp = Blueprint("analytics", __name__, url_prefix="/api/v1/districts",
                description="The three rates (响应率 · 解决率 · 满意率), durations, whistles, overdue counts, hotspots and "
                            "rankings, per node, department, category and period; JSON or CSV")

CSV_DOC = {"200": {"description": "JSON, or CSV (UTF-8 with BOM) with format=csv or Accept: text/csv",
                   "content": {"text/csv": {"schema": {"type": "string"}}}}}


class GatewayQuery(AnalyticsQuery):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]),
                           metadata={"description": "csv: the same figures as a table to download"})


def _wants_csv(query):
    if query.get("format") == "csv":
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/csv"])
    return best == "text/csv" and request.accept_mimetypes["text/csv"] > request.accept_mimetypes["application/json"]


def _answer(view, method, code, query):
    rpc_query = dict(query)
    rpc_query.pop("format", None)
    answer = call("petitions", method, code, AnalyticsQuery().dump(rpc_query))
    return as_csv(view, answer, code) if _wants_csv(query) else answer


def _route(view, method, schema, summary):
    @blp.route(f"/<code>/analytics/{view}", methods=["GET"], endpoint=view)
    @blp.doc(security=BEARER, responses=CSV_DOC, summary=summary)
    @blp.arguments(GatewayQuery, location="query")
    @blp.response(200, schema)
    @blp.alt_response(403, description="outside your area, or not a role that sees figures")
    @authenticated
    def view_(query, code):
        return _answer(view, method, code, query)
    return view_


rates = _route("rates", "analytics_rates", RatesSchema,
               "The three rates with the counts behind each, whistles and overdue counts")
durations = _route("durations", "analytics_durations", DurationsSchema,
                   "Time to claim and to resolve (median, p90, hours) by level, category and department")
whistles = _route("whistles", "analytics_whistles", WhistlesSchema,
                  "Whistle rate: petitions submitted, and those whistled beyond the grid")
overdue = _route("overdue", "analytics_overdue", OverdueCountsSchema, "Time limits passed, by kind")
hotspots = _route("hotspots", "analytics_hotspots", HotspotsSchema,
                  "Category × building and category × grid, against the previous period of the same length")
rankings = _route("rankings", "analytics_rankings", RankingsSchema,
                  "Communities and departments ranked by one of the three rates")


@blp.route("/<code>/analytics/rebuild", methods=["POST"])
@blp.doc(security=BEARER)
@blp.response(200, RebuildSchema(many=True))
@authenticated
def rebuild(code):
    """Recompute the district's read model from its petitions and swap it in (platform operator or the district's
    administrators); the same as ``python -m services.petitions.analytics rebuild --district <code>``."""
    return call("petitions", "rebuild_analytics", code)
