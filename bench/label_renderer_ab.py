"""A/B of the label renderer: an old webapp/labels/render.py (from git) against this tree's, in one process.

    .venv/bin/python bench/label_renderer_ab.py                  # 4,000 labels, old = 5633846, 3 rounds
    N=2000 ROUNDS=2 OLD=HEAD FORMATS=a4 .venv/bin/python bench/label_renderer_ab.py

The machine is shared and its load varies, so the two renderers are alternated (old, new, then new, old,
...) on the same labels, each drawing them into an in-memory PDF with 2 worker processes (as the command
does on this 2-core machine). Labels/s of each run, then the median per renderer and format. The labels
are synthetic but shaped like a kab/kota's (Jakarta Timur: four contests a TPS, real-length names and
SSCCs, the from-block filled in as `flask labels pdf --at` fills it); no database is needed.
"""

from __future__ import annotations

import dataclasses
import io
import os
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webapp.labels import render as new  # noqa: E402

N = int(os.environ.get("N", "4000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
OLD = os.environ.get("OLD", "5633846")
FORMATS = os.environ.get("FORMATS", "a4,thermal").split(",")
PROCESSES = int(os.environ.get("PROCESSES", "2"))
CONTESTS = [  # (contest, label, band colour), as webapp.geo.models and webapp.planning.services have them
    ("DPR", "DPR", "#f2c200"),
    ("DPD", "DPD", "#c62828"),
    ("DPRD_PROV", "DPRD Provinsi", "#1565c0"),
    ("PRESIDEN", "Presiden dan Wakil Presiden", "#8a8d91"),
]


def old_renderer() -> types.ModuleType:
    source = subprocess.run(
        ["git", "show", f"{OLD}:webapp/labels/render.py"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    module = types.ModuleType("old_render")
    sys.modules["old_render"] = module  # worker processes unpickle its LabelSpec and Codes by this name
    exec(compile(source, f"{OLD}:webapp/labels/render.py", "exec"), module.__dict__)
    return module


def specs_for(module: types.ModuleType) -> list:
    fields = {f.name for f in dataclasses.fields(module.LabelSpec)}
    specs = []
    for i in range(N):
        tps, (contest, label, colour) = i // 4, CONTESTS[i % 4]
        serial = f"{8991234 * 10**9 + i:016d}"
        sscc = "0" + serial + str(-sum(int(d) * (3 - 2 * (k % 2)) for k, d in enumerate(serial[::-1])) % 10)
        values = {
            "sscc": sscc,
            "uri": f"https://jejak.kpu.go.id/00/{sscc}",
            "tps_code": f"TPS-3175{tps // 200 % 10:02d}{tps // 20 % 10:04d}-{tps % 20 + 1:03d}",
            "tps_name": f"TPS {tps % 20 + 1:03d}",
            "desa": ["Pulo Gebang", "Cipinang Besar Selatan", "Kampung Tengah", "Bidara Cina"][tps // 20 % 4],
            "kecamatan": ["Cakung", "Jatinegara", "Kramat Jati", "Pasar Rebo"][tps // 200 % 4],
            "kabkota": "Kota Adm. Jakarta Timur",
            "prefix_length": 7,
            "contest": contest,
            "contest_label": label,
            "colour": colour,
            "dapil": None if contest == "PRESIDEN" else f"DKI Jakarta {1 + tps % 3}",
            "box_index": 1,
            "box_count": 1,
            "sender": "Gudang KPU Kota Jakarta Timur",
        }
        specs.append(module.LabelSpec(**{k: v for k, v in values.items() if k in fields}))
    return specs


def main() -> None:
    renderers = {"old": old_renderer(), "new": new}
    specs = {name: specs_for(module) for name, module in renderers.items()}
    print(f"{N:,} labels, {PROCESSES} worker processes, old = {OLD}, load {os.getloadavg()[0]:.1f}", flush=True)
    rates = {(name, fmt): [] for name in renderers for fmt in FORMATS}
    for round_ in range(ROUNDS):
        order = ["old", "new"] if round_ % 2 == 0 else ["new", "old"]
        for fmt in FORMATS:
            for name in order:
                out = io.BytesIO()
                started = time.perf_counter()
                renderers[name].render_pdf(specs[name], out, fmt, processes=PROCESSES)
                rate = N / (time.perf_counter() - started)
                rates[name, fmt].append(rate)
                size = len(out.getvalue()) / N / 1000
                print(f"  round {round_ + 1} {fmt:7} {name}: {rate:5.0f} labels/s, {size:.2f} kB a label", flush=True)
    for fmt in FORMATS:
        line = ", ".join(
            f"{name} {statistics.median(rates[name, fmt]):.0f} ({' '.join(f'{r:.0f}' for r in rates[name, fmt])})"
            for name in renderers
        )
        print(f"{fmt:7} median labels/s: {line}")
    print(f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
