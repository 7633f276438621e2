"""Blocking connection shared by threads, without a background thread.

Threading model ("leader/follower"): a thread that needs data for its stream and finds nobody
reading the socket becomes the *reader*: it receives, decodes and dispatches frames for every
stream, and stops as soon as its own stream has something. Threads that find a reader active
park on a per-waiter lock; the reader releases it when their stream gets an event, and hands
the reader role to the next parked thread when it stops. A single-threaded caller therefore
reads its own replies with no thread hop, and a consumer that stops reading one stream never
stalls the others (whoever reads buffers that stream's frames, at most one flow-control window).

Lock order: ``send_lock`` before ``lock``; the reader never holds ``lock`` while blocked in I/O.
"""

from __future__ import annotations

import _thread
import select
import socket
import threading
import time
from collections import deque
from typing import Callable

from . import _framing as fr
from ._address import Address
from ._core import (
    EV_ERROR,
    EV_MESSAGE,
    ConnectionCore,
    Event,
    RetryOnNewConnection,
    StreamState,
    connection_lost_error,
    protocol_error,
)
from .errors import (
    CancelledError,
    DeadlineExceededError,
    ErrorDetails,
    ModelGateError,
    ResourceExhaustedError,
    UnavailableError,
)
from .v1 import wire_pb2 as wire

_monotonic = time.monotonic
_pack_header = fr.pack_header
_RECV_SIZE = 256 * 1024
# A connection not read for this long is polled before use, so a CALL is not written to a
# gateway that has gone away meanwhile (a CALL that still meets a dead connection is resent
# when that is provably safe: EPIPE before any byte, or above a GOAWAY's last stream id).
_IDLE_CHECK_AFTER = 0.005


class _Waiter:
    """A parked thread: a lock held while it sleeps, released to wake it."""

    __slots__ = ("lock", "wants_slot")

    def __init__(self, wants_slot: bool = False) -> None:
        self.lock = _thread.allocate_lock()
        self.lock.acquire()
        self.wants_slot = wants_slot


def connect(
    address: Address,
    *,
    timeout: float | None,
    initial_window_size: int,
    max_frame_size: int,
) -> SyncConnection:
    """Connects, sends the preface and waits for the server's HELLO."""
    deadline = None if timeout is None else _monotonic() + timeout
    try:
        sock = address.connect(timeout)
    except OSError as exc:
        raise UnavailableError(
            f"cannot connect to the gateway at {address}: {exc.strerror or exc}", ErrorDetails(retryable=True)
        ) from exc
    conn = SyncConnection(address, sock, initial_window_size=initial_window_size, max_frame_size=max_frame_size)
    try:
        conn.handshake(deadline)
    except BaseException:
        conn.close()
        raise
    return conn


