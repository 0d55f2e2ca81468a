"""A small custody world: Kepulauan Seribu seeded, one person per post along a box's route."""

from __future__ import annotations

import hashlib
import itertools
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from sqlalchemy import delete, select

from tests.factories import UserFactory
from webapp.auth.models import User
from webapp.boxes.models import Box, Packet
from webapp.custody.checkpoints import make_checkpoint
from webapp.custody.ledger import SigningKey
from webapp.custody.outcome import Outcome
from webapp.custody.pipeline import ScanInput, record_scans
from webapp.geo.models import Site

TPS = "TPS-3101011001001"
OTHER_TPS = "TPS-3101021001001"  # another kecamatan: another DPRD DKI dapil
_seq = itertools.count(1)


@dataclass
class World:
    """People and boxes of the custody tests."""

    session: object
    gudang: User
    ppk: User
    pps: User
    kpps: User
    kurir: User
    supervisor: User
    observer: User
    other_kpps: User

    def box(self, tps: str = TPS, contest: str = "DPRD_PROV") -> Box:
        site = self.session.scalar(select(Site).where(Site.code == tps))
        return self.session.scalar(select(Box).where(Box.destination_id == site.id, Box.contest == contest))

    def scan(self, actor: User, action: str, box: Box | str, site: str, **extra) -> Outcome:
        """Record one scan through the service and commit, as a request would."""
        code = box if isinstance(box, str) else box.sscc
        result = record_scan(self.session, actor=actor, scan=make_scan(code, action, site, **extra))
        self.session.commit()
        return result

    def to_tps(self, box: Box) -> None:
        """Walk a box from the kab/kota warehouse to its TPS: commission, seal, and hand it down the route."""
        steps = [
            (self.gudang, "commission", "KPU-3101", {}),
            (self.gudang, "seal", "KPU-3101", {"seals": ["S-1", "S-2"]}),
            (self.gudang, "dispatch", "KPU-3101", {"to": "PPK-310101"}),
            (self.ppk, "receive", "PPK-310101", {"seals": ["S-1", "S-2"]}),
            (self.ppk, "dispatch", "PPK-310101", {"to": f"courier:{self.kurir.username}"}),
            (self.kurir, "receive", "PPK-310101", {}),
            (self.kurir, "dispatch", "PPS-3101011001", {"to": "PPS-3101011001"}),
            (self.pps, "receive", "PPS-3101011001", {}),
            (self.pps, "dispatch", "PPS-3101011001", {"to": TPS}),
            (self.kpps, "receive", TPS, {"seals": ["S-2", "S-1"]}),
        ]
        for actor, action, site, extra in steps:
            result = self.scan(actor, action, box, site, **extra)
            assert result.verdict == "accepted", (action, site, result)


def record_scan(session, *, actor: User, scan: ScanInput, now=None) -> Outcome:
    """Record one scan (a batch of one)."""
    return record_scans(session, actor=actor, scans=[scan], now=now)[0]


def make_scan(code: str, action: str, site: str, **extra) -> ScanInput:
    """A scan with a fresh UUID and the next device sequence number."""
    fields = {
        "client_id": str(uuid.uuid4()),
        "code": code,
        "action": action,
        "site": site,
        "scanned_at": datetime.now(UTC),
        "device_id": "test-phone",
        "device_seq": next(_seq),
    }
    fields.update(extra)
    return ScanInput(**fields)


@pytest.fixture
def world(seeded) -> World:
    """The rules' world tracks boxes, not the packets inside them: a box with no packets planned seals as
    it is (tests/custody/test_packing.py plans them again and checks that sealing then needs them all)."""
    session = seeded
    session.execute(delete(Packet))

    def site(code):
        return session.scalar(select(Site).where(Site.code == code))

    people = World(
        session=session,
        gudang=UserFactory(role="warehouse", scope_site=site("KPU-3101")),
        ppk=UserFactory(role="officer", scope_site=site("PPK-310101")),
        pps=UserFactory(role="officer", scope_site=site("PPS-3101011001")),
        kpps=UserFactory(role="officer", scope_site=site(TPS)),
        kurir=UserFactory(role="courier", scope_region_code="31.01"),
        supervisor=UserFactory(role="supervisor", scope_region_code="31.01"),
        observer=UserFactory(role="observer", scope_region_code="31.01"),
        other_kpps=UserFactory(role="officer", scope_site=site(OTHER_TPS)),
    )
    session.commit()
    return people


# TestConfig's key, signing notes under the origin TestConfig gives (ledger_origin): its PUBLIC_BASE_URL's host.
KEY = SigningKey.from_text("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", origin="127.0.0.1:8000/jejak/pemilu")


@pytest.fixture
def ledger(world):
    """Two boxes delivered to their TPS (20 events), and a signed checkpoint over them."""
    world.to_tps(world.box())
    world.to_tps(world.box(contest="DPR"))
    make_checkpoint(world.session, KEY)
    world.session.commit()
    return world


def resealed(lines: list[str]) -> str:
    """Export lines (without their end line) followed by a matching end line, as docs/ledger.md defines it
    (the SHA-256 of each line's canonical JSON):
    what a forger who changed a line would write, so that only the signatures and chains can catch them."""
    body = "".join(line + "\n" for line in lines)

    def canonical_line(line: str) -> str:
        try:
            return json.dumps(json.loads(line), sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"
        except ValueError:  # a damaged line stays as it is
            return line + "\n"

    canonical = "".join(canonical_line(line) for line in lines)
    end = {"type": "end", "lines": len(lines), "sha256": hashlib.sha256(canonical.encode("utf-8")).hexdigest()}
    return body + json.dumps(end) + "\n"


@pytest.fixture
def openapi(client):
    """Validate an instance against a schema of the live OpenAPI document: `openapi("Box", body)`."""
    doc = client.get("/api/v1/openapi.json").json
    resource = Resource.from_contents(doc | {"$schema": "https://json-schema.org/draft/2020-12/schema"})
    registry = Registry().with_resource("urn:jejak", resource)

    def check(name: str, instance) -> None:
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": f"urn:jejak#/components/schemas/{name}",
        }
        Draft202012Validator(schema, registry=registry).validate(instance)

    return check
