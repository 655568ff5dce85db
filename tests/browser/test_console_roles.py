"""The console, in Chromium: each role's own way through a petition, beyond the main loop of test_console.py.

The grid handles a small thing itself and a low rating brings a follow-up; a department returns what is not
its job; a party member answers a help request; the administrator changes the district's settings; an overdue
petition heads the work queue; the console's files stay light for a slow connection.
"""
import os
import re

import pytest
from playwright.sync_api import expect

from .conftest import DESKTOP, PHONE, PHOTO_HOST, eventually

HERE = os.path.dirname(os.path.abspath(__file__))
STATIC = os.path.join(HERE, "..", "..", "gateway", "console", "static")


def card(page, petition_id):
    return page.locator(f'.pcard[data-id="{petition_id}"]')


def action(page, name):
    return page.locator(f'.action[data-action="{name}"]')


def test_the_grid_solves_it_and_a_low_rating_is_followed_up(open_as, api):
    """小事不出网格: the building leader claims and resolves on a phone; 2 stars open a follow-up the secretary records."""
    pid = api("zhangyiqin").post("/api/v1/petitions", {
        "category": "slope", "title": "28栋门口台阶松动", "description": "台阶有一块石板翘起来了，容易绊倒。"})["id"]

    leader = open_as("daiyunzhong", PHONE)
    page = leader.open("queue")
    expect(page.locator('.group[data-bucket="claim"]')).to_contain_text("28栋门口台阶松动")
    card(page, pid).locator('button[data-action="claim"]').click()               # one tap
    expect(page.locator('.group[data-bucket="handling"]')).to_contain_text("28栋门口台阶松动")
    leader.shot("building-leader-phone-queue")
    card(page, pid).locator(".pcard-main").click()
    expect(page.locator(".detail")).to_have_attribute("data-status", "in_progress")
    resolve = action(page, "resolve")
    resolve.locator("button[type=submit]").click()                                 # no note: named by the note
    expect(resolve.locator('[data-field="note"] .field-error')).to_contain_text("请填写")
    expect(resolve.locator("[name=note]")).to_have_attribute("aria-invalid", "true")
    resolve.locator("[name=note]").fill("已用水泥把石板重新固定")
    resolve.locator("[name=media]").fill(f"https://{PHOTO_HOST}/step.svg")
    resolve.locator("button[type=submit]").click()
    expect(page.locator(".detail")).to_have_attribute("data-status", "resolved")
    expect(page.locator(".resolution")).to_contain_text("已用水泥把石板重新固定")
    expect(page.locator(".resolution .photos img")).to_have_count(1)
    expect(page.locator(".timeline")).to_contain_text("daiyunzhong")
    leader.shot("building-leader-phone-resolved")

    # The resident is not satisfied: two stars.
    resident = open_as("zhangyiqin", PHONE)
    page = resident.open(f"p/{pid}")
    rate = action(page, "rate")
    rate.locator('[name=score][value="2"]').check()
    rate.locator("[name=comment]").fill("石板还是有点晃")
    rate.locator("button[type=submit]").click()
    expect(page.locator(".detail")).to_have_attribute("data-status", "closed")

    # The secretary finds the follow-up and records it (first without an outcome: the error sits by the outcome).
    staff = open_as("wc-secretary", DESKTOP)
    page = staff.open("follow-ups")
    expect(card(page, pid)).to_be_visible()
    staff.shot("community-staff-desktop-follow-ups")
    card(page, pid).locator(".pcard-main").click()
    follow_up = action(page, "follow_up")
    follow_up.locator("[name=note]").fill("电话联系居民，约好周六再去加固")
    follow_up.locator("button[type=submit]").click()
    expect(follow_up.locator('[data-field="outcome"] .field-error')).to_contain_text("请填写")
    follow_up.locator('[name=outcome][value="contacted"]').check()
    follow_up.locator("button[type=submit]").click()
    expect(action(page, "follow_up")).to_have_count(0)
    expect(page.locator(".detail")).to_contain_text("已联系居民")
    expect(page.locator(".detail")).to_contain_text("电话联系居民，约好周六再去加固")
    page = staff.open("follow-ups")
    expect(card(page, pid)).to_have_count(0)                                        # no longer open