class SyncConnection(ConnectionCore):
    def __init__(self, address: Address, sock: socket.socket, *, initial_window_size: int, max_frame_size: int) -> None:
        super().__init__(str(address), initial_window_size=initial_window_size, max_frame_size=max_frame_size)
        self.sock = sock
        self._fd = sock.fileno()
        self._max_frame_size = max_frame_size
        self.lock = threading.Lock()
        self.send_lock = threading.Lock()
        self.reading = False
        self.waiting: dict[_Waiter, None] = {}
        self.pending_cancels: deque[int] = deque()
        self._sock_closed = False
        self._rbuf = bytearray(_RECV_SIZE)
        self._rview = memoryview(self._rbuf)
        self._poller = select.poll()  # used only by the thread holding the reader role
        self._poller.register(self._fd, select.POLLIN)
        self._idle_poller = select.poll()  # lock-free "anything arrived while idle?" check
        self.last_read = 0.0
        self._idle_poller.register(self._fd, select.POLLIN)

    # -- setup ---------------------------------------------------------------------------

    def handshake(self, deadline: float | None) -> None:
        preface = fr.client_preface(initial_window_size=self.window, max_frame_size=self._max_frame_size)
        try:
            self.sock.sendall(preface)
        except OSError as exc:
            raise UnavailableError(
                f"cannot talk to the gateway at {self.address}: {exc}", ErrorDetails(retryable=True)
            ) from exc
        self.reading = True
        try:
            while not self.hello_received:
                if self.closed is not None:
                    raise self._handshake_error()
                if not self._read_once(deadline):
                    raise UnavailableError(
                        f"gateway at {self.address} did not answer the protocol preface in time",
                        ErrorDetails(retryable=True),
                    )
        finally:
            with self.lock:
                self.reading = False

    def _handshake_error(self) -> ModelGateError:
        assert self.closed is not None
        exc = self.closed
        if self.goaway is not None:
            name = wire.GoAwayCode.Name(self.goaway.code)
            return UnavailableError(
                f"gateway at {self.address} refused the connection ({name}: {self.goaway.reason})",
                ErrorDetails(retryable=self.goaway.code == wire.GOAWAY_CONNECTION_LIMIT),
            )
        return exc

    # -- sending -------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Sends control frames (WINDOW, CANCEL, PONG); connection errors are left to the reader."""
        with self.send_lock:
            if self._sock_closed:
                return
            try:
                self.sock.sendall(data)
            except OSError:
                pass
        if self.pending_cancels:
            self._flush_cancels()

    def _flush_cancels(self) -> None:
        pending = self.pending_cancels
        while pending:
            if not self.send_lock.acquire(blocking=False):
                return  # the holder checks again after it releases
            try:
                frames = []
                while pending:
                    frames.append(fr.cancel_frame(pending.popleft()))
                if not self._sock_closed:
                    try:
                        self.sock.sendall(b"".join(frames))
                    except OSError:
                        pass
            finally:
                self.send_lock.release()

    def open_stream(self, st: StreamState, call_header: bytes, request: bytes) -> None:
        """Allocates an id for ``st`` and sends CALL + request MESSAGE.

        Raises :class:`RetryOnNewConnection` when the connection turned out to be unusable before
        any byte of this call was sent.
        """
        limit = self.server_max_frame_size
        if len(request) > limit or len(call_header) > limit:
            raise ResourceExhaustedError(
                f"request of {len(request)} bytes exceeds the gateway's max_frame_size {limit}",
                ErrorDetails(kind="GATEWAY_LIMIT"),
            )
        if not self.reading and _monotonic() - self.last_read > _IDLE_CHECK_AFTER:
            # Process what arrived while nobody read (a restarted gateway's GOAWAY or EOF), so
            # the call goes to a live connection. Lock-free: its own poll object.
            try:
                pending = self._idle_poller.poll(0)
            except RuntimeError:  # another thread is checking right now
                pending = None
            if pending:
                self._poll_idle()
        streams = self.streams
        while True:
            if len(streams) >= self.server_max_streams:
                self._wait_for_slot(st.deadline)
            with self.send_lock:
                with self.lock:
                    if not self.usable:
                        raise RetryOnNewConnection()
                    if len(streams) >= self.server_max_streams:
                        continue  # another thread took the slot first
                    sid = self.allocate(st)
                data = b"".join(
                    (
                        _pack_header(len(call_header), fr.CALL, 0, sid),
                        call_header,
                        _pack_header(len(request), fr.MESSAGE, fr.END_STREAM, sid),
                        request,
                    )
                )
                sent = 0
                try:
                    sent = self.sock.send(data)
                    if sent < len(data):
                        sent += self._send_rest(data, sent)
                except OSError as exc:
                    self._send_failed(st, exc)
                    if sent == 0:
                        raise RetryOnNewConnection() from exc
                    raise connection_lost_error(self.address, exc) from exc
            break
        if self.pending_cancels:
            self._flush_cancels()

    def _send_rest(self, data: bytes, offset: int) -> int:
        view = memoryview(data)
        n = 0
        total = len(data) - offset
        while n < total:
            n += self.sock.send(view[offset + n :])
        return n

    def _send_failed(self, st: StreamState, exc: OSError) -> None:
        woken: list[StreamState] = []
        with self.lock:
            self.forget(st)
            self.fail_all(connection_lost_error(self.address, exc), woken)
            self._wake_locked(woken, True)
        self._shutdown()

    def cancel(self, st: StreamState) -> None:
        """Sends CANCEL for ``st`` (idempotent). Safe from finalizers: never blocks on a lock
        the current thread may hold."""
        if st.cancelled:
            return
        st.cancelled = True
        if st.ended or not st.id:
            return
        self.pending_cancels.append(st.id)
        self._flush_cancels()

    # -- receiving -----------------------------------------------------------------------

    def next_events(self, st: StreamState) -> list[Event] | None:
        """Waits for the stream's queued events and takes them all (one lock round trip per
        batch); None when its deadline passed first. The caller returns flow-control credit
        with :meth:`consumed_bytes` as it hands messages to the application."""
        lock = self.lock
        deadline = st.deadline
        while True:
            with lock:
                events = st.events
                if events:
                    batch = list(events)
                    events.clear()
                    if self.waiting and not self.reading:
                        self._wake_successor_locked()
                    return batch
                if deadline is not None and _monotonic() >= deadline:
                    if self.waiting and not self.reading:
                        self._wake_successor_locked()
                    return None
                if self.closed is not None and st.ended:
                    return [(EV_ERROR, self.closed)]  # the failure was already consumed
                if self.reading:
                    waiter = st.waiter
                    if waiter is None:
                        waiter = st.waiter = _Waiter()
                    self.waiting[waiter] = None
                    lead = False
                else:
                    self.reading = lead = True
            if lead:
                try:
                    while not st.events and self._read_once(deadline):
                        pass
                finally:
                    self._stop_reading()
            else:
                self._park(waiter, deadline)

    def consumed_bytes(self, st: StreamState, n: int) -> None:
        """``n`` MESSAGE bytes of ``st`` reached the application: return credit when due."""
        window = self.consumed(st, n)
        if window is not None:
            self.send(window)

    def finish(self, st: StreamState) -> list[Event] | None:
        """Waits until the stream has ended and returns all its events (a unary call's
        MESSAGE and END in one go); None when its deadline passed first."""
        lock = self.lock
        deadline = st.deadline
        while True:
            with lock:
                if st.ended:
                    events = list(st.events)
                    st.events.clear()
                    if self.waiting and not self.reading:
                        self._wake_successor_locked()
                    return events
                if deadline is not None and _monotonic() >= deadline:
                    if self.waiting and not self.reading:
                        self._wake_successor_locked()
                    return None
                if self.reading:
                    waiter = st.waiter
                    if waiter is None:
                        waiter = st.waiter = _Waiter()
                    self.waiting[waiter] = None
                    lead = False
                else:
                    self.reading = lead = True
            if lead:
                try:
                    while not st.ended and self._read_once(deadline):
                        pass
                finally:
                    self._stop_reading()
            else:
                self._park(waiter, deadline)

    def _wait_for_slot(self, deadline: float | None) -> None:
        waiter = _Waiter(wants_slot=True)
        while True:
            with self.lock:
                if self.has_slot() or self.closed is not None:
                    if self.waiting and not self.reading:
                        self._wake_successor_locked()
                    return
                if deadline is not None and _monotonic() >= deadline:
                    if self.waiting and not self.reading:
                        self._wake_successor_locked()
                    raise DeadlineExceededError("deadline exceeded while waiting for a free stream slot")
                if self.reading:
                    self.waiting[waiter] = None
                    lead = False
                else:
                    self.reading = lead = True
            if lead:
                self._lead(self.has_slot, deadline)
            else:
                self._park(waiter, deadline)

    def _park(self, waiter: _Waiter, deadline: float | None) -> None:
        """Sleeps until woken or the deadline. A thread woken to take over the reader role
        simply loops back; one that leaves without it passes the role on."""
        try:
            if deadline is None:
                woke = waiter.lock.acquire()
            else:
                remaining = deadline - _monotonic()
                woke = remaining > 0 and waiter.lock.acquire(timeout=remaining)
        except BaseException:
            self._unpark(waiter)
            raise
        if not woke:
            self._unpark(waiter)

    def _unpark(self, waiter: _Waiter) -> None:
        with self.lock:
            registered = self.waiting.pop(waiter, 0) is None
            if not registered and self.waiting and not self.reading:
                self._wake_successor_locked()  # we may have been picked as the next reader
        if not registered:
            waiter.lock.acquire()  # consume the wake-up that raced with the timeout

    def _lead(self, ready: Callable[[], bool], deadline: float | None) -> None:
        """Reads as the reader until ``ready()`` or the deadline, then hands the role on."""
        try:
            while self._read_once(deadline):
                with self.lock:
                    if ready() or self.closed is not None:
                        break
        finally:
            self._stop_reading()

    def _stop_reading(self) -> None:
        with self.lock:
            self.reading = False
            if self.waiting:
                self._wake_successor_locked()
            dead = self.closed is not None and not self._sock_closed
        if dead:
            self._close_socket()

    def _wake_successor_locked(self) -> None:
        for waiter in self.waiting:
            del self.waiting[waiter]
            waiter.lock.release()
            return

    def _wake_locked(self, woken: list[StreamState], slot_freed: bool) -> None:
        waiting = self.waiting
        if not waiting:
            return
        for st in woken:
            w = st.waiter
            if w is not None and waiting.pop(w, 0) is None:
                w.lock.release()
        if slot_freed:
            for w in [w for w in waiting if w.wants_slot]:
                del waiting[w]
                w.lock.release()

    def _poll_idle(self) -> None:
        """Before using a connection nobody reads, processes what the server sent meanwhile
        (a GOAWAY or EOF from a gateway that restarted), so the call goes to a live one."""
        with self.lock:
            if self.reading or self.closed is not None:
                return
            self.reading = True
        try:
            if self._poller.poll(0):
                self._read_once(_monotonic())
        finally:
            self._stop_reading()

    def _read_once(self, deadline: float | None) -> bool:
        """One receive + dispatch, as the reader. False when the deadline passed with no data
        or the connection is closed."""
        if self.closed is not None:
            return False
        sock = self.sock
        try:
            if deadline is not None:
                remaining = deadline - _monotonic()
                if not self._poller.poll(max(0, int(remaining * 1000 + 0.999))):
                    return False
            want = self.decoder.wanted
            if want > _RECV_SIZE:
                data = sock.recv(want)
            else:
                n = sock.recv_into(self._rbuf)
                data = self._rview[:n].tobytes()
        except OSError as exc:
            self._connection_failed(connection_lost_error(self.address, exc))
            return False
        if not data:
            self._connection_failed(connection_lost_error(self.address))
            return False
        self.last_read = _monotonic()
        woken: list[StreamState] = []
        replies: list[bytes] = []
        with self.lock:
            try:
                freed = self.receive(data, woken, replies)
            except fr.ProtocolError as exc:
                self.fail_all(protocol_error(self.address, exc), woken)
                freed = True
            if self.waiting:
                self._wake_locked(woken, freed)
            drained = self.goaway is not None and not self.streams and self.closed is None
        if replies:
            self.send(b"".join(replies))
        if drained:
            # GOAWAY received and nothing left in flight: this connection is done.
            with self.lock:
                self.fail_all(connection_lost_error(self.address), [])
        return self.closed is None

    def _connection_failed(self, exc: ModelGateError) -> None:
        woken: list[StreamState] = []
        with self.lock:
            self.fail_all(exc, woken)
            self._wake_locked(woken, True)

    # -- closing -------------------------------------------------------------------------

    def _shutdown(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _close_socket(self) -> None:
        """Closes the descriptor once nobody can be inside a send or receive on it: under the
        send lock and with no reader (a reader closes it when it stops)."""
        with self.send_lock:
            with self.lock:
                if self._sock_closed:
                    return
                if self.reading:
                    self._shutdown()  # the reader sees EOF and closes the socket when it stops
                    return
                self._sock_closed = True
            self.sock.close()

    def close(self, reason: ModelGateError | None = None) -> None:
        """Fails open calls (``CancelledError`` by default) and closes the socket."""
        woken: list[StreamState] = []
        with self.lock:
            self.fail_all(reason or CancelledError("the client was closed"), woken)
            self._wake_locked(woken, True)
            for w in list(self.waiting):
                del self.waiting[w]
                w.lock.release()
        self._close_socket()

    def idle(self) -> bool:
        """No call in flight."""
        return not self.streams
