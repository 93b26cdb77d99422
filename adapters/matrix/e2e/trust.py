"""Which other devices the bot trusts: verified, ignored (trusted on first use), blacklisted or unset.

nio asks on every share and every decryption, so the answers come from memory (filled when the device
keys are loaded) and each change is written to the device's row at once.
"""

from __future__ import annotations

import json
from contextlib import AbstractContextManager

from nio.crypto import OlmDevice, TrustState
from sqlmodel import Session as DbSession

from adapters.matrix.e2e.rows import upsert
from storage.tables import MatrixCryptoDevice


class DeviceTrust:
    """The trust half of nio's `MatrixStore` interface (mixed into `DatabaseCryptoStore`)."""

    account_id: int

    def __init__(self) -> None:
        self._trust: dict[tuple[str, str], TrustState] = {}

    def writing(self) -> AbstractContextManager[DbSession]:
        raise NotImplementedError

    def remember_trust(self, user_id: str, device_id: str, name: str) -> TrustState:
        state = TrustState[name] if name in TrustState.__members__ else TrustState.unset
        self._trust[(user_id, device_id)] = state
        return state

    def trust_name(self, user_id: str, device_id: str) -> str:
        return self._trust.get((user_id, device_id), TrustState.unset).name

    def _state(self, device: OlmDevice) -> TrustState:
        return self._trust.get((device.user_id, device.id), TrustState.unset)

    def _write(self, devices: list[OlmDevice], state: TrustState) -> None:
        rows = [{"account_id": self.account_id, "user_id": d.user_id, "device_id": d.id,
                 "display_name": d.display_name or "", "keys": json.dumps(d.keys, sort_keys=True),
                 "deleted": bool(d.deleted), "trust": state.name} for d in devices]
        if not rows:
            return
        with self.writing() as db:
            upsert(db, MatrixCryptoDevice, rows, ["account_id", "user_id", "device_id"], update=["trust"])
        for device in devices:
            self._trust[(device.user_id, device.id)] = state
            device.trust_state = state

    def _change(self, device: OlmDevice, state: TrustState, *, only_from: TrustState | None = None) -> bool:
        current = self._state(device)
        if current == state or (only_from is not None and current != only_from):
            return False
        self._write([device], state)
        return True

    def verify_device(self, device: OlmDevice) -> bool:
        return self._change(device, TrustState.verified)

    def unverify_device(self, device: OlmDevice) -> bool:
        return self._change(device, TrustState.unset, only_from=TrustState.verified)

    def blacklist_device(self, device: OlmDevice) -> bool:
        return self._change(device, TrustState.blacklisted)

    def unblacklist_device(self, device: OlmDevice) -> bool:
        return self._change(device, TrustState.unset, only_from=TrustState.blacklisted)

    def ignore_device(self, device: OlmDevice) -> bool:
        return self._change(device, TrustState.ignored)

    def unignore_device(self, device: OlmDevice) -> bool:
        return self._change(device, TrustState.unset, only_from=TrustState.ignored)

    def ignore_devices(self, devices: list[OlmDevice]) -> None:
        self._write([d for d in devices if self._state(d) != TrustState.ignored], TrustState.ignored)

    def is_device_verified(self, device: OlmDevice) -> bool:
        return self._state(device) == TrustState.verified

    def is_device_blacklisted(self, device: OlmDevice) -> bool:
        return self._state(device) == TrustState.blacklisted

    def is_device_ignored(self, device: OlmDevice) -> bool:
        return self._state(device) == TrustState.ignored
