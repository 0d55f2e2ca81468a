"""The readiness stage rule exists twice: frozen in SQL in migration 0011 (the triggers that keep the
counters) and as `stage_expression` (the desa page, the recount, the sweep). They must agree on every
box state, including those no scripted day reaches (every way back, NULL holders)."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

from sqlalchemy import Column, Integer, MetaData, String, Table, create_engine, insert, select, text

from webapp.boxes.models import BoxPhase, BoxStatus
from webapp.geo.models import SiteKind
from webapp.readiness.report import ALL_STAGES, stage_expression

MIGRATION = Path(__file__).resolve().parents[2] / "migrations/versions/0011_readiness_counts.py"


def frozen_rule():
    spec = importlib.util.spec_from_file_location("migration_0011", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.stage_sql


def test_the_triggers_rule_and_stage_expression_agree_on_every_box_state():
    engine = create_engine("sqlite://")
    boxes = Table(
        "b",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("status", String),
        Column("phase", String),
        Column("holder_site_id", Integer),
        Column("holder_kind", String),
    )
    combinations = list(
        itertools.product(
            [s.value for s in BoxStatus],
            [p.value for p in BoxPhase],
            [None, 7],
            [None, *(k.value for k in SiteKind)],
        )
    )
    with engine.begin() as connection:
        boxes.create(connection)
        connection.execute(
            insert(boxes),
            [dict(zip(("status", "phase", "holder_site_id", "holder_kind"), c, strict=True)) for c in combinations],
        )
        frozen = dict(connection.execute(text(f"SELECT id, {frozen_rule()('b', 'b.holder_kind')} FROM b")).all())
        ours = dict(
            connection.execute(
                select(
                    boxes.c.id,
                    stage_expression(boxes.c.status, boxes.c.phase, boxes.c.holder_site_id, boxes.c.holder_kind),
                )
            ).all()
        )
    assert len(frozen) == len(combinations) == 10 * 2 * 2 * 7
    assert ours == frozen
    assert set(frozen.values()) - {None} == set(ALL_STAGES)  # every stage is reached by some state
