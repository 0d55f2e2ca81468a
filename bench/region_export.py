"""Benchmark: a region's ledger export (one kecamatan) as the national ledger grows 10x, on PostgreSQL.

    .venv/bin/python bench/region_export.py postgresql://postgres@127.0.0.1:5432/jejak_bench_region

Issue 15's acceptance: "A region export's size for one kecamatan stays within 2x when the national ledger
grows 10x (measured)". For each national size of SIZES (default "200000,2000000"), in a fresh database
(dropped and created again: never point it at one you want to keep): migrated, the regions imported,
Kepulauan Seribu (31.01) and Jakarta Timur (31.75: 7,861 sites, 31,140 boxes) seeded, the demo's warehouse
(KPU-3101) and PPK (PPK-310101) accounts made. Then:

- the region's events, REAL ones: every TPS box of kecamatan 31.01.01 (152) on its way out to its TPS and
  back, through the scan pipeline (record_scans, one batch a step, every scan accepted): commissioned,
  sealed, checked, handed over and received at the PPK, the PPS and the TPS, opened for the count, resealed,
  and handed back up to the kab/kota warehouse: 20 events a box, valid chains, ids 1..R;
- the rest of the country in bulk SQL (bench/ledger_proofs.insert_events: ids R+1..SIZE), none of it bound
  for the region: spread over Jakarta Timur's 31,140 boxes (FILLER=country, the default), as a country's
  events are spread over its boxes. FILLER=seribu seeds Kepulauan Seribu alone and puts the filler on one
  box of kecamatan 31.01.02: a database that knows 87 sites, 42 of them in the region, which PostgreSQL's
  planner takes for a region holding half the ledger (docs/performance.md, issue 15's region exports);
- the stored tree over all of them in bulk SQL (bench/ledger_proofs.build_tree), checked against the
  app's own (check_tree: sampled leaves; the root over every event hash unless CHECK_ROOT=0), then signed
  by make_checkpoint, as the log would.

Measured: export_lines(region "31.01.01") written to a file (bytes, lines, gzip -6 bytes, the inclusion
proofs' hashes per event), and verify_export of that file with the log's public key (it must verify:
every chain, every inclusion proof, the signed note). Export and verification are each run REPEAT (default
3) times; the median wall time is printed. The database is dropped after each size; KEEP=1 keeps the last.
"""

from __future__ import annotations

import gzip
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.ledger_proofs import (  # noqa: E402
    bench_config,
    build_tree,
    check_tree,
    drop_database,
    fresh_database,
    insert_events,
    step,
)

SIZES = [int(n) for n in os.environ.get("SIZES", "200000,2000000").split(",") if n]
REPEAT = int(os.environ.get("REPEAT", "3"))
KEEP = os.environ.get("KEEP") == "1"
FILLER = os.environ.get("FILLER", "country")
KAB, KECAMATAN, OTHER, COUNTRY = "31.01", "31.01.01", "31.01.02", "31.75"
WAREHOUSE, PPK = "KPU-3101", "PPK-310101"


