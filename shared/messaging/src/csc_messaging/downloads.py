"""A file to download, named by RFC 6266's Content-Disposition in any script.

A name that is plain ASCII travels as ``filename="..."``. Any other, a Chinese
one above all, travels as RFC 8187 (formerly 5987) ``filename*=UTF-8''...``,
percent-encoded, with an ASCII ``filename`` before it for the few clients that
read only that (RFC 6266 4.3, appendix D). Starlette's FileResponse builds
``filename*`` the same way (``urllib.parse.quote`` of the name, the header in
ASCII); it is for files on disk, these are bytes. Control characters never
reach the header: a CR/LF in a name cannot end the header or the response,
and a quote cannot start a second parameter.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from starlette.responses import Response

# Quoted-string content kept to characters no client misreads: none that a naive parser
# splits parameters on (";", "="), none a browser percent-decodes ("%"), no quote.
_PLAIN = re.compile(r"[A-Za-z0-9!#$&'()+,\-.@\[\]^_`{}~ ]+")


def content_disposition(filename: str, disposition: str = "attachment") -> str:
    name = "".join(ch for ch in filename if not unicodedata.category(ch).startswith("C"))
    name = unicodedata.normalize("NFC", name).strip() or "download"
    if _PLAIN.fullmatch(name):
        return f'{disposition}; filename="{name}"'
    # quote() leaves only RFC 8187 attr-chars unescaped once "/" is not kept as safe.
    return f"{disposition}; filename=\"{_ascii(name)}\"; filename*=UTF-8''{quote(name, safe='')}"


def _ascii(name: str) -> str:
    """The name's Latin letters without accents; every other run of characters an underscore."""
    decomposed = unicodedata.normalize("NFKD", name)
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    out = re.sub(r"[^A-Za-z0-9!#$&'()+,\-.@\[\]^_`{}~ ]+", "_", folded)
    stem, dot, extension = out.rpartition(".")
    return out if stem.strip("_ ") or not dot else f"download.{extension}"


def attachment(content: bytes, media_type: str, filename: str) -> Response:
    """``content`` to save as ``filename``, never shown or sniffed as anything else."""
    return Response(
        content,
        media_type=media_type,
        headers={
            "Content-Disposition": content_disposition(filename),
            "X-Content-Type-Options": "nosniff",
        },
    )
