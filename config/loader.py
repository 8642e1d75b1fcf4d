"""The one typed loader of SafeStar's policy files (config/*.yaml).

Every policy module declares its pydantic models on :class:`Strict` and reads its file with
:func:`load`; the file is parsed once per content (an edit is seen on the next call), a
``version`` field receives the first 12 hex digits of the file's sha256, and every problem
is one :class:`ConfigError` line: ``config/X.yaml: <field>: <problem> — fix the file: <how>``.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

CONFIG_DIR = Path(__file__).resolve().parent

Derive = Callable[[dict, str], Mapping[str, Any]]
"""Fields a module adds on load from the raw mapping and the file's display name (the
rules' taxonomy codes); the loader refuses a file that sets them itself."""

M = TypeVar("M", bound=BaseModel)

_HINTS = {
    "missing": "add the key",
    "extra_forbidden": "remove or correct the key (misspelt?)",
}


class ConfigError(ValueError):
    """A policy file that cannot be used: one line naming the file, the key and the fix."""


class Strict(BaseModel):
    """Base of every policy model: unknown keys are refused, loaded values never change."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def config_path(name: str | Path) -> Path:
    """A shipped file by its name (the string ``"rules.yaml"``), any other file by its ``Path``."""
    return CONFIG_DIR / name if isinstance(name, str) and "/" not in name else Path(name)


def display(path: Path) -> str:
    """``config/rules.yaml`` for a shipped file, the path itself otherwise."""
    return f"config/{path.name}" if path.resolve().parent == CONFIG_DIR else str(path)


def load(name: str | Path, model: type[M], derive: Derive | None = None,
         depends: tuple[str | Path, ...] = ()) -> M:
    """Read, validate and cache one policy file (``depends``: files ``derive`` reads, whose
    content joins the cache key)."""
    path = config_path(name)
    source = display(path)
    data = _read(path, source)
    return _parsed(source, data, model, derive, tuple(_read(config_path(d), str(d)) for d in depends))


def parse(raw: Any, model: type[M], source: str, version: str | None = None, derive: Derive | None = None) -> M:
    """Validate an already-parsed mapping (``source`` names it in errors; tests build variants this way)."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: (top level): not a mapping of sections — fix the file: "
                          f"write `key: value` sections as in the shipped file")
    extra = dict(derive(raw, source)) if derive else {}
    if version is not None and "version" in model.model_fields:
        extra["version"] = version
    for key in extra:
        if key in raw:
            raise ConfigError(f"{source}: {key}: reserved (derived on load) — fix the file: remove the key")
    try:
        return model.model_validate({**raw, **extra})
    except ValidationError as exc:
        raise ConfigError(f"{source}: " + "; ".join(_one(err) for err in exc.errors())
                          + f" — fix the file: {_hint(exc)}") from None


@lru_cache(maxsize=32)
def _parsed(source: str, data: bytes, model: type[M], derive: Derive | None, _depends: tuple[bytes, ...]) -> M:
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        why = " ".join(str(exc).split())  # YAML errors span lines; the message is one
        raise ConfigError(f"{source}: not valid UTF-8 YAML ({why}) — fix the file: correct the syntax "
                          f"at the position shown") from None
    return parse(raw, model, source, hashlib.sha256(data).hexdigest()[:12], derive)


def _read(path: Path, source: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        fix = "restore it from the release" if path.parent.resolve() == CONFIG_DIR else "pass an existing file"
        raise ConfigError(f"{source}: cannot read the file ({exc.strerror or exc}) — fix: {fix}") from None


def _one(err: Mapping[str, Any]) -> str:
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    return f"{where}: {' '.join(str(err['msg']).split())}"


def _hint(exc: ValidationError) -> str:
    kinds = {err["type"] for err in exc.errors()}
    return "; ".join(dict.fromkeys(_HINTS.get(k, "correct the value") for k in sorted(kinds)))
