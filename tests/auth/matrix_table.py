"""The authorization matrix's table: every rule of the url_map, what it is (public, session, read, list or
write), which objects its parameters and body name, and the requests that check it, in scope and out.

A route added to the app and not to ROUTES fails tests/auth/test_matrix.py::test_every_route_is_classified.

Each case is symbolic (an actor, an object, a variant) and is turned into a request at run time, when
the world's SSCCs, ids and tokens exist. Its expectation is decided here, from the rule of issue 12:

- ok: the role may, and every object is in scope: the request succeeds (and writes what it should);
- role: the role may not (README's roles): refused (403), writes nothing; a scan refused at one's own site
  about a box in scope may keep its receipt and an alert at that site;
- scope: something named is outside the actor's scope: reads answer 403 or 404, writes are refused as
  `forbidden` (API 403, a scan's body `reason: forbidden`, a batch's result `forbidden`; 404 where the URL
  names an object the actor may not even see; pages 403, 404 or the form again), write NOTHING, raise no
  alert, and the answer holds nothing of other scopes (a JSON answer: no seal and no other person at all);
- scope_list: a list asked about a region outside the scope: refused, or showing nothing of it;
- wrong_destination: a `receive` at a site of one's own of a box that belongs elsewhere (DESIGN.md
  invariant 5): 422 with the label's facts, an alert at the receiving site only (`box_id` NULL);
- off_route: a box in scope sent to a site outside the scope and off its route: `forbidden` or
  `wrong_destination`, nothing written but the refusal's own receipt and alert at one's own site;
- refused_any: a route switched off (the benchmark floor as configured): any 4xx, nothing written;
- public: no login needed, and no seal, holder or person's name in the answer;
- session: only the browser's session (language, logout): nothing written but the person's own row.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.auth.matrix_world import (
    ACTORS,
    LABEL_TPS,
    OBJECTS,
    PASSWORD,
    SIDES,
    Actor,
    BoxRef,
    World,
    box_key,
    jpeg_bytes,
    png_data_url,
    visible,
)
from webapp.custody.notes import Checkpoint, cosign, sign

ALL = ("admin", "supervisor", "warehouse", "courier", "officer", "observer")
WRITE_ROLES = ("warehouse", "courier", "officer", "supervisor", "admin")
HANDOVER_ROLES = ("warehouse", "courier", "officer")
ALERT_ROLES = ("supervisor", "admin")
EXPORT_ROLES = ("supervisor", "observer", "admin")
CARTON_VIEW_ROLES = ("warehouse", "supervisor", "observer", "admin")
PRINT_ROLES = ("warehouse", "admin")
# README's actions and who may do each (void: supervisor; an admin too, as the issue says).
ACTION_ROLES = {
    "commission": ("warehouse", "admin"),
    "pack": ("warehouse",),
    "seal": ("warehouse", "officer"),
    "dispatch": ("warehouse", "courier", "officer"),
    "receive": ("warehouse", "courier", "officer"),
    "inspect": ("warehouse", "courier", "officer", "supervisor"),
    "open": ("officer", "warehouse"),
    "reseal": ("officer", "warehouse"),
    "damage": ("warehouse", "courier", "officer"),
    "loss": ("warehouse", "courier", "officer", "supervisor"),
    "void": ("supervisor", "admin"),
    # recorded only on a supervisor's approval of a request (custody/corrections.py): a scan of it is refused
    "correct": (),
}
ACTIONS = tuple(ACTION_ROLES)
# Role allowed, yet impossible inside this actor's scope: a kecamatan admin has no printer or warehouse
# to commission labels at; a printer has no box in transit to it and no carton to open.
INFEASIBLE = {("admin", "commission"), ("printer", "receive"), ("printer", "open")}
NO_INSIDE_BOX = {("printer", "receive"), ("printer", "open")}


@dataclass
class Req:
    """One HTTP request, with what the matrix needs to judge its answer."""

    method: str
    path: str
    json: Any = None
    data: dict | None = None
    body: bytes | None = None
    content_type: str | None = None
    box: BoxRef | None = None  # the box the request is about (its state, its label)
    boxes: tuple[BoxRef, ...] = ()  # other boxes it names (their labels may be echoed)
    site: str | None = None  # where a scan happens
    config: dict = field(default_factory=dict)  # app.config for this request only

    @property
    def typed(self) -> str:
        """Everything the person sent: an answer may echo it."""
        parts = [self.path]
        if self.json is not None:
            parts.append(json.dumps(self.json))
        if self.data:
            parts += [str(v) for v in self.data.values()]
        if self.body:
            parts.append(self.body.decode("utf-8", "replace"))
        return "\n".join(parts)

    @property
    def echoable(self) -> set[str]:
        """Strings an answer may contain whatever the scope: the labels of the boxes it names."""
        allowed = set()
        for ref in (self.box, *self.boxes):
            if ref is not None:
                allowed.update(ref.label)
        return allowed


@dataclass(frozen=True)
class Case:
    """One request of the matrix, symbolically: resolved against the world when it runs."""

    method: str
    rule: str
    actor: str  # an ACTORS key; "anonymous"; or "national" (a national admin, the control for national objects)
    obj: str  # what it names, in words
    # ok, role, scope, scope_list, wrong_destination, misdelivered_packet, off_route, refused_any, public, session
    expect: str
    make: Callable[[World], Req]
    style: str  # page, api, scan, batch
    ok_status: tuple[int, ...] = (200,)
    writes: tuple[str, ...] = ()  # tables an ok write must change
    url_object: bool = False  # the URL names the object (a refusal may then be a 404)
    leak: str = "markers"  # markers: nothing of other scopes; secrets: only seals, holders and names
    objects: tuple[str, ...] = ()  # the objects' keys, for the counts

    @property
    def id(self) -> str:
        return f"{self.method} {self.rule} | {self.actor} | {self.obj}"


@dataclass(frozen=True)
class Route:
    """How the matrix classifies one rule of the url_map."""

    kind: str  # public, session, read, list, write
    names: tuple[str, ...]  # object kinds its parameters and body name
    cases: Callable[[str, str], list[Case]]
    roles: tuple[str, ...] = ALL


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _expect(actor: Actor, roles: tuple[str, ...], in_scope: bool) -> str:
    if actor.role not in roles:
        return "role"
    return "ok" if in_scope else "scope"


# --- how objects become URL parts --------------------------------------------------------------------

BOX_OF = {"A": "A.damaged", "B": "B.damaged", "C": "C.damaged", "P": "P.held", "Q": "Q.held"}


def resolve(world: World, obj: str) -> str:
    """The URL part naming an object of OBJECTS."""
    kind, _, key = obj.partition(":")
    if kind == "box":
        return world.boxes[BOX_OF[key]].sscc
    if kind in ("site", "region"):
        return key
    if kind == "handover":
        return world.handovers[f"{key}.closed"]["number"]
    if kind == "token":
        return world.handovers[f"{key}.closed"]["token"]
    if kind == "alert":
        return str(world.alerts[key])
    if kind == "photo":
        return world.photos[key]
    if kind == "job":
        return str(world.jobs[key])
    if kind == "order":
        return world.orders[key]
    if kind == "user":
        return str(world.users["mxpengamat" if key == "in" else "mxkurirb"])
    if kind == "norm":
        return key
    raise KeyError(obj)


def named_boxes(world: World, obj: str) -> tuple[BoxRef, ...]:
    kind, _, key = obj.partition(":")
    return (world.boxes[BOX_OF[key]],) if kind == "box" else ()


# --- reads and lists ---------------------------------------------------------------------------------


def reads(
    path: str,
    objects: tuple[str, ...],
    *,
    roles: tuple[str, ...] = ALL,
    style: str = "page",
    leak: str = "markers",
    ok: tuple[int, ...] = (200,),
    out: str = "scope",
) -> Callable[[str, str], list[Case]]:
    """Every actor reads every object: 200 when the role may and the object is in scope, else refused.
    `path` has `{}` where the object goes (in the path or in ?region=)."""

    def cases(method: str, rule: str) -> list[Case]:
        found = []
        for actor in ACTORS.values():
            for obj in objects:
                kind = _expect(actor, roles, visible(obj, actor.key))
                if kind == "scope":
                    kind = out
                key = "token:" + obj.partition(":")[2] if rule.endswith("<token>") else obj

                def make(world: World, key=key, obj=obj) -> Req:
                    return Req("GET", path.format(resolve(world, key)), boxes=named_boxes(world, obj))

                found.append(Case(method, rule, actor.key, obj, kind, make, style, ok, (), True, leak, (obj,)))
        return found

    return cases


def lists(
    path: str,
    *,
    roles: tuple[str, ...] = ALL,
    style: str = "page",
    ok: tuple[int, ...] = (200,),
    label: str = "list",
    regionless: str = "ok",
) -> Callable[[str, str], list[Case]]:
    """Every actor opens a list (or a page about themselves): it shows nothing outside their scope.
    `regionless`: what the printer (a site without a region) gets on a page about the user's own region."""

    def cases(method: str, rule: str) -> list[Case]:
        found = []
        for actor in ACTORS.values():
            kind = _expect(actor, roles, True)
            if kind == "ok" and actor.key == "printer":
                kind = regionless

            def make(world: World, actor=actor) -> Req:
                return Req("GET", path.format(out_box=world.boxes[f"{actor.outside[-1]}.damaged"].sscc))

            found.append(Case(method, rule, actor.key, label, kind, make, style, ok))
        return found

    return cases


