"""A client that retries after a timeout, with the same Idempotency-Key, submits and acts once."""
import uuid

from civicgrid.client import ApiError


def key():
    return "retry-" + uuid.uuid4().hex


def total(client):
    return client.get("/api/v1/petitions", params={"page_size": 1})["total"]


def test_a_retried_submit_and_action_happen_once(users):
    resident, leader = users["huxingyou"], users["wc-grid1"]
    before = total(resident)
    body = {"category": "greening", "title": "29栋门口树枝挡路"}
    submit_key = key()
    first = resident.post("/api/v1/petitions", body, expect=201, headers={"Idempotency-Key": submit_key})
    again = resident.post("/api/v1/petitions", body, expect=201, headers={"Idempotency-Key": submit_key})
    assert again["id"] == first["id"]
    assert total(resident) == before + 1

    claim_key = key()
    claimed = leader.act(first["id"], "claim", headers={"Idempotency-Key": claim_key})
    # without the key a second claim is refused (409); with it the retry is answered as the first was
    assert leader.act(first["id"], "claim", headers={"Idempotency-Key": claim_key}) == claimed
    assert [e["action"] for e in leader.get(f"/api/v1/petitions/{first['id']}")["timeline"]].count("claim") == 1

    # another user's same key is theirs alone
    other = users["zhangyiqin"].post("/api/v1/petitions", body, expect=201, headers={"Idempotency-Key": submit_key})
    assert other["id"] != first["id"]


def test_a_key_reused_for_another_body_or_malformed_is_refused_naming_the_header(users):
    resident = users["huxingyou"]
    reused = key()
    resident.post("/api/v1/petitions", {"category": "greening", "title": "花坛缺水"}, expect=201,
                  headers={"Idempotency-Key": reused})
    before = total(resident)
    for value, status in ((reused, 422), ("has space", 422), ("x" * 300, 422)):
        try:
            resident.post("/api/v1/petitions", {"category": "greening", "title": "别的事"}, expect=201,
                          headers={"Idempotency-Key": value})
            raise AssertionError("accepted")
        except ApiError as err:
            assert err.status == status and "Idempotency-Key" in err.body["errors"], err.body
    assert total(resident) == before
