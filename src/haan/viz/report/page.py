"""The report page: the template files of this package with the data inside.

The data goes in as JSON in a `<script type="application/json">` element, with every `<`, `>`,
`&`, U+2028 and U+2029 written as a `\\uXXXX` escape: a string holding `</script>` or `<!--` then
cannot end the element, and the JSON reads back the same. The script and the style are allowed by
their SHA-256 in the Content-Security-Policy (no nonce: the same inputs give the same page), which
forbids every other script, every connection and every fetched font or image; media may come from
files (the videos beside the page).
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from importlib import resources
from typing import Any

# Characters that could end or alter the <script> element (or a line, for U+2028/9 in old JS
# engines), as JSON escapes. They occur only inside JSON strings, where the escape is equivalent.
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                 "\u2029": "\\u2029"}
_JSON_ESCAPE_TABLE = str.maketrans(_JSON_ESCAPES)


def escape_json_for_html(value: Any) -> str:
    """Compact JSON of `value` that is safe inside a `<script type="application/json">`."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.translate(_JSON_ESCAPE_TABLE)


def _template(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


def _sha256_source(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(script: str, style: str) -> str:
    """Only this script and this style; images as data: URIs (the diagnosis figures); media from
    files and the page's own origin; nothing fetched, posted or framed."""
    return ("default-src 'none'; "
            f"script-src {_sha256_source(script)}; style-src {_sha256_source(style)}; "
            "img-src data:; media-src 'self' file: blob:; "
            "base-uri 'none'; form-action 'none'")


def render_page(data: dict, title: str) -> str:
    """The whole page: `data` (as `assemble.report_data` makes it) and a title, both escaped."""
    script = "\n" + _template("report.js") + "\n"
    style = "\n" + _template("report.css") + "\n"
    for code, kind in ((script, "script"), (style, "style")):
        if f"</{kind}" in code.lower():  # our own files: a guard against a future edit
            raise ValueError(f"report.{'js' if kind == 'script' else 'css'} contains </{kind}")
    parts = {
        "CSP": html.escape(content_security_policy(script, style), quote=True),
        "TITLE": html.escape(title, quote=False),
        "STYLE": style,
        "SCRIPT": script,
        "DATA": escape_json_for_html(data),
    }
    # One pass over the template: nothing inserted is ever read again as a token.
    return re.sub(r"@@([A-Z]+)@@", lambda m: parts[m.group(1)], _template("report.html"))


__all__ = ["content_security_policy", "escape_json_for_html", "render_page"]
