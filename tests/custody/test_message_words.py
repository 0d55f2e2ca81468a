"""What a person reads after a write is Bahasa Indonesia in words: every reason the code can refuse with
(found in the code itself, so a new one is covered the day it is added), at each station, rendered in
Indonesian mode, is translated (it differs from the English), names contests by their ballot's name and
shows no internal code (UPPER_SNAKE)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask_babel import force_locale

from webapp.custody.messages import message, warning_label
from webapp.custody.models import Verdict
from webapp.custody.outcome import Outcome

ROOT = Path(__file__).resolve().parents[2]
REASON = re.compile(
    r"""refuse\("([a-z_]+)"|_refused\(scan, "([a-z_]+)"|Outcome\(\s*Verdict\.[A-Z]+, "([a-z_]+)"|return None, "([a-z_]+)\""""
)
CODE = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b")
# What the code puts in a refusal's details, with codes where the code has codes.
DETAILS = {
    "destination": "TPS-3101011001001",
    "destination_name": "TPS 001 Pulau Panggang",
    "desa": "Pulau Panggang",
    "kecamatan": "Kepulauan Seribu Utara",
    "dapil": "DKI Jakarta 1",
    "box_dapil": "DKI Jakarta 1",
    "tps_dapil": "DKI Jakarta 3",
    "packet_contest": "DPRD_PROV",
    "box_contest": "DPRD_KAB",
    "packet_dapil": "DKI Jakarta 6",
    "carton_dapil": "DKI Jakarta 1",
    "item": "Surat suara DPRD Provinsi",
    "carton_item": "Surat suara DPD",
    "carton_remaining": 3,
    "packet_tps": "TPS-3101011001002",
    "packet_tps_name": "TPS 002 Pulau Panggang",
    "in_box": "001234567000000018",
    "missing": [{"sscc": "001234567000000025"}],
    "name": "Surat suara DPR",
    "unit": "lembar",
    "remaining": 400,
}


def reasons() -> list[str]:
    found = {"already_held"}
    for path in (ROOT / "webapp").rglob("*.py"):
        for match in REASON.finditer(path.read_text(encoding="utf-8")):
            found.add(next(group for group in match.groups() if group))
    return sorted(found)


def test_the_reasons_are_found_in_the_code():
    assert {"wrong_destination", "wrong_dapil", "wrong_item", "carton_short", "voided", "incomplete"} <= set(reasons())


def _render(outcome: Outcome, station: str, locale: str | None) -> str:
    if locale is None:
        return message(outcome, station)
    with force_locale(locale):
        return message(outcome, station)


@pytest.mark.parametrize("reason", reasons())
def test_every_refusal_reads_in_indonesian_words(app, reason):
    variants = [dict(DETAILS), {**DETAILS, "kind": "check_digit"}] if reason == "malformed_code" else [DETAILS]
    if reason == "forbidden":
        variants = [{**DETAILS, "why": why} for why in ("site", "box", "receiver", "alert", "role", None)]
    verdict = Verdict.DUPLICATE if reason == "already_held" else Verdict.REFUSED
    generic = set()
    with app.test_request_context():  # a person's request: Indonesian unless they chose English
        for details in variants:
            for station in ("scan", "pack", "carton"):
                outcome = Outcome(client_id="c", verdict=verdict, reason=reason, details=details)
                indonesian, english = _render(outcome, station, None), _render(outcome, station, "en")
                assert indonesian != english, (station, indonesian)
                assert not CODE.search(indonesian), (station, indonesian)
                if indonesian == "Ditolak.":
                    generic.add(station)
    assert generic != {"scan", "pack", "carton"}, "no station has words of its own for this reason"


def test_contests_are_named_as_on_their_ballots(app):
    outcome = Outcome(client_id="c", verdict=Verdict.REFUSED, reason="wrong_dapil", details=DETAILS)
    with app.test_request_context():
        assert message(outcome, "pack") == (
            "Paket ini DPRD Provinsi DKI Jakarta 6, kotak ini DPRD Kab/Kota DKI Jakarta 1. JANGAN DIMASUKKAN."
        )


@pytest.mark.parametrize("warning", ["seal_mismatch", "clock_skew", "late_sync"])
def test_accepted_with_a_warning_reads_in_indonesian(app, warning):
    outcome = Outcome(client_id="c", verdict=Verdict.ACCEPTED, warnings=[warning])
    with app.test_request_context():
        indonesian, english = _render(outcome, "scan", None), _render(outcome, "scan", "en")
        assert indonesian != english and not CODE.search(indonesian) and warning not in indonesian
        assert warning_label(warning) in indonesian
