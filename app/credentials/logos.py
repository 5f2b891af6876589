"""Issuers' logos: a PNG or an SVG, checked before it is stored, drawn or served.

A PNG must decode with Pillow within a pixel limit (no decompression bomb) and is re-encoded,
so that only pixels are kept (no text chunks, no trailing data). An SVG is parsed with
defusedxml (no entity expansion, no DTD) and accepted only when every element is in the SVG
namespace, from a list of drawing elements, and no attribute is an event handler or a reference
to anything but a fragment of the same file: no script, no foreign object, no external image,
font or stylesheet. It is stored as uploaded, served as ``image/svg+xml`` with a policy that
forbids scripts, and drawn into PDFs by fpdf2's own SVG reader.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from PIL import Image, UnidentifiedImageError

MAX_LOGO_BYTES = 256 * 1024
MAX_LOGO_PIXELS = 2048 * 2048
PNG = "image/png"
SVG = "image/svg+xml"
_SVG_NS = "{http://www.w3.org/2000/svg}"
_XLINK_NS = "{http://www.w3.org/1999/xlink}"
#: Drawing elements an SVG logo may hold.
_ELEMENTS = frozenset(
    "svg g defs title desc path rect circle ellipse line polyline polygon text tspan "
    "linearGradient radialGradient stop clipPath mask symbol use style".split()
)
_REFERENCE = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)
_IMPORT = re.compile(r"@import|expression\s*\(|javascript:", re.IGNORECASE)


class LogoRefused(ValueError):
    """The file is not a logo this service accepts; the message says why."""


@dataclass(frozen=True)
class CheckedLogo:
    media_type: str
    data: bytes


def check_logo(data: bytes) -> CheckedLogo:
    """The logo ``data`` (PNG or SVG) checked as the module says, or :class:`LogoRefused`."""
    if len(data) > MAX_LOGO_BYTES:
        raise LogoRefused(f"the logo is larger than {MAX_LOGO_BYTES // 1024} KiB")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return CheckedLogo(PNG, _checked_png(data))
    head = data[:512].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg", b"<!--")):
        _check_svg(data)
        return CheckedLogo(SVG, data)
    raise LogoRefused("the logo must be a PNG or an SVG file")


def _checked_png(data: bytes) -> bytes:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["PNG"]) as image:
                width, height = image.size
                if width * height > MAX_LOGO_PIXELS:
                    raise LogoRefused(f"the logo has more than {MAX_LOGO_PIXELS} pixels")
                image.load()
                converted = image.convert("RGBA")
    except LogoRefused:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Warning) as exc:
        raise LogoRefused(f"the PNG could not be decoded: {exc}") from None
    out = io.BytesIO()
    converted.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _check_svg(data: bytes) -> None:
    try:
        root = ElementTree.fromstring(data, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
        raise LogoRefused(f"the SVG could not be parsed safely: {exc}") from None
    if root.tag != _SVG_NS + "svg":
        raise LogoRefused("the file's root element is not an SVG <svg>")
    for element in root.iter():
        tag = element.tag if isinstance(element.tag, str) else ""
        if not tag.startswith(_SVG_NS) or tag.removeprefix(_SVG_NS) not in _ELEMENTS:
            raise LogoRefused(f"the SVG holds an element a logo may not hold: {tag or 'comment'}")
        for name, value in element.attrib.items():
            local = name.rsplit("}", 1)[-1].lower()
            if local.startswith("on"):
                raise LogoRefused(f"the SVG has an event handler ({local})")
            if local == "href" and name in ("href", _XLINK_NS + "href"):
                if not value.strip().startswith("#"):
                    raise LogoRefused("the SVG refers to another file")
            elif name.startswith("{") and not name.startswith(_XLINK_NS):
                raise LogoRefused(f"the SVG has a foreign attribute ({name})")
            if _REFERENCE.search(value) or _IMPORT.search(value):
                raise LogoRefused("the SVG refers to another file")
        if (
            tag == _SVG_NS + "style"
            and element.text
            and (_REFERENCE.search(element.text) or _IMPORT.search(element.text))
        ):
            raise LogoRefused("the SVG's style refers to another file")