def journey(session, boxes, people) -> int:
    """Every box of `boxes` out to its TPS and back to the warehouse, one batch of scans a step; returns the
    events recorded."""
    from webapp.core.database import begin_write
    from webapp.custody.models import Verdict
    from webapp.custody.pipeline import ScanInput, record_scans
    from webapp.geo.demo_day import seals_of
    from webapp.geo.services import route_codes_for

    def resealed(box) -> list[str]:  # after the count
        return [f"SG{box.id:07d}C", f"SG{box.id:07d}D"]

    shortage = {"note": "bench: packets not counted into the box (shortage noted)"}
    # (who, action, where, to whom, what else): where and to whom are stops of the box's route
    steps: list[tuple[str, str, str, str | None, dict]] = [
        ("gudang", "commission", "kab", None, {}),
        ("gudang", "seal", "kab", None, {"seals": seals_of, **shortage}),
        ("gudang", "inspect", "kab", None, {}),
        ("gudang", "dispatch", "kab", "ppk", {}),
        ("petugas", "receive", "ppk", None, {"seals": seals_of}),
        ("petugas", "inspect", "ppk", None, {}),
        ("petugas", "dispatch", "ppk", "pps", {}),
        ("petugas", "receive", "pps", None, {"seals": seals_of}),
        ("petugas", "inspect", "pps", None, {}),
        ("petugas", "dispatch", "pps", "tps", {}),
        ("petugas", "receive", "tps", None, {"seals": seals_of}),
        ("petugas", "inspect", "tps", None, {}),
        ("petugas", "open", "tps", None, {"note": "bench: the count"}),
        ("petugas", "reseal", "tps", None, {"seals": resealed}),
        ("petugas", "dispatch", "tps", "pps", {}),
        ("petugas", "receive", "pps", None, {"seals": resealed}),
        ("petugas", "dispatch", "pps", "ppk", {}),
        ("petugas", "receive", "ppk", None, {"seals": resealed}),
        ("petugas", "dispatch", "ppk", "kab", {}),
        ("gudang", "receive", "kab", None, {"seals": resealed}),
    ]
    routes = {
        box.id: {
            "kab": WAREHOUSE,
            "ppk": PPK,
            "pps": next(code for code in route_codes_for(box.destination.region_code) if code.startswith("PPS-")),
            "tps": box.destination.code,
        }
        for box in boxes
    }
    start = datetime.now(UTC) - timedelta(days=3)
    seq = {name: 0 for name in people}
    recorded = 0
    for number, (actor, action, where, to, extra) in enumerate(steps):
        at = start + timedelta(hours=3 * number)
        scans = []
        for box in boxes:
            seq[actor] += 1
            values = {name: value(box) if callable(value) else value for name, value in extra.items()}
            route = routes[box.id]
            scan = ScanInput(str(uuid.uuid4()), box.sscc, action, route[where], at, f"bench-{actor}", seq[actor])
            scans.append(replace(scan, to=route[to] if to else None, **values))
        begin_write(session)
        outcomes = record_scans(session, actor=people[actor], scans=scans, now=at)
        session.commit()
        refused = {(o.verdict, o.reason) for o in outcomes if o.verdict != Verdict.ACCEPTED}
        assert not refused, f"{action}: {refused}"
        recorded += len(outcomes)
    return recorded


def build(app, size: int) -> int:
    """The ledger of `size` events: the kecamatan's real ones first, the country's filler after, the tree
    and its signed checkpoint. Returns the number of real (region) events."""
    from flask_migrate import upgrade

    from webapp.auth.models import User
    from webapp.auth.services import ensure_demo_users
    from webapp.boxes.models import Box
    from webapp.custody.checkpoints import make_checkpoint, signing_key
    from webapp.custody.models import CustodyEvent
    from webapp.extensions import db
    from webapp.geo.models import Site
    from webapp.geo.seed import seed_region
    from webapp.geo.services import import_regions

    session = db.session
    started = time.perf_counter()
    upgrade()
    import_regions(session)
    seed_region(session, KAB, app.config)
    if FILLER != "seribu":
        seed_region(session, COUNTRY, app.config)
    ensure_demo_users(session, KAB)
    session.commit()
    started = step("migrated and seeded", started)
    people = {u.username: u for u in session.scalars(select(User).where(User.username.in_(("gudang", "petugas"))))}
    bound = Site.region_code.startswith(KECAMATAN + ".")  # its TPS (the seed plans boxes for TPS only)
    boxes = session.scalars(select(Box).join(Site, Site.id == Box.destination_id).where(bound).order_by(Box.id)).all()
    real = journey(session, boxes, people)
    assert session.scalar(select(func.max(CustodyEvent.id))) == real, "event ids are not contiguous from 1"
    started = step(f"{real:,} events of {len(boxes)} boxes of {KECAMATAN} through the scan pipeline", started)
    elsewhere = list(
        session.scalars(
            select(Box.id)
            .join(Site, Site.id == Box.destination_id)
            .where(Site.region_code.startswith((OTHER if FILLER == "seribu" else COUNTRY) + "."))
            .order_by(Box.id)
        )
    )
    filler = elsewhere[:1] if FILLER == "seribu" else elsewhere
    insert_events(session, real + 1, size, filler, people["gudang"].id)
    where = f"one box of {OTHER}" if FILLER == "seribu" else f"{len(filler):,} boxes of {COUNTRY}"
    started = step(f"{size - real:,} events of the rest of the country (bulk SQL, on {where})", started)
    build_tree(session, size)
    check_tree(session, size)
    started = step("stored tree built (bulk SQL) and checked", started)
    checkpoint = make_checkpoint(session, signing_key(app.config))
    session.commit()
    assert checkpoint is not None and checkpoint.event_count == size
    step(f"checkpoint of {size:,} events signed", started)
    return real


