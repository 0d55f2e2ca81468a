"""Observers download the ledger and check it offline; readiness and handovers download as CSV and XLSX."""

from __future__ import annotations

import csv
import io
import json
import uuid

from openpyxl import load_workbook

from tests.conftest import login
from tests.custody.conftest import KEY, OTHER_TPS
from webapp.custody.checkpoints import make_checkpoint
from webapp.custody.handovers import start_handover


def test_an_observer_downloads_the_ledger_and_verifies_it_offline(client, runner, ledger, tmp_path):
    world = ledger
    login(client, world.observer.username)
    whole = client.get("/api/v1/export/ledger?region=31.01")
    assert whole.status_code == 200 and "attachment" in whole.headers["Content-Disposition"]
    path = tmp_path / "ledger.jsonl"
    path.write_bytes(whole.data)
    result = runner.invoke(args=["ledger", "verify", "--from-export", str(path)])
    assert result.exit_code == 1 and result.output.startswith("REFUSED: no public key given")
    result = runner.invoke(args=["ledger", "verify", "--from-export", str(path), "--trust-file-key"])
    assert result.exit_code == 0, result.output
    assert "20 events" in result.output and "1 signed checkpoints" in result.output
    assert "Warning: the signatures were checked with the public key written in the file" in result.output
    # With the key KPU publishes, as the dashboard's command shows it: no warning.
    key = client.get("/api/v1/ledger/checkpoints").json["public_key"]
    assert f"--public-key {key}" in client.get("/dashboard/31.01").text
    result = runner.invoke(args=["ledger", "verify", "--from-export", str(path), "--public-key", key])
    assert result.exit_code == 0 and "Warning" not in result.output


def test_a_region_download_carries_its_events_with_their_proofs_and_verifies(client, runner, ledger, tmp_path):
    world = ledger
    box = world.box(tps=OTHER_TPS)  # in kecamatan 31.01.02; the ledger's 20 events are in 31.01.01
    world.scan(world.gudang, "commission", box, "KPU-3101")
    world.scan(world.gudang, "seal", box, "KPU-3101", seals=["S-1"])  # sealed before it leaves
    world.scan(world.gudang, "dispatch", box, "KPU-3101", to="PPK-310102")
    make_checkpoint(world.session, KEY)
    world.session.commit()
    login(client, world.observer.username)
    text = client.get("/api/v1/export/ledger?region=31.01.02").get_data(as_text=True)
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["type"] for line in lines] == [
        "header",
        *["event", "inclusion"] * 3,
        "head",
        "checkpoint",
        "end",
    ]  # nothing of the other kecamatan's 20 events: no names, places, seals, or hashes
    assert {line["box"] for line in lines if line["type"] == "event"} == {box.sscc}
    assert "KPPS" not in text and world.kpps.username not in text
    assert [line["tree_size"] for line in lines if line["type"] == "inclusion"] == [23] * 3
    path = tmp_path / "region.jsonl"
    path.write_text(text)
    verify = ["ledger", "verify", "--from-export", str(path), "--public-key", KEY.public_text]
    result = runner.invoke(args=verify)
    assert result.exit_code == 0, result.output
    assert "OK: 3 events in 1 box chains and 1 signed checkpoints verify" in result.output
    assert "Region 31.01.02: 3 events proven in that checkpoint one by one" in result.output


def test_the_ledger_download_is_for_observers_supervisors_and_admins_in_their_area(client, world):
    login(client, world.kpps.username)
    assert client.get("/api/v1/export/ledger").status_code == 403
    client.post("/logout")
    login(client, world.observer.username)
    assert client.get("/api/v1/export/ledger?region=31.75").status_code == 403
    assert client.get("/api/v1/export/ledger?region=99.99").status_code == 404
    assert client.get("/api/v1/export/ledger").status_code == 200  # the observer's own area by default


def test_readiness_downloads_as_csv_and_xlsx_with_the_dashboards_figures(client, world):
    world.to_tps(world.box())
    login(client, world.supervisor.username)
    body = client.get("/api/v1/readiness?region=31.01").json
    response = client.get("/dashboard/31.01.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["Kode", "Nama", "Kotak"]
    assert [r[0] for r in rows[1:]] == ["31.01"] + [p["code"] for p in body["parts"]]
    tps_column = rows[0].index("Di TPS")
    assert int(rows[1][tps_column]) == body["total"]["stages"]["tps"] == 1
    assert int(rows[1][2]) == body["total"]["boxes"]
    book = load_workbook(io.BytesIO(client.get("/dashboard/31.01.xlsx").data))
    sheet = book.active
    assert [c.value for c in sheet[1]] == rows[0]
    assert sheet.cell(row=2, column=tps_column + 1).value == 1
    assert client.get("/dashboard/31.75.csv").status_code == 403


def test_handovers_are_listed_and_downloaded_in_scope(client, world):
    start_handover(world.session, actor=world.gudang, token=str(uuid.uuid4()), site_code="KPU-3101", to="PPK-310101")
    world.session.commit()
    login(client, world.supervisor.username)
    page = client.get("/handovers")
    assert page.status_code == 200 and page.text.count('<li class="card">') == 1
    rows = list(csv.reader(io.StringIO(client.get("/handovers.csv").get_data(as_text=True))))
    assert rows[0][0] == "Nomor BAST" and len(rows) == 2 and rows[1][2] == "KPU-3101" and rows[1][3] == "PPK-310101"
    book = load_workbook(io.BytesIO(client.get("/handovers.xlsx").data))
    assert book.active.max_row == 2
    client.post("/logout")
    login(client, world.other_kpps.username)  # another kecamatan's TPS: not theirs
    assert len(list(csv.reader(io.StringIO(client.get("/handovers.csv").get_data(as_text=True))))) == 1
