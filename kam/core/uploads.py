"""Checking an uploaded document before it is kept (OWASP ASVS 5.2): a size limit,
an allowed extension, and content whose first bytes agree with that extension — a
renamed executable is not a PDF because its name ends in .pdf.

Messages name the field and say what to upload instead, in the user's language."""

from __future__ import annotations

from pathlib import PurePath

from django.conf import settings
from django.utils.translation import gettext as _

from kam.core.errors import ValidationFailed

# extension -> the signatures its content may start with
DOCUMENT_TYPES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
}
NAME_MAX = 200


def check_document(upload, *, field: str) -> str:
    """Refuse anything but a PDF, PNG or JPEG within the size limit; return the
    original file name, cleaned (no folders), for display."""
    if upload is None:
        raise ValidationFailed(_("Attach the document: a PDF, PNG or JPEG file."), field=field)
    name = PurePath((upload.name or "").replace("\\", "/")).name.strip()
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in DOCUMENT_TYPES:
        raise ValidationFailed(
            _("“%(name)s” is not a PDF, PNG or JPEG file; upload a scan or a PDF of it.")
            % {"name": name[:80]},
            field=field,
        )
    limit = settings.KAM_MAX_UPLOAD_BYTES
    if upload.size is None or upload.size > limit:
        raise ValidationFailed(
            _("The file is larger than %(mb)s MB; upload a smaller scan.")
            % {"mb": f"{limit / 1024 / 1024:g}"},
            field=field,
        )
    if upload.size == 0:
        raise ValidationFailed(_("The file is empty."), field=field)
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not any(head.startswith(sig) for sig in DOCUMENT_TYPES[extension]):
        raise ValidationFailed(
            _(
                "The file's content is not a %(type)s although its name says so; upload the "
                "document itself."
            )
            % {"type": extension.upper()},
            field=field,
        )
    return name[-NAME_MAX:]
