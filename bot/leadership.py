"""Leader election among replicas: exactly one runs the scheduler and the platforms' leader-only duties.

With PostgreSQL the leader is the replica holding a session-level advisory lock on a connection of
its own. Followers try to take the lock every few seconds; when the leader dies its connection
closes, PostgreSQL releases the lock and a follower takes over at its next try. A leader that stops
(SIGTERM) lets go of the lock and says so (`NOTIFY`) on its way out: followers listen, and the first one
takes over at once instead of at its next try. The leader checks its connection at the same pace and
steps down as soon as it is broken (or the lock is gone), so it never believes it leads when it may not.
With SQLite there is one process: it always leads.

Leadership saves work, it is not what makes work safe: jobs stay idempotent (unique rows,
`dedupe_key`), so the few seconds where an old leader has not yet noticed it lost the lock cannot
produce a second effect.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import datetime

import psycopg
from psycopg.conninfo import make_conninfo
from sqlalchemy.engine import Engine

from bot import metrics
from bot.clock import Clock, SystemClock
from storage.db import is_postgres

log = logging.getLogger(__name__)

LEADER_LOCK_KEY = zlib.crc32(b"cercle:leader")  # distinct from the migrations' lock
RELEASED = "cercle_leadership_released"  # the channel a stopping leader notifies once it has let go
Callback = Callable[[], Awaitable[None]]


def conninfo(engine: Engine) -> str:
    """A libpq connection string for the engine's database."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


# Detect a silently dead network within ~10 s even when no query is running.
# The server side too: a leader that vanished behind a network cut stops holding the lock within ~11 s.
APPLICATION_NAME = "cercle-leadership"
KEEPALIVES: dict[str, str | int] = {
    "keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
    "tcp_user_timeout": 10000, "connect_timeout": 5, "application_name": APPLICATION_NAME,
    "options": "-c tcp_keepalives_idle=5 -c tcp_keepalives_interval=2 -c tcp_keepalives_count=3"}


