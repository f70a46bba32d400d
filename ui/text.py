"""Every sentence a visitor reads, in English and Korean, and the escaping of strangers' text.

The sentences live in ``assets/i18n/*.json`` (one file per room, each ``{"en": {...}, "ko":
{...}}``). Static labels go to the browser through ``T`` (a ``gr.I18n``), which shows them in the
page's language. Sentences the server builds (a status with numbers, an error) are written by
``say`` in the visitor's language: the language the page shows, which the page reports in a
cookie (see ``LANGUAGE_JS``), else the browser's ``Accept-Language``, else English.

``nets/`` reports facts (``nets.facts.Fact``: a code and values), never sentences; ``tell``
words a fact in the visitor's language. Values are formatted by the template's spec:
``{size:bytes}`` "100 MB" (decimal: 10^6 bytes), ``{names:names}`` "'a', 'b', 'c' and 2 more", ``{name:name}`` a quoted
name, ``{pixels:mp}`` megapixels, ``{kinds:kinds}`` counts by kind, ``{x:phrase=key}`` the
sentence part stored under ``key_<x>``; ``{x:name+을}`` (also 를, 이, 가, 은, 는, 과, 와, 으로, 로) a
quoted name followed by the Korean particle its last sound takes (``particle``); any other spec
is Python's own (``{n:,}``). Every string a stranger chose (file and folder names) is escaped for
where it is shown: HTML in a toast, Markdown in a status line.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
import string
from collections.abc import Mapping
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any, Literal

import gradio as gr

from nets.facts import Fact, Refusal
from nets.paths import ASSETS

I18N = ASSETS / "i18n"
LANGUAGES = ("en", "ko")
LANGUAGE_COOKIE = "classic_cnns_language"  # set by the page (LANGUAGE_JS) to the language it shows
Markup = Literal["html", "markdown", "text"]


def load_text(folder: Path = I18N) -> dict[str, dict[str, str]]:
    """All sentences, by language, merged from every file in ``folder`` (a key lives in one file)."""
    text: dict[str, dict[str, str]] = {language: {} for language in LANGUAGES}
    owner: dict[str, str] = {}
    for path in sorted(folder.glob("*.json")):
        room = json.loads(path.read_text(encoding="utf-8"))
        for language in LANGUAGES:
            for key, sentence in room[language].items():
                if owner.setdefault(key, path.name) != path.name or key in text[language]:
                    raise ValueError(f"the text key {key!r} is in both {owner[key]} and {path.name}")
                text[language][key] = sentence
    return text


TEXT = load_text()


def fill_in(key: str, **values: Any) -> None:
    """Put fixed values (the server's own limits) into a sentence once, in every language."""
    for language in LANGUAGES:
        TEXT[language][key] = TEXT[language][key].format(**values)


T = gr.I18n(**TEXT)  # the labels, for the page (it holds TEXT's own dicts: fill_in reaches it too)


# The page tells the server which language it shows. Gradio chooses it from the browser, and a
# visitor may change it in Settings; a hidden element translated by the page itself
# (#page-language, whose text is "en" or "ko" in the page's language) is watched, and its text
# kept in a cookie that every later request carries.
#
# The choice also sticks for the page. Gradio 6.31 sets its language from the browser when it
# starts and forgets a Settings choice on reload: a kept language that differs from the one shown
# is set again through Gradio's own changeLocale (the function its Settings call, from the core
# module the page has already loaded). And Gradio rewords a tab's label only once the tab has been
# shown: every tab label (the tab_* sentences) is reworded here when the language changes.
TAB_LABELS = {
    language: [TEXT[language][key] for key in sorted(TEXT["en"]) if key.startswith("tab_")] for language in LANGUAGES
}
LANGUAGE_JS = f"""
() => {{
  const languages = {list(LANGUAGES)!r};
  const tabLabels = {json.dumps(TAB_LABELS, ensure_ascii=False)};
  const shownLanguage = () => document.querySelector('#page-language')?.innerText.trim();
  const kept = (document.cookie.match(/(?:^|; ){LANGUAGE_COOKIE}=(\\w+)/) || [])[1];
  const relabelTabs = (language) => {{
    for (const tab of document.querySelectorAll('[role="tab"]')) {{
      const text = tab.innerText.trim();
      for (const other of languages) {{
        const at = tabLabels[other].indexOf(text);
        if (at >= 0 && other !== language) tab.textContent = tabLabels[language][at];
      }}
    }}
  }};
  const remember = () => {{
    const shown = shownLanguage();
    if (shown && languages.includes(shown)) {{
      document.cookie = '{LANGUAGE_COOKIE}=' + shown + '; path=/; SameSite=Lax; max-age=31536000';
      document.documentElement.lang = shown;  // for screen readers, and TOAST_CSS
      relabelTabs(shown);
    }}
  }};
  const start = () => {{
    new MutationObserver(remember).observe(document.body, {{childList: true, subtree: true, characterData: true}});
    remember();
  }};
  const core = performance.getEntriesByType('resource').map((entry) => entry.name)
    .find((name) => /\\/assets\\/core-[\\w-]+\\.js$/.test(name));
  if (kept && languages.includes(kept) && kept !== shownLanguage() && core) {{
    import(core).then((gradio) => gradio.changeLocale(kept)).catch(() => {{}}).finally(start);
  }} else {{
    start();
  }}
}}
"""


# Gradio's error toasts are headed "Error" in every language (a gr.Error's title is not shown):
# on a Korean page the header is written in Korean instead.
TOAST_CSS = """
html:lang(ko) span.toast-title.error, html:lang(ko) span.toast-title.warning { font-size: 0; }
html:lang(ko) span.toast-title.error::before { content: "오류"; font-size: var(--text-md); }
html:lang(ko) span.toast-title.warning::before { content: "주의"; font-size: var(--text-md); }
/* Korean lines break between words, as English ones do (by default they break inside a word) */
html:lang(ko) body { word-break: keep-all; }
"""


def language(request: gr.Request | None) -> str:
    """The visitor's language: the page's (cookie), else the browser's (Accept-Language), else "en"."""
    if request is None:
        return "en"
    cookies = getattr(request, "cookies", None)
    if not isinstance(cookies, Mapping):  # gr.Request carries the headers; a queued event has no .cookies
        jar = SimpleCookie()
        with contextlib.suppress(CookieError):
            jar.load(request.headers.get("cookie") or "")
        cookies = {name: morsel.value for name, morsel in jar.items()}
    chosen = cookies.get(LANGUAGE_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for part in (request.headers.get("accept-language") or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
        if code and code != "*":
            return "en"  # the browser's first choice is a language we lack: English
    return "en"


# --- escaping ------------------------------------------------------------------------------------


def html_text(text: str) -> str:
    """A stranger's text made inert in HTML (toasts render HTML)."""
    return html.escape(str(text), quote=False)


def markdown_text(text: str) -> str:
    """A stranger's text (folder and file names) made inert inside Markdown."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~])", r"\\\1", str(text))


ESCAPE = {"html": html_text, "markdown": markdown_text, "text": str}


class Written(str):
    """Text already written for its place (a sentence from ``say`` or ``tell``): never escaped again."""


# --- sentences -----------------------------------------------------------------------------------


class _Sentence(string.Formatter):
    """Formats one template in one language, with the specs described in the module docstring."""

    def __init__(self, language: str, markup: Markup) -> None:
        self.language, self.escape = language, ESCAPE[markup]

    def word(self, key: str, **values: Any) -> Written:
        return Written(self.format(TEXT[self.language].get(key, TEXT["en"][key]), **values))

    def quoted(self, name: object, limit: int = 80) -> str:
        name = str(name)
        return "'" + self.escape(name if len(name) <= limit else name[: limit - 3] + "...") + "'"

    def format_field(self, value: Any, spec: str) -> str:
        if spec == "bytes":
            return size_text(value)
        if spec == "mp":
            return f"{value / 1e6:,.0f}" if value >= 10e6 else f"{value / 1e6:g}"
        if spec == "name":
            return self.quoted(value)
        if spec.startswith("name+"):  # a quoted name and, in Korean, the particle that fits it
            korean = self.language == "ko"
            return self.quoted(value) + (particle(str(value), spec.removeprefix("name+")) if korean else "")
        if spec == "names":
            names = list(value)
            if not names:
                return self.word("list_none")
            shown = ", ".join(self.quoted(name) for name in names[:3])
            return shown + (self.word("list_more", n=len(names) - 3) if len(names) > 3 else "")
        if spec == "all":
            return ", ".join(self.quoted(name) for name in value)
        if spec == "counts":  # [(name, count), ...]
            return ", ".join(f"{self.quoted(name)}: {count:,}" for name, count in list(value)[:5])
        if spec == "kinds":  # {kind: count}
            return ", ".join(
                f"{self.word('skip_kind_' + kind.replace(' ', '_'))}: {count:,}" for kind, count in dict(value).items()
            )
        if spec == "inside":  # a wrapper folder's name, or "" for none
            return self.word("inside_folder", folder=self.quoted(value + "/")) if value else ""
        if spec == "after_failed":  # a number of unreadable images skipped before this refusal
            return self.word("after_failed", n=value) if value else ""
        if spec.startswith("phrase="):
            return self.word(f"{spec.removeprefix('phrase=')}_{value}")
        if isinstance(value, Written):
            return format(str(value), spec)
        if isinstance(value, str):
            return self.escape(format(value, spec))
        return format(value, spec)


def size_text(n: float) -> str:
    """A byte count for people: 100 MB, 1 GB, 3.2 KB, in decimal units (1 MB = 1,000,000 bytes), as the
    compare tab, the download buttons and the limits write them: one file has one size everywhere."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            value = n / scale
            return f"{value:.0f} {unit}" if value >= 100 else f"{value:.3g} {unit}"
    return f"{int(n)} bytes"


# Korean particles come in pairs: the first form follows a final consonant (받침), the second a vowel.
PARTICLES = {"을": "을", "를": "을", "이": "이", "가": "이", "은": "은", "는": "은", "과": "과", "와": "과"}
PAIRS = {"을": ("을", "를"), "이": ("이", "가"), "은": ("은", "는"), "과": ("과", "와"), "으로": ("으로", "로")}
DIGIT_ENDS = "영일이삼사오육칠팔구"  # how each digit is read: a name ending in 7 ends in 칠 (a final ㄹ)
HANGUL_FIRST, HANGUL_LAST = 0xAC00, 0xD7A3
RIEUL = 8  # the final-consonant index of ㄹ, which takes 로, not 으로


def particle(word: str, form: str) -> str:
    """The Korean particle ``form`` (을/를, 이/가, 은/는, 과/와, 으로/로: either form may be given) in
    the form ``word``'s last sound takes: 사과를, 고양이를, 연필을, 연필로, 7을.

    A Hangul syllable says whether it ends in a consonant; a digit is read (일, 이, 삼...). Any other
    ending (a Latin letter, a bracket) cannot be read for sure: both forms are written, 을(를)."""
    key = "으로" if form in ("으로", "로") else PARTICLES[form]
    with_final, without = PAIRS[key]
    last = next((c for c in reversed(word.strip()) if c.isalnum()), "")
    if last.isdigit() and last.isascii():
        last = DIGIT_ENDS[int(last)]
    if not last or not HANGUL_FIRST <= ord(last) <= HANGUL_LAST:
        return f"{with_final}({without})" if key != "으로" else "(으)로"
    final = (ord(last) - HANGUL_FIRST) % 28  # 0: no final consonant
    if key == "으로":
        return "로" if final in (0, RIEUL) else "으로"
    return with_final if final else without


def say(request: gr.Request | None, key: str, markup: Markup = "html", **values: Any) -> str:
    """The sentence ``key`` in the visitor's language, with ``values`` filled in (strings escaped)."""
    return Written(_Sentence(language(request), markup).word(key, **values))


def say_in(language_code: str, key: str, markup: Markup = "html", **values: Any) -> str:
    """The sentence ``key`` in a given language."""
    return Written(_Sentence(language_code, markup).word(key, **values))


# Column names that cannot be keys as they are
COLUMN_KEYS = {"true \\ predicted": "true_predicted"}


def worded(request: gr.Request | None, table, columns=None):
    """``table`` (a DataFrame) with its column names, or only ``columns``, as headings in words in
    the visitor's language (the ``column_<name>`` sentences); the data is unchanged. For the page:
    API callers keep the documented names."""
    names = table.columns if columns is None else columns
    return table.rename(
        columns={name: say(request, f"column_{COLUMN_KEYS.get(name, name)}", markup="text") for name in names}
    )


def tell(request: gr.Request | None, fact: Fact, subject: str | None = None, markup: Markup = "html") -> str:
    """A fact from ``nets/`` as a sentence in the visitor's language.

    ``subject`` is the key of what the sentence is about when the fact names no file of its own
    (``"subject_photo"``: "The photo"); a fact about a named file calls it by its name.
    """
    sentence = _Sentence(language(request), markup)
    values = dict(fact.values)
    if subject is not None:
        values["subject"] = sentence.word(subject)
    elif values.get("name") is not None:
        values["subject"] = sentence.quoted(values["name"])
    else:
        values["subject"] = sentence.word("subject_file")
    return Written(sentence.word(fact.code, **values))


def refusal(
    request: gr.Request | None, error: Refusal, subject: str | None = None, title: str = "error_title"
) -> gr.Error:
    """A ``gr.Error`` for a refusal from ``nets/``: the sentence and the toast's title in the
    visitor's language. Raise it ``from None``: the visitor needs no traceback."""
    return gr.Error(tell(request, error.fact, subject), title=say(request, title))


def error(request: gr.Request | None, key: str, title: str = "error_title", **values: Any) -> gr.Error:
    """A ``gr.Error`` with the sentence ``key`` and a title, in the visitor's language."""
    return gr.Error(say(request, key, **values), title=say(request, title))
