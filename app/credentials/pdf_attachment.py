"""The signed credential attached to a credential's PDF: the attachment's name, and reading it
back from an uploaded PDF for the verify page.

An uploaded PDF is untrusted input: only what :mod:`app.credentials.pdf` writes is read, and
the PDF and the inflated attachment are size-limited.
"""

from __future__ import annotations

import io
import zlib

from pypdf import PdfReader, apply_configuration
from pypdf.errors import PyPdfError

ATTACHMENT_NAME = "credential.json"
#: The largest PDF :func:`attached_credential` reads, and the largest attachment it inflates.
MAX_PDF_BYTES = 8 * 1024 * 1024
MAX_ATTACHMENT_BYTES = 4 * 1024 * 1024


class NoAttachedCredential(ValueError):
    """The PDF holds no ``credential.json`` this module can read."""


def attached_credential(data: bytes) -> bytes:
    """The bytes of the ``credential.json`` attached to a PDF (see
    :func:`app.credentials.pdf.render_pdf`).

    Only what that function writes is read: the embedded file stream that follows the
    ``/EmbeddedFile`` object of the attachment named ``credential.json``, stored plain or
    deflated. The PDF and the inflated attachment are size-limited; anything else is refused.
    """
    if len(data) > MAX_PDF_BYTES:
        raise NoAttachedCredential("the PDF is larger than the verify page reads")
    if not data.startswith(b"%PDF-"):
        raise NoAttachedCredential("not a PDF")
    try:
        # pypdf's own limits, tightened for this read: no stream inflates past the attachment's
        # bound, no array or dictionary is huge.
        with apply_configuration(
            zlib_maximum_output_length=MAX_ATTACHMENT_BYTES,
            maximum_declared_stream_length=MAX_PDF_BYTES,
            array_maximum_element_count=10_000,
            dictionary_maximum_element_count=10_000,
        ):
            reader = PdfReader(io.BytesIO(data), strict=False)
            found = reader.attachments.get(ATTACHMENT_NAME)
    except (
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        zlib.error,
        RecursionError,
        OSError,
    ) as exc:
        raise NoAttachedCredential(f"the PDF could not be read: {exc}") from None
    if not found:
        raise NoAttachedCredential(f"the PDF has no attached {ATTACHMENT_NAME}")
    content = found[0]
    if len(content) > MAX_ATTACHMENT_BYTES:
        raise NoAttachedCredential("the attached credential is too large")
    return content
