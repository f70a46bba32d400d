"""What a stranger may ask of the server: a small guard in front of the app, per client address.

A public Space is one server for everyone, and every request a stranger sends costs it something
before any handler runs: Gradio creates a session for any new session id, reads a JSON body into
memory whole, keeps an upload on disk for half an hour, and gives any event a place in its one
queue. This ASGI middleware bounds each of those per client address (and per session), with the
budgets of ``ui.budgets.Budgets``, before the request reaches Gradio:

- requests that do work (POST) and new sessions: a token bucket per address, generous enough for a
  class behind one school address, far too small to fill the queue or the session store;
- request bodies: JSON bodies are small (a drawing or a photo is uploaded as a file first);
  uploads count against a byte budget and a file budget per address and per ten minutes, each
  file charged the disk it takes at least (``UPLOAD_FILE_CHARGE``), counted as the upload streams;
- files an event names: another session's scratch file or another address's upload is refused
  (``ui.file_owners``: the guard records who uploaded each file);
- training (fine-tuning AlexNet, training a LeNet): of each kind, one queued or running per
  session, a few per address (a class shares one), and a cap on waiting ones, so that training
  never takes the queue places digits and photos need.

A refusal is a JSON ``{"detail": sentence}`` in the visitor's language, with the HTTP status
Gradio itself uses (429 too many, 413 too large), which the page shows as an error message.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse

from ui import gradio_internals
from ui.addresses import client_address
from ui.budgets import BUDGETS, QUEUE_SIZE, UPLOAD_FILE_CHARGE, Budgets
from ui.file_owners import FileOwners
from ui.ids import FINETUNE_QUEUE, LENET_TRAINING_QUEUE, TRAINING_QUEUES
from ui.input_checks import first_problem
from ui.running_work import CANCELS
from ui.server_sharing import IDLE_CORES
from ui.session_store import SessionStore
from ui.text import say

REFUSALS = {  # how a training job of each kind is refused, in its own words
    FINETUNE_QUEUE: {"already": "ft_already_queued", "full": "ft_too_many_waiting"},
    LENET_TRAINING_QUEUE: {"already": "train_already_queued", "full": "train_too_many_waiting"},
}
WORK_PREFIXES = (
    "/gradio_api/queue/join",
    "/gradio_api/call/",
    "/gradio_api/upload",
    "/gradio_api/component_server",
    "/gradio_api/run/",
    "/gradio_api/api/",
)


class Bucket:
    """A token bucket: ``capacity`` at once, refilled at ``rate`` per second."""

    __slots__ = ("level", "stamp")

    def __init__(self, capacity: float) -> None:
        self.level, self.stamp = capacity, time.monotonic()

    def take(self, amount: float, capacity: float, rate: float) -> bool:
        now = time.monotonic()
        self.level = min(capacity, self.level + (now - self.stamp) * rate)
        self.stamp = now
        if self.level < amount:
            return False
        self.level -= amount
        return True


@dataclass
class Uploads:
    """Bytes and files an address uploaded in the current window (bytes include each file's charge)."""

    started: float = 0.0
    bytes: int = 0
    files: int = 0


class PartCounter:
    """Counts the parts of a multipart body as it streams past (each part of an upload is a file to
    Gradio: a folder and a file on disk), without keeping the body."""

    def __init__(self, content_type: str) -> None:
        boundary = content_type.partition("boundary=")[2].split(";")[0].strip().strip('"')
        self.marker = b"--" + boundary.encode("latin-1") + b"\r\n" if boundary else b""
        self.tail = b""

    def count(self, chunk: bytes) -> int:
        """How many new parts start in ``chunk`` (a part's marker split between chunks counted once)."""
        if not self.marker:
            return 0
        seen = self.tail + chunk
        self.tail = seen[-(len(self.marker) - 1) :]
        return seen.count(self.marker)


class Guard:
    """ASGI middleware enforcing ``Budgets`` per client address and per session (see the module)."""

    def __init__(self, app, budgets: Budgets = BUDGETS) -> None:
        self.app, self.budgets = app, budgets
        self.lock = threading.Lock()
        # What the guard remembers of addresses and sessions, the records used longest ago forgotten first.
        self.requests = SessionStore(max_entries=20_000)  # address -> Bucket
        self.new_sessions = SessionStore(max_entries=20_000)  # address -> Bucket
        self.known_sessions = SessionStore(max_entries=50_000)  # session -> True
        self.uploads = SessionStore(max_entries=20_000)  # address -> Uploads
        self.files = FileOwners()  # who uploaded each file: another visitor's is not an input
        self.joining: list[tuple[str | None, str, str]] = []  # joins admitted, not yet in Gradio's queue
        self.refused = 0  # how many requests the guard turned away (for benchmarks)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/gradio_api/cancel":
            body = await self.read_body(receive, self.budgets.json_body_bytes)
            self.tell_cancel(scope, body or b"")
            return await self.app(scope, self.replay(body or b""), send)
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith(WORK_PREFIXES):
            return await self.app(scope, receive, send)
        address = client_address(scope)
        request = Request(scope)
        length = int(request.headers.get("content-length") or 0)
        is_upload = scope["path"].startswith("/gradio_api/upload")
        refusal = self.admit_request(address, length, is_upload)
        if refusal is not None:
            return await self.refuse(refusal, request, scope, receive, send)
        if is_upload:  # Gradio streams it to disk; the server delivers no more than the declared length
            return await self.pass_upload(address, request, scope, receive, send)
        body = await self.read_body(receive, self.budgets.json_body_bytes)
        if body is None:
            return await self.refuse(
                ("guard_body_too_large", 413, {"limit": self.budgets.json_body_bytes}), request, scope, None, send
            )
        if scope["path"].startswith("/gradio_api/component_server"):
            # Components' own server functions: none of this app's visible components has one (the
            # digit canvas draws in the page; the Sketchpad behind /predict_digit takes files with
            # the request). Refused unread: they would create a session and store uploads.
            return await self.refuse(("guard_no_component_server", 404, {}), request, scope, None, send)
        if scope["path"].startswith("/gradio_api/call/") and self.public_function(scope) is None:
            # The REST route would run any event, even those the app keeps to the page itself
            # (Gradio's example loaders there crash mid-answer): it serves the documented API only.
            return await self.refuse(("guard_no_such_endpoint", 404, {}), request, scope, None, send)
        refusal, ticket = self.admit_work(scope, address, body)
        if refusal is not None:
            return await self.refuse(refusal, request, scope, None, send)
        try:
            await self.app(scope, self.replay(body), send)
        finally:
            if ticket is not None:
                with self.lock:
                    self.joining.remove(ticket)

    async def pass_upload(self, address: str, request: Request, scope, receive, send) -> None:
        """Let Gradio read an upload while its files are counted: each costs ``UPLOAD_FILE_CHARGE``
        more of the address's bytes and one of its files. An upload that passes either budget is cut
        where it does (Gradio stops reading it) and refused; what Gradio answers then is dropped."""
        counter = PartCounter(request.headers.get("content-type", ""))
        refusal = None

        async def counted():
            nonlocal refusal
            message = await receive()
            if refusal is None and message["type"] == "http.request":
                refusal = self.charge_files(address, counter.count(message.get("body", b"")))
            return {"type": "http.disconnect"} if refusal is not None else message

        answer: list[bytes] = []  # Gradio's answer: the paths it stored the files at (small)
        status = 0

        async def unless_refused(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and sum(map(len, answer)) < 4 << 20:
                answer.append(message.get("body", b""))
            if refusal is None:
                await send(message)

        try:
            await self.app(scope, counted, unless_refused)
        except Exception:
            if refusal is None:
                raise
        if refusal is not None:
            return await self.refuse(refusal, request, scope, None, send)
        if status == 200:
            try:
                paths = json.loads(b"".join(answer))
            except ValueError:
                return
            self.files.uploaded(address, paths if isinstance(paths, list) else [])

    def charge_files(self, address: str, files: int):
        """None, or the refusal once ``files`` more files pass the address's file or byte budget."""
        if not files:
            return None
        b = self.budgets
        with self.lock:
            window = self.uploads.get_or_make(address, Uploads)
            window.files += files
            window.bytes += files * UPLOAD_FILE_CHARGE
            if window.files > b.upload_files_per_window:
                return self.too_many_files()
            if window.bytes > b.upload_bytes_per_window:
                return (
                    "guard_upload_budget",
                    429,
                    {"limit": b.upload_bytes_per_window, "minutes": b.upload_window_seconds // 60},
                )
        return None

    def too_many_files(self):
        b = self.budgets
        return "guard_upload_files", 429, {"n": b.upload_files_per_window, "minutes": b.upload_window_seconds // 60}

    # --- the budgets ---------------------------------------------------------------------------

    def admit_request(self, address: str, length: int, is_upload: bool):
        """None, or (sentence key, HTTP status, values) for a request over its address's budget."""
        b = self.budgets
        with self.lock:
            bucket = self.requests.get_or_make(address, lambda: Bucket(b.requests_burst))
            if not bucket.take(1, b.requests_burst, b.requests_per_second):
                return "guard_too_many_requests", 429, {}
            if is_upload:
                if length <= 0:  # browsers and gradio_client always declare an upload's length
                    return "guard_upload_length", 411, {}
                window = self.uploads.get_or_make(address, Uploads)
                now = time.monotonic()
                if now - window.started > b.upload_window_seconds:
                    window.started, window.bytes, window.files = now, 0, 0
                if window.files >= b.upload_files_per_window:
                    return self.too_many_files()
                if window.bytes + length > b.upload_bytes_per_window:
                    return (
                        "guard_upload_budget",
                        429,
                        {"limit": b.upload_bytes_per_window, "minutes": b.upload_window_seconds // 60},
                    )
                window.bytes += length
            elif length > b.json_body_bytes and length > 16 << 20:  # smaller ones are drained first, see read_body
                return "guard_body_too_large", 413, {"limit": b.json_body_bytes}
        return None

    def admit_work(self, scope: dict, address: str, body: bytes):
        """(None, ticket) to let a job in, or (refusal, None): new sessions and fine-tunes."""
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            return None, None  # Gradio answers malformed JSON itself
        if not isinstance(payload, dict):
            return None, None
        session = payload.get("session_hash")
        b = self.budgets
        with self.lock:
            if isinstance(session, str) and session not in self.known_sessions:
                bucket = self.new_sessions.get_or_make(address, lambda: Bucket(b.sessions_burst))
                if not bucket.take(1, b.sessions_burst, b.sessions_per_second):
                    return ("guard_too_many_sessions", 429, {}), None
                self.known_sessions.put(session, True)
            fn = self.function(scope, payload)
            problem = first_problem(fn, payload.get("data")) if fn is not None else None
            if problem is not None:
                key, values = problem
                return (key, 422, values), None
            kind = fn.concurrency_id if fn is not None else None
            session = session if isinstance(session, str) else ""
            if self.files.strangers_file(payload.get("data"), session, address) is not None:
                return ("guard_not_your_file", 403, {}), None
            live = self.live_events(scope) + self.joining  # (kind, session, address), queued or running
            if session and sum(s == session for _, s, _ in live) >= b.session_events:
                return ("guard_session_busy", 429, {"n": b.session_events}), None
            share = self.address_share()
            if sum(a == address for _, _, a in live) >= share:
                return ("guard_address_share", 429, {"n": share}), None
            if kind in TRAINING_QUEUES:
                words = REFUSALS[kind]
                if session and any(k == kind and s == session for k, s, _ in live):
                    return (words["already"], 429, {}), None
                if sum(k == kind for k, _, _ in live) >= b.training_jobs:
                    return (words["full"], 503, {"n": b.training_jobs}), None
            elif not self.is_training(live, session):  # a trainer's own clicks do not count
                IDLE_CORES.seen()  # someone wants work done: background jobs give the cores back
            ticket = (kind, session, address)
            self.joining.append(ticket)
            return None, ticket

    def address_share(self) -> int:
        """Events one address may have queued or running at once: a quarter of the queue, so that
        no address fills it and a class behind one school address still fits."""
        return max(1, int(QUEUE_SIZE * self.budgets.address_share))

    def tell_cancel(self, scope: dict, body: bytes) -> None:
        """A cancel names its session and event: the handler's running work ends at its next step
        (Gradio frees the queue place, but cannot stop the handler's thread)."""
        try:
            payload = json.loads(body)
            fn = self.blocks(scope).fns.get(int(payload["fn_index"]))
            session = str(payload["session_hash"])
        except (ValueError, TypeError, KeyError, AttributeError):
            return  # Gradio answers a malformed cancel itself
        if fn is not None and fn.name:
            CANCELS.cancelled(session, fn.name)

    # --- what Gradio's queue holds (its own records: the truth about what is queued and running) ----

    @staticmethod
    def blocks(scope: dict):
        """The Blocks being served (Gradio's FastAPI app knows them)."""
        return scope["app"].get_blocks()

    def public_function(self, scope: dict):
        """The documented endpoint a /gradio_api/call/<name> request names, or None."""
        name = scope["path"].removeprefix("/gradio_api/call/").strip("/").split("/")[0]
        return next(
            (f for f in self.blocks(scope).fns.values() if f.api_name == name and f.api_visibility == "public"), None
        )

    def function(self, scope: dict, payload: dict):
        """The event a join or a call names (Gradio's BlockFunction), or None."""
        fns = self.blocks(scope).fns
        if scope["path"].startswith("/gradio_api/call/"):
            name = scope["path"].removeprefix("/gradio_api/call/").strip("/")
            return next((f for f in fns.values() if f.api_name == name), None)
        index = payload.get("fn_index")
        return fns.get(index) if isinstance(index, int) else None

    def live_events(self, scope: dict) -> list[tuple[str | None, str, str]]:
        """(kind, session, address) of every event Gradio has queued or running."""
        return [
            (event.concurrency_id, event.session or "", client_address(event.scope))
            for event in gradio_internals.queued_events(self.blocks(scope))
            if event.scope is not None
        ]

    @staticmethod
    def is_training(live: list[tuple[str | None, str, str]], session: str) -> bool:
        """The session has a training job (of any kind) queued or running."""
        return bool(session) and any(k in TRAINING_QUEUES and s == session for k, s, _ in live)

    # --- plumbing ------------------------------------------------------------------------------

    @staticmethod
    async def read_body(receive, limit: int, drain: int = 16 << 20) -> bytes | None:
        """The whole request body, or None once it passes ``limit`` bytes. Past the limit nothing
        is kept; up to ``drain`` bytes are read and dropped, so the client can read the refusal
        (a bigger body is cut off by closing the connection)."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= limit:
                chunks.append(chunk)
            if not message.get("more_body") or size > drain:
                break
        return b"".join(chunks) if size <= limit else None

    @staticmethod
    def replay(body: bytes):
        sent = False

        async def receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return {"type": "http.disconnect"}

        return receive

    async def refuse(self, refusal, request: Request, scope, receive, send) -> None:
        """Answer with the refusal's sentence in the visitor's language (the body, if any, unread)."""
        key, status, values = refusal
        with self.lock:
            self.refused += 1
        if receive is not None:  # a body not read yet: drop it (up to 16 MB) so the answer can be read
            await self.read_body(receive, 0)
        sentence = say(request, key, **values)
        detail: object = sentence
        if status == 422:  # a bad input value, in the form Gradio's own validation answers (its
            # clients show it beside the input: gradio_client raises a ValidationError naming it)
            detail = [
                {"__type__": "validate", "is_valid": False, "parameter_name": values["name"], "message": sentence}
            ]
        response = JSONResponse({"detail": detail, "error": key}, status_code=status)
        await response(scope, self.replay(b""), send)
