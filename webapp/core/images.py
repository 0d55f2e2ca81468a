"""Pictures people send (incident photos, signatures) are measured from their header before a pixel is
decoded, so a small file that claims a huge picture is refused at the cost of reading its header.

Pillow's Image.open reads only the header; the pixels are decoded by load(). Here the size and format are
checked in between. App-wide, Pillow refuses outright any picture of more than twice MAX_PIXELS (the
largest Jejak takes) and bounds the text it inflates from a PNG, for any code that opens a picture.
"""

from __future__ import annotations

import io
import warnings

from flask import Flask
from PIL import Image, PngImagePlugin

from webapp.core.exceptions import JejakError

MAX_PIXELS = 4000 * 4000  # the largest picture taken: a photo of 4000 px a side
MAX_PNG_TEXT = 64 * 1024  # a signature has no text chunks; Pillow would inflate up to 64 MB of them
# A JPEG in several scans (progressive, or its colours one after another) keeps every coefficient of
# the whole picture while it decodes, 2 bytes a sample whatever the scale asked for: it is taken up to the
# phone's own 1280 px a side (the phone sends one scan). A JPEG in one scan decodes at an eighth of its size.
MAX_MULTISCAN_SIDE = 1280


class ImageRefused(JejakError):
    """A picture refused; `reason` is unreadable (or of another format), too_large, too_small or multiscan."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def checked_image(data: bytes, *, kind: str, max_size: tuple[int, int], min_size: tuple[int, int] = (1, 1)):
    """Check that `data` is a whole, readable picture of format `kind` ("JPEG", "PNG") within `max_size`
    (width, height) and return its size; the size is checked from the header, before anything is decoded,
    and a JPEG is decoded at an eighth of its size (enough to read all of it)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[kind]) as picture:
                width, height = picture.size
                if not (min_size[0] <= width <= max_size[0] and min_size[1] <= height <= max_size[1]):
                    raise ImageRefused("too_large" if width > max_size[0] or height > max_size[1] else "too_small")
                if kind == "JPEG":
                    if max(width, height) > MAX_MULTISCAN_SIDE and jpeg_scans(data) != 1:
                        raise ImageRefused("multiscan")
                    picture.draft(picture.mode, (max(1, width // 8), max(1, height // 8)))
                picture.load()
    except ImageRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):  # more pixels than MAX_PIXELS
        raise ImageRefused("too_large") from None
    except (OSError, ValueError, SyntaxError):
        raise ImageRefused("unreadable") from None
    return width, height


def jpeg_scans(data: bytes) -> int:
    """How many scans (SOS markers) a JPEG has; 0 if its markers cannot be followed to the first scan."""
    pos = 2  # after SOI
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        if data[pos + 1] == 0xDA:
            # In the compressed data a 0xFF byte is followed by 0 or a restart marker: never by 0xDA.
            return 1 + data.count(b"\xff\xda", pos + 2)
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return 0


def init_app(app: Flask) -> None:
    """Set Pillow's process-wide bounds (they hold for every picture any code opens)."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    PngImagePlugin.MAX_TEXT_CHUNK = MAX_PNG_TEXT
    PngImagePlugin.MAX_TEXT_MEMORY = MAX_PNG_TEXT