class Leadership:
    """`await Leadership(engine).run(on_elected, on_demoted)` until `stop()`; `health()` for /healthz."""

    def __init__(self, engine: Engine, *, interval: float = 2.0, key: int = LEADER_LOCK_KEY,
                 clock: Clock | None = None) -> None:
        self.engine = engine
        self.interval = interval
        self.key = key
        self.clock = clock or SystemClock()
        self.is_leader = False
        self.since: datetime = self.clock.now()
        self.last_error: str | None = None
        self._conn: psycopg.AsyncConnection | None = None
        self._stale_pid: int | None = None  # our former session, left hanging when its connection broke
        self._abandoned: set[asyncio.Future[tuple[object, ...] | None]] = set()
        self._stop = asyncio.Event()

    @property
    def role(self) -> str:
        return "leader" if self.is_leader else "follower"

    async def health(self) -> tuple[bool, str]:
        """Leader or follower, since when; not ok while the lock's connection cannot be opened."""
        detail = f"{self.role} since {self.since.isoformat(timespec='seconds')}"
        if self.last_error and not self.is_leader:
            return False, f"{detail}; {self.last_error}"
        return True, detail

    def stop(self) -> None:
        self._stop.set()

    async def run(self, on_elected: Callback, on_demoted: Callback) -> None:
        """Campaign until stopped; call `on_elected` on becoming leader and `on_demoted` on losing it
        (and when stopping as leader). If `on_elected` fails, this replica gives the leadership up (another
        replica, or this one at its next try, takes it) rather than lead without doing the leader's work."""
        try:
            while not self._stop.is_set():
                if self.is_leader:
                    if not await self._still_holding():
                        await self._step_down(on_demoted)
                elif await self._try_acquire() and not await self._take_up(on_elected):
                    await self._step_down(on_demoted)
                await self._pause()
        finally:
            if self.is_leader:
                await self._step_down(on_demoted, announce=True)
            await self._close()

    async def _pause(self) -> None:
        """Until the next try: `interval` seconds, or less when stopped or, for a follower, when a stopping
        leader announces it let go."""
        waits: set[asyncio.Future[object]] = {asyncio.ensure_future(self._stop.wait())}
        conn = self._conn
        if not self.is_leader and conn is not None and not conn.closed:
            waits.add(asyncio.ensure_future(self._released(conn)))
        _done, pending = await asyncio.wait(waits, timeout=self.interval, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)  # the connection is free for the next query

    async def _released(self, conn: psycopg.AsyncConnection) -> None:
        """Returns on the first `RELEASED` notification (those received meanwhile included)."""
        with suppress(Exception):  # a broken connection: the next try reconnects
            async for _notice in conn.notifies(timeout=self.interval, stop_after=1):
                return

    def _set(self, leader: bool) -> None:
        self.is_leader = leader
        self.since = self.clock.now()
        metrics.LEADER.set(1 if leader else 0)
        log.info("leadership: this replica is now the %s", self.role)

    async def _take_up(self, on_elected: Callback) -> bool:
        self._set(True)
        try:
            await on_elected()
        except Exception as exc:
            self.last_error = f"the leader's duties failed to start ({type(exc).__name__})"
            log.exception("leadership: the leader's duties failed to start; giving the leadership up")
            return False
        self.last_error = None
        return True

    async def _step_down(self, on_demoted: Callback, *, announce: bool = False) -> None:
        """`on_demoted` first (the leader's duties stop), then the lock goes. `announce` (stopping): let go of
        it and tell the followers in one statement, so one of them takes over at once."""
        self._set(False)
        try:
            await on_demoted()
        except Exception:
            log.exception("leadership: stopping the leader's duties failed")
        conn = self._conn
        if announce and conn is not None and not conn.closed and is_postgres(self.engine):
            try:
                await self._query(conn, "SELECT pg_advisory_unlock(%s), pg_notify(%s, '')", (self.key, RELEASED),
                                  self.interval)
            except Exception as exc:  # closing the connection below releases the lock all the same
                log.warning("leadership: could not announce the release (%s)", type(exc).__name__)
        await self._close()  # closing the connection releases the lock

    async def _try_acquire(self) -> bool:
        if not is_postgres(self.engine):
            return True  # one process on SQLite: it leads
        try:
            conn = self._conn
            if conn is None or conn.closed:
                conn = self._conn = await asyncio.wait_for(
                    psycopg.AsyncConnection.connect(make_conninfo(conninfo(self.engine), **KEEPALIVES),
                                                    autocommit=True),
                    timeout=self.interval * 3)
                await self._end_stale_session(conn)
                await asyncio.wait_for(conn.execute(f"LISTEN {RELEASED}"), timeout=self.interval * 3)
            row = await self._query(conn, "SELECT pg_try_advisory_lock(%s)", (self.key,), self.interval * 3)
            acquired = bool(row and row[0])
            if not acquired or (self.last_error or "").startswith("cannot reach"):
                self.last_error = None  # the database answers; another replica leads, or this one will try
            return acquired
        except Exception as exc:  # the database is away: stay a follower, try again later
            self.last_error = f"cannot reach the database for the lock: {type(exc).__name__}"
            log.warning("leadership: cannot try the lock: %s", type(exc).__name__)
            await self._close()
            return False

    async def _still_holding(self) -> bool:
        """The leader's heartbeat: the connection answers and still holds the lock."""
        if not is_postgres(self.engine):
            return True
        conn = self._conn
        if conn is None or conn.closed:
            return False
        try:
            row = await self._query(
                conn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() "
                "AND granted AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = %s", (self.key,),
                self.interval * 2)
        except Exception as exc:
            log.warning("leadership: lost the lock's connection (%s); stepping down", type(exc).__name__)
            # A hung connection may still hold the lock on the server: end that session once reconnected.
            self._stale_pid = conn.info.backend_pid
            return False
        if not (row and row[0]):
            log.warning("leadership: the lock is no longer held; stepping down")
            return False
        return True

    async def _query(self, conn: psycopg.AsyncConnection, sql: str, params: tuple[object, ...],
                     timeout: float) -> tuple[object, ...] | None:
        """One row of a query, or TimeoutError. On a connection whose packets vanish, cancelling a query
        can hang as well, so a late query is abandoned (it fails when the connection is closed), not awaited."""
        task = asyncio.ensure_future(self._fetch(conn, sql, params))
        done, _pending = await asyncio.wait({task}, timeout=timeout)
        if not done:
            self._abandoned.add(task)
            task.add_done_callback(self._abandoned.discard)
            task.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieved: no warning
            raise TimeoutError(f"no answer in {timeout:g} s")
        return task.result()

    @staticmethod
    async def _fetch(conn: psycopg.AsyncConnection, sql: str, params: tuple[object, ...]) -> tuple[object, ...] | None:
        cur = await conn.execute(sql, params)
        return await cur.fetchone()

    async def _end_stale_session(self, conn: psycopg.AsyncConnection) -> None:
        """Terminate the session a broken connection left on the server, so its lock is free at once."""
        pid, self._stale_pid = self._stale_pid, None
        if pid is None:
            return
        ended = await self._query(
            conn, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid = %s AND application_name = %s",
            (pid, APPLICATION_NAME), self.interval * 3)
        if ended:
            log.warning("leadership: ended this replica's former lock session (it had stopped answering)")

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=2)
