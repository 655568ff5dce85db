"""Micro-projects (微项目) in Chromium: the secretary picks recurring petitions from the work queue and proposes a
project, the district administrator approves it, a resident supports it and comments on a phone, and once it
is done the secretary resolves its petitions together."""
from playwright.sync_api import expect

from .conftest import DESKTOP, PHONE


def test_a_micro_project_from_the_work_queue_to_its_petitions_resolved(open_as, api):
    first = api("wenxiaohua").post("/api/v1/petitions", {"category": "streetlight", "title": "28栋二单元楼道灯又坏了"})["id"]
    second = api("zhangyiqin").post("/api/v1/petitions", {"category": "streetlight", "title": "28栋五楼楼道灯不亮"})["id"]
    api("wc-grid1").act(first, "escalate", {"reason": "楼道灯老化，需整体更换"})

    staff = open_as("wc-secretary", DESKTOP)
    page = staff.open("queue")
    page.locator(f'.pcard[data-id="{first}"] [name=pick]').check()
    page.get_by_test_id("to-project").click()
    chosen = page.locator(".from-petitions")
    expect(chosen.locator(f'[name=petition_ids][value="{first}"]')).to_be_checked()
    chosen.locator(f'[name=petition_ids][value="{second}"]').check()
    chosen.locator("[name=title]").fill("28栋楼道声控灯改造")
    chosen.locator("[name=budget]").fill("12.345")
    chosen.locator("button[type=submit]").click()
    expect(chosen.locator('[data-field="budget"] .field-error')).to_contain_text("两位小数")
    chosen.locator("[name=budget]").fill("3600.50")
    chosen.locator("[name=sponsor]").fill("镇城建办")
    chosen.locator("button[type=submit]").click()
    expect(page.locator(".detail.project")).to_have_attribute("data-status", "proposed")
    project_id = page.locator(".detail.project").get_attribute("data-id")
    expect(page.locator(".linked li")).to_have_count(2)
    staff.shot("community-staff-desktop-project-proposed")

    admin = open_as("hb-admin", DESKTOP)
    page = admin.open(f"projects/{project_id}")
    page.locator('.action[data-action="approve"] button[type=submit]').click()
    expect(page.locator(".detail.project")).to_have_attribute("data-status", "approved")

    resident = open_as("wenxiaohua", PHONE)
    page = resident.open("projects")
    page.locator(f'.pcard.project[data-id="{project_id}"] .pcard-main').click()
    page.get_by_test_id("support").click()
    expect(page.get_by_test_id("supporters")).to_contain_text("1 人支持")
    expect(page.get_by_test_id("support")).to_be_disabled()
    page.locator(".comments [name=text]").fill("希望换成暖光的灯")
    page.locator(".comments button[type=submit]").click()
    expect(page.locator(".comment-list li")).to_contain_text("希望换成暖光的灯")
    resident.shot("resident-phone-project")

    page = staff.open(f"projects/{project_id}")
    page.locator('.action[data-action="start"] button[type=submit]').click()
    expect(page.locator(".detail.project")).to_have_attribute("data-status", "in_progress")
    page.locator('.action[data-action="done"] button[type=submit]').click()
    expect(page.locator(".detail.project")).to_have_attribute("data-status", "done")
    resolve = page.locator('.action[data-action="resolve"]')
    resolve.locator("button[type=submit]").click()
    expect(resolve.locator('[data-field="note"] .field-error')).to_contain_text("请填写")
    resolve.locator("[name=note]").fill("28栋楼道灯已全部更换为声控LED灯")
    resolve.locator("button[type=submit]").click()
    expect(page.locator(".resolution .resolved li")).to_have_count(2)
    staff.shot("community-staff-desktop-project-resolved")
    assert api("wenxiaohua").get(f"/api/v1/petitions/{first}")["status"] == "resolved"
    assert api("zhangyiqin").get(f"/api/v1/petitions/{second}")["project_id"] == project_id
