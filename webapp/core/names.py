"""Names of roles, site kinds, box states and contests in the person's language."""

from __future__ import annotations

from flask_babel import format_datetime
from flask_babel import gettext as _


def role_label(role: str) -> str:
    """A role's name as people say it."""
    return {
        "admin": _("Administrator"),
        "supervisor": _("Logistics supervisor"),
        "warehouse": _("Warehouse officer"),
        "courier": _("Courier"),
        "officer": _("PPK/PPS/KPPS officer"),
        "observer": _("Observer"),
    }.get(role, role)


def site_kind_label(kind: str) -> str:
    """A site kind's name."""
    return {
        "printer": _("Printer"),
        "warehouse_prov": _("Province warehouse"),
        "warehouse_kab": _("Kab/kota warehouse"),
        "ppk": _("PPK (kecamatan)"),
        "pps": _("PPS (desa/kelurahan)"),
        "tps": _("TPS"),
    }.get(kind, kind)


def box_status_label(status: str) -> str:
    """A box state's name."""
    return {
        "planned": _("Planned"),
        "commissioned": _("Labelled"),
        "packed": _("Packed"),
        "sealed": _("Sealed"),
        "in_transit": _("In transit"),
        "held": _("Received"),
        "opened": _("Opened at TPS"),
        "damaged": _("Damaged"),
        "lost": _("Lost"),
        "voided": _("Voided"),
    }.get(status, status)


def contest_label(contest: str | None) -> str:
    """A contest's name as printed on its ballot."""
    return {
        "PRESIDEN": _("President"),
        "DPR": "DPR",
        "DPD": "DPD",
        "DPRD_PROV": _("DPRD Province"),
        "DPRD_KAB": _("DPRD Kab/Kota"),
    }.get(contest or "", contest or "-")


def event_kind_label(kind: str) -> str:
    """A custody event's name (each action declares its own: custody/actions.py)."""
    from webapp.custody.actions import ACTIONS

    action = ACTIONS.get(kind)
    return str(action.label) if action else kind


def basis_label(basis: str) -> str:
    """How a norm scales."""
    return {"per_tps": _("per TPS"), "per_box": _("per ballot box"), "per_voter": _("per voter")}.get(basis, basis)


def job_state_label(state: str) -> str:
    """A background job's state."""
    return {
        "queued": _("Waiting to start"),
        "running": _("Printing"),
        "done": _("Ready"),
        "failed": _("Failed"),
    }.get(state, state)


def region_level_label(level: int) -> str:
    """A region level's name."""
    return {1: _("Province"), 2: _("Kab/Kota"), 3: _("Kecamatan"), 4: _("Desa/Kelurahan")}.get(level, "")


def alert_kind_label(kind: str) -> str:
    """What an alert is about."""
    return {
        "wrong_destination": _("Wrong destination"),
        "wrong_dapil": _("Wrong dapil"),
        "wrong_tps": _("Packet for another TPS"),
        "wrong_item": _("Counted from the wrong carton"),
        "carton_short": _("Carton short"),
        "already_packed": _("Packet already in another box"),
        "box_sealed": _("Packing into a sealed box"),
        "seal_mismatch": _("Seal numbers differ"),
        "damaged": _("Damaged"),
        "lost": _("Lost"),
        "not_in_transit_to_you": _("Arrived where it was not sent"),
        "not_held_by_you": _("Scanned by someone not holding it"),
        "stalled": _("Stalled on the road"),
        "overdue": _("Late for a milestone"),
        "cloned_label": _("Label copied (seen in two places)"),
    }.get(kind, kind)


def alert_state_label(state: str) -> str:
    return {
        "open": _("open"),
        "acknowledged": _("acknowledged"),
        "resolved": _("resolved"),
        "unresolved": _("not yet resolved"),
    }.get(state, state)


def readiness_stage_label(stage: str) -> str:
    """Where a box is on its way out, or back after the count."""
    return {
        "planned": _("Not labelled yet"),
        "warehouse": _("At a warehouse"),
        "in_transit": _("On the road"),
        "ppk": _("At the PPK"),
        "pps": _("At the PPS"),
        "tps": _("At the TPS"),
        "problem": _("Damaged or lost"),
        "back_tps": _("Opened, still at the TPS"),
        "back_transit": _("On the road back"),
        "back_pps": _("Back at the PPS"),
        "back_ppk": _("Back at the PPK"),
        "back_warehouse": _("Back at the warehouse"),
    }.get(stage, stage)


def readiness_level_label(level: str) -> str:
    return {
        "ppk": _("PPK (kecamatan)"),
        "pps": _("PPS (desa/kelurahan)"),
        "tps": _("TPS"),
        "warehouse": _("KPU kab/kota warehouse"),
    }.get(level, level)


def handover_outcome_label(outcome: str) -> str:
    """What became of a box in a handover."""
    return {
        "received": _("received"),
        "missing": _("MISSING"),
        "unexpected": _("UNEXPECTED"),
        "refused": _("REFUSED at the handover"),
    }.get(outcome, outcome)


def signer_role_label(role: str) -> str:
    """Who signed a BAST."""
    return {"sender": _("Handed over by"), "receiver": _("Received by"), "witness": _("Witness")}.get(role, role)


def photo_refs(note: str | None) -> list[str]:
    """The incident photos an event's note names (custody/photos.py)."""
    from webapp.custody.photos import photo_refs as refs

    return refs(note)


def init_app(app) -> None:
    """Expose the label helpers to templates."""
    app.jinja_env.globals.update(
        role_label=role_label,
        site_kind_label=site_kind_label,
        box_status_label=box_status_label,
        contest_label=contest_label,
        region_level_label=region_level_label,
        event_kind_label=event_kind_label,
        job_state_label=job_state_label,
        basis_label=basis_label,
        handover_outcome_label=handover_outcome_label,
        signer_role_label=signer_role_label,
        photo_refs=photo_refs,
        alert_kind_label=alert_kind_label,
        readiness_stage_label=readiness_stage_label,
        readiness_level_label=readiness_level_label,
        alert_state_label=alert_state_label,
        format_datetime=format_datetime,
    )
