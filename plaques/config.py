"""The plaque policy (``config/plaques.yaml``): issuer, physical plaque, proof, fonts, signing."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field

from config.loader import Strict, load


class PhysicalPlaque(Strict):
    width_mm: float = Field(gt=0)
    height_mm: float = Field(gt=0)
    bleed_mm: float = Field(ge=0, le=20)
    crop_mark_mm: float = Field(gt=0, le=30)
    material: str = Field(min_length=1)
    quantity: int = Field(ge=1)
    qr_size_mm: float = Field(gt=0)


class Proof(Strict):
    per_page: int = Field(ge=1, le=40)


class Signing(Strict):
    min_secret_length: int = Field(ge=16)
    min_entropy_bits: float = Field(ge=0)
    grace_days: int = Field(ge=0)


class PlaqueConfig(Strict):
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


def load_plaque_config(path: Path | None = None) -> PlaqueConfig:
    """The plaque config (default ``config/plaques.yaml``); raises ``ConfigError`` in one line."""
    return load(path or "plaques.yaml", PlaqueConfig)
