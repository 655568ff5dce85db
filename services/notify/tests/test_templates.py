"""Templates: per type, audience and locale; a district's own text, checked when saved; fallbacks."""
import pytest

from civicgrid.auth import AuthContext
from civicgrid.errors import Forbidden, Invalid, NotFound
from services.notify import domain, templates

from .fakes import FakeDirectory, petition_event

ADMIN = AuthContext(user_id="hbadmin", district="hb", roles=("district_admin",), scope="hb")
STAFF = AuthContext(user_id="wangshuji", district="hb", roles=("community_staff",), scope="wenchang")
OTHER = AuthContext(user_id="xsadmin", district="xs", roles=("district_admin",), scope="xs")


@pytest.fixture
def db(open_db):
    database = open_db("notify")
    domain.create_indexes(database)
    return database


@pytest.mark.parametrize("title, body, field, words", [
    ("诉求{title", "ok", "title", "malformed placeholder"),
    ("ok", "诉求}{title}", "body", "malformed placeholder"),
    ("ok", "诉求「{titel}」", "body", "unknown field {titel}"),
    ("ok", "第{}件", "body", "positional placeholders"),
    ("ok", "第{0}件", "body", "positional placeholders"),
    ("ok", "{title.__class__}", "body", "attribute or index access"),
    ("ok", "{title[0]}", "body", "attribute or index access"),
    ("ok", "{title!r}", "body", "conversions and format specs"),
    ("ok", "{rating:>5}", "body", "conversions and format specs"),
    ("  ", "ok", "title", "must not be blank"),
    ("ok", "x" * 1001, "body", "at most 1000 characters"),
    (None, "ok", "title", "must be a string"),
])
def test_a_malformed_template_is_refused_naming_the_problem(title, body, field, words):
    errors = templates.check("petition_closed", title, body)
    assert set(errors) == {field}
    assert any(words in problem for problem in errors[field]), errors


def test_a_good_template_may_use_event_and_derived_fields():
    assert templates.check("petition_dispatched", "派单：{title}",
                           "{title}（{status_text}）已派至{department_name}，截止{due_text}，{{注意}}") == {}
    assert "unknown field {rating}" in templates.check("points_redeemed", "t", "{rating}")["body"][0]
    assert "followers" not in templates.fields_of("petition_submitted")  # lists are not for texts
    assert "deadline_text" in templates.fields_of("petition_overdue")


def test_english_texts_and_fallback_to_chinese(monkeypatch):
    data = {"title": "Street light out", "department_id": "chengjian"}
    context = {"department_name": "Town works office"}
    assert templates.render("petition_dispatched", "resident", data, "en", context=context) == (
        "Dispatched", "Your petition \"Street light out\" was dispatched to Town works office")
    monkeypatch.delitem(templates.EN, ("petition_claimed", "resident"))
    assert templates.render("petition_claimed", "resident", {"title": "t"}, "en") == (
        "诉求已接手", "您的诉求「t」已有人接手办理")
    assert templates.render("petition_claimed", "resident", {"title": "t"}, "fr")[0] == "诉求已接手"


def test_a_district_text_that_fails_anyway_falls_back_to_the_default():
    broken = ("{title", "{title}")
    assert templates.render("petition_claimed", "resident", {"title": "t"}, "zh-CN", broken) == (
        "诉求已接手", "您的诉求「t」已有人接手办理")


def test_derived_texts_follow_the_locale():
    data = {"title": "t", "deadline": "accept", "status": "dispatched", "due_at": "2026-11-02T01:00:00.000+00:00"}
    from services.notify.district_settings import zone
    values = templates.values("petition_overdue", data, "en", {"tz": zone("Asia/Shanghai")})
    assert (values["deadline_text"], values["status_text"], values["due_text"]) == (
        "accept", "dispatched", "2026-11-02 09:00")
    assert templates.values("petition_overdue", data, "zh-CN")["deadline_text"] == "接单"


def test_district_admin_edits_a_template_and_notices_use_it(db):
    saved = domain.put_template(db, ADMIN, "hb", "petition_submitted", "resident", "zh-CN",
                                {"title": "【河边镇】已受理", "body": "您反映的「{title}」已受理，状态：{status_text}"})
    assert (saved["source"], saved["title"]) == ("district", "【河边镇】已受理")
    event = petition_event("petition_submitted")
    domain.notify(db, FakeDirectory(), event)
    mine = db.notifications.find_one({"event_id": event["event_id"], "recipient": "wenxiaohua"})
    assert (mine["title"], mine["body"]) == ("【河边镇】已受理", "您反映的「28栋路灯不亮」已受理，状态：已提交")
    leader = db.notifications.find_one({"event_id": event["event_id"], "recipient": "daiyunzhong"})
    assert leader["body"] == "楼栋有新诉求：「28栋路灯不亮」"  # another audience keeps the default
    listed = domain.list_templates(db, STAFF, "hb", {"type": "petition_submitted", "locale": "zh-CN"})
    assert {(t["audience"], t["source"]) for t in listed} == {
        ("resident", "district"), ("building", "default"), ("party", "default")}
    assert "status_text" in listed[0]["fields"]
    reset = domain.delete_template(db, ADMIN, "hb", "petition_submitted", "resident", "zh-CN")
    assert (reset["source"], reset["title"]) == ("default", "诉求已提交")


def test_the_template_api_refuses_bad_input(db):
    with pytest.raises(Invalid) as err:
        domain.put_template(db, ADMIN, "hb", "petition_submitted", "resident", "zh-CN",
                            {"title": "ok", "body": "「{titel}」"})
    assert "unknown field {titel}" in err.value.errors["body"][0]
    assert "body" in err.value.message
    with pytest.raises(Invalid) as err:
        domain.put_template(db, ADMIN, "hb", "petition_submitted", "resident", "fr", {"title": "a", "body": "b"})
    assert "supported: zh-CN, en" in err.value.errors["locale"][0]
    with pytest.raises(NotFound):
        domain.put_template(db, ADMIN, "hb", "petition_submitted", "nobody", "zh-CN", {"title": "a", "body": "b"})
    with pytest.raises(Invalid) as err:
        domain.put_template(db, ADMIN, "hb", "petition_claimed", "resident", "en", {"title": "a"})
    assert "body" in err.value.errors
    with pytest.raises(Forbidden):
        domain.put_template(db, STAFF, "hb", "petition_claimed", "resident", "en", {"title": "a", "body": "b"})
    with pytest.raises(NotFound):  # another district's administrator
        domain.put_template(db, OTHER, "hb", "petition_claimed", "resident", "en", {"title": "a", "body": "b"})
    with pytest.raises(Invalid):
        domain.list_templates(db, STAFF, "hb", {"locale": "xx"})
    with pytest.raises(Invalid):
        domain.list_templates(db, STAFF, "hb", {"type": "petition_nothing"})
    assert db.templates.count_documents({}) == 0


def test_the_catalogue_lists_every_text_with_both_locales():
    entries = templates.catalogue()
    assert len(entries) == len(templates.ZH)
    digest = next(e for e in entries if e["type"] == "digest")
    assert set(digest["defaults"]) == {"zh-CN", "en"} and digest["category"] == "digest"
