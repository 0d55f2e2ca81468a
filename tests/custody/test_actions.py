"""The actions table is the one place an action lives: a new one is a rule function and one line, and
everything else (the pipeline, roles, the ledger, verification, EPCIS, names on screen) follows from it."""

from __future__ import annotations

import json

from tests.custody.conftest import make_scan
from webapp.api.schemas import SEALING, TO_RECEIVER, Action
from webapp.auth.models import Role
from webapp.boxes.models import BoxStatus
from webapp.core.names import event_kind_label
from webapp.custody import actions
from webapp.custody.actions import ACTIONS, EventKind, Scan, accept, not_held, refuse
from webapp.custody.pipeline import record_scans
from webapp.custody.verification import verify_box
from webapp.exports.epcis import epcis_event


def weigh(scan: Scan):
    """An action a later issue might add: the box weighed where it is held; refused if it is not here."""
    if scan.box.holder_site_id != scan.site.id:
        return not_held(scan)
    if not (scan.input.note or "").startswith("kg "):
        return refuse("incomplete", why="the weight goes in the note: kg N")
    return accept(scan)


def add_weigh(monkeypatch):
    """Adding an action: its rule (above) and this one line of the table."""
    monkeypatch.setitem(
        ACTIONS,
        "weigh",
        actions.Action("weigh", frozenset({Role.WAREHOUSE}), weigh, ("inspecting", "in_progress"), "Weighed"),
    )


def test_a_new_action_is_one_rule_and_one_line(world, monkeypatch):
    add_weigh(monkeypatch)
    box = world.box()
    site = "KPU-3101"
    assert world.scan(world.gudang, "commission", box, site).verdict == "accepted"
    refused = record_scans(world.session, actor=world.gudang, scans=[make_scan(box.sscc, "weigh", site)])[0]
    assert (refused.verdict, refused.reason) == ("refused", "incomplete")
    weighed = record_scans(
        world.session, actor=world.gudang, scans=[make_scan(box.sscc, "weigh", site, note="kg 12.5")]
    )[0]
    assert weighed.verdict == "accepted" and weighed.event["kind"] == "weigh"
    assert verify_box(world.session, world.session.get(type(box), box.id))  # hashed onto the chain like any other
    not_theirs = record_scans(world.session, actor=world.ppk, scans=[make_scan(box.sscc, "weigh", "PPK-310101")])[0]
    assert (not_theirs.verdict, not_theirs.reason) == ("refused", "forbidden")  # roles from the same line
    assert event_kind_label("weigh") == "Weighed"
    at = weighed_at(world)
    row = {"kind": "weigh", "hash": "0" * 64, "scanned_at": at, "recorded_at": at, "from": None, "to": None,
           "box": box.sscc, "site": site, "packet": None}  # fmt: skip
    mapped = epcis_event(row, "https://jejak.example")
    assert (mapped["bizStep"], mapped["disposition"], mapped["action"]) == ("inspecting", "in_progress", "OBSERVE")
    json.dumps(mapped)


def weighed_at(world):
    from datetime import UTC, datetime

    return datetime(2026, 4, 1, tzinfo=UTC)


def test_everything_that_names_actions_reads_the_table():
    assert set(Action.__args__) == {str(kind) for kind in ACTIONS}  # the API's accepted actions
    assert set(SEALING) == {k for k, a in ACTIONS.items() if a.seals} == {"seal", "reseal"}
    assert set(TO_RECEIVER) == {"dispatch"}
    assert set(EventKind) == set(ACTIONS)
    for kind, action in ACTIONS.items():
        assert action.kind == kind and action.roles and callable(action.rule)
        assert event_kind_label(kind) == str(action.label)


def test_the_dispatcher_is_the_table(world, monkeypatch):
    """Changing a rule in the table changes what the pipeline does: there is no other path."""
    box = world.box()
    assert world.scan(world.gudang, "commission", box, "KPU-3101").verdict == "accepted"
    monkeypatch.setitem(ACTIONS, EventKind.INSPECT, ACTIONS[EventKind.INSPECT].__class__(
        EventKind.INSPECT, ACTIONS[EventKind.INSPECT].roles, lambda scan: refuse("voided"), ("inspecting", "in_progress"),
        "Inspected",
    ))  # fmt: skip
    result = record_scans(world.session, actor=world.gudang, scans=[make_scan(box.sscc, "inspect", "KPU-3101")])[0]
    assert (result.verdict, result.reason) == ("refused", "voided")
    assert world.session.get(type(box), box.id).status == BoxStatus.COMMISSIONED
