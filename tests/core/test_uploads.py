"""kam.core.uploads.check_document: only a PDF, PNG or JPEG within the size limit,
whose content agrees with its name, is kept; the name is returned without folders."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kam.core.errors import ValidationFailed
from kam.core.uploads import check_document

PDF = b"%PDF-1.7\n1 0 obj\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPG = b"\xff\xd8\xff\xe1\x00\x18Exif"
EXE = b"MZ\x90\x00\x03\x00\x00\x00"


def _file(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def _refused(upload, field: str = "file") -> ValidationFailed:
    with pytest.raises(ValidationFailed) as err:
        check_document(upload, field=field)
    assert err.value.field == field
    return err.value


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("同意函.pdf", PDF),
        ("scan.png", PNG),
        ("photo.jpg", JPG),
        ("photo.jpeg", JPG),
        ("SCAN.PDF", PDF),
        ("Photo.JPG", JPG),
        ("x.exe.pdf", PDF),
    ],
)
def test_a_document_whose_content_agrees_with_its_name_is_accepted(name, data):
    upload = _file(name, data)
    assert check_document(upload, field="file") == name
    # and it can be read from the start afterwards
    assert upload.read() == data


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("C:\\Users\\li\\Desktop\\同意函.pdf", "同意函.pdf"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("  spaced.pdf  ", "spaced.pdf"),
        ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
    ],
)
def test_the_name_is_kept_without_folders_and_at_most_200_characters(name, kept):
    upload = _file("x.pdf", PDF)
    upload.name = name  # Django would clean some of this; the check does not rely on it
    assert check_document(upload, field="file") == kept


def test_nothing_attached_is_refused():
    assert _refused(None, "document").message == "Attach the document: a PDF, PNG or JPEG file."


class Upload:
    """An upload as another caller than Django's request parser might hand it over."""

    def __init__(self, name, data: bytes, size=-1):
        self.name, self._data, self._at = name, data, 0
        self.size = len(data) if size == -1 else size

    def seek(self, at: int) -> None:
        self._at = at

    def read(self, n: int = -1) -> bytes:
        out = self._data[self._at :] if n < 0 else self._data[self._at : self._at + n]
        self._at += len(out)
        return out


@pytest.mark.parametrize(
    "name", ["disclosure.exe", "disclosure.docx", "disclosure", "x.pdf.exe", "x.gif", "pdf"]
)
def test_other_kinds_of_file_are_refused(name):
    assert _refused(_file(name, PDF)).message == (
        f"“{name}” is not a PDF, PNG or JPEG file; upload a scan or a PDF of it."
    )


@pytest.mark.parametrize("name", ["", None, "   "])
def test_a_missing_name_is_refused(name):
    assert _refused(Upload(name, PDF)).message == (
        "“” is not a PDF, PNG or JPEG file; upload a scan or a PDF of it."
    )


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("x.pdf", EXE, "PDF"),
        ("x.pdf", PNG, "PDF"),
        ("x.png", PDF, "PNG"),
        ("x.jpg", PNG, "JPG"),
        ("x.jpeg", b"\xff\xd8", "JPEG"),
        ("x.pdf", b"%PD", "PDF"),
        ("x.pdf", b" %PDF-1.4", "PDF"),
    ],
)
def test_content_that_is_not_what_the_name_says_is_refused(name, data, kind):
    assert _refused(_file(name, data)).message == (
        f"The file's content is not a {kind} although its name says so; upload the document itself."
    )


def test_an_empty_file_is_refused():
    assert _refused(_file("x.pdf", b"")).message == "The file is empty."


def test_the_size_limit_comes_from_the_settings(settings):
    # given
    settings.KAM_MAX_UPLOAD_BYTES = 2 * 1024 * 1024
    at_limit = PDF + b"0" * (2 * 1024 * 1024 - len(PDF))
    # then
    assert check_document(_file("x.pdf", at_limit), field="file") == "x.pdf"
    assert _refused(_file("x.pdf", at_limit + b"0")).message == (
        "The file is larger than 2 MB; upload a smaller scan."
    )


def test_an_upload_of_unknown_size_is_refused():
    assert _refused(Upload("x.pdf", PDF, size=None)).message.startswith("The file is larger")


def test_a_plain_file_object_is_checked_the_same_way():
    upload = Upload("scan.png", PNG)
    assert check_document(upload, field="file") == "scan.png"
    assert upload.read() == PNG
