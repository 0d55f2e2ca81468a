"""Alerts a supervisor works through: acknowledge, resolve with a note, the history kept; scoped;
exported as CSV and XLSX; refused steps get clear errors."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from openpyxl import load_workbook
from sqlalchemy import select

from tests.conftest import login
from tests.custody.conftest import TPS
from webapp.custody.models import Alert, AlertAction


def damaged(world):
    box = world.box()
    world.to_tps(box)
    world.scan(world.kpps, "damage", box, TPS, note="basah")
    return box, world.session.scalar(select(Alert).where(Alert.kind == "damaged"))


def fifty_five_alerts(world) -> None:
    """More open alerts at the KPPS's TPS than one page holds."""
    site = world.kpps.scope_site
    for n in range(55):
        world.session.add(
            Alert(kind="damaged", state="open", site_id=site.id, details={"n": n}, created_at=datetime.now(UTC))
        )
    world.session.commit()


def test_a_supervisor_acknowledges_then_resolves_and_the_history_stays(client, world):
    box, alert = damaged(world)
    login(client, world.supervisor.username)
    page = client.get("/alerts")
    assert "Rusak" in page.text and box.sscc in page.text
    refused = client.post(f"/api/v1/alerts/{alert.id}/resolve", json={"note": ""})
    assert refused.status_code == 400 and "Tuliskan apa yang dilakukan" in refused.json["error"]["message"]
    assert (
        client.post(f"/alerts/{alert.id}", data={"action": "acknowledge", "note": "Tim menuju TPS"}).status_code == 302
    )
    resolved = client.post(f"/api/v1/alerts/{alert.id}/resolve", json={"note": "Kotak diganti, berita acara dibuat"})
    assert resolved.status_code == 200 and resolved.json["state"] == "resolved"
    assert client.post(f"/api/v1/alerts/{alert.id}/acknowledge", json={"note": "x"}).status_code == 409
    world.session.expire_all()
    steps = world.session.scalars(select(AlertAction).where(AlertAction.alert_id == alert.id).order_by(AlertAction.id))
    assert [(s.action, s.note, s.actor_id) for s in steps] == [
        ("acknowledge", "Tim menuju TPS", world.supervisor.id),
        ("resolve", "Kotak diganti, berita acara dibuat", world.supervisor.id),
    ]
    page = client.get("/alerts?state=resolved").text
    assert "Tim menuju TPS" in page and "Kotak diganti" in page
    rows = list(csv.reader(io.StringIO(client.get("/alerts.csv?state=resolved").text)))
    assert rows[1][1:5] == ["Rusak", "selesai", box.sscc, TPS] and rows[1][7] == "Kotak diganti, berita acara dibuat"
    sheet = load_workbook(io.BytesIO(client.get("/alerts.xlsx").data)).active
    assert sheet.cell(row=2, column=4).value == box.sscc


def test_only_supervisors_in_scope_act_on_alerts(client, world):
    _box, alert = damaged(world)
    login(client, world.kpps.username)  # an officer sees the alert but does not resolve it
    assert client.post(f"/api/v1/alerts/{alert.id}/resolve", json={"note": "selesai"}).status_code == 403
    client.post("/logout")
    login(client, world.other_kpps.username)
    assert f'id="alert-{alert.id}"' not in client.get("/alerts").text  # another kecamatan's alert
    assert client.get("/api/v1/alerts").json["alerts"] == []


