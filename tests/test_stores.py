"""What the app keeps for a visitor stays within its bounds: ``SessionStore`` and the stores built on it.

Every per-visitor cache (models, downloads, drafts, analyses, LeNets, the guard's records) is one
``SessionStore``: bounded by bytes, by entries and by age, keyed by session, the least recently
used let go first and its owner told; a kept entry is never pushed out by others, and no client
address holds more than its share.
"""

from __future__ import annotations

import pytest

from ui.session_store import NoRoom, SessionStore
from ui.stores import ANALYSES, DOWNLOAD_FILES, PhotoAnalyses, write_download


class Clock:
    """A clock the test moves by hand (the store's ``clock``), so ages need no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def sized_store(max_bytes=100, **options) -> SessionStore:
    """A store of (name, bytes) values, recording what it released."""
    store = SessionStore(max_bytes=max_bytes, size=lambda value: value[1], **options)
    store.freed = []
    store.release = lambda value: store.freed.append(value[0])
    return store


def test_the_bytes_stay_within_budget_the_least_recently_used_going_first():
    store = sized_store(max_bytes=100)
    store.put("ann", ("ann's model", 40))
    store.put("bob", ("bob's model", 40))
    assert store.get("ann") == ("ann's model", 40)  # ann used hers: bob's is now the oldest use
    store.put("cy", ("cy's model", 40))
    assert store.bytes == 80
    assert store.freed == ["bob's model"]
    assert store.get("bob") is None and store.released("bob")  # bob is told his model was let go...
    assert not store.released("dee")  # ...someone who never trained one is not
    assert store.get("ann") is not None and store.get("cy") is not None


def test_a_value_larger_than_the_whole_budget_is_refused_and_nothing_is_let_go():
    store = sized_store(max_bytes=100)
    store.put("ann", ("ann's model", 60))
    with pytest.raises(NoRoom):
        store.put("bob", ("too big", 101))
    assert store.freed == [] and store.bytes == 60 and store.get("bob") is None


def test_putting_again_replaces_without_releasing_and_counts_the_new_size():
    store = sized_store(max_bytes=100)
    store.put("ann", ("draft", 30))
    replaced = store.put("ann", ("draft", 70))  # the same draft, grown
    assert replaced == ("draft", 30) and store.freed == []  # a replaced value may still be in use
    assert store.bytes == 70
    store.put("ann", ("draft", 100))  # the whole budget, for the entry it replaces: it fits
    assert store.bytes == 100 and store.freed == []


def test_an_entry_unused_for_its_age_is_let_go_and_its_owner_told():
    clock = Clock()
    store = sized_store(max_bytes=100, ttl=60, clock=clock)
    store.put("ann", ("ann's model", 10))
    store.put("bob", ("bob's model", 10))
    clock.now += 50
    assert store.get("ann") is not None  # used: another 60 seconds
    clock.now += 20
    assert store.get("bob") is None and store.released("bob")  # 70 seconds unused
    assert store.freed == ["bob's model"]
    assert store.get("ann") is not None and store.bytes == 10
    clock.now += 61
    assert "ann" not in store and store.bytes == 0 and store.freed == ["bob's model", "ann's model"]


def test_the_number_of_entries_is_bounded_too():
    store = SessionStore(max_entries=3)
    for address in ("a", "b", "c", "d"):
        assert store.get_or_make(address, lambda: {"seen": 0}) == {"seen": 0}
    assert "a" not in store and all(address in store for address in "bcd")
    record = store.get_or_make("b", dict)
    record["seen"] = 5  # the guard keeps changing what it made
    assert store.get_or_make("b", dict) == {"seen": 5}


def test_a_kept_entry_is_never_pushed_out_by_other_entries():
    clock = Clock()
    store = sized_store(max_bytes=100, ttl=60, clock=clock)
    store.put("ann-head", ("ann's head model", 50), kept=True)
    for visitor in range(5):  # strangers fill the store, again and again
        store.put(f"stranger{visitor}", (f"stranger {visitor}", 30))
    assert store.get("ann-head") == ("ann's head model", 50)
    assert "ann's head model" not in store.freed
    assert store.bytes == 80  # the head model and the newest stranger's
    with pytest.raises(NoRoom):  # a value that fits only by pushing out a kept one is refused
        store.put("big", ("big", 60))
    clock.now += 61  # age still lets a kept entry go
    assert store.get("ann-head") is None and store.released("ann-head")


def test_no_address_takes_more_than_its_share_of_the_bytes():
    store = sized_store(max_bytes=100, address_share=0.5)
    store.put("teacher", ("teacher's model", 30), address="10.0.0.9")
    for session in range(4):  # one address (a script, or a class) trains model after model
        store.put(f"class{session}", (f"class model {session}", 20), address="10.0.0.1")
    assert store.bytes_of("10.0.0.1") <= 50  # its own oldest went first...
    assert store.freed == ["class model 0", "class model 1"]
    assert store.get("teacher") is not None  # ...and another address's model stayed
    with pytest.raises(NoRoom):
        store.put("huge", ("huge", 51), address="10.0.0.1")  # more than a share can ever hold
    assert store.get("class3") is not None  # nothing let go for a refused value


def test_a_session_has_one_download_and_its_file_is_deleted_when_let_go(tmp_path, monkeypatch):
    monkeypatch.setattr("ui.stores.DOWNLOADS", tmp_path)
    store = SessionStore(max_bytes=1000, release=DOWNLOAD_FILES.release)

    def save(text: str):
        return lambda path: path.write_text(text)

    first = write_download("ann", "model.pt", 400, save("a" * 400), store=store)
    second = write_download("ann", "model.pt", 400, save("b" * 400), store=store)
    assert first is not None and second is not None and first.parent != second.parent
    assert not first.parent.exists() and second.read_text() == "b" * 400  # the next replaces it
    third = write_download("bob", "model.pt", 500, save("c" * 500), store=store)
    fourth = write_download("cy", "model.pt", 500, save("d" * 500), store=store)
    assert not second.exists() and not second.parent.exists()  # ann's made room: deleted from the disk
    assert third.exists() and fourth.exists() and store.bytes == 1000
    assert write_download("dee", "model.pt", 1001, save("e"), store=store) is None  # could never fit
    assert third.exists() and fourth.exists()


def test_a_photo_analysis_answers_only_for_the_photo_it_was_made_from():
    analyses = PhotoAnalyses(SessionStore(max_entries=2))
    analyses.put("ann", "/tmp/cat.jpg", "cat's analysis")
    assert analyses.get("ann", "/tmp/cat.jpg") == "cat's analysis"
    assert analyses.get("ann", "/tmp/dog.jpg") is None  # another photo is analysed again
    analyses.put("bob", "/tmp/dog.jpg", "dog's analysis")
    analyses.put("cy", "/tmp/owl.jpg", "owl's analysis")
    assert analyses.get("ann", "/tmp/cat.jpg") is None  # three visitors, two kept
    assert ANALYSES.store.max_entries == 48 and ANALYSES.store.ttl == 600.0