def several(*makers: Callable[[str, str], list[Case]]) -> Callable[[str, str], list[Case]]:
    return lambda method, rule: [c for make in makers for c in make(method, rule)]


def public(paths: tuple[str, ...], *, ok: tuple[int, ...] = (200,)) -> Callable[[str, str], list[Case]]:
    """No login: anyone gets it, and it names nothing scoped."""

    def cases(method: str, rule: str) -> list[Case]:
        return [
            Case(method, rule, "anonymous", path, "public", lambda world, path=path: Req("GET", path), "page", ok)
            for path in paths
        ]

    return cases


def public_static_versioned(method: str, rule: str) -> list[Case]:
    """The static files at their versioned URLs, and the same name under a version that is not this one."""
    from config import BASE_DIR
    from webapp.core.assets import static_version

    here = f"/static/v/{static_version(str(BASE_DIR / 'static'))}"
    return public((f"{here}/css/app.css", f"{here}/js/app.js"))(method, rule) + public(
        ("/static/v/0000/js/app.js",), ok=(404,)
    )(method, rule)


def public_box(method: str, rule: str) -> list[Case]:
    """The Digital Link page of every side's box, for anyone and for every actor: no seals, holders, names."""
    found = []
    for actor in ("anonymous", *ACTORS):
        for obj in ("box:A", "box:B", "box:C", "box:P"):

            def make(world: World, obj=obj) -> Req:
                ref = world.boxes[BOX_OF[obj[4:]]]
                return Req("GET", f"/00/{ref.sscc}", box=ref)

            found.append(Case(method, rule, actor, obj, "public", make, "page", objects=(obj,)))
    return found


# --- scans -------------------------------------------------------------------------------------------


def _scan_site(actor: Actor, action: str, *, away: bool) -> str:
    if actor.key == "officer" and action == "open":  # a ballot box is opened at its TPS, below the PPK
        return SIDES["B" if away else "A"].tps
    return actor.away if away else actor.home


def _next_hop(actor: Actor, ref: BoxRef) -> str:
    """Where this actor sends this box next, along its route."""
    if actor.key == "printer":
        return "courier:mxekspedisi"
    if actor.role == "warehouse":
        return SIDES[ref.side].ppk
    return SIDES[ref.side].pps


def scan_json(actor: Actor, action: str, variant: str, world: World) -> tuple[dict, BoxRef, str]:
    """The scan a variant sends: (body, its box, its site)."""
    inside = variant in ("in", "site_out", "to_site_out", "to_courier_out")
    ref = world.boxes["A.planned"] if variant == "out_tps" else world.box(actor, action, inside=inside)
    site = _scan_site(actor, action, away=variant == "site_out")
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "code": ref.sscc,
        "action": action,
        "site": site,
        "scanned_at": _now(),
        "device_id": f"matrix-{actor.key}",
        "device_seq": 1,
    }
    if action in ("seal", "reseal"):
        body["seals"] = ["SEGEL-BARU-01"]
        body["note"] = "kekurangan dicatat"
    elif variant == "out+seals":  # the record differs: a refusal must not answer with the recorded seals
        body["seals"] = ["SEGEL-LAIN-99"]
    if action == "dispatch":
        body["to"] = {"to_site_out": actor.to_site_out, "to_courier_out": actor.to_courier_out}.get(
            variant, _next_hop(actor, ref)
        )
    return body, ref, site


def scan_expect(actor: Actor, action: str, variant: str) -> str:
    if actor.role not in WRITE_ROLES:
        return "role"  # the route itself refuses observers
    if variant == "in":
        ok = actor.role in ACTION_ROLES[action] and (actor.key, action) not in INFEASIBLE
        return "ok" if ok else "role"
    if variant.startswith("to_") and actor.role not in ACTION_ROLES["dispatch"]:
        return "role"  # a box in scope, refused for the role before any receiver is looked at
    if variant == "to_site_out":
        return "off_route"  # `forbidden` or `wrong_destination`: refused either way, nothing written
    if variant in ("out", "out+seals") and action == "receive" and actor.role in ACTION_ROLES["receive"]:
        # DESIGN.md invariant 5: a foreign box received at a site of one's own (a courier's too: the scan
        # names a site in their area) is refused with where it belongs, its alert kept at that site only.
        return "wrong_destination"
    return "scope"


