"""A micro-wish (微心愿) in the browser: a resident posts it, a party member adopts and fulfils it, the resident
confirms, the party member's points arrive and the community's staff see it on their board."""
from playwright.sync_api import expect

from .conftest import DESKTOP, PHONE, eventually


def wish(page, title):
    return page.locator(".wish").filter(has_text=title)


def test_a_wish_from_the_resident_to_the_party_member_and_back(open_as, api):
    title = "想要一台能听戏的收音机"
    resident = open_as("zhangyiqin", PHONE)
    page = resident.open("wishes")
    page.fill("[name=title]", title)
    page.locator("form button[type=submit]").click()
    expect(page.locator('[data-field="reason"] .field-error')).to_be_visible()
    page.fill("[name=reason]", "独居老人，眼睛不好，想听听川剧")
    page.locator("form button[type=submit]").click()
    expect(wish(page, title)).to_contain_text("待认领")
    resident.shot("resident-phone-wishes")

    before = api("wc-party2").get("/api/v1/points/me")["balance"]
    party = open_as("wc-party2", PHONE)
    page = party.open("wishes/adopt")
    wish(page.locator('[data-list="open"]'), title).locator('button[data-action="adopt"]').click()
    mine = wish(page.locator('[data-list="adopted"]'), title)
    expect(mine).to_contain_text("已认领")
    mine.locator("[name=note]").fill("收音机已送到，调好了戏曲频道")
    mine.locator("button[type=submit]").click()
    expect(wish(page.locator('[data-list="done"]'), title)).to_contain_text("待确认")
    party.shot("party-member-phone-wishes")

    page = resident.open("wishes")
    card = wish(page, title)
    expect(card).to_contain_text("收音机已送到")
    card.locator('button[data-action="confirm"]').click()
    expect(wish(page, title)).to_contain_text("已圆梦")
    rule = api("hb-admin").get("/api/v1/districts/hb/point-rules")["wish_fulfilled"]  # another test may change it
    confirmed = next(w for w in api("zhangyiqin").get("/api/v1/wishes")["items"] if w["title"] == title)
    assert (confirmed["status"], confirmed["points"]) == ("confirmed", rule)
    eventually(lambda: api("wc-party2").get("/api/v1/points/me")["balance"] == before + rule)

    staff = open_as("wc-secretary", DESKTOP)
    page = staff.open("staff/wishes")
    expect(wish(page, title)).to_contain_text("已圆梦")
    expect(page.locator("main#main h1")).to_have_text("心愿台账")
    staff.shot("community-staff-desktop-wishes")
