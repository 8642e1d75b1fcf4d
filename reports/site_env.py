"""The public site renders through the project's one Jinja2 environment."""
from __future__ import annotations

from reports.templating import environment as site_env, render_template

__all__ = ["site_env", "render_template"]