def scan_variants(actor: Actor, action: str, *, batch: bool) -> list[str]:
    if batch:  # the same rules as one scan: every action out of scope, and one action every way
        return ["out"] if action != "inspect" else ["in", "out", "site_out"]
    if actor.role not in WRITE_ROLES:
        return ["in", "out"]  # the route refuses the role before anything is read
    variants = ["in", "out", "out+seals", "site_out"]
    if action in ("seal", "reseal") or actor.role not in ACTION_ROLES[action]:
        # Seals are compared only for a role that may act (seal and reseal put new ones on).
        variants = [v for v in variants if v != "out+seals"]
    if action == "dispatch" and not batch:
        variants += ["to_site_out", "to_courier_out"]
    if (actor.key, action) in NO_INSIDE_BOX:
        variants = [v for v in variants if v in ("out", "out+seals")]
    if actor.key == "printer" and action == "commission" and not batch:
        variants.append("out_tps")  # a kecamatan's ballot box labelled at the printer: not the printer's box
    return variants


VARIANT_WORDS = {
    "in": "box in scope, at own site",
    "out": "box OUT of scope, at own site",
    "out+seals": "box OUT of scope, at own site, other seals",
    "site_out": "box in scope, site OUT of scope",
    "to_site_out": "box in scope, to a site OUT of scope",
    "to_courier_out": "box in scope, to a courier OUT of scope",
    "out_tps": "a TPS ballot box OUT of scope, at own site",
}


def scans(*, batch: bool) -> Callable[[str, str], list[Case]]:
    """Every action by every actor, box in scope and out, site out, receivers out (dispatch)."""

    def cases(method: str, rule: str) -> list[Case]:
        found = []
        for actor in ACTORS.values():
            for action in ACTIONS:
                for variant in scan_variants(actor, action, batch=batch):

                    def make(world: World, actor=actor, action=action, variant=variant) -> Req:
                        body, ref, site = scan_json(actor, action, variant, world)
                        payload = {"scans": [body]} if batch else body
                        return Req("POST", rule, json=payload, box=ref, site=site)

                    expect = scan_expect(actor, action, variant)
                    obj = f"{action}: {VARIANT_WORDS[variant]}"
                    inside = variant in ("in", "site_out", "to_site_out", "to_courier_out")
                    site = _scan_site(actor, action, away=variant == "site_out")
                    key = "A.planned" if variant == "out_tps" else box_key(actor, action, inside=inside)
                    found.append(
                        Case(
                            method, rule, actor.key, obj, expect, make, "batch" if batch else "scan",
                            (200,) if batch else (201,), ("custody_event", "box", "scan_receipt"),
                            objects=(f"box:{key}", f"site:{site}"),
                        )
                    )  # fmt: skip
        return found

    return cases


# --- packing -----------------------------------------------------------------------------------------


def packing(*, page: bool) -> Callable[[str, str], list[Case]]:
    """A packet into a box at a site (perhaps counted from a carton): any of the four out of scope is refused."""
    variants = {
        # variant: (box inside?, packet inside?, site away?, carton)
        "in": (True, True, False, None),
        "in, counted from a carton in scope": (True, True, False, "in"),
        "box OUT of scope": (False, False, False, None),
        "packet OUT of scope": (True, False, False, None),
        "box OUT of scope, packet in scope": (False, True, False, None),
        "site OUT of scope": (True, True, True, None),
        "carton OUT of scope": (True, True, False, "out"),
    }
    if page:
        variants |= {
            "only a box OUT of scope (shows its packets?)": (False, None, False, None),
            "only a box in scope": (True, None, False, None),
            "only a carton in scope (opens it)": (None, None, False, "in"),
            "only a carton OUT of scope": (None, None, False, "out"),
        }

    def cases(method: str, rule: str) -> list[Case]:
        found = []
        for actor in ACTORS.values():
            for name, (box_in, packet_in, away, carton) in variants.items():
                if actor.role != "warehouse" and name not in ("in", "box OUT of scope"):
                    continue  # the role is refused whatever the objects: two requests show it
                if actor.key == "printer" and (box_in or packet_in or carton == "in"):
                    continue  # nothing at a printer is packed into TPS boxes: only the out-of-scope cases

                def make(world: World, actor=actor, box_in=box_in, packet_in=packet_in, away=away, carton=carton):
                    box = packet = carton_ref = None
                    if box_in is not None:
                        box = world.boxes[f"{_packing_side(actor, box_in)}.pack_wh"]  # open, not yet sealed
                    if packet_in is not None:
                        packet = world.packets[_packing_side(actor, packet_in)]
                    if carton is not None:
                        kept = "carton_wh" if box_in is None else "carton_open"  # alone, the carton is opened
                        carton_ref = world.boxes[f"{'W' if carton == 'in' else 'C'}.{kept}"]
                    site = actor.away if away else actor.home
                    fields = {
                        "site": site,
                        "box": box.sscc if box else None,
                        "packet": packet,
                        "carton": carton_ref.sscc if carton_ref else None,
                    }
                    named = tuple(ref for ref in (carton_ref,) if ref is not None)
                    if page:
                        data = {k: v or "" for k, v in fields.items()}
                        return Req("POST", rule, data=data, box=box or carton_ref, boxes=named, site=site)
                    body = {k: v for k, v in fields.items() if v is not None}
                    body |= {"device_id": f"matrix-{actor.key}", "device_seq": 1}
                    return Req("POST", rule, json=body, box=box, boxes=named, site=site)

                if actor.role != "warehouse":
                    expect = "role"
                elif actor.key != "printer" and box_in and packet_in is False and not away and carton is None:
                    # Another area's packet on one's own packing table: the misdelivery packing exists to catch.
                    expect = "misdelivered_packet"
                elif actor.key == "printer" or away or box_in is False or packet_in is False or carton == "out":
                    expect = "scope"
                else:
                    expect = "ok"
                writes = ("custody_event",) if (box_in and packet_in) or (carton and box_in is None) else ()
                if expect == "misdelivered_packet":
                    writes = ("alert",)
                found.append(
                    Case(
                        method, rule, actor.key, name, expect, make, "page" if page else "api",
                        (200,) if page else (201,), writes, objects=("box", "packet", "site", "carton"),
                    )
                )  # fmt: skip
        return found

    return cases


def _packing_side(actor: Actor, inside: bool) -> str:
    """The side of a TPS box (and its packets) held at a kab/kota warehouse: A inside, else the actor's outside."""
    if actor.key == "printer":
        return "A"  # nothing at a printer is a TPS box: side A is outside its scope
    return "A" if inside else actor.outside[0]


# --- handovers ---------------------------------------------------------------------------------------

OWN_HANDOVER = {"officer": "A.open", "warehouse": "A.open_wh", "courier": "A.open_courier"}


def handover_open(method: str, rule: str) -> list[Case]:
    """The sender opens a handover from its site to a receiver: site and receiver must be in its scope."""
    found = []
    for actor in ACTORS.values():
        inside_to = "courier:mxekspedisi" if actor.key == "printer" else SIDES["A"].ppk
        if actor.role != "warehouse":
            inside_to = SIDES["A"].pps
        variants = {  # a courier hands over where they stand: at the receiving site
            "in: own site, next site on the route": (
                inside_to if actor.role == "courier" else actor.home,
                inside_to,
                True,
            ),
            "site OUT of scope": (actor.away, inside_to, False),
            "receiver site OUT of scope": (actor.home, actor.to_site_out, False),
            "receiver courier OUT of scope": (actor.home, actor.to_courier_out, False),
        }
        for name, (site, to, in_scope) in variants.items():

            def make(world: World, site=site, to=to) -> Req:
                return Req("POST", rule, json={"token": str(uuid.uuid4()), "site": site, "to": to}, site=site)

            found.append(
                Case(
                    method, rule, actor.key, name, _expect(actor, HANDOVER_ROLES, in_scope), make, "api", (201,),
                    ("handover",), objects=("site", "receiver"),
                )
            )  # fmt: skip
    return found


