"""The console, in Chromium: the whole loop by the people who live it, a bad form, the shop, every role's page."""
import datetime
import re

from playwright.sync_api import expect

from .conftest import DESKTOP, PHONE, PHOTO_HOST, eventually

PHOTO = f"https://{PHOTO_HOST}/lamp.svg"


def card(page, petition_id):
    return page.locator(f'.pcard[data-id="{petition_id}"]')


def action(page, name):
    return page.locator(f'.action[data-action="{name}"]')


def test_the_loop_in_the_browser(open_as, api):
    points_before = {u: api(u).get("/api/v1/points/me")["balance"] for u in ("wenxiaohua", "cj-clerk")}
    # A resident on a phone signs in and files a petition with the category's extra fields.
    resident = open_as(None, PHONE)
    page = resident.open()
    resident.shot("resident-phone-sign-in")
    page.fill("[name=username]", "wenxiaohua")
    page.fill("[name=password]", "demo1234")
    page.click("button[type=submit]")
    expect(page.locator("[data-testid=who]")).to_have_text("文小华")
    page.click('nav a[data-route="file"]')
    page.select_option("[name=category]", "streetlight")
    expect(page.locator('[data-field="attributes.location_type"] select')).to_be_visible()
    page.fill("[name=title]", "28栋3楼楼道灯不亮")
    page.fill("[name=description]", "晚上楼道一片黑，老人上下楼不方便。")
    page.select_option('[name="attributes.location_type"]', "stairwell")
    page.fill('[name="attributes.lamp_count"]', "2")
    page.fill("[name=media]", PHOTO)
    expect(page.locator("[name=building_id]")).to_have_value("b28")
    page.click("button[type=submit]")
    petition_id = page.locator("[data-testid=petition-id]").inner_text()
    assert re.fullmatch(r"hb-\d{6}", petition_id)
    resident.shot("resident-phone-filed")
    page.click("text=查看进度")
    expect(page.locator(".detail")).to_have_attribute("data-status", "submitted")
    expect(page.locator(".facts")).to_contain_text("楼道")          # the choice's name, not its key
    expect(page.locator(".deadline")).to_contain_text("认领期限")
    resident.shot("resident-phone-petition")

    # The grid worker finds it in the work queue (overdue first) and whistles it up with a reason.
    grid = open_as("wc-grid1", DESKTOP)
    page = grid.open("queue")
    expect(card(page, petition_id)).to_be_visible()
    expect(page.locator('.group[data-bucket="claim"]')).to_contain_text("28栋3楼楼道灯不亮")
    grid.shot("grid-worker-desktop-queue")
    card(page, petition_id).locator(".pcard-main").click()
    page.fill('.action[data-action="escalate"] [name=reason]', "灯具线路老化，需要城建办更换线路")
    action(page, "escalate").locator("button[type=submit]").click()
    expect(page.locator(".detail")).to_have_attribute("data-status", "escalated")
    expect(page.locator(".timeline")).to_contain_text("灯具线路老化")

    # Community staff dispatch it; the catalogue's department is preselected.
    community = open_as("wc-secretary", DESKTOP)
    page = community.open("queue")
    expect(page.locator('.group[data-bucket="dispatch"]')).to_contain_text("28栋3楼楼道灯不亮")
    community.shot("community-staff-desktop-queue")
    card(page, petition_id).locator(".pcard-main").click()
    expect(page.locator("[name=department_id]")).to_have_value("chengjian")
    expect(page.locator("[name=department_id] option:checked")).to_contain_text("目录推荐")
    action(page, "dispatch").locator("button[type=submit]").click()
    expect(page.locator(".detail")).to_have_attribute("data-status", "dispatched")
    expect(page.locator(".timeline")).to_contain_text("镇城建办")

    # The department accepts it from its queue (one tap) and resolves it with a note and a photo.
    department = open_as("cj-clerk", PHONE)
    page = department.open("queue")
    expect(page.locator('.group[data-bucket="accept"]')).to_contain_text("28栋3楼楼道灯不亮")
    department.shot("department-staff-phone-queue")
    card(page, petition_id).locator('button[data-action="accept"]').click()
    expect(page.locator('.group[data-bucket="handling"]')).to_contain_text("28栋3楼楼道灯不亮")
    card(page, petition_id).locator(".pcard-main").click()
    page.fill('.action[data-action="resolve"] [name=note]', "已更换3楼声控灯两盏并修复线路")
    page.fill('.action[data-action="resolve"] [name=media]', f"https://{PHOTO_HOST}/fixed.svg")
    action(page, "resolve").locator("button[type=submit]").click()
    expect(page.locator(".detail")).to_have_attribute("data-status", "resolved")
    expect(page.locator(".resolution")).to_contain_text("已更换3楼声控灯两盏")

    # The resident rates it: first without stars (the error sits next to the stars), then 5 stars.
    page = resident.open("mine")
    expect(page.locator(".notice")).to_contain_text("请您评价")
    card(page, petition_id).locator(".pcard-main").click()
    rate = action(page, "rate")
    rate.locator("button[type=submit]").click()
    expect(rate.locator('[data-field="score"] .field-error')).to_have_text(re.compile("请填写"))
    rate.locator('[name=score][value="5"]').check()
    rate.locator("[name=comment]").fill("修得很快，谢谢！")
    rate.locator("button[type=submit]").click()
    expect(page.locator(".detail")).to_have_attribute("data-status", "closed")
    expect(page.locator("[data-testid=rating]")).to_contain_text("5")
    expect(page.locator(".timeline li")).to_have_count(6)  # submit, escalate, dispatch, accept, resolve, rate
    resident.shot("resident-phone-rated")

    # Points arrive asynchronously: the resident sees them in points and yuan, and the notices.
    balance = points_before["wenxiaohua"] + 2  # reporter_rated
    eventually(lambda: api("wenxiaohua").get("/api/v1/points/me")["balance"] >= balance)
    page = resident.open("points")
    expect(page.locator("[data-testid=points]")).to_have_text(str(balance))
    expect(page.locator("[data-testid=balance]")).to_contain_text(f"¥{balance}.00")
    expect(page.locator(".statement")).to_contain_text(petition_id)
    resident.shot("resident-phone-points")
    eventually(lambda: any(n["type"] == "points_awarded" for n in api("wenxiaohua").get("/api/v1/notifications")["items"]))
    page = resident.open("inbox")
    badge = page.locator('nav [data-badge="unread"]')
    expect(badge).to_be_visible()
    unread = int(badge.inner_text())
    assert unread >= 6  # submitted, escalated, dispatched, accepted, resolved, closed, points …
    mine = f'.inbox li[data-petition="{petition_id}"]'
    expect(page.locator(f'{mine}[data-type="points_awarded"]')).to_contain_text("积分到账")
    resident.shot("resident-phone-inbox")
    page.locator(f'{mine}[data-type="petition_resolved"] a').click()
    expect(page.locator(".detail")).to_have_attribute("data-id", petition_id)
    expect(badge).to_have_text(str(unread - 1))

    # The department clerk earned the handler's 5-star points.
    eventually(lambda: api("cj-clerk").get("/api/v1/points/me")["balance"] >= points_before["cj-clerk"] + 10)


