"""A visitor's address comes from the proxy only: nobody picks their own address to escape a budget."""

from __future__ import annotations

import json

import pytest

from harness import attacks
from harness.server import app_process
from ui.addresses import client_address

LINES = [(b"x-forwarded-for", b"6.6.6.6, 10.0.0.1"), (b"x-forwarded-for", b"198.51.100.7")]


def scope(peer: str, headers=LINES) -> dict:
    return {"client": (peer, 40000), "headers": headers}


def test_behind_a_trusted_proxy_the_last_entry_of_all_forwarded_lines_wins(monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.9, 127.0.0.1")
    monkeypatch.delenv("SPACE_ID", raising=False)
    # a client's own first line cannot win: the proxy's entry comes last
    assert client_address(scope("127.0.0.1")) == "198.51.100.7"
    assert client_address(scope("10.0.0.9", [(b"x-forwarded-for", b"1.2.3.4")])) == "1.2.3.4"
    assert client_address(scope("127.0.0.1", [])) == "127.0.0.1"


def test_on_a_space_every_peer_is_the_proxy(monkeypatch):
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    monkeypatch.setenv("SPACE_ID", "someone/classic-cnns")
    assert client_address(scope("10.20.30.40")) == "198.51.100.7"


def test_without_a_trusted_proxy_the_header_is_ignored(monkeypatch):
    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    monkeypatch.delenv("SPACE_ID", raising=False)
    assert client_address(scope("192.0.2.1")) == "192.0.2.1"
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.9")
    assert client_address(scope("192.0.2.1")) == "192.0.2.1"


def test_a_client_of_a_locally_run_app_cannot_pick_a_new_address_per_request():
    """Run as `python app.py` and shared by link (no proxy): 30 requests claiming 30 addresses
    are one address's requests, and its budget (here 5 at once) refuses the rest."""
    env = {"TRUSTED_PROXIES": "", "BUDGET_REQUESTS_BURST": "5", "BUDGET_REQUESTS_PER_SECOND": "0.01"}
    with app_process(env) as (url, _):
        body = json.dumps({"data": [5, []]}).encode()
        statuses = [
            attacks.post(url, "/gradio_api/call/compare_models", body, {"X-Forwarded-For": f"10.9.0.{i}"})[0]
            for i in range(30)
        ]
    assert statuses.count(200) == 5
    assert statuses.count(429) == 25


@pytest.mark.parametrize("peer", ["127.0.0.1"])
def test_tests_and_benchmarks_play_many_addresses_through_a_trusted_local_proxy(peer, monkeypatch):
    monkeypatch.setenv("TRUSTED_PROXIES", peer)
    assert client_address(scope(peer, [(b"x-forwarded-for", b"203.0.113.5")])) == "203.0.113.5"
