"""zh-CN and en: gettext catalogues (Babel), compiled when the console starts.

``locale/<lang>/LC_MESSAGES/messages.po`` is the source (``pybabel extract``
and ``update``, see the README); the console compiles it in memory at start,
so no ``.mo`` file is kept beside it to go stale. English is the source
language: its catalogue is the messages themselves.
"""

from __future__ import annotations

import contextvars
import io
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from babel import Locale, negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES = ("zh_CN", "en")
"""What a user may choose; the first is the site's own language."""
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}

_current: contextvars.ContextVar[str] = contextvars.ContextVar("console_language", default="en")


def N_(message: str) -> str:
    return message


@cache
def translations(language: str) -> NullTranslations:
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=language)
    mo = io.BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    mo.seek(0)
    return Translations(mo)


def use(language: str) -> contextvars.Token[str]:
    return _current.set(language if language in LANGUAGES else "en")


def reset(token: contextvars.Token[str]) -> None:
    _current.reset(token)


def current() -> str:
    return _current.get()


def raw_gettext(message: str) -> str:
    return translations(_current.get()).ugettext(message)


def raw_ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ungettext(singular, plural, n)


def gettext(message: str, **variables: object) -> str:
    text = translations(_current.get()).ugettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: object) -> str:
    text = translations(_current.get()).ungettext(singular, plural, n)
    return text % {"num": n, **variables}


def html_lang(language: str) -> str:
    return language.replace("_", "-")


def babel_locale(language: str | None = None) -> Locale:
    return _locale(language or _current.get())


@cache
def _locale(language: str) -> Locale:
    """Parsed once a language: every time on a page asks for it (a queue's badges)."""
    return Locale.parse(language)


def negotiate(accept_language: str | None) -> str:
    """The language for a browser's ``Accept-Language``; the site's own when none fits."""
    wanted = [tag.replace("-", "_") for tag in _preferred(accept_language or "")]
    found = negotiate_locale(wanted, LANGUAGES, aliases={"zh": "zh_CN", "en": "en"})
    if found is None:
        # negotiate_locale matches whole tags: en-GB means en, zh-Hans-CN means zh_CN.
        for tag in wanted:
            base = tag.split("_")[0].lower()
            if base == "zh":
                return "zh_CN"
            if base == "en":
                return "en"
        return LANGUAGES[0]
    return found


def _preferred(header: str) -> Iterable[str]:
    weighted: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        if not tag or tag == "*":
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            weighted.append((-q, i, tag))
    return [tag for _, _, tag in sorted(weighted)]
