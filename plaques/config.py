"""The plaque policy (``config/plaques.yaml``): issuer, physical plaque, proof, fonts, signing."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config import CONFIG_DIR

DEFAULT_PLAQUE_CONFIG = CONFIG_DIR / "plaques.yaml"


class PlaqueConfigError(ValueError):
    """An unusable plaque config, with the key at fault and the fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PhysicalPlaque(_Strict):
    width_mm: float = Field(gt=0)
    height_mm: float = Field(gt=0)
    bleed_mm: float = Field(ge=0, le=20)
    crop_mark_mm: float = Field(gt=0, le=30)
    material: str = Field(min_length=1)
    quantity: int = Field(ge=1)
    qr_size_mm: float = Field(gt=0)


class Proof(_Strict):
    per_page: int = Field(ge=1, le=40)


class Signing(_Strict):
    min_secret_length: int = Field(ge=16)
    min_entropy_bits: float = Field(ge=0)
    grace_days: int = Field(ge=0)


class PlaqueConfig(_Strict):
    issuer: str = Field(min_length=1)
    plaque: PhysicalPlaque
    proof: Proof
    pdf_fonts: list[str]
    signing: Signing

    @property
    def size_text(self) -> str:
        """The physical size as a print shop reads it (宽×高 毫米)."""
        p = self.plaque
        return f"{p.width_mm:g}×{p.height_mm:g} 毫米（出血 {p.bleed_mm:g} 毫米）"


@lru_cache(maxsize=8)
def load_plaque_config(path: Path | None = None) -> PlaqueConfig:
    """The plaque config (default ``config/plaques.yaml``); raises ``PlaqueConfigError`` in one line."""
    path = Path(path) if path is not None else DEFAULT_PLAQUE_CONFIG
    try:
        return PlaqueConfig(**(yaml.safe_load(path.read_text(encoding="utf-8")) or {}))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as e:
        why = " ".join(str(e).split())  # YAML errors span lines; the message is one
        raise PlaqueConfigError(f"{path}: cannot read the plaque config ({why}); fix: restore config/plaques.yaml") from e
    except ValidationError as e:
        where = "; ".join(f"{'.'.join(map(str, err['loc'])) or '(top level)'}: {err['msg']}" for err in e.errors())
        raise PlaqueConfigError(f"{path}: {where}; fix: correct the key (see config/plaques.yaml)") from e
    except TypeError as e:  # not a mapping
        raise PlaqueConfigError(f"{path}: {e}; fix: correct the key (see config/plaques.yaml)") from e