def test_a_bad_form_shows_each_error_next_to_its_field(open_as):
    resident = open_as("zhangyiqin", PHONE)
    page = resident.open("file")
    page.select_option("[name=category]", "help_escort")
    page.fill("[name=media]", "not-a-link\n" + PHOTO)
    page.fill("[name=building_id]", "b28")
    page.click("button[type=submit]")
    # the gateway checks the shape: the title is missing and the first photo link is not a link
    title_error = page.locator('[data-field="title"] .field-error')
    expect(title_error).to_be_visible()
    expect(title_error).to_contain_text("请填写")
    expect(page.locator('[data-field="media"] .field-error')).to_contain_text("第 1 项")
    expect(page.locator('[data-field="media"] .field-error')).to_contain_text("网址")
    expect(page.locator("[name=title]")).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".form-error")).to_contain_text("请检查标出的内容")
    resident.shot("bad-form-phone-shape")
    # fixed those, the petitions service names the category's required field and the building
    page.fill("[name=title]", "周三需要陪同去医院复查")
    page.fill("[name=media]", PHOTO)
    page.fill("[name=building_id]", "b99")
    page.click("button[type=submit]")
    expect(page.locator('[data-field="title"] .field-error')).to_be_hidden()
    field_error = page.locator('[data-field="building_id"] .field-error')
    expect(field_error).to_contain_text("b99")
    page.fill("[name=building_id]", "b28")
    page.click("button[type=submit]")
    expect(page.locator('[data-field="attributes.hospital"] .field-error')).to_contain_text("请填写：医院")
    resident.shot("bad-form-phone-attribute")
    # in English the same error reads in English
    page.click("[data-testid=lang]")
    page.wait_for_selector('[data-field="title"] label:text("Title")')
    page.select_option("[name=category]", "help_escort")
    page.click("button[type=submit]")
    expect(page.locator('[data-field="title"] .field-error')).to_contain_text("Please fill this in")
    page.fill("[name=title]", "Escort to hospital")
    page.fill('[name="attributes.hospital"]', "区人民医院")
    page.click("button[type=submit]")
    expect(page.locator("[data-testid=filed]")).to_contain_text("Submitted")


