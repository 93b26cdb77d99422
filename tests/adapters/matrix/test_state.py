"""The adapter's durable memory on both databases, including ids too long for the key column."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from adapters.matrix.state import KEY_LENGTH, MatrixState


def test_values_survive_and_long_ids_fit(engine: Engine) -> None:
    state = MatrixState(engine, "@cercle:example.org")
    long_user = "@" + "x" * 200 + ":example.org"
    state.put({"sync_token": "s1", f"dm:{long_user}": f"{long_user}\t!room:hs", "dm:@a:hs": "@a:hs\t!a:hs"})
    state.put({"sync_token": "s2"})
    again = MatrixState(engine, "@cercle:example.org")
    assert again.get("sync_token") == "s2"
    assert sorted(again.values("dm:")) == sorted([f"{long_user}\t!room:hs", "@a:hs\t!a:hs"])
    assert again.get(f"dm:{long_user}") == f"{long_user}\t!room:hs"
    again.delete(f"dm:{long_user}")
    assert again.values("dm:") == ["@a:hs\t!a:hs"]
    assert MatrixState(engine, "@other:example.org").get("sync_token") is None
    assert all(len(k) <= KEY_LENGTH for k in [again._key(f"buttons:${'e' * 250}")])


def test_buttons_are_remembered_per_event(engine: Engine) -> None:
    state = MatrixState(engine, "@cercle:hs")
    state.remember_buttons("$event", {"✅": "crisis ack C1"})
    assert state.buttons("$event") == {"✅": "crisis ack C1"}
    assert state.buttons("$other") == {}


def test_the_transaction_prefix_is_stable_per_database(engine: Engine) -> None:
    first = MatrixState(engine, "@cercle:hs").transaction_prefix()
    assert first and MatrixState(engine, "@cercle:hs").transaction_prefix() == first
