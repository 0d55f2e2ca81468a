"""What a handover lists is what the ledger and the receipts say, refusals at the door included, and the
parties are filled in from a person's role and scope, couriers as well as sites (issue 14)."""

from __future__ import annotations

import uuid

from tests.conftest import login
from tests.custody.conftest import OTHER_TPS
from tests.custody.test_api import payload

PPK = "PPK-310101"
PPS = "PPS-3101011001"


def open_handover(client, world, actor, to, site=None) -> str:
    token = str(uuid.uuid4())
    login(client, actor.username)
    body = {"token": token, "to": to, **({"site": site} if site else {})}
    response = client.post("/api/v1/handovers", json=body)
    assert response.status_code == 201, response.json
    client.post("/logout")
    return token


def sealed_and_sent(world, box, token, seals=("S-1", "S-2")) -> None:
    world.scan(world.gudang, "commission", box, "KPU-3101")
    assert world.scan(world.gudang, "seal", box, "KPU-3101", seals=list(seals)).verdict == "accepted"
    outcome = world.scan(world.gudang, "dispatch", box, "KPU-3101", to=PPK, handover=token)
    assert outcome.verdict == "accepted", outcome


def test_a_box_refused_at_the_door_is_listed_as_refused_and_counted_apart(client, world):
    token = open_handover(client, world, world.gudang, PPK, site="KPU-3101")
    box, stray = world.box(), world.box(tps=OTHER_TPS)
    sealed_and_sent(world, box, token)
    assert world.scan(world.ppk, "receive", box, PPK, handover=token, seals=["S-1", "S-2"]).verdict == "accepted"
    refused = world.scan(world.ppk, "receive", stray, PPK, handover=token)
    assert (refused.verdict, refused.reason) == ("refused", "wrong_destination")

    login(client, world.ppk.username)
    body = client.get(f"/api/v1/handovers/{token}").json
    assert [(i["sscc"], i["outcome"]) for i in body["items"]] == [(box.sscc, "received"), (stray.sscc, "refused")]
    assert body["counts"] == {"received": 1, "missing": 0, "unexpected": 0, "refused": 1}
    refusal = body["items"][1]
    assert refusal["reason"] == "wrong_destination" and "JANGAN DITERIMA" in refusal["message"]


def test_a_wrong_seal_is_refused_until_a_witness_signs_then_received_with_the_witness(client, world):
    token = open_handover(client, world, world.gudang, PPK, site="KPU-3101")
    box = world.box()
    sealed_and_sent(world, box, token)
    first = world.scan(world.ppk, "receive", box, PPK, handover=token, seals=["S-1", "X-9"])
    assert (first.verdict, first.reason) == ("refused", "seal_mismatch")
    login(client, world.ppk.username)
    body = client.get(f"/api/v1/handovers/{token}").json
    assert [(i["outcome"], i["reason"]) for i in body["items"]] == [("missing", None)]

    second = world.scan(world.ppk, "receive", box, PPK, handover=token, seals=["S-1", "X-9"], witness="Ahmad Panwas")
    assert second.verdict == "accepted" and second.warnings == ["seal_mismatch"]
    body = client.get(f"/api/v1/handovers/{token}").json
    [item] = body["items"]
    assert (item["outcome"], item["witness"], item["seals"]) == ("received", "Ahmad Panwas", ["S-1", "X-9"])
    assert body["counts"]["refused"] == 0  # the refusal was made good at the same handover


def test_a_site_worker_is_offered_the_sites_beside_theirs_and_the_couriers_serving_it(client, world):
    login(client, world.gudang.username)
    body = client.get("/api/v1/handovers/parties").json
    assert body["from"]["code"] == "KPU-3101"
    offered = {choice["value"]: choice["kind"] for choice in body["to"]}
    assert offered[PPK] == "site" and offered[f"courier:{world.kurir.username}"] == "courier"
    assert "PPK-310201" not in offered  # not the warehouse's to give to


