"""What a person reads after a scan: the verdict in plain words, telling where a box should go."""

from __future__ import annotations

from flask_babel import gettext as _

from webapp.core.names import contest_label
from webapp.custody.models import Verdict
from webapp.custody.outcome import Outcome


def _where(details: dict) -> str:
    parts = [details.get("destination_name") or details.get("destination") or ""]
    if details.get("desa"):
        parts.append(_("Kel. %(name)s", name=details["desa"]))
    if details.get("kecamatan"):
        parts.append(_("Kec. %(name)s", name=details["kecamatan"]))
    if details.get("dapil"):
        parts.append(_("Dapil %(name)s", name=details["dapil"]))
    return ", ".join(p for p in parts if p)


def message(outcome: Outcome, station: str = "scan") -> str:
    """What a person reads after a write, in plain words: after a scan (full-screen on the phone), at the
    packing table after a packet (`pack`) or a carton (`carton`)."""
    return {"scan": _scan, "pack": _pack, "carton": _carton}[station](outcome)


def _scan(result: Outcome) -> str:
    """The sentence shown full-screen on the phone."""
    details = result.details
    verdict = result.original_verdict or result.verdict
    if result.verdict == Verdict.DUPLICATE and verdict == Verdict.ACCEPTED:
        return _("Already recorded: this scan was accepted before.")
    if verdict == Verdict.ACCEPTED:
        return (
            _("Accepted.")
            if not result.warnings
            else _("Accepted, with a warning: %(w)s.", w=", ".join(warning_label(w) for w in result.warnings))
        )
    reason = result.reason
    if reason == "already_held":
        return _("Already here: you hold this box. Nothing was recorded again.")
    if reason == "wrong_destination":
        return _("This box is for %(where)s. DO NOT ACCEPT.", where=_where(details))
    if reason == "wrong_dapil":
        return _(
            "This box carries dapil %(box)s but its TPS votes in %(tps)s. DO NOT ACCEPT.",
            box=details.get("box_dapil", "?"),
            tps=details.get("tps_dapil", "?"),
        )
    if reason == "not_in_transit_to_you":
        return _(
            "This box was not sent to you. Record it as a discrepancy; it is for %(where)s.", where=_where(details)
        )
    if reason == "not_held_by_you":
        return _("You do not hold this box.")
    if reason == "voided":
        return _("This label was voided. Do not use this box; report it.")
    if reason == "forbidden":
        return _forbidden(details.get("why"))
    if reason == "unknown_code":
        return _("Unknown box: this SSCC is not in Jejak.")
    if reason == "seal_mismatch":
        return _("The seal numbers differ from the record. A witness must sign.")
    if reason == "not_sealed":
        return _(
            "The box is not sealed: seal it at the packing table (or reseal it after the count) before it is sent."
        )
    if reason == "box_sealed":
        return _(
            "This box is sealed: nothing may go into it. It must first be opened, with the reason recorded, "
            "before anything goes in."
        )
    if reason == "incomplete":
        return _(
            "The box is not complete: %(n)s packets are missing. Pack them, or write the shortage's reason.",
            n=len(details.get("missing", [])),
        )
    if reason == "malformed_code":
        if details.get("kind") == "check_digit":
            return _("Misread code (check digit wrong). Scan again.")
        return _("Not a Jejak label.")
    return _("Refused.")


def _forbidden(why: str | None) -> str:
    """A refused write in words that tell the person what to do, and nothing about other areas."""
    return {
        "site": _("This site is not yours: scan at your own site."),
        "box": _("This box is outside your area: you may not change it. Hand it to your supervisor."),
        "receiver": _("That courier does not serve where this box goes: choose another."),
        "alert": _("This alert is outside your area."),
    }.get(why or "", _("Your role may not do this."))


