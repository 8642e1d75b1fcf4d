"""Looking at a file's first bytes: is it text at all, and in which encoding."""
from __future__ import annotations

import codecs
from pathlib import Path

SAMPLE_BYTES = 1 << 20

MAGIC = [
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an .xlsx/.docx workbook?)"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\xd0\xcf\x11\xe0", "a legacy Office file (.xls/.doc)"),
    (b"PAR1", "a Parquet file"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
]

# Python codec per mapping `encoding` value.
CODECS = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gb18030": "gb18030", "gbk": "gb18030"}


class FileRejected(Exception):
    """The whole file is unusable; the message says why and what to do."""


class NotUtf8(FileRejected):
    """Text read as UTF-8 turned out not to be (auto detection may retry as GB18030)."""


def looks_like(head: bytes) -> str | None:
    """A description of the binary format `head` starts with, if it is a known one."""
    for magic, what in MAGIC:
        if head.startswith(magic):
            return what
    return None


def read_head(path: Path, n: int = SAMPLE_BYTES) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def check_text(path: Path, head: bytes, kind: str) -> None:
    """Reject a text export (CSV/JSON) that is empty or really a binary file."""
    if not head.lstrip(b"\xef\xbb\xbf \t\r\n"):
        raise FileRejected(f"empty file ({path.stat().st_size} bytes): no header row and no data")
    what = looks_like(head)
    if what:
        raise FileRejected(
            f"not a {kind} text file: its content is {what}; export the data as {kind} "
            "or give the file its real extension"
        )
    if b"\x00" in head[:65536] and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise FileRejected(f"not a {kind} text file: it contains binary NUL bytes")


def detect_encoding(head: bytes, declared: str, at_eof: bool) -> str:
    """The Python codec to read the file with: the declared one, or detected for `auto`."""
    if declared != "auto":
        return CODECS[declared]
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for codec in ("utf-8", "gb18030"):
        try:
            # final=False: the sample may end inside a multi-byte character.
            codecs.getincrementaldecoder(codec)().decode(head, final=at_eof)
            return codec
        except UnicodeDecodeError:
            continue
    raise FileRejected(
        "cannot decode the file as UTF-8 or GB18030; re-export it as UTF-8 "
        "or declare its encoding in mapping.yaml"
    )


def transcode_to_utf8(src: Path, dst: Path, codec: str, chunk: int = 8 << 20) -> None:
    """Stream `src` into a UTF-8 copy, failing with the byte offset of the first bad byte."""
    decoder = codecs.getincrementaldecoder(codec)(errors="strict")
    offset = 0
    with open(src, "rb") as fin, open(dst, "w", encoding="utf-8", newline="") as fout:
        while True:
            block = fin.read(chunk)
            try:
                fout.write(decoder.decode(block, final=not block))
            except UnicodeDecodeError as exc:
                raise FileRejected(
                    f"not valid {codec} at byte {offset + max(exc.start, 0)}; "
                    "check the `encoding` in mapping.yaml (auto detects UTF-8 and GB18030)"
                ) from exc
            if not block:
                break
            offset += len(block)
