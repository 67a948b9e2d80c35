"""MkDocs hooks for the docs site (``hooks:`` in mkdocs.yml).

The package's docstrings use Sphinx roles (:class:`~exotel_provider.errors.ExotelError`, :meth:`x`)
that mkdocstrings shows as written; this turns each into code naming the object (its last part
with ``~``, as Sphinx does).
"""

from __future__ import annotations

import re
from typing import Any

ROLE = re.compile(r":(?:class|meth|func|data|mod|attr|exc|obj):<code>(~?)([^<]+)</code>")


def plain_roles(html: str) -> str:
    """``:class:<code>~a.b.C</code>`` -> ``<code>C</code>``; without ``~``, the whole name."""
    return ROLE.sub(
        lambda m: f"<code>{m.group(2).rsplit('.', 1)[-1] if m.group(1) else m.group(2)}</code>", html
    )


def on_page_content(html: str, **kwargs: Any) -> str:
    """Applied to every page's HTML after Markdown (and mkdocstrings) rendered it."""
    return plain_roles(html)
