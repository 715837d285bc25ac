"""Drawing (``plots``) and composing (``html``) study reports; neither reads nor writes files."""

from pointline.research.report.html import render_report

__all__ = ["render_report"]