def handover_act(action: str) -> Callable[[str, str], list[Case]]:
    """Sign or close a handover: its parties may, in their scope; nobody else."""

    def cases(method: str, rule: str) -> list[Case]:
        found = []
        for actor in ACTORS.values():
            targets = []
            own = OWN_HANDOVER.get(actor.key, "A.open" if actor.key != "printer" else None)
            if own:
                targets.append((own, f"handover {own} (a party, in scope)", True))
            out = "C.open" if actor.key in ("warehouse", "printer") else "B.open"
            targets.append((out, f"handover {out} OUT of scope", False))
            if actor.key == "warehouse":
                targets.append(("B.open", "handover B.open (in scope, not a party)", False))
            for key, words, in_scope in targets:

                def make(world: World, key=key) -> Req:
                    path = rule.replace("<token>", world.handovers[key]["token"])
                    if action == "sign":
                        body = {"role": "witness", "name": "Saksi Matriks", "image": png_data_url()}
                        return Req("POST", path, json=body)
                    return Req("POST", path, json={})

                writes = ("handover_signature",) if action == "sign" else ("handover",)
                found.append(
                    Case(
                        method, rule, actor.key, words, _expect(actor, HANDOVER_ROLES, in_scope), make, "api",
                        (201,) if action == "sign" else (200,), writes, True, objects=(f"handover:{key}",),
                    )
                )  # fmt: skip
        return found

    return cases


# --- alerts ------------------------------------------------------------------------------------------


def alert_act(action: str | None, *, page: bool) -> Callable[[str, str], list[Case]]:
    """Acknowledge or resolve each side's alert: supervisors and admins, in their scope."""

    def cases(method: str, rule: str) -> list[Case]:
        found = []
        for actor in ACTORS.values():
            for obj in ("alert:A", "alert:B", "alert:C"):
                for step in (action,) if action else ("acknowledge", "resolve"):

                    def make(world: World, obj=obj, step=step) -> Req:
                        alert_id = resolve(world, obj)
                        if page:
                            data = {"action": step, "note": "sudah dicek di lapangan"}
                            return Req("POST", rule.replace("<int:alert_id>", alert_id), data=data)
                        path = rule.replace("<alert_id>", alert_id)
                        return Req("POST", path, json={"note": "sudah dicek di lapangan"})

                    found.append(
                        Case(
                            method, rule, actor.key, f"{step} {obj}", _expect(actor, ALERT_ROLES, visible(obj, actor.key)),
                            make, "page" if page else "api", (302,) if page else (200,), ("alert_action", "alert"), True,
                            objects=(obj,),
                        )
                    )  # fmt: skip
        return found

    return cases


def correction_asks(method: str, rule: str) -> list[Case]:
    """Asking to correct a scan: the courier asks about its own receipt (the box's latest event, in scope);
    everyone asking about a box outside their area is refused as the box's page is, writing nothing. (Every
    refusal in between is tests/custody/test_corrections.py's.)"""
    found = []
    for actor in ACTORS.values():

        def make(world: World, actor=actor) -> Req:
            sscc = world.boxes[f"{actor.outside[-1]}.damaged"].sscc
            path = rule.replace("<sscc>", sscc).replace("<int:event_id>", str(world.latest_events["A.damaged"]))
            return Req("POST", path, data={"reason": "salah pindai di luar wilayah"})

        found.append(Case(method, rule, actor.key, "a box outside", "scope", make, "page", (302,),
                          ("correction_request",), True))  # fmt: skip

    def own(world: World) -> Req:
        path = rule.replace("<sscc>", world.boxes["A.held_courier"].sscc)
        path = path.replace("<int:event_id>", str(world.latest_events["A.held_courier"]))
        return Req("POST", path, data={"reason": "kotak ini bukan yang saya terima"})

    found.append(Case(method, rule, "courier", "its own latest scan", "ok", own, "page", (302,),
                      ("correction_request",), True))  # fmt: skip
    return found


def correction_decisions(method: str, rule: str) -> list[Case]:
    """Approving each side's pending correction: supervisors only, in their area (a request they may not see
    is not found)."""
    found = []
    for actor in ACTORS.values():
        for side in ("A", "B", "C"):

            def make(world: World, side=side) -> Req:
                path = rule.replace("<int:request_id>", str(world.corrections[side]))
                return Req("POST", path, data={"decision": "approve", "note": "disetujui"})

            expect = _expect(actor, ("supervisor",), visible(f"box:{side}", actor.key))
            found.append(Case(method, rule, actor.key, f"approve {side}'s request", expect, make, "page", (302,),
                              ("custody_event", "correction_request"), True, objects=(f"box:{side}",)))  # fmt: skip
    return found


def correction_asks_api(method: str, rule: str) -> list[Case]:
    """The scanner's ask, by the scan's id in the body: the courier asks about its own receipt (the box's
    latest event, in scope); a scan of a box outside the asker's area is not found (404: the body names an
    object the actor may not even see), writing nothing; the roles that never scan are refused first."""
    found = []
    for actor in ACTORS.values():
        side = actor.outside[-1]

        def make(world: World, side=side) -> Req:
            key = f"{side}.damaged"
            body = {"client_id": world.latest_clients[key], "reason": "salah pindai di luar wilayah"}
            return Req("POST", rule, json=body, box=world.boxes[key])

        expect = "role" if actor.role not in WRITE_ROLES else "scope"
        found.append(Case(method, rule, actor.key, "a scan of a box outside", expect, make, "api", (201,),
                          ("correction_request",), True, objects=(f"box:{side}",)))  # fmt: skip

    def own(world: World) -> Req:
        body = {"client_id": world.latest_clients["A.held_courier"], "reason": "kotak ini bukan yang saya terima"}
        return Req("POST", rule, json=body, box=world.boxes["A.held_courier"])

    found.append(Case(method, rule, "courier", "its own latest scan", "ok", own, "api", (201,),
                      ("correction_request",), True, objects=("box:A",)))  # fmt: skip
    return found


def correction_decisions_api(method: str, rule: str) -> list[Case]:
    """Approving each side's pending correction through the API: supervisors only, in their area (a
    request they may not see is not found)."""
    found = []
    for actor in ACTORS.values():
        for side in ("A", "B", "C"):

            def make(world: World, side=side) -> Req:
                path = rule.replace("<request_id>", str(world.corrections[side]))
                return Req("POST", path, json={"approve": True, "note": "disetujui"})

            expect = _expect(actor, ("supervisor",), visible(f"box:{side}", actor.key))
            found.append(Case(method, rule, actor.key, f"approve {side}'s request", expect, make, "api", (200,),
                              ("custody_event", "correction_request"), True, objects=(f"box:{side}",)))  # fmt: skip
    return found


