"""Another district is not found, and that is decided before any role."""
import pytest

from civicgrid.auth import AuthContext
from civicgrid.errors import Forbidden, NotFound, Unauthorized

QJ_RESIDENT = AuthContext(user_id="qj-resident", district="qj", roles=("resident",))
HB_RESIDENT = AuthContext(user_id="wen", district="hb", roles=("resident",))
PLATFORM = AuthContext(user_id="admin", roles=("platform_admin",))


def test_another_district_is_not_found_whatever_the_role():
    with pytest.raises(NotFound) as err:
        QJ_RESIDENT.require_district("hb")
    assert err.value.status == 404 and "district" in err.value.errors
    with pytest.raises(NotFound):   # not "forbidden: district_admin only", which would confirm hb exists
        QJ_RESIDENT.require_in_district("hb", "district_admin")
    with pytest.raises(Forbidden):  # in its own district, the role decides
        HB_RESIDENT.require_in_district("hb", "district_admin")
    with pytest.raises(Unauthorized):
        AuthContext().require_in_district("hb", "resident")


def test_the_platform_goes_anywhere_but_needs_naming_for_a_role():
    assert PLATFORM.require_district("hb") is PLATFORM
    assert PLATFORM.require_in_district("hb", "district_admin", "platform_admin") is PLATFORM
    with pytest.raises(Forbidden):
        PLATFORM.require_in_district("hb", "district_admin")


def test_a_verified_token_is_checked_again_only_for_its_expiry(monkeypatch):
    import time

    import jwt

    from civicgrid import auth
    from civicgrid.auth import decode_token, issue_token

    calls = []
    real = jwt.decode
    monkeypatch.setattr(jwt, "decode", lambda *a, **k: calls.append(1) or real(*a, **k))
    token, _ = issue_token("u-cache", "hb", ["resident"], ttl=60)
    first, second = decode_token(token), decode_token(token)
    assert first.user_id == second.user_id == "u-cache" and len(calls) == 1
    second.claims["roles"] = ["district_admin"]                       # a caller's change stays its own
    assert decode_token(token).roles == ("resident",)
    monkeypatch.setattr(time, "time", lambda: first.claims["exp"] + 1)
    with pytest.raises(Unauthorized, match="expired"):
        decode_token(token)
    monkeypatch.undo()                                                  # the clock back
    with pytest.raises(Unauthorized):
        decode_token(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))   # a forged signature
    with pytest.raises(Unauthorized):
        decode_token(None)
    assert auth._verified_claims.cache_info().currsize <= auth._verified_claims.cache_info().maxsize


def test_another_secret_never_finds_a_token_verified_under_the_first(monkeypatch):
    from civicgrid.auth import decode_token, issue_token
    token, _ = issue_token("u-rotate", "hb", ["resident"], ttl=60)
    assert decode_token(token).user_id == "u-rotate"
    monkeypatch.setenv("CIVICGRID_JWT_SECRET", "rotated-" + "y" * 40)
    with pytest.raises(Unauthorized, match="invalid"):
        decode_token(token)
