"""An encrypting matrix-nio client whose crypto state lives in Cercle's database.

It is matrix-nio's `AsyncClient` with the gaps a long-running, restartable bot hits filled in:

- the store is `DatabaseCryptoStore`, loaded only once the device is claimed (`attach`), and every sync
  first checks that no other process took the device since;
- one-time keys are saved before they are uploaded (a crash cannot publish keys nobody holds);
- the outbound Megolm session of a room is saved after each encryption, before the message leaves, and
  taken up again by a successor when nobody who had it left the room (else a new one is shared);
- tracked users and the users whose devices must be queried again are saved after each sync;
- a sync reporting 0 one-time keys left triggers an upload (nio ignores a count of 0);
- `room_send` in an encrypted room loads the members and queries their devices first, and shares with
  users' unverified devices (trust on first use: nio pins each device's first ed25519 key);
- messages that arrived before their room key are kept and decrypted when it comes (`decrypt_late`).

The sync loop calls `crypto_duties()` after each sync (what nio's `sync_forever` would do).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

from nio import (
    Api,
    AsyncClient,
    AsyncClientConfig,
    ErrorResponse,
    Event,
    JoinedMembersResponse,
    KeysQueryResponse,
    KeysUploadResponse,
    LocalProtocolError,
    MatrixRoom,
    MegolmEvent,
    Response,
    RoomCreateResponse,
    RoomPreset,
    SyncResponse,
)
from nio.crypto import Olm, OutboundGroupSession
from nio.events import BadEvent, UnknownBadEvent
from sqlalchemy.engine import Engine

from adapters.matrix.e2e.claim import DeviceClaim
from adapters.matrix.e2e.store import DatabaseCryptoStore

log = logging.getLogger(__name__)

ENCRYPTION_STATE = {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": "m.megolm.v1.aes-sha2"}}
LATE_KEEP = 1000  # undecrypted events kept for a late room key
LATE_SECONDS = 600.0


def crypto_config() -> AsyncClientConfig:
    """As the adapter's (no silent sleeping on 429, no retries inside nio), with encryption on."""
    return AsyncClientConfig(max_limit_exceeded=0, max_timeouts=0, store_sync_tokens=False, encryption_enabled=True)


class CryptoSetupError(RuntimeError):
    """The device cannot be used for encryption (keys refused, another client's keys on this device)."""


