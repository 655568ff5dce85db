"""The console, in Chromium: a grid worker logs a visit (入户走访) on a phone and files a petition for the household
on the spot; an overdue household heads the work queue; the secretary changes a care level (红橙绿) with a reason."""
import datetime

from playwright.sync_api import expect

from .conftest import DESKTOP, PHONE


def test_a_grid_worker_logs_a_visit_and_the_overdue_head_the_queue(open_as, api):
    grid = open_as("wc-grid1", PHONE)
    page = grid.open("households")
    cards = page.locator(".hcard")
    expect(cards.first).to_be_visible()
    expect(cards.first).to_have_attribute("data-level", "red")                  # red due soonest: first
    expect(cards.first.locator(".badge.care-red")).to_have_text("红色连心户")
    grid.shot("grid-worker-phone-households")

    page.locator('.hcard[data-id="b28-3-101"] .pcard-main').click()
    expect(page.locator(".household")).to_have_attribute("data-level", "red")
    expect(page.locator(".household .facts")).to_contain_text("尿毒症")
    visit = page.locator('.action[data-action="visit"]')
    visit.locator("[name=notes]").fill("黄师傅刚做完透析，精神尚可；女儿上班，白天无人照看。")
    visit.locator("[name=needs_found]").fill("助浴、代购药品")
    visit.locator("[name=with_petition]").check()
    visit.locator("button[type=submit]").click()                                  # no category, no title: named
    expect(visit.locator('[data-field="petition.title"] .field-error')).to_be_visible()
    expect(visit.locator('[data-field="petition.category"] .field-error')).to_be_visible()
    visit.locator('[name="petition.category"]').select_option("streetlight")
    visit.locator('[name="petition.title"]').fill("28栋3单元楼道灯不亮，透析回家摸黑上楼")
    visit.locator("button[type=submit]").click()
    history = page.locator('[data-section="visits"]')
    expect(history).to_contain_text("黄师傅刚做完透析")
    expect(history.locator(".needs .badge")).to_have_count(2)
    expect(history.locator('a[href^="#/p/hb-"]')).to_have_count(1)
    expect(page.locator(".household .pcard-top .deadline")).to_contain_text("下次走访")
    grid.shot("grid-worker-phone-visit-logged")
    visits = api("wc-grid1").get("/api/v1/households/b28-3-101/visits")["items"]
    petition = api("wc-grid1").get(f"/api/v1/petitions/{visits[0]['petition_id']}")
    assert petition["household_id"] == "b28-3-101" and petition["filed_by"]["id"] == "wc-grid1"

    # a paper record typed in late: its last visit was a month ago, so the orange household is overdue
    month_ago = (datetime.date.today() - datetime.timedelta(days=40)).isoformat()
    api("wc-grid1").post("/api/v1/households/b29-2-301/visits", {"visited_on": month_ago, "notes": "纸质台账补录"})
    page = grid.open("queue")
    overdue = page.locator('.care-group[data-bucket="visits"]')
    expect(overdue.locator('.hcard[data-id="b29-2-301"]')).to_be_visible()
    expect(overdue.locator('.hcard[data-id="b29-2-301"] .deadline.overdue')).to_contain_text("逾期未走访")
    # the overdue visits come before every group of petitions
    assert page.evaluate("""() => { const v = document.querySelector('.care-group');
        const g = document.querySelector('.group'); return !g || !!(v.compareDocumentPosition(g) & Node.DOCUMENT_POSITION_FOLLOWING); }""")
    grid.shot("grid-worker-phone-queue-overdue-visits")


def test_the_secretary_changes_a_care_level_with_a_reason(open_as, api):
    staff = open_as("wc-secretary", DESKTOP)
    page = staff.open("h/b27-2-501")
    expect(page.locator(".household")).to_have_attribute("data-level", "green")
    form = page.locator('.action[data-action="care-level"]')
    form.locator('input[name=level][value="orange"]').check()
    form.locator("button[type=submit]").click()                                   # no reason: named
    expect(form.locator('[data-field="reason"] .field-error')).to_be_visible()
    form.locator("[name=reason]").fill("户主失业，家庭收入骤减")
    form.locator("button[type=submit]").click()
    expect(page.locator(".household")).to_have_attribute("data-level", "orange")
    expect(page.locator('[data-section="care-history"]')).to_contain_text("绿色放心户 → 橙色关心户")
    expect(page.locator('[data-section="care-history"]')).to_contain_text("户主失业")
    staff.shot("community-staff-desktop-care-level")
    assert api("wc-secretary").get("/api/v1/households/b27-2-501")["care_history"][-1]["by"]["id"] == "wc-secretary"
