"""The read model's answers as CSV tables (UTF-8 with BOM, so Excel opens the Chinese right)."""
import csv
import io

from flask import Response

from .supermarket_points import _attachment

RATE_COLUMNS = ["response_rate", "responded_in_time", "had_to_respond", "resolution_rate", "resolved",
                "resolved_in_time", "due", "satisfaction_rate", "satisfied", "rated"]


def _scope_rows(answer):
    period = answer["period"]
    return [("district", answer["district"]), ("node", answer["node"]), ("department", answer.get("department")),
            ("category", answer.get("category")), ("from", period["from"]), ("to", period["to"])]


def _flat(prefix, value):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flat(f"{prefix}.{key}" if prefix else key, inner)
    else:
        yield prefix, value


def key_values(answer, sections):
    rows = _scope_rows(answer)
    for section in sections:
        rows.extend(_flat(section, answer[section]))
    return ["key", "value"], rows


def _rate_cells(row):
    return [row["response"]["rate"], row["response"]["responded_in_time"], row["response"]["had_to_respond"],
            row["resolution"]["rate"], row["resolution"]["resolved"], row["resolution"]["resolved_in_time"],
            row["resolution"]["due"], row["satisfaction"]["rate"], row["satisfaction"]["satisfied"],
            row["satisfaction"]["rated"]]


def rankings(answer):
    rows = [[table, r["rank"], r["id"], *_rate_cells(r), r["overdue"]]
            for table in ("communities", "departments") for r in answer[table]]
    return ["table", "rank", "id", *RATE_COLUMNS, "overdue"], rows


def durations(answer):
    rows = []
    for measure in ("claim", "resolve"):
        m = answer[measure]
        rows.append([measure, "all", None, m["all"]["count"], m["all"]["p50_hours"], m["all"]["p90_hours"]])
        for group in ("by_level", "by_category", "by_department"):
            rows += [[measure, group.removeprefix("by_"), r["key"], r["count"], r["p50_hours"], r["p90_hours"]]
                     for r in m[group]]
    return ["measure", "group", "key", "count", "p50_hours", "p90_hours"], rows


def hotspots(answer):
    rows = [[table.removeprefix("by_"), r["category"], r["node"], r["count"], r["previous"], r["change"]]
            for table in ("by_building", "by_grid") for r in answer[table]]
    return ["table", "category", "node", "count", "previous", "change"], rows


TABLES = {
    "rates": lambda a: key_values(a, ("response", "resolution", "satisfaction", "whistle", "overdue", "counts")),
    "whistles": lambda a: key_values(a, ("whistle",)),
    "overdue": lambda a: key_values(a, ("overdue",)),
    "durations": durations,
    "hotspots": hotspots,
    "rankings": rankings,
}


def as_csv(view, answer, code):
    header, rows = TABLES[view](answer)
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(["" if cell is None else cell for cell in row] for row in rows)
    period = answer["period"]
    name = f"analytics-{view}-{code}-{answer['node']}-{period['from']}-{period['to']}.csv"
    return Response(out.getvalue(), mimetype="text/csv", headers={"Content-Disposition": _attachment(name)})
