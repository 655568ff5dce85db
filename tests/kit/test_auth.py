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