# --- photos, the benchmark floor ---------------------------------------------------------------------


def photos(method: str, rule: str) -> list[Case]:
    """An incident photo names no scoped object: the roles that report incidents may upload one."""
    found = []
    for n, actor in enumerate(ACTORS.values()):

        def make(world: World, n=n) -> Req:
            return Req("POST", rule, body=jpeg_bytes((10 + n, 200, 30 + n)), content_type="image/jpeg")

        roles = (*HANDOVER_ROLES, "supervisor")
        found.append(
            Case(method, rule, actor.key, "a new photo", _expect(actor, roles, True), make, "api", (201,),
                 ("incident_photo",))
        )  # fmt: skip
    return found


def bench_floor(method: str, rule: str) -> list[Case]:
    """The benchmark's raw insert names a box by id: off (404) as configured; switched on, it must still
    refuse a box outside the caller's scope."""
    found = []
    for actor in ACTORS.values():
        for inside in (True, False):
            for enabled in (False, True):

                def make(world: World, actor=actor, inside=inside, enabled=enabled) -> Req:
                    ref = world.box(actor, "inspect", inside=inside)
                    body = {"box_id": ref.id, "seq": 9001}
                    return Req("POST", rule, json=body, box=ref, config={"BENCH_FLOOR_ENDPOINT": enabled})

                if actor.role not in WRITE_ROLES:
                    expect = "role"
                elif not enabled:
                    expect = "refused_any"
                else:
                    expect = "ok" if inside else "scope"
                words = ("box in scope" if inside else "box OUT of scope") + (", switched on" if enabled else "")
                found.append(
                    Case(method, rule, actor.key, words, expect, make, "api", (201,), ("custody_event",),
                         objects=("box",))
                )  # fmt: skip
    return found


# --- pages that write --------------------------------------------------------------------------------


def carton_orders(method: str, rule: str) -> list[Case]:
    """A printer's staff orders cartons at their own printer; nobody at another printer."""
    found = []
    for actor in ACTORS.values():
        for printer, in_scope in (("PRN-1", True), ("PRN-2", False)):

            def make(world: World, actor=actor, printer=printer) -> Req:
                data = {
                    "printer": printer,
                    "warehouse": "KPU-3101",
                    "item": "TINTA",
                    "dapil": "",
                    "per_carton": "10",
                    "count": "1",
                    "order_ref": f"SPK-MX-BARU-{actor.key.upper()}",
                }
                return Req("POST", rule, data=data)

            may = actor.key == "printer" and in_scope
            expect = "ok" if may else ("role" if actor.role not in CARTON_VIEW_ROLES else "scope")
            found.append(
                Case(method, rule, actor.key, f"order at {printer}", expect, make, "page", (302,), ("box",),
                     objects=(f"site:{printer}",))
            )  # fmt: skip
    return found


def carton_labels(method: str, rule: str) -> list[Case]:
    """Printing an order's labels commissions its cartons: the printer's staff, for orders they may see."""
    found = []
    for actor in ACTORS.values():
        for obj in ("order:A", "order:C"):

            def make(world: World, obj=obj) -> Req:
                return Req("POST", rule.replace("<ref>", resolve(world, obj)), data={"format": "a4"})

            if actor.role not in PRINT_ROLES or (actor.role == "warehouse" and actor.key != "printer"):
                expect = "role"  # a warehouse's own staff follow orders; only a printer's print their labels
            else:
                expect = "ok" if visible(obj, actor.key) else "scope"
            found.append(
                Case(method, rule, actor.key, obj, expect, make, "page", (200,), ("custody_event",), True,
                     objects=(obj,))
            )  # fmt: skip
    return found


def label_jobs(method: str, rule: str) -> list[Case]:
    """A label print job for a region (or TPS) at a print site: both must be in scope."""
    found = []
    for actor in ACTORS.values():
        outside_tps = "TPS-3171011001002" if actor.key in ("warehouse", "printer") else "TPS-3101021001002"
        variants = {
            "in: a TPS in scope, printed at own site": (LABEL_TPS, actor.home, True),
            "TPS OUT of scope": (outside_tps, actor.home, False),
            "print site OUT of scope": (LABEL_TPS, actor.away, False),
        }
        for name, (region, site, in_scope) in variants.items():

            def make(world: World, region=region, site=site) -> Req:
                return Req("POST", rule, data={"region": region, "format": "a4", "site": site})

            # A kecamatan admin has no printer or warehouse in scope; a printer has no TPS in scope.
            may = in_scope and actor.key == "warehouse"
            expect = "role" if actor.role not in PRINT_ROLES else ("ok" if may else "scope")
            found.append(
                Case(method, rule, actor.key, name, expect, make, "page", (302,), ("label_job", "custody_event"),
                     objects=("region", "site"))
            )  # fmt: skip
    return found


def epcis_captures(method: str, rule: str) -> list[Case]:
    """An EPCIS document of one event, inspecting a box at one's own site (box in scope and out) or at a site
    out of scope (box in scope): it is
    judged inside the capture job exactly as the phone's inspect scan (scan_expect), the refusal being the
    job's result; a role that may not write is refused before any job."""
    found = []
    for actor in ACTORS.values():
        for variant in ("in", "out", "site_out"):
            site = _scan_site(actor, "inspect", away=variant == "site_out")

            def make(world: World, actor=actor, variant=variant, site=site) -> Req:
                ref = world.box(actor, "inspect", inside=variant != "out")
                event = {
                    "type": "ObjectEvent",
                    "eventID": f"urn:uuid:{uuid.uuid4()}",
                    "eventTime": _now(),
                    "eventTimeZoneOffset": "+00:00",
                    "epcList": [f"https://id.gs1.org/00/{ref.sscc}"],
                    "action": "OBSERVE",
                    "bizStep": "inspecting",
                    "readPoint": {"id": f"https://wms.example/sites/{site}"},
                }
                document = {"type": "EPCISDocument", "schemaVersion": "2.0", "epcisBody": {"eventList": [event]}}
                body = json.dumps(document).encode()
                return Req("POST", rule, body=body, content_type="application/ld+json", box=ref, site=site)

            key = box_key(actor, "inspect", inside=variant != "out")
            found.append(
                Case(method, rule, actor.key, f"inspect: {VARIANT_WORDS[variant]}", scan_expect(actor, "inspect", variant),
                     make, "capture", (202,), ("custody_event", "epcis_capture"), objects=(f"box:{key}", f"site:{site}"))
            )  # fmt: skip
    return found


def epcis_capture_jobs(method: str, rule: str) -> list[Case]:
    """One's own capture job, and the national admin's: only its sender may read it (404 to anyone else)."""
    found = []
    for actor in ACTORS.values():
        for whose in ("own", "national"):

            def make(world: World, key=actor.key if whose == "own" else "national") -> Req:
                return Req("GET", f"/api/v1/epcis/capture/{world.captures[key]}")

            expect = _expect(actor, WRITE_ROLES, whose == "own")
            found.append(
                Case(method, rule, actor.key, f"{whose} capture job", expect, make, "api", url_object=True,
                     objects=(f"capture:{whose}",))
            )  # fmt: skip
    return found