def _pack(result: Outcome) -> str:
    """What the packing station shows, big, after a packet is scanned into a box."""
    details = result.details
    if result.verdict == Verdict.ACCEPTED:
        return (
            _("Packed. %(n)s packets still missing.", n=len(result.missing))
            if result.missing
            else _("Packed. The box is complete: it can be sealed.")
        )
    if result.verdict == Verdict.DUPLICATE:
        return _("This packet is already in this box.")
    if result.reason == "wrong_dapil" and "carton" in details:
        return _(
            "This packet is %(packet)s, the carton holds %(carton)s. DO NOT COUNT IT FROM THIS CARTON.",
            packet=_contest_dapil(details, "packet"),
            carton=details.get("carton_dapil") or "?",
        )
    if result.reason == "wrong_item":
        return _(
            "This carton holds %(carton)s, not %(item)s. DO NOT COUNT IT FROM THIS CARTON.",
            carton=details.get("carton_item"),
            item=details.get("item"),
        )
    if result.reason == "carton_short":
        return _(
            "The carton has only %(n)s left by the record: count the rest from another carton.",
            n=details.get("carton_remaining"),
        )
    if result.reason == "wrong_dapil":
        return _(
            "This packet is %(packet)s, the box is %(box)s. DO NOT PACK.",
            packet=_contest_dapil(details, "packet"),
            box=_contest_dapil(details, "box"),
        )
    if result.reason == "wrong_tps":
        return _(
            "This packet is for %(packet)s, the box for %(box)s. DO NOT PACK.",
            packet=details.get("packet_tps_name") or details.get("packet_tps"),
            box=details.get("destination_name") or details.get("destination"),
        )
    if result.reason == "already_packed":
        if not details.get("in_box"):
            return _("This packet is already in another box.")
        return _("This packet is already in box %(box)s.", box=details.get("in_box"))
    if result.reason in ("not_a_carton", "is_carton", "carton_not_open"):
        return _carton_refusal(result.reason, details)
    return _scan(Outcome(client_id="", verdict=result.verdict, reason=result.reason, details=details))


def _contest_dapil(details: dict, side: str) -> str:
    """A packet's or box's contest by its name on the ballot, and its dapil: "DPRD Provinsi DKI Jakarta 6"."""
    contest = details.get(f"{side}_contest")
    return " ".join(filter(None, [contest_label(contest) if contest else None, details.get(f"{side}_dapil")]))


def _carton(result: Outcome) -> str:
    """What the packing station shows after a vendor carton is scanned at the table."""
    details = result.details
    if result.verdict in ("accepted", "duplicate"):
        return _(
            "Carton open: %(item)s%(dapil)s, %(n)s %(unit)s left.",
            item=details.get("name"),
            dapil=f" ({details['dapil']})" if details.get("dapil") else "",
            n=details.get("remaining"),
            unit=details.get("unit"),
        )
    return _carton_refusal(result.reason, details) or _scan(
        Outcome(client_id="", verdict=result.verdict, reason=result.reason, details=details)
    )


def _carton_refusal(reason: str | None, details: dict) -> str | None:
    if reason == "not_a_carton":
        return _("This is not a printer's carton: scan the carton's own label.")
    if reason == "is_carton":
        return _("This is a printer's carton, not a TPS box: scan it in the carton field.")
    if reason == "carton_not_open":
        return _("This carton is not open at this table: scan it in the carton field first.")
    if reason == "not_held_by_you":
        return _("This carton has not been received here: receive it before opening it.")
    if reason == "forbidden" and details.get("why") in (None, "role"):
        return _("Cartons are opened by warehouse staff at the warehouse.")
    return None


def warning_label(warning: str) -> str:
    """A warning in words."""
    return {
        "seal_mismatch": _("seal numbers changed (witnessed)"),
        "clock_skew": _("the phone's clock is ahead"),
        "late_sync": _("sent long after the scan"),
        "not_on_handover": _("not on the sender's list of this handover (the BAST lists it as unexpected)"),
    }.get(warning, warning)
