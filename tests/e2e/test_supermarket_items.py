"""Shop items after they are made, end to end: staff change them, restock them, take them off offer.

A village of its own with two communities (its own shop, a neighbour's); every call goes over HTTP
to the platform's processes on RabbitMQ.
"""
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from civicgrid.client import Client

from .conftest import PASSWORD


def error(client, method, path, status, **kwargs):
    body = client.request(method, path, expect=status, **kwargs)
    assert set(body) == {"code", "status", "message", "errors"} and body["code"] == status, body
    return body


@pytest.fixture(scope="module")
def village(admin, platform, clock):
    rid = uuid.uuid4().hex[:6]
    code, community, other, building = f"it{rid}", f"itc-{rid}", f"ito-{rid}", f"itb-{rid}"
    admin.post("/api/v1/districts", {"code": code, "name": "货架测试村"}, expect=201)
    nodes = [{"id": f"its-{rid}", "type": "street", "name": "测试镇", "parent": code},
             {"id": community, "type": "community", "name": "东村", "parent": f"its-{rid}"},
             {"id": other, "type": "community", "name": "西村", "parent": f"its-{rid}"},
             {"id": f"itg-{rid}", "type": "grid", "name": "一网格", "parent": community},
             {"id": building, "type": "building", "name": "1栋", "parent": f"itg-{rid}"}]
    people = [{"username": f"it{rid}-staff", "password": PASSWORD, "name": "东村干部", "roles": ["community_staff"],
               "scope": community},
              {"username": f"it{rid}-other", "password": PASSWORD, "name": "西村干部", "roles": ["community_staff"],
               "scope": other},
              {"username": f"it{rid}-r", "password": PASSWORD, "name": "孙大姐", "roles": ["resident"],
               "scope": building}]
    admin.post(f"/api/v1/districts/{code}/import", {"nodes": nodes, "users": people})
    anonymous = Client(platform.url)
    staff, neighbour, resident = (anonymous.login(p["username"], PASSWORD) for p in people)
    starts = (datetime.now(timezone.utc) + timedelta(seconds=clock.offset, hours=2)).isoformat()
    made = staff.post(f"/api/v1/communities/{community}/activities", {
        "title": "植树", "place": "村口", "starts_at": starts, "capacity": 1, "points": 20}, expect=201)
    resident.post(f"/api/v1/activities/{made['id']}/signup")
    staff.post(f"/api/v1/activities/{made['id']}/check-ins", {"user_id": people[2]["username"]})
    assert resident.get("/api/v1/points/me")["balance"] == 20
    return {"code": code, "staff": staff, "neighbour": neighbour, "resident": resident}


def test_staff_change_restock_and_retire_an_item(village, users, admin):
    staff, neighbour, resident = village["staff"], village["neighbour"], village["resident"]
    item = staff.post("/api/v1/shop/items", {"name": "洗洁精", "price": 6, "stock": 2}, expect=201)
    path = f"/api/v1/shop/items/{item['id']}"

    changed = staff.request("PATCH", path, json={"price": 4, "description": "500ml", "per_person_limit": 1,
                                                 "image_url": "https://img.example/dish.jpg"})
    assert (changed["price"], changed["price_yuan"], changed["description"], changed["per_person_limit"],
            changed["image_url"], changed["stock"]) == (4, "4.00", "500ml", 1, "https://img.example/dish.jpg", 2)

    # bad changes name the field and change nothing
    for body, field in (({"price": -1}, "price"), ({"price": 0}, "price"), ({"image_url": "not a url"}, "image_url"),
                        ({"per_person_limit": 0}, "per_person_limit"), ({"stock": 50}, "stock"),
                        ({"name": ""}, "name")):
        assert field in error(staff, "PATCH", path, 422, json=body)["errors"], body
    error(staff, "POST", f"{path}/stock", 422, json={"change": 0})
    error(resident, "PATCH", path, 403, json={"price": 1})
    error(neighbour, "PATCH", path, 403, json={"price": 1})          # another community's staff
    error(neighbour, "POST", f"{path}/stock", 403, json={"change": 5})
    error(users["qj-leader"], "PATCH", path, 404, json={"price": 1})  # another district
    assert staff.get(path) == changed

    assert staff.post(f"{path}/stock", {"change": 3})["stock"] == 5  # a delivery
    order = resident.post("/api/v1/orders", {"item_id": item["id"]}, expect=201)
    assert (order["points"], order["balance"]) == (4, 16)  # the new price
    assert "quantity" in error(resident, "POST", "/api/v1/orders", 409, json={"item_id": item["id"]})["errors"]

    # off the shelf: residents no longer see or order it; the open order can still be picked up
    assert staff.request("PATCH", path, json={"active": False})["active"] is False
    assert item["id"] not in [i["id"] for i in resident.get("/api/v1/shop/items")]
    assert item["id"] in [i["id"] for i in staff.get("/api/v1/shop/items", params={"active": "false"})]
    staff.request("PATCH", path, json={"per_person_limit": None})
    assert "item_id" in error(resident, "POST", "/api/v1/orders", 409, json={"item_id": item["id"]})["errors"]
    assert staff.post(f"/api/v1/orders/{order['id']}/pickup")["status"] == "picked_up"
    stored = staff.get(path)
    assert (stored["stock"], stored["reserved"], stored["sold"]) == (4, 0, 1)
    assert resident.get("/api/v1/points/me")["balance"] == 16
    check = admin.get(f"/api/v1/districts/{village['code']}/ledger/check")
    assert check["balanced"] and check["orders"] == {"picked_up": 1} and check["stock_breaks"] == []
