"""The phone's offline box list as a delta (GET /api/v1/sites/CODE/offline?since=CURSOR): the whole list
once, then only what changed, a few hundred bytes when nothing did; garbage refused, odd cursors answered
with the whole list."""

from __future__ import annotations

import time

import pytest

from tests.conftest import IS_POSTGRES, login
from tests.custody.conftest import TPS, openapi  # noqa: F401  (openapi: a fixture)

URL = "/api/v1/sites/KPU-3101/offline"


def rows(answer) -> dict[str, dict]:
    return {row[0]: dict(zip(answer["fields"], row, strict=True)) for row in answer["boxes"]}


def test_the_whole_list_then_only_what_a_scan_changed(client, world, openapi):  # noqa: F811
    box, other = world.box(), world.box(contest="DPR")
    login(client, world.gudang.username)
    whole = client.get(URL)
    assert whole.status_code == 200 and whole.json["full"] is True and whole.json["since"] is None
    openapi("Offline", whole.json)
    listed = rows(whole.json)
    assert whole.json["count"] == len(listed) > 2 and listed[box.sscc]["status"] == "planned"
    assert world.scan(world.gudang, "commission", box, "KPU-3101").verdict == "accepted"
    delta = client.get(URL, query_string={"since": whole.json["cursor"]})
    assert delta.status_code == 200 and delta.json["full"] is False and delta.json["since"] == whole.json["cursor"]
    openapi("Offline", delta.json)
    changed = rows(delta.json)
    assert changed[box.sscc]["status"] == "commissioned" and changed[box.sscc]["held_at"] == "KPU-3101"
    assert delta.json["count"] == whole.json["count"] and delta.json["gone"] == []
    assert TPS in delta.json["destinations"]  # what a refusal must name travels with the box
    if not IS_POSTGRES:  # on PostgreSQL the test's one transaction stamps every box it touched alike
        assert other.sscc not in changed and len(changed) == 1


@pytest.mark.skipif(IS_POSTGRES, reason="the test's own transaction is never behind a reader's snapshot")
def test_a_refresh_with_no_change_is_a_few_hundred_bytes(client, world):
    login(client, world.gudang.username)
    whole = client.get(URL)
    again = client.get(URL, query_string={"since": whole.json["cursor"]})
    assert again.status_code == 200 and again.json["boxes"] == [] and again.json["gone"] == []
    assert again.json["count"] == whole.json["count"]
    assert len(again.data) < 400, again.data
    assert len(whole.data) > 20 * len(again.data)


def test_a_voided_box_is_named_gone(client, world):
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101")
    login(client, world.gudang.username)
    whole = client.get(URL)
    assert box.sscc in rows(whole.json)
    login(client, world.supervisor.username)
    assert world.scan(world.supervisor, "void", box, "KPU-3101", note="salah cetak").verdict == "accepted"
    login(client, world.gudang.username)
    delta = client.get(URL, query_string={"since": whole.json["cursor"]})
    assert box.sscc in delta.json["gone"] and box.sscc not in rows(delta.json)
    assert delta.json["count"] == whole.json["count"] - 1


@pytest.mark.parametrize("since", ["", "abc", "12", "1.2.3", "-1.5", "9" * 19 + ".1", "1e3.5", "\u0661.\u0661"])
def test_a_since_that_is_no_cursor_is_refused(client, world, since):
    login(client, world.gudang.username)
    answer = client.get(URL, query_string={"since": since})
    assert answer.status_code == 400 and "since" in answer.json["error"]["message"]


def test_a_cursor_from_the_future_or_too_old_gets_the_whole_list(client, world):
    login(client, world.gudang.username)
    whole = client.get(URL).json
    stamp, _ = whole["cursor"].split(".")
    now = int(time.time())
    for since, why in [
        (f"{int(stamp) + 10**12}.{now}", "future"),
        (f"{stamp}.{now + 86_400}", "future"),
        (f"{stamp}.{now - 8 * 86_400}", "too_old"),
    ]:
        answer = client.get(URL, query_string={"since": since}).json
        assert answer["full"] is True and answer["full_because"] == why and answer["count"] == len(answer["boxes"])
        assert rows(answer) == rows(whole)


def test_a_delta_stays_inside_the_callers_area(client, world):
    login(client, world.other_kpps.username)
    assert client.get(URL).status_code == 403
    assert client.get(URL, query_string={"since": "1.1"}).status_code == 403
    assert client.get(URL, query_string={"since": "garbage"}).status_code == 403  # the scope is checked first
