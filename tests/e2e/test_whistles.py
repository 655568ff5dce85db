"""吹哨报到 end to end: help requests, time limits that whistle by themselves, follow-ups,
duplicates, category fields and work queues, over HTTP with the services on RabbitMQ."""
import threading

from .conftest import balance, eventually, notices


def submit(client, **body):
    return client.post("/api/v1/petitions", body, expect=201)


def status_of(client, pid):
    petition = client.get(f"/api/v1/petitions/{pid}")
    return petition["status"], petition["level"]


def test_residents_whistle_party_members_answer(users):
    resident, first, second = users["huxingyou"], users["wc-party1"], users["wc-party2"]
    petition = submit(resident, category="help_errand", title="家里灯泡坏了，老人够不着")
    pid = petition["id"]
    assert (petition["kind"], petition["level"], petition["deadline"]) == ("help", "party", "claim")
    assert petition["due_at"]
    assert pid in [p["id"] for p in second.get("/api/v1/petitions", params={"queue": "mine"})["items"]]
    eventually(lambda: notices(second, pid))  # offered to every party member of 文昌社区

    results = []
    barrier = threading.Barrier(2)

    def claim(client):
        barrier.wait()
        results.append(client.session.post(
            f"{client.base_url}/api/v1/petitions/{pid}/claim", json={},
            headers={"Authorization": f"Bearer {client.token}"}, timeout=30).status_code)

    threads = [threading.Thread(target=claim, args=(c,)) for c in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [200, 409]
    winner = first if resident.get(f"/api/v1/petitions/{pid}")["handler_id"] == "wc-party1" else second
    winner.act(pid, "resolve", {"note": "已上门换好灯泡", "media": ["https://img.example/bulb.jpg"]})
    closed = resident.act(pid, "rate", {"score": 5})
    assert closed["status"] == "closed" and closed["resolution_media"] == ["https://img.example/bulb.jpg"]


def test_time_limits_whistle_by_themselves(users, clock):
    resident, admin, community = users["wenxiaohua"], users["hb-admin"], users["wc-secretary"]
    limits = admin.get("/api/v1/districts/hb/time-limits")
    assert limits["grid_claim_hours"] == 24 and limits["rate_hours"] == 168
    pid = submit(resident, category="garbage", title="28栋楼道大件垃圾堆放")["id"]

    clock.advance(25)
    eventually(lambda: status_of(resident, pid) == ("escalated", "community"))
    petition = resident.get(f"/api/v1/petitions/{pid}")
    assert petition["timeline"][-1]["actor"] == "system" and petition["deadline"] == "dispatch"
    eventually(lambda: any(n["type"] == "petition_escalated" for n in notices(community, pid)))
    eventually(lambda: any(n["type"] == "petition_overdue" for n in notices(users["wc-grid1"], pid)))

    clock.advance(25)
    eventually(lambda: any(n["type"] == "petition_overdue" for n in notices(admin, pid)))
    assert resident.get(f"/api/v1/petitions/{pid}")["overdue"] is True
    # a page as large as it gets: other tests leave the community overdue petitions of their own
    overdue_ids = [p["id"] for p in community.get("/api/v1/petitions",
                                                  params={"overdue": "true", "page_size": 100})["items"]]
    assert pid in overdue_ids

    community.act(pid, "claim")
    community.act(pid, "resolve", {"note": "已联系环卫清运"})
    before = balance(community)
    clock.advance(169)
    eventually(lambda: status_of(resident, pid)[0] == "closed")
    closed = resident.get(f"/api/v1/petitions/{pid}")
    assert closed["rating"] is None and closed["timeline"][-1]["actor"] == "system"
    assert balance(community) == before
    assert len([n for n in notices(resident, pid) if n["type"] == "petition_overdue"]) == 0


def test_a_low_rating_opens_a_follow_up(users):
    resident, leader, community = users["zhangyiqin"], users["daiyunzhong"], users["wc-secretary"]
    pid = submit(resident, category="streetlight", title="楼道灯修了又坏",
                 attributes={"location_type": "stairwell"})["id"]
    leader.act(pid, "claim")
    leader.act(pid, "resolve", {"note": "更换了开关"})
    rated = resident.act(pid, "rate", {"score": 1, "comment": "第二天又不亮了"})
    assert rated["follow_up"]["status"] == "open"
    listed = community.get("/api/v1/follow-ups", params={"status": "open"})
    assert pid in [p["id"] for p in listed["items"]] and listed["counts"]["open"] >= 1
    eventually(lambda: any(n["type"] == "follow_up_opened" for n in notices(community, pid)))
    done = community.post(f"/api/v1/petitions/{pid}/follow-up", {"outcome": "reopened", "note": "重新立案，派电工检修"})
    linked = done["follow_up"]["linked_petition_id"]
    assert resident.get(f"/api/v1/petitions/{linked}")["linked_from"] == pid
    community.request("POST", f"/api/v1/petitions/{pid}/follow-up", expect=409,
                      json={"outcome": "closed", "note": "again"})


def test_duplicates_are_hinted_and_merged(users):
    first_resident, second_resident, leader = users["wenxiaohua"], users["zhangyiqin"], users["daiyunzhong"]
    original = submit(first_resident, category="high_fall", title="28栋有人高空抛物")
    duplicate = submit(second_resident, category="high_fall", title="楼上往下扔垃圾")
    assert original["id"] in [d["id"] for d in duplicate["possible_duplicates"]]
    merged = leader.act(duplicate["id"], "merge", {"into": original["id"]})
    assert (merged["status"], merged["merged_into"]) == ("merged", original["id"])
    leader.act(original["id"], "claim")
    eventually(lambda: any(n["type"] == "petition_claimed" for n in notices(second_resident, original["id"])))
    assert any(n["type"] == "petition_merged" for n in notices(second_resident, duplicate["id"]))


def test_category_fields_media_and_queues(users):
    resident, worker = users["wenxiaohua"], users["wc-grid1"]
    bad = [
        ({"category": "streetlight", "title": "灯", "attributes": {"location_type": "moon"}}, "attributes.location_type"),
        ({"category": "garbage", "title": "垃圾", "media": [f"https://img.example/{i}.jpg" for i in range(10)]}, "media"),
        ({"category": "help_escort", "title": "陪同就医"}, "attributes.hospital"),
    ]
    for body, field in bad:
        error = resident.request("POST", "/api/v1/petitions", expect=422, json=body)
        assert field in error["errors"], error
    ok = submit(resident, category="streetlight", title="广场路灯不亮", address="文昌社区广场",
                location={"lat": 28.97, "lng": 106.65},
                attributes={"location_type": "square", "lamp_count": 3})
    assert ok["attributes"] == {"location_type": "square", "lamp_count": 3}
    queue = worker.get("/api/v1/petitions", params={"queue": "mine", "page_size": 100})["items"]
    assert ok["id"] in [p["id"] for p in queue]
    assert all(p["status"] in ("submitted", "in_progress") for p in queue)
    only = worker.get("/api/v1/petitions", params={"category": "streetlight", "building_id": "b28",
                                                    "sort": "oldest", "page_size": 100})["items"]
    assert ok["id"] in [p["id"] for p in only] and {p["category"] for p in only} == {"streetlight"}
    worker.request("GET", "/api/v1/petitions", expect=422, params={"page_size": 500})