def test_a_department_returns_what_is_not_its_job(open_as, api):
    """退单: the clerk returns it with a reason; the community dispatches it to another department."""
    pid = api("wenxiaohua").post("/api/v1/petitions", {"category": "slope", "title": "28栋旁有人占道经营"})["id"]
    api("wc-grid1").act(pid, "escalate", {"reason": "网格劝离无效"})
    api("wc-secretary").act(pid, "dispatch", {})                                    # the catalogue's 城建办

    clerk = open_as("cj-clerk", DESKTOP)
    page = clerk.open("queue")
    expect(page.locator('.group[data-bucket="accept"]')).to_contain_text("28栋旁有人占道经营")
    card(page, pid).locator(".pcard-main").click()
    returned = action(page, "return")
    returned.locator("button[type=submit]").click()                                # no reason
    expect(returned.locator('[data-field="reason"] .field-error')).to_contain_text("请填写")
    returned.locator("[name=reason]").fill("占道经营归综治办管理，请改派")
    returned.locator("button[type=submit]").click()
    expect(page.locator(".detail")).to_have_attribute("data-status", "escalated")
    expect(page.locator('.timeline li[data-action="return"]')).to_contain_text("占道经营归综治办管理")

    staff = open_as("wc-secretary", DESKTOP)
    page = staff.open("queue")
    expect(page.locator('.group[data-bucket="dispatch"]')).to_contain_text("28栋旁有人占道经营")
    card(page, pid).locator(".pcard-main").click()
    dispatch = action(page, "dispatch")
    dispatch.locator("[name=department_id]").select_option("zongzhi")
    dispatch.locator("button[type=submit]").click()
    expect(page.locator(".detail")).to_have_attribute("data-status", "dispatched")
    expect(page.locator(".facts")).to_contain_text("镇综治办")

    other = open_as("zz-clerk", PHONE)
    page = other.open("queue")
    expect(page.locator('.group[data-bucket="accept"]')).to_contain_text("28栋旁有人占道经营")
    page = clerk.open("queue")
    expect(card(page, pid)).to_have_count(0)


def test_a_party_member_answers_a_help_request(open_as, api):
    """居民吹哨，党员报到: the help request waits for the community's party members; one claims and resolves it."""
    pid = api("huxingyou").post("/api/v1/petitions", {"category": "help_errand", "title": "帮忙去药店取降压药"})["id"]
    party = open_as("wc-party2", PHONE)
    page = party.open("queue")
    expect(page.locator('.group[data-bucket="help"]')).to_contain_text("帮忙去药店取降压药")
    card(page, pid).locator('button[data-action="claim"]').click()
    expect(page.locator('.group[data-bucket="handling"]')).to_contain_text("帮忙去药店取降压药")
    card(page, pid).locator(".pcard-main").click()
    resolve = action(page, "resolve")
    resolve.locator("[name=note]").fill("药已送到胡大爷家")
    resolve.locator("button[type=submit]").click()
    expect(page.locator(".detail")).to_have_attribute("data-status", "resolved")
    party.shot("party-member-phone-resolved")

    resident = open_as("huxingyou", PHONE)
    page = resident.open("mine")
    expect(page.locator(".notice")).to_contain_text("请您评价")
    expect(card(page, pid)).to_contain_text("已办结待评价")


def test_the_administrator_changes_the_districts_settings(open_as, api):
    """Point rules and a notification template are changed in the browser, the template goes back to the default."""
    admin = open_as("hb-admin", DESKTOP)
    page = admin.open("settings")
    rules = page.locator('[data-field="wish_fulfilled"]').locator("xpath=ancestor::form")
    rules.locator("[name=wish_fulfilled]").fill("-1")
    rules.locator("button[type=submit]").click()
    expect(rules.locator('[data-field="wish_fulfilled"] .field-error')).to_be_visible()
    rules.locator("[name=wish_fulfilled]").fill("7")
    rules.locator("button[type=submit]").click()
    expect(rules.locator('[data-field="wish_fulfilled"] .field-error')).to_be_hidden()
    eventually(lambda: api("hb-admin").get("/api/v1/districts/hb/point-rules")["wish_fulfilled"] == 7)
    page = admin.open("settings")
    expect(page.locator("[name=wish_fulfilled]")).to_have_value("7")

    templates = page.locator('[data-section="templates"]')
    templates.locator("summary").click()
    row = templates.locator('tr[data-type="activity_cancelled"][data-audience="attendee"]')
    row.locator("button").click()
    editor = templates.locator(".editor-holder form")
    editor.locator("[name=title]").fill("")
    editor.locator("button[type=submit]").click()
    expect(editor.locator('[data-field="title"] .field-error')).to_be_visible()
    editor.locator("[name=title]").fill("活动取消啦")
    editor.locator("button[type=submit]").click()
    row = page.locator('[data-section="templates"] tr[data-type="activity_cancelled"][data-audience="attendee"]')
    expect(row.locator(".badge")).to_have_text("本区")                                # the list stays open
    expect(row).to_contain_text("活动取消啦")
    admin.shot("district-admin-desktop-template")
    row.locator("button").click()
    page.locator('[data-section="templates"] .editor-holder').get_by_role("button", name="恢复默认").click()
    row = page.locator('[data-section="templates"] tr[data-type="activity_cancelled"][data-audience="attendee"]')
    expect(row.locator(".badge")).to_have_count(0)
    expect(row).not_to_contain_text("活动取消啦")

    ledger = page.locator('[data-section="ledger"]')
    ledger.locator("button").click()
    expect(ledger).to_contain_text("账目平衡")