def norm_edit(method: str, rule: str) -> list[Case]:
    """Norms are national: every scoped person is refused; a national admin (the control) may."""
    found = []
    for actor in (*ACTORS, "national"):

        def make(world: World) -> Req:
            path = rule.replace("<code>", "TINTA")
            if method == "GET":
                return Req("GET", path)
            return Req("POST", path, data={"quantity": "3", "reserve_pct": "0", "reason": "Uji matriks akses"})

        expect = "ok" if actor == "national" else "role" if ACTORS[actor].role != "admin" else "scope"
        found.append(
            Case(method, rule, actor, "norm TINTA", expect, make, "page", (200,) if method == "GET" else (302,),
                 () if method == "GET" else ("norm_change", "item_type"), True, objects=("norm:TINTA",))
        )  # fmt: skip
    return found


def admin_users(method: str, rule: str) -> list[Case]:
    """An admin adds people within its own scope only."""
    found = []
    for actor in ACTORS.values():
        variants = {"scope 31.01.01.1001 (in)": ("31.01.01.1001", True)}
        if actor.role == "admin":
            variants |= {
                "scope 31.01.02 (OUT)": ("31.01.02", False),
                "scope PPK-310102 (OUT)": ("PPK-310102", False),
                "scope ID, the nation (OUT)": ("ID", False),
            }
        for name, (scope, in_scope) in variants.items():

            def make(world: World, scope=scope, actor=actor) -> Req:
                data = {
                    "username": f"mxbaru{actor.key}",
                    "full_name": "Orang Baru",
                    "role": "observer",
                    "scope": scope,
                    "password": PASSWORD,
                }
                return Req("POST", rule, data=data)

            found.append(
                Case(method, rule, actor.key, name, _expect(actor, ("admin",), in_scope), make, "page", (302,),
                     ("users",), objects=("scope",))
            )  # fmt: skip
    return found


def admin_sites(method: str, rule: str) -> list[Case]:
    """An admin adds sites within its own scope only."""
    found = []
    for actor in ACTORS.values():
        for kind, region, in_scope in (
            ("tps", "31.01.01.1001", True),
            ("tps", "31.01.02.1001", False),
            ("printer", "", False),  # printers stand outside every region: a national admin's to add
        ):

            def make(world: World, kind=kind, region=region) -> Req:
                data = {"kind": kind, "region": region, "number": "50", "name": "Tempat 050", "dpt": "100"}
                return Req("POST", rule, data=data)

            words = f"a TPS in {region}" if kind == "tps" else "a printer (national)"
            found.append(
                Case(method, rule, actor.key, words, _expect(actor, ("admin",), in_scope), make,
                     "page", (302,), ("site", "box"), objects=(f"region:{region}" if region else "site:PRN-50",))
            )  # fmt: skip
    return found


def admin_toggle(objects: tuple[str, ...], placeholder: str) -> Callable[[str, str], list[Case]]:
    """An admin disables people and sites in its scope only."""

    def cases(method: str, rule: str) -> list[Case]:
        found = []
        for actor in ACTORS.values():
            for obj in objects:

                def make(world: World, obj=obj) -> Req:
                    return Req("POST", rule.replace(placeholder, resolve(world, obj)), data={"active": "0"})

                table = "users" if obj.startswith("user") else "site"
                found.append(
                    Case(method, rule, actor.key, obj, _expect(actor, ("admin",), visible(obj, actor.key)), make,
                         "page", (302,), (table,), True, objects=(obj,))
                )  # fmt: skip
        return found

    return cases


def language(method: str, rule: str) -> list[Case]:
    def make(world: World) -> Req:
        return Req("POST", rule, data={"lang": "en", "next": "/"})

    return [Case(method, rule, actor, "language", "session", make, "page", (302,)) for actor in ACTORS]


def logout(method: str, rule: str) -> list[Case]:
    def make(world: World) -> Req:
        return Req("POST", rule)

    return [Case(method, rule, "guest", "own session", "session", make, "page", (302,))]


def login_post(method: str, rule: str) -> list[Case]:
    def make(world: World) -> Req:
        return Req("POST", rule, data={"username": "mxofficer", "password": "salah-sekali"})

    return [Case(method, rule, "anonymous", "a wrong password", "public", make, "page", (200,))]


def cosignature_posts(method: str, rule: str) -> list[Case]:
    """A witness's cosignature needs no login, and a login grants nothing: the signature of a registered
    witness is the only authentication (custody/witnesses.py). Nobody here is one: refused, nothing kept."""
    text = Checkpoint("127.0.0.1:8000/jejak/pemilu", 3, bytes(32)).text
    log, stranger = (Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32) for n in (7, 8))
    note = text + "\n" + sign(text, "127.0.0.1:8000/jejak/pemilu", log).line
    bodies = {
        "an unregistered witness's cosignature": note + cosign(text, "stranger.example/witness", stranger, 1).line,
        "not a note": "halo\n",
    }
    found = []
    for actor in ("anonymous", *ACTORS):
        for words, body in bodies.items():

            def make(world: World, body=body) -> Req:
                return Req("POST", rule, body=body.encode(), content_type="text/plain; charset=utf-8")

            found.append(Case(method, rule, actor, words, "refused_any", make, "api"))
    return found


# --- the table ---------------------------------------------------------------------------------------

BOXES = ("box:A", "box:B", "box:C", "box:P")
SITES = ("site:PPK-310101", "site:PPK-310102", "site:PPK-317101", "site:KPU-3101", "site:PRN-1")
REGIONS = ("region:31.01.01", "region:31.01.02", "region:31.71")
# Where a region is the page's subject, also its parent (a kecamatan scope does not reach its kab/kota)
# and a code written the KPU way, without dots (310102 is 31.01.02).
REGIONS_PARENT = (*REGIONS, "region:31.01")
REGIONS_MORE = (*REGIONS_PARENT, "region:310102")  # for the routes that read KPU's codes too
OBJECTS["region:310102"] = OBJECTS["region:31.01.02"]
HANDOVERS = ("handover:A", "handover:B", "handover:C")
STOCK = ("site:KPU-3101", "site:KPU-3171", "region:31.01.01", "region:31.01.02")
OBJECTS["site:KPU-3171"] = frozenset()
SEARCHES = ("/search?q={out_box}", "/search?q=(00){out_box}", "/search?q=Pulau")


def _search(method: str, rule: str) -> list[Case]:
    return [c for q in SEARCHES for c in lists(q, label=q.split("=", 1)[1])(method, rule)]