def test_a_resident_redeems_an_item(open_as, api):
    """A good deed earns points (claim, approval), the shop is stocked, the resident redeems and picks it up."""
    # The resident declares a good deed on their phone ...
    resident = open_as("huxingyou", PHONE)
    page = resident.open("claims")
    page.fill("[name=title]", "帮独居老人搬运米面")
    page.fill("[name=description]", "周六上午帮29栋的王奶奶把两袋米扛上五楼。")
    page.fill("[name=media]", f"https://{PHOTO_HOST}/rice.svg")
    page.click("button[type=submit]")
    claim = page.locator(".claims li").filter(has_text="帮独居老人搬运米面")
    expect(claim).to_contain_text("待审核")

    # ... and the community secretary approves it (points by the district's rule).
    staff = open_as("wc-secretary", DESKTOP)
    page = staff.open("staff/claims")
    card_ = page.locator(".claim").filter(has_text="帮独居老人搬运米面")
    card_.locator("form.approve [name=note]").fill("已电话核实")
    card_.locator("form.approve button[type=submit]").click()
    expect(page.locator(".claim").filter(has_text="帮独居老人搬运米面")).to_have_count(0)
    staff.shot("community-staff-desktop-claims")

    # The secretary stocks the shop: a bad price is named next to its field first.
    page = staff.open("staff/shop")
    new_item = page.locator("details.card").filter(has_text="上架新商品")
    if not new_item.evaluate("details => details.open"):
        new_item.locator("summary").click()
    new_item.locator("[name=name]").fill("环保购物袋")
    new_item.locator("[name=price]").fill("0")
    new_item.locator("[name=stock]").fill("5")
    new_item.locator("[name=per_person_limit]").fill("2")
    new_item.locator("[name=image_url]").fill(f"https://{PHOTO_HOST}/bag.svg")
    new_item.locator("button[type=submit]").click()
    expect(new_item.locator('[data-field="price"] .field-error')).to_contain_text("1 到 100000")
    new_item.locator("[name=price]").fill("3")
    new_item.locator("button[type=submit]").click()
    stocked = page.locator(".item-admin").filter(has_text="环保购物袋")
    expect(stocked.locator("[data-testid=stock]")).to_have_text("库存 5")

    # The approval's points arrive; the resident sees the item with its price and stock, and redeems it.
    approved = api("huxingyou").get("/api/v1/claims", params={"status": "approved"})["items"]
    assert [c for c in approved if c["title"] == "帮独居老人搬运米面"]
    eventually(lambda: api("huxingyou").get("/api/v1/points/me")["balance"] >= 5)
    before = api("huxingyou").get("/api/v1/points/me")["balance"]
    page = resident.open("shop")
    expect(page.locator("[data-testid=shop-balance]")).to_have_text(str(before))
    item = page.locator(".item").filter(has_text="环保购物袋")
    expect(item.locator("[data-testid=price]")).to_have_text("3 积分（¥3.00）")
    expect(item.locator("[data-testid=stock]")).to_have_text("库存 5")
    item.locator("[name=quantity]").fill("3")                       # over the limit of 2 per person
    item.locator("button[type=submit]").click()
    expect(item.locator('[data-field="quantity"] .field-error')).to_contain_text("最多 2 件")
    item.locator("[name=quantity]").fill("1")
    item.locator("button[type=submit]").click()
    expect(page.locator("[data-testid=redeemed]")).to_contain_text("环保购物袋 × 1")
    expect(page.locator("[data-testid=shop-balance]")).to_have_text(str(before - 3))
    expect(page.locator(".item").filter(has_text="环保购物袋").locator("[data-testid=stock]")).to_have_text("库存 4")
    resident.shot("resident-phone-redeemed")
    page.click("text=查看我的兑换")
    order = page.locator(".orders li").filter(has_text="环保购物袋")
    expect(order).to_contain_text("待自提")
    order_id = order.get_attribute("data-id")

    # The secretary hands it over; the resident's order says so and the statement shows the debit.
    page = staff.open("staff/shop")
    staff.shot("community-staff-desktop-shop")
    page.locator(f'.pickups li[data-id="{order_id}"] button[data-action="pickup"]').click()
    expect(page.locator(f'.pickups li[data-id="{order_id}"]')).to_have_count(0)
    expect(page.locator(".item-admin").filter(has_text="环保购物袋")).to_contain_text("已领 1")
    page = resident.open("orders")
    expect(page.locator(f'.orders li[data-id="{order_id}"]')).to_contain_text("已领取")
    page = resident.open("points")
    expect(page.locator(".statement li").first).to_contain_text("-3")


