"""Secrets at rest: sealed with CERCLE_SECRET_KEY, unreadable without it, rotatable."""

from __future__ import annotations

import pytest

from bot.app import default_platforms
from bot.secret_box import SecretBox, SecretKeyMissing, SecretUnreadable, new_key, secret_box
from bot.settings import SettingsError, load_settings

KEY = "k" * 40
OTHER = "o" * 40


def test_a_sealed_value_opens_with_its_key_and_does_not_show_the_value() -> None:
    box = SecretBox((KEY,))
    sealed = box.seal("syt_matrix_token_123")
    assert "syt_matrix_token_123" not in sealed
    assert box.open(sealed) == "syt_matrix_token_123"


def test_another_key_cannot_open_it() -> None:
    sealed = SecretBox((KEY,)).seal("xoxb-1")
    with pytest.raises(SecretUnreadable):
        SecretBox((OTHER,)).open(sealed)


def test_a_changed_value_does_not_open() -> None:
    sealed = SecretBox((KEY,)).seal("xoxb-1")
    tampered = sealed[:-6] + ("A" if sealed[-6] != "A" else "B") + sealed[-5:]
    with pytest.raises(SecretUnreadable):
        SecretBox((KEY,)).open(tampered)


def test_rotation_keeps_old_values_readable_and_rewraps_them() -> None:
    old = SecretBox((KEY,)).seal("token")
    rotated = SecretBox((OTHER, KEY))
    assert rotated.open(old) == "token"
    moved = rotated.rewrap(old)
    assert SecretBox((OTHER,)).open(moved) == "token"


def test_the_setting_is_checked_and_hidden() -> None:
    settings = load_settings({"CERCLE_SECRET_KEY": f"{OTHER}, {KEY}"}, platforms=default_platforms())
    assert settings.secret_keys == (OTHER, KEY)
    assert KEY not in repr(settings)
    with pytest.raises(SettingsError) as err:
        load_settings({"CERCLE_SECRET_KEY": "short"}, platforms=default_platforms())
    assert err.value.name == "CERCLE_SECRET_KEY"


def test_without_a_key_the_error_names_the_setting() -> None:
    with pytest.raises(SecretKeyMissing) as err:
        secret_box((), "the Matrix session")
    assert "CERCLE_SECRET_KEY" in str(err.value) and "the Matrix session" in str(err.value)
    assert len(new_key()) >= 32