def test_an_overdue_petition_heads_the_work_queue(open_as, api, clock):
    """Overdue first: a petition past its time limit is shown above everything else that waits, in red."""
    if clock is None:
        pytest.skip("moves the platform's clock: only on a platform these tests start")
    admin = api("hb-admin")
    before = admin.get("/api/v1/districts/hb/time-limits")["community_dispatch_hours"]
    admin.put("/api/v1/districts/hb/time-limits", {"community_dispatch_hours": 1})
    try:
        late = api("wenxiaohua").post("/api/v1/petitions", {"category": "slope", "title": "河边步道护栏断了"})["id"]
        api("wc-grid1").act(late, "escalate", {"reason": "需要社区协调施工"})
    finally:
        admin.put("/api/v1/districts/hb/time-limits", {"community_dispatch_hours": before})
    api("wc-secretary").act(late, "claim")   # the community handles it: its one hour keeps running
    clock.advance(2)
    eventually(lambda: api("wc-secretary").get(f"/api/v1/petitions/{late}")["overdue"], timeout=30)
    fresh = api("zhangyiqin").post("/api/v1/petitions", {"category": "slope", "title": "28栋自行车棚漏雨"})["id"]
    api("wc-grid1").act(fresh, "escalate", {"reason": "需要社区维修"})

    staff = open_as("wc-secretary", DESKTOP)
    page = staff.open("queue")
    first = page.locator(".group").first
    expect(first).to_have_attribute("data-bucket", "overdue")
    expect(first).to_contain_text("河边步道护栏断了")
    expect(card(page, late)).to_have_class(re.compile(r"\bis-overdue\b"))
    expect(card(page, late).locator(".deadline")).to_contain_text("已超时")
    expect(page.locator('.group[data-bucket="dispatch"]')).to_contain_text("28栋自行车棚漏雨")
    expect(page.locator(".lead")).to_contain_text("已超时")
    staff.shot("community-staff-desktop-queue-overdue")

    board = open_as("hb-admin", DESKTOP)
    page = board.open("dashboard")
    overdue = page.locator(".dashboard > .stats .stat").nth(2)
    expect(overdue).to_have_class(re.compile(r"tone-bad"))
    assert int(overdue.locator(".stat-value").inner_text()) >= 1
    expect(page.locator('[data-table="community"] .chart.rates li').first).to_contain_text("%")


def test_the_console_is_light_on_a_slow_connection(browser, platform, tokens, artifacts):
    """Every module is preloaded from the page (no waterfall), the files come gzipped, and on an emulated slow
    3G line the signed-in work queue is there within seconds."""
    index = open(os.path.join(STATIC, "index.html"), encoding="utf-8").read()
    preloaded = set(re.findall(r'<link rel="modulepreload" href="/console/(js/[^"]+)">', index))
    modules = {os.path.relpath(os.path.join(root, f), STATIC).replace(os.sep, "/")
               for root, _, files in os.walk(os.path.join(STATIC, "js")) for f in files if f.endswith(".js")}
    assert modules == preloaded, f"not preloaded: {sorted(modules - preloaded)}; preloaded but missing: {sorted(preloaded - modules)}"

    context = browser.new_context(viewport=PHONE, locale="zh-CN")
    try:
        context.add_init_script(f"localStorage.setItem('cg.token', {tokens['wc-grid1']!r});")
        page = context.new_page()
        sizes = {}
        page.on("response", lambda r: sizes.__setitem__(r.url, (r.headers.get("content-encoding"), r.headers.get("content-length")))
                if "/console/" in r.url else None)
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        # Chrome's "Slow 3G": 400 ms round trips, about 50 kB/s down
        cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": 400,
                                                      "downloadThroughput": 50 * 1024, "uploadThroughput": 50 * 1024})
        page.goto(platform.url + "/#/queue")
        expect(page.locator("main#main h1")).to_have_text("待办", timeout=30000)
        assets = {u: s for u, s in sizes.items() if u.endswith((".js", ".css"))}
        assert len(assets) == len(modules) + 1
        assert all(enc == "gzip" for enc, _ in assets.values()), assets
        total = sum(int(n) for _, n in assets.values() if n)
        assert total < 80 * 1024, f"{total} bytes of scripts and styles"
        timing = page.evaluate("performance.getEntriesByType('navigation')[0].toJSON()")
        assert timing["responseEnd"] > 0
        page.screenshot(path=os.path.join(artifacts, "grid-worker-phone-slow-3g.png"))
    finally:
        context.close()
