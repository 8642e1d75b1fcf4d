"""Writing many small files fast: one open, one write loop, one close per file."""
from __future__ import annotations

import os


def write_fd(fd: int, data: bytes) -> None:
    """Write all of ``data`` to the open file ``fd`` and close it (os.write may write less)."""
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def write_new(name: str, data: bytes, *, dir_fd: int | None = None, replace: bool = False) -> None:
    """Create file ``name`` (relative to the open folder ``dir_fd`` when given: no path lookup
    from the root) holding ``data``. An existing file is an error unless ``replace``."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if replace else os.O_EXCL)
    write_fd(os.open(name, flags, 0o644, dir_fd=dir_fd), data)
