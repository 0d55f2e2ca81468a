"""The authorization matrix of issue 12: every route of the url_map, every role, objects in and out of scope.

The table (tests/auth/matrix_table.py) classifies every rule of the url_map and says, for each role and
object, what the request must get; test_every_route_is_classified fails until a new route is in it.
The world (tests/auth/matrix_world.py) is built once for this module inside one transaction; each case
runs inside a savepoint of it, rolled back afterwards, and compares every table before and after its
request, so a refused request that wrote anything, raised an alert, or answered with a seal number, a
holder or another person's name fails with the route, the actor, the object and what went wrong.

The counts (routes, roles, objects, requests) are printed by test_counts (`pytest -rP` shows them).
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import orm

from tests.auth.matrix_db import Diff, diff, snapshot
from tests.auth.matrix_table import ROUTES, Case, Req, all_cases, scan_json
from tests.auth.matrix_world import (
    ACTORS,
    NATIONAL_ADMIN,
    OBJECTS,
    ROLES,
    SIDE_VISIBLE,
    SIDES,
    World,
    build_world,
)
from tests.conftest import _TestSession, login
from webapp.extensions import db

CASES = all_cases()
PAGE_REFUSED = {200, 302, 303, 400, 403, 404}  # refused by a page: an error page, or the form shown again
LABEL_KEYS = {"sscc", "destination", "destination_name", "desa", "kecamatan", "contest", "dapil", "set", "why"}
STATS: Counter = Counter()
CPU: Counter = Counter()


@dataclass
class Matrix:
    """The world, its database connection and session, and one logged-in browser per person."""

    app: Flask
    world: World
    connection: object
    session: orm.scoped_session
    clients: dict[str, FlaskClient]

    def client(self, who: str) -> FlaskClient:
        if who == "anonymous":
            return self.app.test_client()
        if who == "guest":  # logs out in the case: a browser of its own
            client = self.app.test_client()
            assert login(client, "mxtamu").status_code == 200
            return client
        return self.clients[who]


@pytest.fixture(scope="module")
def matrix(app):
    """The world, built once for the module in a transaction rolled back at its end."""
    with app.app_context():
        connection = db.engine.connect()
    outer = connection.begin()
    scoped = _TestSession(orm.sessionmaker(bind=connection, join_transaction_mode="create_savepoint"))
    original, db.session = db.session, scoped
    try:
        started = time.process_time()
        with app.app_context():
            world = build_world(scoped, app.config)
        clients = {}
        for key, username in [(a.key, a.username) for a in ACTORS.values()] + [("national", NATIONAL_ADMIN)]:
            client = app.test_client()
            response = login(client, username)
            assert response.status_code == 200 and "/logout" in response.text, (username, response.text[-3000:])
            clients[key] = client
        STATS["world seconds"] = round(time.process_time() - started, 1)
        scoped.close()
        yield Matrix(app, world, connection, scoped, clients)
    finally:
        scoped.close_for_good()
        db.session = original
        outer.rollback()
        connection.close()


@pytest.fixture
def m(matrix):
    """Each case in a savepoint of the world, rolled back after it."""
    savepoint = matrix.connection.begin_nested()
    try:
        yield matrix
    finally:
        matrix.session.close()
        if savepoint.is_active:
            savepoint.rollback()


def url_map_rules(app: Flask) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_is_classified(app):
    """A route the table does not know fails here: classify it (read or write, which objects, which
    requests check it in and out of scope) in tests/auth/matrix_table.py."""
    rules = url_map_rules(app)
    missing = sorted(rules - set(ROUTES))
    stale = sorted(set(ROUTES) - rules)
    assert not missing, "routes the authorization matrix does not classify: " + ", ".join(
        f"{m} {r}" for m, r in missing
    )
    assert not stale, "the matrix classifies routes the app no longer has: " + ", ".join(f"{m} {r}" for m, r in stale)
    for key, route in ROUTES.items():
        cases = [c for c in CASES if (c.method, c.rule) == key]
        assert cases, f"{key}: classified as {route.kind} but no request checks it"
        if route.kind in ("read", "write") and route.names:
            assert {c.expect for c in cases} & {"scope", "scope_list", "wrong_destination", "off_route"}, (
                f"{key}: names {route.names} but no request names one outside the caller's scope"
            )
        wrong_role = sorted(
            {c.actor for c in cases if c.expect == "ok" and c.actor in ACTORS}
            - {a.key for a in ACTORS.values() if a.role in route.roles}
        )
        assert not wrong_role, f"{key}: succeeds for {wrong_role}, whose role README does not allow ({route.roles})"
        if route.kind == "write":
            assert any(c.expect == "ok" for c in cases), f"{key}: no request succeeds, so its refusals prove nothing"


# --- reading an answer -------------------------------------------------------------------------------


def answer_text(response) -> str:
    """The answer as text: spreadsheets unzipped; PDFs and photos are not searched (only their refusals)."""
    kind = response.content_type or ""
    data = response.get_data()
    if "spreadsheetml" in kind:
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            return "\n".join(book.read(name).decode("utf-8", "replace") for name in book.namelist())
    if kind.startswith(("application/pdf", "image/")):
        return ""
    return data.decode("utf-8", "replace")


def snippet(response) -> str:
    text = answer_text(response)
    return " ".join(text.split())[:300]


def own_context(who: str) -> set[str]:
    """What every page shows a person about themselves: their name and their scope."""
    actor = ACTORS.get(who)
    if actor is None:
        return set()
    return {s for s in (actor.username, actor.site, actor.region) if s}


def leaks(text: str, markers: list[tuple[str, str]], req: Req, who: str = "") -> list[str]:
    """Markers found in the answer that the request did not itself name (nor the page's own header)."""
    typed, echoable = req.typed, req.echoable | own_context(who)
    found: dict[str, str] = {}
    for marker, what in markers:
        if marker and marker not in found and marker in text and marker not in typed and marker not in echoable:
            found[marker] = f"{what} {marker!r}"
    return sorted(found.values())


def refused_markers(world: World, case: Case, req: Req) -> list[tuple[str, str]]:
    """What a refusal may never say: anything of other scopes, and of the box it names if that box is out
    of scope, its holder, seals and packets. A JSON refusal names no seal and no other person at all (a page
    may still show its usual lists of what is in scope)."""
    markers = []
    box = req.box
    if box is not None and case.actor not in SIDE_VISIBLE[box.side]:
        if box.holder and box.holder != box.destination:
            markers.append((box.holder, f"holder of box {box.key}"))
        markers += [(seal, f"seal of box {box.key}") for seal in box.seals]
        markers += [(p, f"packet of box {box.key}") for p in box.packets]
    markers += world.markers(case.actor)
    if case.style != "page":
        markers += world.secrets(case.actor)
    return markers


def scan_result(case: Case, response) -> dict:
    payload = response.get_json(silent=True) or {}
    if case.style == "batch":
        results = payload.get("results") or [{}]
        return results[0]
    return payload


def only_kept_refusal(changes: Diff, world: World, req: Req) -> list[str]:
    """A refused scan in scope may keep its receipt and an alert at the actor's own site about that box;
    it writes nothing else."""
    problems = []
    other = changes.tables - {"scan_receipt", "alert"}
    if other or changes.changed or changes.removed:
        problems.append("wrote: " + changes.describe())
    for alert in changes.added.get("alert", []):
        if alert["site_id"] != world.sites.get((req.site or "").upper()) or alert["box_id"] not in (None, req.box.id):
            problems.append(f"raised an alert elsewhere: {alert}")
    return problems


# --- the judge ---------------------------------------------------------------------------------------


def judge(case: Case, req: Req, response, changes: Diff | None, world: World) -> list[str]:
    """Everything wrong with this answer (and what it wrote), in words."""
    status = response.status_code
    text = answer_text(response)
    payload = response.get_json(silent=True)
    if status >= 500:
        return [f"server error {status}: {snippet(response)}"]
    if case.style == "capture":
        return judge_capture(case, req, response, changes, world)
    problems: list[str] = []
    expect = case.expect
    is_get = req.method == "GET"

    if expect == "ok":
        if status not in case.ok_status:
            problems.append(f"expected {case.ok_status}, got {status}: {snippet(response)}")
        if case.style in ("scan", "batch"):
            result = scan_result(case, response)
            if result.get("verdict") != "accepted":
                problems.append(f"scan not accepted: {result.get('reason')} {result.get('details')}")
            events = [e for e in (changes.added.get("custody_event", []) if changes else [])]
            if not any(e["box_id"] == req.box.id for e in events):
                problems.append("no ledger event for the box")
        elif changes is not None:
            missing = [t for t in case.writes if t not in changes.tables]
            if missing:
                problems.append(f"should have written {missing}; wrote: {changes.describe() or 'nothing'}")
            if not case.writes and changes:
                problems.append("a read that wrote: " + changes.describe())
        if case.actor in ACTORS:
            markers = world.secrets(case.actor) if case.leak == "secrets" else world.markers(case.actor)
            problems += [f"shows {leak}" for leak in leaks(text, markers, req, case.actor)]
        return problems

    if expect == "public":
        if status not in case.ok_status:
            problems.append(f"expected {case.ok_status}, got {status}")
        markers = world.secrets(case.actor)
        if req.box is not None:
            if req.box.holder and req.box.holder != req.box.destination:
                markers.append((req.box.holder, f"holder of box {req.box.key}"))
            markers += [(p, f"packet of box {req.box.key}") for p in req.box.packets]
        problems += [f"shows {leak}" for leak in leaks(text, markers, req, case.actor)]
        if changes:
            problems.append("wrote: " + changes.describe())
        return problems

    if expect == "session":
        if status not in case.ok_status:
            problems.append(f"expected {case.ok_status}, got {status}")
        if changes and (changes.tables - {"users"} or changes.added or changes.removed):
            problems.append("wrote: " + changes.describe())
        return problems

    if expect == "scope_list":  # a list asked about a region outside the scope: refused, or nothing in it
        if status not in (200, 403, 404):
            problems.append(f"expected 200 (empty), 403 or 404, got {status}")
        problems += [f"shows {leak}" for leak in leaks(text, world.markers(case.actor), req, case.actor)]
        return problems

    # Every other expectation is a refusal of some kind.
    if expect == "role":
        if case.style in ("scan", "batch"):
            result = scan_result(case, response)
            route_refused = status == 403 and isinstance(payload, dict) and "error" in payload
            scan_refused = result.get("reason") == "forbidden" and status in (
                (200,) if case.style == "batch" else (403, 422)
            )
            if not (route_refused or scan_refused):
                problems.append(
                    f"the role may not: expected forbidden, got {status} {result.get('reason')} {snippet(response)}"
                )
            if changes:
                problems += only_kept_refusal(changes, world, req)
        else:
            if is_get or case.style == "api":
                if status != 403:
                    problems.append(f"role may not: expected 403, got {status}: {snippet(response)}")
                elif case.style == "api" and not (
                    isinstance(payload, dict) and ("error" in payload or payload.get("reason") == "forbidden")
                ):
                    problems.append("403 without the error envelope")
            elif status not in PAGE_REFUSED:
                problems.append(f"role may not: expected a refusal, got {status}")
            if changes:
                problems.append("wrote: " + changes.describe())
        problems += [f"shows {leak}" for leak in leaks(text, world.markers(case.actor), req, case.actor)]
        return problems

    if expect == "refused_any":
        if not 400 <= status < 500:
            problems.append(f"expected a refusal (4xx), got {status}")
        if changes:
            problems.append("wrote: " + changes.describe())
        return problems

    if expect == "off_route":
        result = scan_result(case, response)
        reason = result.get("reason")
        ok = (reason == "forbidden" and status in (403, 200)) or (
            reason == "wrong_destination" and status in (422, 200)
        )
        if case.style == "scan" and reason == "forbidden" and status != 403:
            ok = False
        if not ok:
            problems.append(f"expected forbidden (403) or wrong_destination (422), got {status} {reason}")
        if changes:
            problems += only_kept_refusal(changes, world, req)
        problems += [f"shows {leak}" for leak in leaks(text, world.markers(case.actor), req, case.actor)]
        return problems

    if expect == "wrong_destination":
        box = req.box
        result = scan_result(case, response)
        wanted = 200 if case.style == "batch" else 422
        if status != wanted or result.get("reason") != "wrong_destination":
            problems.append(
                f"expected {wanted} wrong_destination (DESIGN.md invariant 5), got {status} {result.get('reason')} "
                f"{result.get('details')}"
            )
        else:
            details = result.get("details") or {}
            extra = set(details) - LABEL_KEYS
            if extra:
                problems.append(f"details beyond the label: {sorted(extra)} ({details})")
            for key, value in (
                ("destination", box.destination),
                ("destination_name", box.destination_name),
                ("desa", box.desa),
                ("kecamatan", box.kecamatan),
                ("contest", box.contest),
                ("dapil", box.dapil),
            ):
                if value and details.get(key) != value:
                    problems.append(f"does not say where the box belongs: {key} {details.get(key)!r}, not {value!r}")
        problems += [f"shows {leak}" for leak in leaks(text, refused_markers(world, case, req), req, case.actor)]
        if changes is not None:
            added = changes.added
            if changes.changed or changes.removed or set(added) - {"scan_receipt", "alert"}:
                problems.append("wrote more than the receipt and one alert: " + changes.describe())
            alerts = added.get("alert", [])
            if len(alerts) != 1:
                problems.append(f"expected one alert at the receiving site, got {len(alerts)}")
            for alert in alerts:
                if alert["kind"] != "wrong_destination" or alert["site_id"] != world.sites[req.site]:
                    problems.append(f"the alert must be a wrong_destination at {req.site}: {alert}")
                if alert["box_id"] is not None:
                    problems.append(
                        f"the alert is attached to box {box.key} (box_id {alert['box_id']}): the box's own region "
                        "would see an alert raised by an outsider; it must be NULL"
                    )
                found = leaks(json.dumps(alert["details"], default=str), refused_markers(world, case, req), req)
                problems += [f"the alert keeps {leak}" for leak in found]
        return problems

    if expect == "misdelivered_packet":
        # A packet of another area on one's own table, for one's own box: refused as not this box's (wrong TPS
        # or dapil) with what the packet's own label says, and kept as an alert on that box at one's own site.
        payload = payload if isinstance(payload, dict) else {}
        if case.style == "api" and (status != 422 or payload.get("reason") not in ("wrong_tps", "wrong_dapil")):
            problems.append(f"expected 422 wrong_tps or wrong_dapil, got {status} {payload.get('reason')}")
        elif case.style == "page" and status != 200:
            problems.append(f"expected the page to show the refusal, got {status}")
        if changes is not None:
            if changes.changed or changes.removed or set(changes.added) - {"alert"}:
                problems.append("wrote more than one alert: " + changes.describe())
            alerts = changes.added.get("alert", [])
            if len(alerts) != 1 or any(
                a["site_id"] != world.sites[req.site.upper()] or a["box_id"] != req.box.id for a in alerts
            ):
                problems.append(f"expected one alert on the actor's own box at its own site, got {alerts}")
        label = [
            (m, what)
            for m, what in refused_markers(world, case, req)
            if not what.startswith(("site of", "kecamatan of"))
        ]
        problems += [f"shows {leak}" for leak in leaks(text, label, req, case.actor)]
        return problems

    assert expect == "scope", expect
    # Outside the scope: refused as forbidden, nothing written, no alert, nothing told.
    if is_get:
        if status not in (403, 404):
            problems.append(f"object out of scope: expected 403 or 404, got {status}")
        elif case.style == "api" and not (isinstance(payload, dict) and "error" in payload):
            problems.append(f"{status} without the error envelope")
    elif case.style == "scan":
        reason = (payload or {}).get("reason") if isinstance(payload, dict) else None
        if status != 403 or reason != "forbidden":
            details = (payload or {}).get("details") if isinstance(payload, dict) else None
            problems.append(f"expected 403 forbidden, got {status} {reason} {details}")
    elif case.style == "batch":
        result = scan_result(case, response)
        if status != 200 or result.get("reason") != "forbidden":
            problems.append(
                f"expected the batch's result forbidden, got {status} {result.get('reason')} {result.get('details')}"
            )
    elif case.style == "api":
        allowed = (403, 404) if case.url_object else (403,)
        envelope = isinstance(payload, dict) and ("error" in payload or payload.get("reason") == "forbidden")
        if status not in allowed or not envelope:
            detail = (payload or {}).get("reason") or (payload or {}).get("error") if isinstance(payload, dict) else ""
            problems.append(f"expected {' or '.join(map(str, allowed))} forbidden, got {status} {detail}")
    elif status not in PAGE_REFUSED:
        problems.append(f"expected the page to refuse, got {status}")
    if changes:
        problems.append("wrote: " + changes.describe())
    problems += [f"shows {leak}" for leak in leaks(text, refused_markers(world, case, req), req, case.actor)]
    return problems


def judge_capture(case: Case, req: Req, response, changes: Diff | None, world: World) -> list[str]:
    """An EPCIS capture of one event: recorded as the scan (ok), or refused as the scan would be, inside the
    job (its `errors`) or by the route for a role that may not write; a refusal writes nothing but the job
    (and, for a role's refusal at one's own site, the receipt and alert a phone's keeps)."""
    status, payload = response.status_code, response.get_json(silent=True) or {}
    results = payload.get("errors") or [{}]
    counts = payload.get("counts") or {}
    problems = []
    if case.expect == "ok":
        if status != 202 or counts.get("accepted") != 1:
            problems.append(f"expected 202, the event recorded; got {status} {counts} {results[0].get('reason')}")
        if changes is not None and not any(e["box_id"] == req.box.id for e in changes.added.get("custody_event", [])):
            problems.append("no ledger event for the box")
        markers = world.markers(case.actor)
    else:
        route_refused = status == 403 and "error" in payload
        job_refused = status == 202 and counts.get("accepted") == 0 and results[0].get("reason") == "forbidden"
        if not (route_refused or job_refused):
            problems.append(f"expected forbidden, got {status} {counts} {results[0].get('reason')} {snippet(response)}")
        if changes is not None:
            kept = {"epcis_capture"} | ({"scan_receipt", "alert"} if case.expect == "role" else set())
            if changes.tables - kept or set(changes.changed) - {"epcis_capture"} or changes.removed:
                problems.append("wrote: " + changes.describe())
            for alert in changes.added.get("alert", []):
                if alert["site_id"] != world.sites.get((req.site or "").upper()):
                    problems.append(f"raised an alert elsewhere: {alert}")
        markers = refused_markers(world, case, req)
    return problems + [f"shows {leak}" for leak in leaks(answer_text(response), markers, req, case.actor)]


def send(client: FlaskClient, req: Req):
    options = {}
    if req.json is not None:
        options["json"] = req.json
    if req.data is not None:
        options["data"] = req.data
    if req.body is not None:
        options["data"] = req.body
        options["content_type"] = req.content_type
    return client.open(req.path, method=req.method, **options)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_matrix(m, case):
    started = time.process_time()
    req = case.make(m.world)
    client = m.client(case.actor)
    saved = {name: m.app.config.get(name) for name in req.config}
    before = snapshot(m.session) if req.method != "GET" else None
    m.app.config.update(req.config)
    try:
        response = send(client, req)
    finally:
        m.app.config.update(saved)
    changes = diff(m.session, before) if before is not None else None
    STATS["requests"] += 1
    try:
        problems = judge(case, req, response, changes, m.world)
    finally:
        response.close()
    CPU[f"{case.method} {case.rule}"] += time.process_time() - started
    if problems:  # no traceback: the message says it all, and 1,800 cases must stay quick
        pytest.fail(f"{case.id} [{case.expect}]:\n  - " + "\n  - ".join(problems), pytrace=False)


# --- beyond one request ------------------------------------------------------------------------------


@contextmanager
def isolated(m: Matrix):
    """A savepoint within the case's own: what happens inside is undone at the end."""
    savepoint = m.connection.begin_nested()
    try:
        yield
    finally:
        m.session.close()
        savepoint.rollback()


@pytest.mark.parametrize("second", ["box out of scope", "site out of scope"])
def test_a_batch_keeps_the_scans_in_scope_and_refuses_the_rest(m, second):
    """One batch, a scan in scope and a scan out (its box, or its site: then the batch spans two sites):
    the first is recorded, the second is refused as forbidden, writes nothing (no receipt, no alert) and
    does not answer with the box's recorded seals."""
    problems = []
    for key in ("officer", "courier", "warehouse", "printer"):
        actor = ACTORS[key]
        inside, box_in, _ = scan_json(actor, "inspect", "in", m.world)
        variant = "out+seals" if second == "box out of scope" else "site_out"
        outside, box_out, _ = scan_json(actor, "inspect", variant, m.world)
        outside["device_seq"] = 2
        with isolated(m):
            before = snapshot(m.session)
            response = m.clients[key].post("/api/v1/scans/batch", json={"scans": [inside, outside]})
            changes = diff(m.session, before)
            STATS["requests"] += 1
        results = response.get_json()["results"]
        said = f"{key}: inspect {box_in.key} and {box_out.key} in one batch:"
        if [r["verdict"] for r in results] != ["accepted", "refused"] or results[1]["reason"] != "forbidden":
            problems.append(f"{said} {[(r['verdict'], r['reason'], r['details']) for r in results]}")
        if [e["box_id"] for e in changes.added.get("custody_event", [])] != [box_in.id]:  # once, the first
            problems.append(f"{said} ledger: {changes.describe()}")
        if set(changes.tables) - {"custody_event", "scan_receipt", "box", "readiness_count", "readiness_rollup"}:
            problems.append(f"{said} wrote: {changes.describe()}")
        if [r["client_id"] for r in changes.added.get("scan_receipt", [])] != [inside["id"]]:
            problems.append(f"{said} receipts: {changes.describe()}")
        shown = [seal for seal in box_out.seals if seal in response.get_data(as_text=True)]
        if shown and second == "box out of scope":
            problems.append(f"{said} shows the recorded seals {shown}")
    assert not problems, "\n".join(problems)


def test_routes_across_scopes_that_the_rule_must_keep(m):
    """The rule must not break the route itself. Receivers on the box's route stay allowed though they lie
    above the sender's scope (a PPK officer returns a box to the kab/kota warehouse), and so do couriers
    whose area meets the sender's (the kecamatan's courier, a nationwide carrier; the kab/kota warehouse
    handing a kecamatan's boxes to that kecamatan's courier)."""
    problems = []
    for key, box, to in (
        ("officer", "A.held_ppk", "KPU-3101"),
        ("officer", "A.held_ppk", "courier:mxcourier"),
        ("officer", "A.held_ppk", "courier:mxekspedisi"),
        ("warehouse", "B.held_wh", "courier:mxkurirb"),
    ):
        body, _, _ = scan_json(ACTORS[key], "dispatch", "in", m.world)
        body |= {"code": m.world.boxes[box].sscc, "to": to}
        with isolated(m):
            response = m.clients[key].post("/api/v1/scans", json=body)
            STATS["requests"] += 1
        if response.status_code != 201:
            problems.append(f"{key} dispatching {box} to {to}: {response.status_code} {response.get_json()}")
    assert not problems, "\n".join(problems)


def test_counts(matrix):
    """Routes classified x roles x objects: the size of the matrix (printed; `pytest -rP` shows it)."""
    routes = len(ROUTES)
    actors = {c.actor for c in CASES}
    objects = {o for c in CASES for o in c.objects} | set(OBJECTS)
    by_expect = Counter(c.expect for c in CASES)
    by_kind = Counter(route.kind for route in ROUTES.values())
    lines = [
        f"routes classified: {routes} ({', '.join(f'{n} {k}' for k, n in sorted(by_kind.items()))})",
        f"roles: {len(ROLES)} ({', '.join(ROLES)}), as {len([a for a in actors if a in ACTORS])} scoped actors "
        f"(a printer's staff is the second warehouse scope) plus anonymous, a guest and a national admin",
        f"objects named: {len(objects)} across sides {', '.join(SIDES)}, W, P and Q",
        f"requests checked: {len(CASES)} cases ({', '.join(f'{n} {k}' for k, n in sorted(by_expect.items()))})"
        + (f"; {STATS['requests']} requests sent in this run" if STATS["requests"] else ""),
        f"world built in {STATS['world seconds']} s of CPU; the cases took {sum(CPU.values()):.1f} s of CPU",
    ]
    print("\nAuthorization matrix:\n  " + "\n  ".join(lines))
    for rule, seconds in CPU.most_common(25):
        print(f"  {seconds:6.2f} s CPU  {rule}")
    assert routes >= 78 and len(CASES) >= 1000 and len(ROLES) == 6