def test_a_courier_hands_over_where_they_stand_without_typing_a_site(client, world):
    carried = world.box(contest="DPR")
    steps = [
        (world.gudang, "commission", "KPU-3101", {}),
        (world.gudang, "seal", "KPU-3101", {"seals": ["S-7"]}),
        (world.gudang, "dispatch", "KPU-3101", {"to": PPK}),
        (world.ppk, "receive", PPK, {"seals": ["S-7"]}),
        (world.ppk, "dispatch", PPK, {"to": f"courier:{world.kurir.username}"}),
        (world.kurir, "receive", PPK, {}),
    ]
    for actor, action, site, extra in steps:
        assert world.scan(actor, action, carried, site, **extra).verdict == "accepted", action

    login(client, world.kurir.username)
    parties = client.get("/api/v1/handovers/parties").json
    assert parties["from"]["kind"] == "courier" and world.kurir.username in parties["from"]["text"]
    assert [choice["value"] for choice in parties["to"]] == [PPS]  # the next stop of the box carried

    token = str(uuid.uuid4())
    response = client.post("/api/v1/handovers", json={"token": token, "to": PPS})
    assert response.status_code == 201, response.json
    assert "kurir" in response.json["sender"]["text"] and response.json["receiver"]["site"] == PPS
    client.post("/logout")
    assert world.scan(world.kurir, "dispatch", carried, PPS, to=PPS, handover=token).verdict == "accepted"
    assert world.scan(world.pps, "receive", carried, PPS, handover=token, seals=["S-7"]).verdict == "accepted"
    login(client, world.pps.username)
    body = client.get(f"/api/v1/handovers/{token}").json
    assert [(i["sscc"], i["outcome"]) for i in body["items"]] == [(carried.sscc, "received")]


def test_a_courier_cannot_hand_over_outside_their_area(client, world):
    login(client, world.kurir.username)
    response = client.post("/api/v1/handovers", json={"token": str(uuid.uuid4()), "to": "PPK-317501"})
    assert response.status_code in (400, 403)
    assert response.json["error"]["code"] in ("forbidden", "invalid_request")


def test_the_handover_refusals_speak_indonesian(client, world):
    login(client, world.ppk.username)
    response = client.get(f"/api/v1/handovers/{uuid.uuid4()}")
    assert response.status_code == 404 and "serah terima" in response.json["error"]["message"].lower()


def test_a_box_not_on_the_sender_s_list_is_received_with_a_warning_the_bast_repeats(client, world, openapi):
    token = open_handover(client, world, world.gudang, PPK, site="KPU-3101")
    listed, other = world.box(), world.box(contest="DPD")
    sealed_and_sent(world, listed, token)
    sealed_and_sent(world, other, str(uuid.uuid4()))  # sent to the PPK too, under another handover
    on_list = world.scan(world.ppk, "receive", listed, PPK, handover=token, seals=["S-1", "S-2"])
    assert (on_list.verdict, on_list.warnings) == ("accepted", [])

    login(client, world.ppk.username)  # the receiver's phone, as it sends the scan
    body = payload(other.sscc, "receive", PPK, handover=token, seals=["S-1", "S-2"])
    answer = client.post("/api/v1/scans", json=body)
    assert answer.status_code == 201 and answer.json["verdict"] == "accepted", answer.json
    openapi("ScanResult", answer.json)
    note = "tidak ada di daftar pengirim serah terima ini (BAST mencatatnya sebagai tidak diharapkan)"
    assert answer.json["warnings"] == [{"code": "not_on_handover", "message": note}]
    assert answer.json["message"] == f"Diterima, dengan peringatan: {note}."

    handover = client.get(f"/api/v1/handovers/{token}").json
    assert [(i["sscc"], i["outcome"]) for i in handover["items"]] == [
        (listed.sscc, "received"),
        (other.sscc, "unexpected"),
    ]
    assert handover["counts"]["unexpected"] == 1


def test_an_unknown_or_closed_handover_warns_nothing_since_no_bast_will_list_the_box(client, world):
    from sqlalchemy import select

    from webapp.custody.models import Handover

    token = open_handover(client, world, world.gudang, PPK, site="KPU-3101")
    unknown, closed = world.box(), world.box(contest="DPD")
    for box in (unknown, closed):
        sealed_and_sent(world, box, str(uuid.uuid4()))
    stray = world.scan(world.ppk, "receive", unknown, PPK, handover=str(uuid.uuid4()), seals=["S-1", "S-2"])
    assert (stray.verdict, stray.warnings) == ("accepted", [])
    world.session.scalar(select(Handover).where(Handover.token == token)).status = "closed"
    world.session.commit()
    late = world.scan(world.ppk, "receive", closed, PPK, handover=token, seals=["S-1", "S-2"])
    assert (late.verdict, late.warnings) == ("accepted", [])  # its BAST is frozen: it lists nothing more