def measure(app, size: int, real: int, path: Path) -> dict:
    """Export the kecamatan REPEAT times, verify the file REPEAT times; sizes, hashes per proof, wall times."""
    from webapp.custody.checkpoints import signing_key
    from webapp.custody.export import export_ledger
    from webapp.custody.verification import verify_export
    from webapp.extensions import db

    key = signing_key(app.config)
    exports, verifies = [], []
    for _ in range(REPEAT):
        db.session.rollback()
        started = time.perf_counter()
        with path.open("w", encoding="utf-8") as out:
            events = export_ledger(db.session, key, out, KECAMATAN)
        exports.append(time.perf_counter() - started)
        db.session.rollback()
        assert events == real, (events, real)
    for _ in range(REPEAT):
        started = time.perf_counter()
        report = verify_export(path, key.public_text)
        verifies.append(time.perf_counter() - started)
        assert report.ok and report.region == KECAMATAN, report.problem
        assert report.events == report.proven == real and report.uncovered == 0 and report.newest_size == size
    data = path.read_bytes()
    lines = [json.loads(line) for line in data.splitlines()]
    proofs = [len(line["proof"]) for line in lines if line["type"] == "inclusion"]
    assert len(proofs) == real
    return {
        "size": size,
        "events": real,
        "bytes": len(data),
        "lines": len(lines),
        "gzip": len(gzip.compress(data, compresslevel=6)),
        "hashes": statistics.mean(proofs),
        "export": statistics.median(exports),
        "verify": statistics.median(verifies),
    }


def main() -> None:
    from webapp import create_app
    from webapp.extensions import db

    arg = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/jejak_bench_region"
    if not arg.startswith(("postgres://", "postgresql")):
        raise SystemExit("a PostgreSQL URL, please: the benchmark builds its ledger in PostgreSQL's bulk SQL")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            uri = fresh_database(arg, reuse=False)
            print(f"National ledger of {size:,} events on {make_url(uri).render_as_string(hide_password=True)}")
            app = create_app(bench_config(uri))
            try:
                with app.app_context():
                    real = build(app, size)
                    rows.append(measure(app, size, real, Path(tmp) / f"region-{size}.jsonl"))
                    db.engine.dispose()
            finally:
                if not KEEP or size != SIZES[-1]:
                    drop_database(uri)
    print(f"\nRegion {KECAMATAN} exported (median of {REPEAT}), verified with the log's key; the filler: {FILLER}")
    print("| national events | region events | lines | file bytes | gzip bytes | hashes/proof | export s | verify s |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['size']:,} | {r['events']:,} | {r['lines']:,} | {r['bytes']:,} | {r['gzip']:,} "
            f"| {r['hashes']:.1f} | {r['export']:.2f} | {r['verify']:.2f} |"
        )
    first, last = rows[0], rows[-1]
    growth = last["size"] / first["size"]
    print(
        f"\nNational ledger x{growth:g}: file x{last['bytes'] / first['bytes']:.3f}, "
        f"gzip x{last['gzip'] / first['gzip']:.3f}, export time x{last['export'] / first['export']:.2f}, "
        f"verify time x{last['verify'] / first['verify']:.2f} (acceptance: the file within x2)"
    )
    assert last["bytes"] <= 2 * first["bytes"], "the region's export more than doubled"


if __name__ == "__main__":
    main()