ROUTES: dict[tuple[str, str], Route] = {
    # public: no login, nothing scoped
    ("GET", "/static/<path:filename>"): Route("public", (), public(("/static/css/app.css", "/static/js/app.js"))),
    # The same files under the static tree's version (webapp/core/assets.py); an unknown version is a 404.
    ("GET", "/static/v/<version>/<path:filename>"): Route("public", (), public_static_versioned),
    ("GET", "/healthz"): Route("public", (), public(("/healthz",))),
    ("GET", "/login"): Route("public", (), public(("/login",))),
    ("POST", "/login"): Route("public", (), login_post),
    ("GET", "/manifest.webmanifest"): Route("public", (), public(("/manifest.webmanifest",))),
    ("GET", "/sw.js"): Route("public", (), public(("/sw.js",))),
    ("GET", "/offline"): Route("public", (), public(("/offline",))),
    ("GET", "/scan"): Route("public", (), public(("/scan",))),
    ("GET", "/handover"): Route("public", (), public(("/handover",))),
    ("GET", "/api/v1/openapi.json"): Route("public", (), public(("/api/v1/openapi.json",))),
    ("GET", "/api/v1/ledger/checkpoints"): Route("public", (), public(("/api/v1/ledger/checkpoints",))),
    ("GET", "/api/v1/ledger/key"): Route("public", (), public(("/api/v1/ledger/key",))),
    # The matrix world has no signed checkpoint: the ledger's proofs answer 404 to everyone alike.
    ("GET", "/api/v1/ledger/checkpoint"): Route("public", (), public(("/api/v1/ledger/checkpoint",), ok=(200, 404))),
    ("GET", "/api/v1/ledger/proof/inclusion"): Route(
        "public", (), public(("/api/v1/ledger/proof/inclusion?event=1",), ok=(200, 404))
    ),
    ("GET", "/api/v1/ledger/proof/consistency"): Route(
        "public", (), public(("/api/v1/ledger/proof/consistency?from=0",), ok=(200, 404))
    ),
    ("POST", "/api/v1/ledger/cosignatures"): Route("public", (), cosignature_posts),
    ("GET", "/00/<sscc>"): Route("public", ("box",), public_box),
    # the browser session only
    ("POST", "/lang"): Route("session", (), language),
    ("POST", "/logout"): Route("session", (), logout),
    # lists: nothing outside the scope
    ("GET", "/"): Route("list", (), lists("/")),
    ("GET", "/regions"): Route("list", (), lists("/regions", ok=(200, 302))),
    ("GET", "/search"): Route("list", ("query",), _search),
    ("GET", "/needs"): Route("list", (), lists("/needs", ok=(302,))),
    ("GET", "/norms"): Route("list", (), lists("/norms")),
    ("GET", "/stock"): Route("list", (), lists("/stock", ok=(200, 302))),
    ("GET", "/dashboard"): Route("list", (), lists("/dashboard", ok=(302,))),
    ("GET", "/start"): Route("list", (), lists("/start", ok=(302,))),
    ("GET", "/alerts"): Route(
        "list", ("region",), several(lists("/alerts"), reads("/alerts?region={}", REGIONS_MORE, out="scope_list"))
    ),
    ("GET", "/alerts.csv"): Route(
        "list", ("region",), several(lists("/alerts.csv"), reads("/alerts.csv?region={}", REGIONS, out="scope_list"))
    ),
    ("GET", "/alerts.xlsx"): Route("list", (), lists("/alerts.xlsx")),
    ("GET", "/handovers"): Route("list", (), lists("/handovers")),
    ("GET", "/handovers.csv"): Route("list", (), lists("/handovers.csv")),
    ("GET", "/handovers.xlsx"): Route("list", (), lists("/handovers.xlsx")),
    ("GET", "/cartons"): Route("list", (), lists("/cartons", roles=CARTON_VIEW_ROLES), CARTON_VIEW_ROLES),
    ("GET", "/labels"): Route("list", (), lists("/labels", roles=PRINT_ROLES), PRINT_ROLES),
    ("GET", "/packing"): Route("list", (), lists("/packing", roles=("warehouse",)), ("warehouse",)),
    ("GET", "/admin/users"): Route("list", (), lists("/admin/users", roles=("admin",)), ("admin",)),
    ("GET", "/admin/sites"): Route(
        "list",
        ("query",),
        several(lists("/admin/sites", roles=("admin",)), lists("/admin/sites?q=PPK", roles=("admin",), label="q=PPK")),
        ("admin",),
    ),
    ("GET", "/api/v1/me"): Route("list", (), lists("/api/v1/me", style="api", label="self")),
    ("GET", "/api/v1/handovers/parties"): Route(
        "list", (), lists("/api/v1/handovers/parties", roles=HANDOVER_ROLES, style="api", label="self"), HANDOVER_ROLES
    ),
    ("GET", "/api/v1/alerts"): Route(
        "list",
        ("region",),
        several(
            lists("/api/v1/alerts", style="api"),
            reads("/api/v1/alerts?region={}", REGIONS_MORE, style="api", out="scope_list"),
        ),
    ),
    # reads of one object
    ("GET", "/boxes/<sscc>"): Route("read", ("box",), reads("/boxes/{}", BOXES)),
    ("GET", "/api/v1/boxes/<sscc>"): Route("read", ("box",), reads("/api/v1/boxes/{}", BOXES, style="api")),
    ("GET", "/api/v1/boxes/<sscc>/events"): Route(
        "read", ("box",), reads("/api/v1/boxes/{}/events", BOXES, style="api")
    ),
    ("GET", "/sites/<code>"): Route("read", ("site",), reads("/sites/{}", SITES)),
    ("GET", "/api/v1/sites/<code>"): Route("read", ("site",), reads("/api/v1/sites/{}", SITES, style="api")),
    ("GET", "/sites/<code>/arrivals"): Route("read", ("site",), reads("/sites/{}/arrivals", SITES)),
    ("GET", "/api/v1/sites/<code>/arrivals"): Route(
        "read", ("site",), reads("/api/v1/sites/{}/arrivals", SITES, style="api")
    ),
    ("GET", "/api/v1/sites/<code>/expected"): Route(
        "read", ("site",), reads("/api/v1/sites/{}/expected", SITES, style="api")
    ),
    # By design the phone's cache lists every box of its kab/kota with what its label says (README):
    # only seals, holders elsewhere and names must stay out.
    ("GET", "/api/v1/sites/<code>/offline"): Route(
        "read", ("site",), reads("/api/v1/sites/{}/offline", SITES, style="api", leak="secrets")
    ),
    ("GET", "/regions/<code>"): Route("read", ("region",), reads("/regions/{}", REGIONS_MORE)),
    ("GET", "/api/v1/regions/<code>"): Route(
        "read", ("region",), reads("/api/v1/regions/{}", REGIONS_MORE, style="api")
    ),
    ("GET", "/needs/<code>"): Route("read", ("region",), reads("/needs/{}", REGIONS_PARENT)),
    ("GET", "/needs/<code>.csv"): Route("read", ("region",), reads("/needs/{}.csv", REGIONS)),
    ("GET", "/needs/<code>.xlsx"): Route("read", ("region",), reads("/needs/{}.xlsx", REGIONS)),
    ("GET", "/dashboard/<code>"): Route("read", ("region",), reads("/dashboard/{}", REGIONS_PARENT)),
    ("GET", "/dashboard/<code>.csv"): Route("read", ("region",), reads("/dashboard/{}.csv", REGIONS)),
    ("GET", "/dashboard/<code>.xlsx"): Route("read", ("region",), reads("/dashboard/{}.xlsx", REGIONS)),
    ("GET", "/stock/<code>"): Route("read", ("site", "region"), reads("/stock/{}", STOCK)),
    ("GET", "/stock/<code>.csv"): Route("read", ("site", "region"), reads("/stock/{}.csv", STOCK)),
    ("GET", "/stock/<code>.xlsx"): Route("read", ("site", "region"), reads("/stock/{}.xlsx", STOCK)),
    ("GET", "/api/v1/readiness"): Route(
        "read",
        ("region",),
        several(
            lists("/api/v1/readiness", style="api", label="own area", regionless="scope_list"),
            reads("/api/v1/readiness?region={}", REGIONS_MORE, style="api"),
        ),
    ),
    ("GET", "/api/v1/export/epcis"): Route(
        "read",
        ("region",),
        reads("/api/v1/export/epcis?region={}", REGIONS_MORE, roles=EXPORT_ROLES, style="api"),
        EXPORT_ROLES,
    ),
    ("GET", "/api/v1/export/ledger"): Route(
        "read",
        ("region",),
        reads("/api/v1/export/ledger?region={}", REGIONS_MORE, roles=EXPORT_ROLES, style="api"),
        EXPORT_ROLES,
    ),
    ("GET", "/bast/<number>"): Route("read", ("handover",), reads("/bast/{}", HANDOVERS)),
    ("GET", "/bast/<number>.pdf"): Route("read", ("handover",), reads("/bast/{}.pdf", HANDOVERS)),
    ("GET", "/api/v1/handovers/<token>"): Route(
        "read", ("handover",), reads("/api/v1/handovers/{}", HANDOVERS, style="api")
    ),
    ("GET", "/photos/<sha256>.jpg"): Route(
        "read", ("photo",), reads("/photos/{}.jpg", ("photo:A", "photo:B", "photo:C"))
    ),
    ("GET", "/labels/jobs/<int:job_id>"): Route(
        "read", ("job",), reads("/labels/jobs/{}", ("job:A", "job:C"), roles=PRINT_ROLES), PRINT_ROLES
    ),
    ("GET", "/labels/jobs/<int:job_id>.json"): Route(
        "read", ("job",), reads("/labels/jobs/{}.json", ("job:A", "job:C"), roles=PRINT_ROLES), PRINT_ROLES
    ),
    ("GET", "/labels/jobs/<int:job_id>/pdf"): Route(
        "read", ("job",), reads("/labels/jobs/{}/pdf", ("job:A", "job:C"), roles=PRINT_ROLES), PRINT_ROLES
    ),
    ("GET", "/cartons/orders/<ref>"): Route(
        "read",
        ("order",),
        reads("/cartons/orders/{}", ("order:A", "order:C"), roles=CARTON_VIEW_ROLES),
        CARTON_VIEW_ROLES,
    ),
    ("GET", "/norms/<code>"): Route("read", ("norm",), norm_edit, ("admin",)),
    # writes: every object they touch must be in scope
    ("POST", "/api/v1/scans"): Route("write", ("box", "site", "receiver"), scans(batch=False), WRITE_ROLES),
    ("POST", "/api/v1/scans/batch"): Route("write", ("box", "site", "receiver"), scans(batch=True), WRITE_ROLES),
    ("POST", "/api/v1/packing"): Route(
        "write", ("box", "packet", "site", "carton"), packing(page=False), ("warehouse",)
    ),
    ("POST", "/packing"): Route("write", ("box", "packet", "site", "carton"), packing(page=True), ("warehouse",)),
    ("POST", "/api/v1/handovers"): Route("write", ("site", "receiver"), handover_open, HANDOVER_ROLES),
    ("POST", "/api/v1/handovers/<token>/signatures"): Route(
        "write", ("handover",), handover_act("sign"), HANDOVER_ROLES
    ),
    ("POST", "/api/v1/handovers/<token>/close"): Route("write", ("handover",), handover_act("close"), HANDOVER_ROLES),
    ("POST", "/api/v1/alerts/<alert_id>/acknowledge"): Route(
        "write", ("alert",), alert_act("acknowledge", page=False), ALERT_ROLES
    ),
    ("POST", "/api/v1/alerts/<alert_id>/resolve"): Route(
        "write", ("alert",), alert_act("resolve", page=False), ALERT_ROLES
    ),
    ("POST", "/alerts/<int:alert_id>"): Route("write", ("alert",), alert_act(None, page=True), ALERT_ROLES),
    ("GET", "/corrections"): Route("list", (), lists("/corrections", roles=("supervisor",)), ("supervisor",)),
    ("POST", "/boxes/<sscc>/events/<int:event_id>/correction"): Route("write", ("box",), correction_asks),
    ("POST", "/corrections/<int:request_id>"): Route("write", ("correction",), correction_decisions, ("supervisor",)),
    ("GET", "/api/v1/corrections"): Route(
        "list", (), lists("/api/v1/corrections", roles=WRITE_ROLES, style="api", label="own and to decide"), WRITE_ROLES
    ),
    ("POST", "/api/v1/corrections"): Route("write", ("box",), correction_asks_api, WRITE_ROLES),
    ("POST", "/api/v1/corrections/<request_id>/decision"): Route(
        "write", ("correction",), correction_decisions_api, ("supervisor",)
    ),
    ("POST", "/api/v1/photos"): Route("write", (), photos, (*HANDOVER_ROLES, "supervisor")),
    ("POST", "/api/v1/_bench/floor"): Route("write", ("box",), bench_floor, WRITE_ROLES),
    ("POST", "/cartons"): Route("write", ("site",), carton_orders, ("warehouse", "admin")),
    ("POST", "/cartons/orders/<ref>/labels"): Route("write", ("order",), carton_labels, PRINT_ROLES),
    ("POST", "/labels"): Route("write", ("region", "site"), label_jobs, PRINT_ROLES),
    ("POST", "/api/v1/epcis/capture"): Route("write", ("box", "site"), epcis_captures, WRITE_ROLES),
    ("GET", "/api/v1/epcis/capture/<capture_id>"): Route("read", ("capture",), epcis_capture_jobs, WRITE_ROLES),
    ("GET", "/api/v1/epcis/events"): Route(
        "list",
        ("box",),
        several(
            lists("/api/v1/epcis/events", style="api", label="own area"),
            reads("/api/v1/epcis/events?MATCH_epc={}", BOXES, style="api", out="scope_list"),
        ),
    ),
    ("POST", "/norms/<code>"): Route("write", ("norm",), norm_edit, ("admin",)),
    ("POST", "/admin/users"): Route("write", ("scope",), admin_users, ("admin",)),
    ("POST", "/admin/users/<int:user_id>/active"): Route(
        "write", ("user",), admin_toggle(("user:in", "user:out"), "<int:user_id>"), ("admin",)
    ),
    ("POST", "/admin/sites"): Route("write", ("region",), admin_sites, ("admin",)),
    ("POST", "/admin/sites/<code>/active"): Route(
        "write",
        ("site",),
        admin_toggle(("site:TPS-3101011001007", "site:TPS-3101021001002"), "<code>"),
        ("admin",),
    ),
}


def all_cases() -> list[Case]:
    """Every case of every route, in table order."""
    return [case for (method, rule), route in ROUTES.items() for case in route.cases(method, rule)]