def test_alerts_come_fifty_to_a_page_newest_first_with_a_link_to_older_ones(client, world):
    fifty_five_alerts(world)
    login(client, world.supervisor.username)
    first = client.get("/alerts").text
    assert first.count('class="card alert-open"') == 50
    older = first.split('id="older" href="')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(older).text
    assert second.count('class="card alert-open"') == 5 and 'id="older"' not in second
    ids = [int(x.split('"')[0]) for x in (first + second).split('id="alert-')[1:]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 55


def test_acting_on_an_older_alert_returns_to_that_page_at_that_alert(client, world):
    fifty_five_alerts(world)
    login(client, world.supervisor.username)
    first = client.get("/alerts?state=open").text
    older = first.split('id="older" href="')[1].split('"')[0].replace("&amp;", "&")
    second = client.get(older).text
    target = int(second.split('id="alert-')[1].split('"')[0])
    action = second.split(f'action="/alerts/{target}?')[1].split('"')[0].replace("&amp;", "&")
    answer = client.post(f"/alerts/{target}?{action}", data={"action": "acknowledge", "note": "dicek"})
    assert answer.status_code == 302
    back = answer.headers["Location"]
    assert back.endswith(f"#alert-{target}") and "state=open" in back and "before=" in back
    page = client.get(back.split("#")[0]).text
    assert "Peringatan diperbarui" in page and f'id="alert-{target}"' not in page  # no longer open
    assert page.count('class="card alert-open"') == 4  # still the page of older ones


def test_unresolved_means_open_or_acknowledged_on_the_page_the_dashboard_and_the_api(client, world):
    _box, first = damaged(world)
    second_box = world.box(contest="DPR")
    world.to_tps(second_box)
    world.scan(world.kpps, "damage", second_box, TPS, note="sobek")
    third_box = world.box(contest="DPD")
    world.to_tps(third_box)
    world.scan(world.kpps, "damage", third_box, TPS, note="basah")
    second, third = world.session.scalars(
        select(Alert).where(Alert.kind == "damaged", Alert.id != first.id).order_by(Alert.id)
    ).all()
    login(client, world.supervisor.username)
    client.post(f"/api/v1/alerts/{second.id}/acknowledge", json={"note": "dicek"})
    client.post(f"/api/v1/alerts/{third.id}/resolve", json={"note": "diganti"})

    api = client.get("/api/v1/alerts?state=unresolved&kind=damaged").json["alerts"]
    assert [(a["id"], a["state"]) for a in api] == [(second.id, "acknowledged"), (first.id, "open")]
    page = client.get("/alerts?state=unresolved&kind=damaged").text
    assert f'id="alert-{first.id}"' in page and f'id="alert-{second.id}"' in page
    assert f'id="alert-{third.id}"' not in page

    dashboard = client.get("/dashboard/31.01").text
    row = dashboard.split('data-kind="damaged"')[1].split("</tr>")[0]
    assert ">2<" in row  # the two not yet resolved, as the list it links to shows
    link = row.split('href="')[1].split('"')[0].replace("&amp;", "&")
    assert "state=unresolved" in link
    listed = client.get(link).text
    assert listed.count('class="card alert-') == 2


def test_the_alerts_api_pages_by_id_filters_by_region_and_refuses_bad_filters(client, world):
    _box, alert = damaged(world)
    login(client, world.supervisor.username)
    assert [a["id"] for a in client.get("/api/v1/alerts?region=31.01.01").json["alerts"]] == [alert.id]
    assert [a["id"] for a in client.get("/api/v1/alerts?region=310101").json["alerts"]] == [alert.id]
    assert client.get("/api/v1/alerts?region=31.01.02").json["alerts"] == []  # another kecamatan
    assert client.get("/api/v1/alerts?region=99.99").status_code == 404
    assert client.get("/api/v1/alerts?region=32").status_code in (403, 404)  # outside the area
    assert client.get(f"/api/v1/alerts?before={alert.id}").json["alerts"] == []
    assert [a["id"] for a in client.get(f"/api/v1/alerts?before={alert.id + 1}").json["alerts"]] == [alert.id]
    bad = client.get("/api/v1/alerts?state=closed")
    assert bad.status_code == 400 and "unresolved" in bad.json["error"]["message"]
    for bad in ("abc", "0", "²", "99999999999999999999"):
        assert client.get(f"/api/v1/alerts?before={bad}").status_code == 400, bad
    assert client.get("/alerts?before=99999999999999999999").status_code == 200  # the page shows the newest