def test_an_activity_from_sign_up_to_check_in(open_as, api):
    """Community staff publish an activity, a resident signs up, staff check them in: points and a notice."""
    staff = open_as("wc-secretary", DESKTOP)
    page = staff.open("staff/activities")
    new = page.locator("details.card").filter(has_text="发布新活动")
    if not new.evaluate("details => details.open"):
        new.locator("summary").click()
    start = (datetime.datetime.now() + datetime.timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    new.locator("[name=title]").fill("周末河道清洁")
    new.locator("[name=place]").fill("文昌社区河边步道")
    new.locator("[name=starts_at]").fill(start.strftime("%Y-%m-%dT%H:%M"))
    new.locator("[name=ends_at]").fill((start - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    new.locator("[name=capacity]").fill("10")
    new.locator("[name=points]").fill("4")
    new.locator("button[type=submit]").click()
    expect(new.locator('[data-field="ends_at"] .field-error')).to_contain_text("晚于开始时间")
    new.locator("[name=ends_at]").fill((start + datetime.timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    new.locator("button[type=submit]").click()
    expect(page.locator(".activity").filter(has_text="周末河道清洁")).to_contain_text("已报 0/10")

    before = api("zhangyiqin").get("/api/v1/points/me")["balance"]
    resident = open_as("zhangyiqin", PHONE)
    page = resident.open("activities")
    activity = page.locator(".activity").filter(has_text="周末河道清洁")
    activity.locator('button[data-action="signup"]').click()
    expect(activity).to_contain_text("已报名")
    expect(activity).to_contain_text("已报 1/10")
    resident.shot("resident-phone-activities")

    page = staff.open("staff/activities")
    activity = page.locator(".activity").filter(has_text="周末河道清洁")
    activity.locator("form.checkin label.check", has_text="张意琴").locator("input").check()
    activity.locator("form.checkin button[type=submit]").click()
    expect(page.locator(".activity").filter(has_text="周末河道清洁").locator("[data-testid=attended]")).to_have_text("张意琴")
    staff.shot("community-staff-desktop-activities")
    eventually(lambda: api("zhangyiqin").get("/api/v1/points/me")["balance"] >= before + 4)
    page = resident.open("points")
    expect(page.locator("[data-testid=points]")).to_have_text(str(before + 4))


def test_a_broadcast_reaches_the_inbox_and_preferences_keep_their_errors(open_as):
    staff = open_as("wc-secretary", DESKTOP)
    page = staff.open("staff/broadcasts")
    page.fill("[name=title]", "本周六停水通知")
    page.fill("[name=body]", "因管网维修，本周六 8:00–12:00 全社区停水，请提前储水。")
    page.check("[name=confirm_required]")
    page.click("button[type=submit]")
    expect(page.locator(".broadcasts li").filter(has_text="本周六停水通知")).to_be_visible()
    staff.shot("community-staff-desktop-broadcasts")

    resident = open_as("wenxiaohua", PHONE)
    page = resident.open("inbox")
    notice = page.locator(".inbox li").filter(has_text="本周六停水通知")
    expect(notice).to_be_visible()
    notice.locator('button[data-action="confirm"]').click()
    expect(page.locator(".inbox li").filter(has_text="本周六停水通知")).to_contain_text("已确认")

    page = resident.open("prefs")
    page.fill('[name="contacts.sms"]', "call me")
    page.fill('[name="quiet_hours.start"]', "25:00")
    page.fill('[name="quiet_hours.end"]', "07:00")
    page.locator('tr[data-category="points"] input[value="sms"]').check()
    page.click("button[type=submit]")
    expect(page.locator('[data-field="contacts.sms"] .field-error')).to_contain_text("手机号码")
    expect(page.locator('[data-field="quiet_hours.start"] .field-error')).to_contain_text("22:00")
    resident.shot("resident-phone-prefs-errors")
    page.fill('[name="contacts.sms"]', "13800000000")
    page.fill('[name="quiet_hours.start"]', "22:00")
    page.click("button[type=submit]")
    expect(page.locator('tr[data-category="points"] input[value="sms"]')).to_be_checked()
    expect(page.locator('[name="contacts.sms"]')).to_have_value("13800000000")
    expect(page.locator('[data-field="contacts.sms"] .field-error')).to_be_hidden()


ROLE_PAGES = [
    ("resident", "wenxiaohua", "mine"),
    ("resident-file", "wenxiaohua", "file"),
    ("resident-points", "wenxiaohua", "points"),
    ("resident-shop", "wenxiaohua", "shop"),
    ("resident-inbox", "wenxiaohua", "inbox"),
    ("building-leader", "daiyunzhong", "queue"),
    ("grid-worker", "wc-grid1", "queue"),
    ("party-member", "wc-party2", "queue"),
    ("community-staff", "wc-secretary", "queue"),
    ("community-follow-ups", "wc-secretary", "follow-ups"),
    ("community-shop", "wc-secretary", "staff/shop"),
    ("department-staff", "cj-clerk", "queue"),
    ("district-admin-dashboard", "hb-admin", "dashboard"),
    ("district-admin-settings", "hb-admin", "settings"),
]


def test_every_role_has_its_main_page_on_a_phone_and_a_desktop(open_as, api):
    # a help request, so the party member's queue has something to show
    api("huxingyou").post("/api/v1/petitions", {"category": "help_errand", "title": "帮忙换一下厨房灯泡"})
    sessions = {}
    for name, user, route in ROLE_PAGES:
        session = sessions.get(user) or sessions.setdefault(user, open_as(user, PHONE))
        for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
            session.page.set_viewport_size(viewport)
            page = session.open(route)
            expect(page.locator("main#main h1")).to_be_visible()
            expect(page.locator(f'nav a[data-route="{route}"]')).to_have_attribute("aria-current", "page")
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"), \
                f"{name} scrolls sideways at {viewport['width']} px"
            session.shot(f"{name}-{size}")
    party = open_as("wc-party2", PHONE)
    page = party.open("queue")
    expect(page.locator('.group[data-bucket="help"]')).to_contain_text("帮忙换一下厨房灯泡")
    admin = open_as("hb-admin", DESKTOP)
    page = admin.open("dashboard")
    expect(page.locator(".chart").first).to_be_visible()
    expect(page.locator(".dashboard > .stats .stat")).to_have_count(6)
    expect(page.locator('[data-table="community"] tbody tr').first).to_be_visible()
    expect(page.locator('[data-section="points"] .chart')).to_be_visible()
    page = admin.open("settings")
    page.fill("[name=grid_claim_hours]", "0")
    page.locator('[data-field="grid_claim_hours"]').locator("xpath=ancestor::form").locator("button[type=submit]").click()
    expect(page.locator('[data-field="grid_claim_hours"] .field-error')).to_contain_text("1")
