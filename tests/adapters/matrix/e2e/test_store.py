"""The crypto store on the database: what nio saves comes back in a new process, only the holder of the
device writes, and nothing in the database opens without CERCLE_SECRET_KEY (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
import vodozemac
from nio.crypto import (
    InboundGroupSession,
    Olm,
    OlmAccount,
    OlmDevice,
    OutboundGroupSession,
    OutgoingKeyRequest,
    TrustState,
)
from nio.crypto.sessions import derive_pickle_key
from nio.store import SqliteMemoryStore
from sqlalchemy.engine import Engine
from sqlmodel import select

from adapters.matrix.e2e.claim import DeviceTakenOver, claim_device
from adapters.matrix.e2e.store import DatabaseCryptoStore
from bot.secret_box import SecretBox, SecretKeyMissing, SecretUnreadable, secret_box
from storage.db import session_scope
from storage.tables import (
    MatrixCryptoAccount,
    MatrixCryptoGroupSession,
    MatrixCryptoOlmSession,
    MatrixCryptoOutboundSession,
)

KEY = "k" * 40
OTHER_KEY = "o" * 40
BOT, DEVICE = "@cercle:example.org", "CERCLEDEV"
ROOM = "!secret:example.org"


def open_store(engine: Engine, key: str = KEY) -> DatabaseCryptoStore:
    claim = claim_device(engine, SecretBox((key,)), BOT, DEVICE, device_name="Cercle bot", holder="test")
    return DatabaseCryptoStore(engine, claim)


def peer() -> Olm:
    """Another person's device, with nio's own in-memory store."""
    return Olm("@alice:example.org", "ALICEDEV", SqliteMemoryStore("@alice:example.org", "ALICEDEV"))


def alice_device(alice: Olm) -> OlmDevice:
    keys = alice.account.identity_keys
    return OlmDevice("@alice:example.org", "ALICEDEV", {"ed25519": keys["ed25519"], "curve25519": keys["curve25519"]},
                     display_name="Alice's phone")


def test_a_new_process_finds_everything_nio_saved(engine: Engine) -> None:
    store = open_store(engine)
    bot = Olm(BOT, DEVICE, store)
    alice = peer()
    # An Olm session with Alice's device, and a room key from her over it.
    alice.account.generate_one_time_keys(1)
    one_time_key = next(iter(alice.account.one_time_keys["curve25519"].values()))
    session = bot.create_session(one_time_key, alice.account.identity_keys["curve25519"])
    # A room key received from Alice, the bot's own outbound session, devices, rooms, requests, tracking.
    alice_outbound = OutboundGroupSession()
    bot.create_group_session(alice.account.identity_keys["curve25519"], alice.account.identity_keys["ed25519"], ROOM,
                             alice_outbound.id, alice_outbound.session_key)
    outbound = OutboundGroupSession()
    outbound.shared = True
    outbound.users_shared_with.add(("@alice:example.org", "ALICEDEV"))
    outbound.message_count = 1
    ciphertext = outbound._session.encrypt(b"hello")
    store.save_outbound_group_session(ROOM, outbound)
    device = alice_device(alice)
    store.save_device_keys({"@alice:example.org": {"ALICEDEV": device}})
    store.ignore_devices([device])
    store.save_encrypted_rooms({ROOM})
    store.add_outgoing_key_request(OutgoingKeyRequest("req1", "sess1", ROOM, "m.megolm.v1.aes-sha2"))
    store.save_tracked_users({"@alice:example.org"}, {"@bob:example.org"})
    store.save_sync_token("s42")
    identity = bot.account.identity_keys

    # A new process: claims the device and loads it all.
    again = open_store(engine)
    successor = Olm(BOT, DEVICE, again)
    assert successor.account.identity_keys == identity
    assert successor.session_store.get(alice.account.identity_keys["curve25519"]).id == session.id
    inbound = successor.inbound_group_store.get(ROOM, alice.account.identity_keys["curve25519"], alice_outbound.id)
    assert inbound is not None and inbound.ed25519 == alice.account.identity_keys["ed25519"]
    message = alice_outbound._session.encrypt(b'{"type": "m.room.message"}').to_base64()
    assert inbound.decrypt(message)[0] == '{"type": "m.room.message"}'
    resumed = again.load_outbound_group_session(ROOM)
    assert resumed is not None and resumed.id == outbound.id and resumed.message_count == 1
    assert resumed.users_shared_with == {("@alice:example.org", "ALICEDEV")}
    assert resumed.message_index == 1  # the ratchet went on: the next message never reuses index 0
    assert ciphertext.to_base64() != resumed._session.encrypt(b"hello").to_base64()
    known = successor.device_store["@alice:example.org"]["ALICEDEV"]
    assert known.ed25519 == device.ed25519 and known.display_name == "Alice's phone"
    assert known.trust_state == TrustState.ignored and again.is_device_ignored(known)
    assert again.load_encrypted_rooms() == {ROOM}
    assert set(again.load_outgoing_key_requests()) == {"req1"}
    assert again.load_tracked_users() == ({"@alice:example.org"}, {"@bob:example.org"})
    assert again.load_sync_token() == "s42"


def test_trust_changes_are_kept_and_reported_as_nio_expects(engine: Engine) -> None:
    store = open_store(engine)
    device = alice_device(peer())
    store.save_device_keys({device.user_id: {device.id: device}})
    assert store.verify_device(device) and not store.verify_device(device)
    assert not store.unblacklist_device(device)  # it is verified, not blacklisted
    assert store.blacklist_device(device) and not store.is_device_verified(device)
    assert store.ignore_device(device) and store.is_device_ignored(device) and not store.is_device_blacklisted(device)
    assert open_store(engine).load_device_keys()[device.user_id][device.id].trust_state == TrustState.ignored


def test_a_process_that_lost_the_device_can_no_longer_write(engine: Engine) -> None:
    old = open_store(engine)
    Olm(BOT, DEVICE, old)
    new = open_store(engine)  # another process took the device (a new leader)
    with pytest.raises(DeviceTakenOver):
        old.save_encrypted_rooms({ROOM})
    with pytest.raises(DeviceTakenOver):
        old.check_fence()
    with pytest.raises(DeviceTakenOver):
        old.save_account(OlmAccount())
    assert new.load_encrypted_rooms() == set()
    new.save_encrypted_rooms({ROOM})
    new.check_fence()
    assert old.load_encrypted_rooms() == {ROOM}  # reading stays possible


def test_a_copy_of_the_database_without_the_secret_key_opens_no_key(engine: Engine) -> None:
    store = open_store(engine)
    bot = Olm(BOT, DEVICE, store)
    alice = peer()
    alice.account.generate_one_time_keys(1)
    bot.create_session(next(iter(alice.account.one_time_keys["curve25519"].values())),
                       alice.account.identity_keys["curve25519"])
    bot.create_outbound_group_session(ROOM)
    store.save_outbound_group_session(ROOM, bot.outbound_group_sessions[ROOM])
    with session_scope(engine) as session:
        account = session.exec(select(MatrixCryptoAccount)).one()
        pickles = [account.pickle]
        pickles += [r.pickle for r in session.exec(select(MatrixCryptoOlmSession))]
        pickles += [r.pickle for r in session.exec(select(MatrixCryptoGroupSession))]
        pickles += [r.pickle for r in session.exec(select(MatrixCryptoOutboundSession))]
    assert len(pickles) == 4
    # The pickle key is not stored in clear, and nio's default pickle keys do not open anything.
    passphrase = SecretBox((KEY,)).open(account.pickle_key)
    assert passphrase not in account.pickle_key and passphrase not in account.pickle
    for guess in ("", "DEFAULT_KEY", account.pickle_key, BOT):
        with pytest.raises(vodozemac.PickleException):
            vodozemac.Account.from_pickle(account.pickle, derive_pickle_key(guess))
    # Without CERCLE_SECRET_KEY, or with another one, the pickle key does not open and nothing is changed.
    with pytest.raises(SecretKeyMissing):
        secret_box((), "the Matrix encryption keys")
    with pytest.raises(SecretUnreadable):
        SecretBox((OTHER_KEY,)).open(account.pickle_key)
    with pytest.raises(SecretUnreadable):
        open_store(engine, key=OTHER_KEY)
    with session_scope(engine) as session:
        after = session.exec(select(MatrixCryptoAccount)).one()
    assert (after.pickle, after.pickle_key, after.generation) == (account.pickle, account.pickle_key,
                                                                  account.generation)
    # With the key, every pickle opens (the test above would pass on garbage otherwise).
    key = derive_pickle_key(passphrase)
    assert vodozemac.Account.from_pickle(pickles[0], key).ed25519_key.to_base64() == \
        bot.account.identity_keys["ed25519"]
    vodozemac.Session.from_pickle(pickles[1], key)
    vodozemac.InboundGroupSession.from_pickle(pickles[2], key)
    vodozemac.GroupSession.from_pickle(pickles[3], key)


def test_a_rotated_secret_key_still_opens_the_store_and_moves_it_to_the_new_key(engine: Engine) -> None:
    first = open_store(engine)
    identity = Olm(BOT, DEVICE, first).account.identity_keys
    rotated = claim_device(engine, SecretBox((OTHER_KEY, KEY)), BOT, DEVICE, device_name="Cercle bot")
    assert Olm(BOT, DEVICE, DatabaseCryptoStore(engine, rotated)).account.identity_keys == identity
    only_new = claim_device(engine, SecretBox((OTHER_KEY,)), BOT, DEVICE, device_name="Cercle bot")
    assert Olm(BOT, DEVICE, DatabaseCryptoStore(engine, only_new)).account.identity_keys == identity


def test_the_device_name_is_kept_from_the_first_claim(engine: Engine) -> None:
    open_store(engine)
    later = claim_device(engine, SecretBox((KEY,)), BOT, DEVICE, device_name="Something else")
    assert later.device_name == "Cercle bot"
    assert "pickle" not in repr(later) and later.pickle_passphrase not in repr(later)
    assert later.pickle_passphrase not in repr(DatabaseCryptoStore(engine, later))


def test_inbound_session_ids_stay_apart_per_room(engine: Engine) -> None:
    store = open_store(engine)
    alice = peer()
    outbound = OutboundGroupSession()
    curve, ed = alice.account.identity_keys["curve25519"], alice.account.identity_keys["ed25519"]
    for room in (ROOM, "!other:example.org"):
        store.save_inbound_group_session(InboundGroupSession(outbound.session_key, ed, curve, room))
    loaded = open_store(engine).load_inbound_group_sessions()
    assert loaded.get(ROOM, curve, outbound.id) is not None
    assert loaded.get("!other:example.org", curve, outbound.id) is not None
