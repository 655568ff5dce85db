"""GeoReport v2 documents as XML (required by the standard) and JSON (its Spark mapping).

The XML is the standard's: no namespace, UTF-8 with the declaration, a plural element
holding singular ones (``services``/``service``, ``service_requests``/``request``,
``attributes``/``attribute``, ``values``/``value``, ``errors``/``error``), ``true``/``false``
for booleans and an empty element for a missing value. The JSON drops the root element:
a list where the XML has a plural root, an object otherwise, ``null`` for a missing value.
Times are W3C date-times with the district's UTC offset.
"""
import json
import logging
import re
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree

from flask import Response, current_app

from civicgrid import config

log = logging.getLogger(__name__)

XML_TYPE = "text/xml; charset=utf-8"
JSON_TYPE = "application/json; charset=utf-8"
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'

# the element each plural element holds
ITEMS = {"services": "service", "service_requests": "request", "attributes": "attribute", "values": "value",
         "errors": "error", "endpoints": "endpoint", "formats": "format"}

DEFAULT_OFFSET = "+08:00"   # China Standard Time: no daylight saving, so a fixed offset is exact
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})\Z")
TIMES = ("requested_datetime", "updated_datetime", "expected_datetime")


def district_timezone():
    """The offset Open311 shows times at: ``OPEN311_UTC_OFFSET`` (app config) or
    ``CIVICGRID_OPEN311_UTC_OFFSET`` (environment), ``+08:00`` unless set."""
    text = current_app.config.get("OPEN311_UTC_OFFSET") or config.open311_setting("UTC_OFFSET") \
        or DEFAULT_OFFSET
    match = _OFFSET.match(text.strip())
    if not match or int(match.group(2)) > 14 or int(match.group(3)) > 59:
        log.warning("OPEN311_UTC_OFFSET %r is not ±hh:mm: using %s", text, DEFAULT_OFFSET)
        match = _OFFSET.match(DEFAULT_OFFSET)
    sign = -1 if match.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


def local_time(value, tz=None):
    """A stored UTC time (ISO-8601) as ``2026-11-22T16:00:00+08:00``."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(tz or district_timezone()).isoformat(timespec="seconds")


def local_times(item, tz=None):
    tz = tz or district_timezone()
    return {k: (local_time(v, tz) if k in TIMES else v) for k, v in item.items()}


# characters XML 1.0 cannot carry at all, even escaped: dropped rather than breaking the document
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _text(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return _NOT_XML.sub("", str(value))


def _fill(element, value):
    if isinstance(value, dict):
        for key, child in value.items():
            _fill(ElementTree.SubElement(element, key), child)
    elif isinstance(value, list):
        item = ITEMS.get(element.tag, "item")
        for child in value:
            _fill(ElementTree.SubElement(element, item), child)
    else:
        element.text = _text(value)


def to_xml(root, document):
    element = ElementTree.Element(root)
    _fill(element, document)
    ElementTree.indent(element)
    return DECLARATION + ElementTree.tostring(element, encoding="unicode") + "\n"


def respond(fmt, root, document, status=200, headers=None):
    """``document`` as ``fmt`` (``xml`` or ``json``); ``root`` names the XML root element."""
    if fmt == "json":
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        return Response(body, status=status, content_type=JSON_TYPE, headers=headers)
    return Response(to_xml(root, document), status=status, content_type=XML_TYPE, headers=headers)
