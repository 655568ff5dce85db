"""Lock-out after repeated failed sign-ins; passwords hashed with a modern algorithm."""
from datetime import timedelta

import pytest

from civicgrid.errors import Locked, Unauthorized
from civicgrid.events import utcnow
from services.grid import signin

from .test_domain import ADMIN, db, fast_hashing, hb, imported, seed  # noqa: F401  (fixtures)


def fail(db, username, times, now):
    for _ in range(times):
        with pytest.raises(Unauthorized):
            signin.authenticate(db, username, "wrong", now)


def test_five_wrong_passwords_lock_the_account_for_a_while(db, imported):
    now = utcnow()
    fail(db, "daiyunzhong", signin.MAX_FAILURES - 1, now)
    with pytest.raises(Locked) as err:
        signin.authenticate(db, "daiyunzhong", "wrong", now)
    assert "locked for 15 more minute" in err.value.message and "username" in err.value.errors
    # locked means locked: the right password too, until the time is up
    with pytest.raises(Locked):
        signin.authenticate(db, "daiyunzhong", "secret1", now + timedelta(minutes=14))
    assert signin.authenticate(db, "daiyunzhong", "secret1", now + timedelta(minutes=16))["user_id"] == "daiyunzhong"


def test_a_success_clears_the_count(db, imported):
    now = utcnow()
    fail(db, "daijiaqian", signin.MAX_FAILURES - 1, now)
    signin.authenticate(db, "daijiaqian", "secret2", now)
    fail(db, "daijiaqian", signin.MAX_FAILURES - 1, now)   # four more: still not locked
    assert signin.authenticate(db, "daijiaqian", "secret2", now)["user_id"] == "daijiaqian"


def test_unknown_usernames_lock_the_same_way_so_nothing_leaks(db, imported):
    now = utcnow()
    fail(db, "nobody", signin.MAX_FAILURES - 1, now)
    with pytest.raises(Locked):
        signin.authenticate(db, "nobody", "wrong", now)


def test_passwords_are_stored_with_a_modern_hash(db, hb, monkeypatch):
    from werkzeug.security import generate_password_hash
    from services.grid import domain, importer
    monkeypatch.setattr(importer, "generate_password_hash", generate_password_hash)   # the real one
    document = seed()
    document["users"] = document["users"][:1]
    domain.import_district(hb, ADMIN, "hb", document)
    stored = db.users.find_one({"username": "daiyunzhong"})["password_hash"]
    assert stored.startswith("scrypt:") and "secret1" not in stored
