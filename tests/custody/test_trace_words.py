"""A box's trace page reads in words: each event by its action's name, from and to by the site's name
(and code) or the courier's name, a reprint said so, and each time in the zone of its site."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.conftest import login
from webapp.geo.models import Site


def test_the_trace_page_tells_each_event_in_words(client, world):
    box = world.box()
    world.scan(world.gudang, "commission", box, "KPU-3101", note="label printed")
    world.scan(world.gudang, "commission", box, "KPU-3101", note="REPRINT 1")
    world.to_tps(box)
    login(client, world.supervisor.username)
    page = client.get(f"/boxes/{box.sscc}").text

    assert "REPRINT" not in page and "label printed" not in page and "site:" not in page and "user:" not in page
    assert "Label dicetak ulang (cetak ulang ke-1)" in page
    gudang, ppk = (world.session.scalar(select(Site).where(Site.code == c)) for c in ("KPU-3101", "PPK-310101"))
    assert f"Dari {gudang.name} (KPU-3101) ke {ppk.name} (PPK-310101)" in page
    courier = world.kurir.full_name or world.kurir.username
    assert f"Dari {ppk.name} (PPK-310101) ke kurir {courier}" in page
    timeline = page.split('class="timeline"', 1)[1].split("</ol>", 1)[0]
    times = re.findall(r"\d\d-\d\d-\d{4} \d\d:\d\d (WIB|WITA|WIT)\b", timeline)
    assert len(times) == 12 and set(times) == {"WIB"}  # Kepulauan Seribu, DKI Jakarta: UTC+7
