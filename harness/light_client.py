"""A light HTTP visitor for crowds: Gradio's REST routes with urllib, no gradio_client per student.

Forty ``gradio_client.Client`` objects would each fetch the config, open their own streams and
spend this 2-core machine's CPU that the server under test needs. A crowd benchmark uses these
instead: upload a file, call an endpoint (``/gradio_api/call/<name>``), read its event stream to
the end. Every request carries the visitor's address the way a trusted proxy reports it
(``X-Forwarded-For``; the app under test trusts 127.0.0.1, see ``harness.server``).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field

from harness.attacks import file_data, fn_index, post, upload


def refusal_text(answer: dict) -> str:
    """What a refusal said: the guard's sentence, or each sentence of Gradio's validation form (a
    list with an entry per input, as the guard's value checks answer)."""
    detail = answer.get("detail", answer)
    if isinstance(detail, list):
        return " ".join(str(d.get("message", d)) if isinstance(d, dict) else str(d) for d in detail)
    return str(detail)


@dataclass
class Outcome:
    """How one call ended: ``complete``, ``error`` (with the server's message) or ``refused`` (an
    HTTP status before it was queued), after how many seconds, and its last data."""

    kind: str
    seconds: float
    message: str = ""
    data: list = field(default_factory=list)
    status: int = 200
    messages: list = field(default_factory=list)  # the toasts shown meanwhile: (level, text)


@dataclass
class Visitor:
    """One visitor: a session of their own, from ``address``."""

    url: str
    address: str
    session: str = field(default_factory=lambda: uuid.uuid4().hex)
    headers_extra: dict = field(default_factory=dict)  # e.g. the browser's Accept-Language

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Forwarded-For": self.address, **self.headers_extra}

    def upload(self, name: str, data: bytes) -> dict:
        """Upload a file; the value an endpoint takes for it."""
        return file_data(upload(self.url, name, data, self.headers), name)

    def join(self, api_name: str, inputs: list, timeout: float = 600, query: str = "") -> Outcome:
        """Run an event the page runs (not in the API: ``call`` cannot) through the queue, as the
        page does; its end, with the toasts it showed (``messages``: (level, text)) in ``data``'s place
        when it failed, and its output data when it completed. ``query``: the page's own URL
        parameters (Gradio hands a handler those of the join request), e.g. a teacher's link's."""
        started = time.monotonic()
        body = json.dumps(
            {
                "data": inputs,
                "fn_index": fn_index(self.url, api_name),
                "session_hash": self.session,
                "event_data": None,
                "trigger_id": None,
            }
        ).encode()
        path = "/gradio_api/queue/join" + (f"?{query}" if query else "")
        status, answer = post(self.url, path, body, self.headers, timeout=60)
        if status != 200 or "event_id" not in answer:
            return Outcome("refused", time.monotonic() - started, refusal_text(answer), status=status)
        request = urllib.request.Request(
            f"{self.url}/gradio_api/queue/data?session_hash={self.session}", headers=self.headers
        )
        outcome = Outcome("error", 0.0, "the stream ended without an answer")
        with urllib.request.urlopen(request, timeout=timeout) as stream:
            for raw in stream:
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                message = json.loads(line.removeprefix("data:"))
                if message.get("event_id") != answer["event_id"]:
                    continue
                if message.get("msg") == "log":
                    outcome.messages.append((message.get("level"), message.get("log")))
                elif message.get("msg") == "process_completed":
                    output = message.get("output") or {}
                    outcome.kind = "complete" if message.get("success") else "error"
                    outcome.data = output.get("data") or []
                    outcome.message = str(output.get("error") or "")
                    break
        outcome.seconds = time.monotonic() - started
        return outcome

    def call(self, api_name: str, inputs: list, timeout: float = 600) -> Outcome:
        """Call ``api_name`` and wait for its end (its last update's data on success)."""
        started = time.monotonic()
        body = json.dumps({"data": inputs, "session_hash": self.session}).encode()
        status, answer = post(self.url, f"/gradio_api/call/{api_name}", body, self.headers, timeout=60)
        if status != 200 or "event_id" not in answer:
            return Outcome("refused", time.monotonic() - started, refusal_text(answer), status=status)
        request = urllib.request.Request(
            f"{self.url}/gradio_api/call/{api_name}/{answer['event_id']}", headers=self.headers
        )
        kind, data, message = "error", [], "the stream ended without an answer"
        try:
            with urllib.request.urlopen(request, timeout=timeout) as stream:
                event = None
                for raw in stream:
                    line = raw.decode("utf-8", "replace").rstrip("\n")
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ").strip()
                    elif line.startswith("data: ") and event in ("complete", "error", "generating"):
                        payload = line.removeprefix("data: ")
                        if event == "generating":
                            continue
                        kind = event
                        parsed = json.loads(payload) if payload and payload != "null" else None
                        if event == "complete":
                            data, message = parsed or [], ""
                        elif isinstance(parsed, dict) and "error" in parsed:  # Gradio's error form
                            message = str(parsed["error"] or "")
                        else:
                            message = str(parsed)
                        break
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            kind, message = "error", f"{type(error).__name__}: {error}"
        return Outcome(kind, time.monotonic() - started, message, data)
