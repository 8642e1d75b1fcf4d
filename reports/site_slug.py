"""Folder names of compound pages, shared by the renderer and the intake service."""
from __future__ import annotations

import hashlib
import re

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,80}$")


def page_slug(compound_id: str) -> str:
    """The folder name of a compound's page: the id itself when URL- and path-safe."""
    if _SAFE_ID.match(compound_id):
        return compound_id
    return "x" + hashlib.sha1(compound_id.encode("utf-8")).hexdigest()[:16]