class CryptoClient(AsyncClient):
    store: Any  # nio's attributes (nio ships no type information)
    olm: Any

    def __init__(self, homeserver: str, user_id: str, engine: Engine, *,
                 config: AsyncClientConfig | None = None) -> None:
        super().__init__(homeserver, user_id, config=config or crypto_config())
        self.engine = engine
        self.claim: DeviceClaim | None = None
        self.cross_signing = "not cross-signed yet"  # set by open_crypto_client
        self.crypto_store: DatabaseCryptoStore | None = None
        self._tracking: dict[str, bool] = {}  # user id -> outdated, as last saved
        self._resumable: set[str] = set()  # rooms whose saved outbound session was not looked at yet
        self._late: OrderedDict[str, tuple[str, MegolmEvent, float]] = OrderedDict()

    # -- the store -------------------------------------------------------------------------------------
    def attach(self, claim: DeviceClaim) -> None:
        """Load the claimed device's crypto state (blocking: database reads)."""
        if claim.device_id != self.device_id or claim.user_id != self.user_id:
            raise CryptoSetupError("the claimed device is not the device this client is logged in with")
        self.claim = claim
        self.load_store()

    def load_store(self) -> None:
        """nio calls this at login; the store loads only once `attach` gave the claim."""
        if self.store is not None or self.claim is None:
            return
        store = DatabaseCryptoStore(self.engine, self.claim)
        self.olm = Olm(self.user_id, self.device_id, store)
        self.store = self.crypto_store = store
        self.encrypted_rooms = store.load_encrypted_rooms()
        tracked, outdated = store.load_tracked_users()
        self.olm.tracked_users = set(tracked)
        self.olm.users_for_key_query.update(outdated)
        self._tracking = {**dict.fromkeys(tracked, False), **dict.fromkeys(outdated, True)}
        self._resumable = set(self.encrypted_rooms)

    @property
    def identity_keys(self) -> dict[str, str]:
        assert self.olm is not None
        return dict(self.olm.account.identity_keys)

    # -- syncing -----------------------------------------------------------------------------------
    async def sync(self, *args: Any, **kwargs: Any) -> Any:
        if self.crypto_store is not None:
            self.crypto_store.check_fence()  # an old holder never syncs (it would take to-device messages)
        return await super().sync(*args, **kwargs)

    async def receive_response(self, response: Response) -> None:
        await super().receive_response(response)
        if self.olm is None:
            return
        if isinstance(response, SyncResponse):
            if response.device_key_count.signed_curve25519 == 0:
                self.olm.uploaded_key_count = 0
            self._keep_undecrypted(response)
        if isinstance(response, (SyncResponse, KeysQueryResponse, JoinedMembersResponse)):
            self._save_tracking()

    def _save_tracking(self) -> None:
        assert self.olm is not None and self.crypto_store is not None
        outdated = set(self.olm.users_for_key_query)
        now = {**dict.fromkeys(self.olm.tracked_users, False), **dict.fromkeys(outdated, True)}
        changed = {user: flag for user, flag in now.items() if self._tracking.get(user) != flag}
        if changed:
            self.crypto_store.save_tracked_users({u for u, f in changed.items() if not f},
                                                 {u for u, f in changed.items() if f})
            self._tracking.update(changed)

    async def crypto_duties(self) -> list[str]:
        """After each sync: upload one-time keys, query changed devices, claim keys to mend broken Olm
        sessions, send queued to-device messages. Returns what the homeserver refused (for the health)."""
        problems: list[str] = []
        if self.should_upload_keys:
            problems += _refused("keys upload", await self.keys_upload())
        if self.should_query_keys:
            problems += _refused("keys query", await self.keys_query())
        if self.should_claim_keys:
            problems += _refused("keys claim", await self.keys_claim(self.get_users_for_key_claiming()))
        if self.outgoing_to_device_messages:
            for response in await self.send_to_device_messages():
                problems += _refused("to-device", response)
        return problems

    async def keys_upload(self) -> Any:
        """nio's, but the account (with its new one-time keys) is saved before the keys are published."""
        if not self.should_upload_keys:
            raise LocalProtocolError("No key upload needed.")
        assert self.olm is not None
        keys = self.olm.share_keys()
        self.olm.save_account()
        method, path, data = Api.keys_upload(self.access_token, keys)
        return await self._send(KeysUploadResponse, method, path, data)

    # -- messages that came before their key ------------------------------------------------------------
    def _keep_undecrypted(self, response: SyncResponse) -> None:
        now = time.monotonic()
        for room_id, info in response.rooms.join.items():
            for event in info.timeline.events:
                if isinstance(event, MegolmEvent):
                    self._late[event.event_id] = (room_id, event, now)
        while len(self._late) > LATE_KEEP:
            self._late.popitem(last=False)

    def forget_late(self) -> None:
        """Drop the kept events (after a sync whose timeline is history the bot does not answer)."""
        self._late.clear()

    def decrypt_late(self) -> list[tuple[str, Event]]:
        """Events kept undecrypted whose room key has arrived since, decrypted, in arrival order."""
        if self.olm is None or not self._late:
            return []
        found: list[tuple[str, Event]] = []
        now = time.monotonic()
        for event_id, (room_id, event, at) in list(self._late.items()):
            if now - at > LATE_SECONDS:
                del self._late[event_id]
                continue
            if self.olm.inbound_group_store.get(room_id, event.sender_key, event.session_id) is None:
                continue
            del self._late[event_id]
            event.room_id = room_id
            decrypted = self.olm._decrypt_megolm_no_error(event)
            if decrypted is not None and not isinstance(decrypted, (BadEvent, UnknownBadEvent)):
                found.append((room_id, decrypted))
        return found

    # -- sending -------------------------------------------------------------------------------------
    async def create_encrypted_room(self, invite: list[str], *, direct: bool = False, name: str | None = None,
                                    preset: RoomPreset = RoomPreset.trusted_private_chat) -> Any:
        """Create an encrypted room and know it at once, with the invited people in it: a message sent before
        the next sync (or before they accept) is shared with their devices. Without this, nio only learns
        the room from a sync, which may show it before the invitations: the key would miss the invitees."""
        response = await self.room_create(invite=invite, is_direct=direct, name=name, preset=preset,
                                          initial_state=[ENCRYPTION_STATE])
        if isinstance(response, RoomCreateResponse):
            room = self.rooms.setdefault(response.room_id, MatrixRoom(response.room_id, self.user_id, True))
            room.encrypted = True
            room.add_member(self.user_id, None, None)
            for user_id in invite:
                room.add_member(user_id, None, None, invited=True)
            self.encrypted_rooms.add(response.room_id)
            if self.crypto_store is not None:
                self.crypto_store.save_encrypted_rooms({response.room_id})
        return response

    async def room_send(self, room_id: str, message_type: str, content: dict[str, Any], tx_id: str | None = None,
                        ignore_unverified_devices: bool = True) -> Any:
        """nio's, with members and device keys made current first in an encrypted room, and users'
        unverified devices included by default (they are marked ignored: trusted on first use)."""
        room = self.rooms.get(room_id)
        if self.olm is not None and room is not None and room.encrypted:
            problem = await self.prepare_encrypted_room(room)
            if problem is not None:
                return problem
        return await super().room_send(room_id, message_type, content, tx_id, ignore_unverified_devices)

    async def prepare_encrypted_room(self, room: MatrixRoom) -> ErrorResponse | None:
        """Members loaded, their devices queried, and the saved outbound session taken up when it may be."""
        assert self.olm is not None and self.crypto_store is not None
        if not room.members_synced:
            members = await self.joined_members(room.room_id)
            if isinstance(members, ErrorResponse):
                return members
        if self.should_query_keys:
            answer = await self.keys_query()
            if isinstance(answer, ErrorResponse):
                return answer
        if room.room_id in self._resumable:
            self._resumable.discard(room.room_id)
            if room.room_id not in self.olm.outbound_group_sessions:
                self._resume_outbound(room)
        return None

    def _resume_outbound(self, room: MatrixRoom) -> None:
        assert self.olm is not None and self.crypto_store is not None
        saved = self.crypto_store.load_outbound_group_session(room.room_id)
        if saved is None:
            return
        if not self._may_resume(room, saved):
            self.crypto_store.delete_outbound_group_session(room.room_id)
            return
        wanted = {(user, device.id) for user in room.users for device in self.device_store.active_user_devices(user)}
        saved.shared = wanted <= (saved.users_shared_with | saved.users_ignored)
        self.olm.outbound_group_sessions[room.room_id] = saved
        log.info("Matrix: took up the saved outbound session of an encrypted room (%d messages)", saved.message_count)

    def _may_resume(self, room: MatrixRoom, session: OutboundGroupSession) -> bool:
        """Only if nobody who received the session has left the room or lost the bot's trust since."""
        if session.expired:
            return False
        for user_id, device_id in session.users_shared_with:
            device = self.device_store[user_id].get(device_id)
            if user_id not in room.users or device is None or device.deleted or self.olm.is_device_blacklisted(device):
                return False
        return True

    def encrypt(self, room_id: str, message_type: str, content: dict[Any, Any]) -> tuple[str, dict[str, str]]:
        encrypted = super().encrypt(room_id, message_type, content)
        self._save_outbound(room_id)  # the advanced ratchet is in the database before the message leaves
        return encrypted

    async def share_group_session(self, room_id: str, ignore_unverified_devices: bool = False) -> Any:
        response = await super().share_group_session(room_id, ignore_unverified_devices)
        self._save_outbound(room_id)
        return response

    def invalidate_outbound_session(self, room_id: str) -> None:
        had = self.olm is not None and room_id in self.olm.outbound_group_sessions
        super().invalidate_outbound_session(room_id)
        if had and self.olm is not None and room_id not in self.olm.outbound_group_sessions:
            self._resumable.discard(room_id)
            if self.crypto_store is not None:
                self.crypto_store.delete_outbound_group_session(room_id)

    def _save_outbound(self, room_id: str) -> None:
        session = self.olm.outbound_group_sessions.get(room_id) if self.olm is not None else None
        if session is not None and self.crypto_store is not None:
            self._resumable.discard(room_id)
            self.crypto_store.save_outbound_group_session(room_id, session)


def _refused(what: str, response: Any) -> list[str]:
    if isinstance(response, ErrorResponse):
        return [f"{what}: {response.status_code or response.message}"]
    return []
