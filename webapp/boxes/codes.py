"""Reading a box code in every form a scanner hands us (DESIGN.md section 4).

Accepted: a GS1 Digital Link URI `https://<host>/00/<SSCC>`, a bare 18-digit SSCC, `(00)<SSCC>`,
and the raw GS1-128 forms `00<SSCC>` with or without the symbology identifier `]C1` and FNC1 (ASCII 29)
separators. static/js/codes.js mirrors this; tests/boxes/code_vectors.json holds the shared vectors.
"""

from __future__ import annotations

import re

from webapp.boxes.services import is_valid_sscc
from webapp.core.exceptions import JejakError

GS = "\x1d"
_DIGITAL_LINK = re.compile(r"^https?://[^/\s]+(?:/[^\s?#]*)?/00/(\d{18})(?:[/?#][^\s]*)?$", re.IGNORECASE | re.ASCII)
_BRACKETED = re.compile(r"^\(00\)\s*(\d{18})$", re.ASCII)
_RAW = re.compile(r"^(?:\]C1)?" + GS + r"?00(\d{18})(?:" + GS + r".*)?$", re.DOTALL | re.ASCII)
_BARE = re.compile(r"^(\d{18})$", re.ASCII)
MAX_CODE_LENGTH = 512
ASCII_SPACE = " \t\n\r\x0b\x0c"  # re.ASCII's \s: the same set static/js/codes.js uses


class CodeError(JejakError):
    """Not a Jejak label, or a misread one; `kind` says which."""

    def __init__(self, kind: str, message: str):
        super().__init__(message, code="malformed_code", status=422)
        self.kind = kind  # "not_a_label" or "check_digit"


def parse_code(raw: str) -> str:
    """Return the SSCC a scanned code carries, or raise CodeError."""
    text = (raw or "").strip(ASCII_SPACE)  # what a wedge scanner or a typist adds; the phone strips the same
    if not text or len(text) > MAX_CODE_LENGTH:
        raise CodeError("not_a_label", "empty or over-long code")
    for pattern in (_DIGITAL_LINK, _BRACKETED, _RAW, _BARE):
        match = pattern.match(text)
        if match:
            sscc = match.group(1)
            if not is_valid_sscc(sscc):
                raise CodeError("check_digit", f"SSCC {sscc} has a wrong check digit: misread or mistyped")
            return sscc
    raise CodeError("not_a_label", "not a Jejak label")
