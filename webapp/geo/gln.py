"""GS1 location numbers (GLN) of sites: 13 digits, a GS1 company prefix, a location reference and the GS1
check digit (GS1 General Specifications, section 2.4.4).

Every site has one. An imported one (a `gln` column in the TPS import) is kept as given once its check
digit is right; otherwise a site gets, when it is first stored, the configured prefix (`GS1_GLN_PREFIX`,
by default the company prefix the SSCCs use) and its id as the location reference, zero-padded to fill
the twelve digits before the check digit. The same site always gets the same number, and two sites never
share one (the column is unique). The EPCIS export names places by it (exports/epcis.py).
"""

from __future__ import annotations

GLN_LENGTH = 13


def gs1_check_digit(digits: str) -> int:
    """GS1 mod-10 check digit for the digits that precede it (weights 3,1,3,... from the right)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def make_gln(prefix: str, reference: int) -> str:
    """Company prefix + location reference (zero-padded to fill twelve digits) + check digit."""
    if not (prefix.isascii() and prefix.isdigit() and 6 <= len(prefix) <= 12):
        raise ValueError(f"GS1 GLN prefix {prefix!r} must be 6-12 digits")
    width = GLN_LENGTH - 1 - len(prefix)
    if not 0 <= reference < 10**width:
        raise ValueError(
            f"location reference {reference} does not fit in the {width} digits that prefix {prefix} leaves: "
            "set a shorter GS1_GLN_PREFIX"
        )
    body = f"{prefix}{reference:0{width}d}" if width else prefix
    return f"{body}{gs1_check_digit(body)}"


def gln_problem(text: str) -> str | None:
    """Why `text` is not a GLN (None when it is one): 13 digits whose last is the check digit."""
    if len(text) != GLN_LENGTH or not (text.isascii() and text.isdigit()):
        return f"GLN '{text}' must be {GLN_LENGTH} digits"
    if gs1_check_digit(text[:-1]) != int(text[-1]):
        return f"GLN {text} has a wrong check digit (expected {gs1_check_digit(text[:-1])}): misread or mistyped"
    return None


def configured_prefix() -> str:
    """The prefix new sites' GLNs are numbered under: GS1_GLN_PREFIX of the running app, else the default
    configuration's."""
    from flask import current_app, has_app_context

    if has_app_context():
        config = current_app.config
        return config.get("GS1_GLN_PREFIX") or config["GS1_COMPANY_PREFIX"]
    from config import Config

    return Config.GS1_GLN_PREFIX
