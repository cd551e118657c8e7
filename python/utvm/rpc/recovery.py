"""Recovery from a noisy link: the work of a run done again in a new session.

Within a session the client sends a request again when its reply is lost
(``utvm.rpc.retry_policy``). When that does not help, or the device reset the session, the
only consistent point the protocol offers is a new session (TerminateSession +
StartSessionInit, wire-protocol doc §3.4): the device forgets the old session's objects, so
``run_with_recovery`` runs the whole work again (executor, inputs, params, run, outputs), a
bounded number of times, and says so in one line each time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from utvm.rpc.client import RpcClient
from utvm.rpc.errors import LinkFailed, SessionError
from utvm.rpc.remote_session import Session
from utvm.rpc.retry_policy import RetryPolicy, RetryState, failure_name
from utvm.transport.base import TransportTimeout

T = TypeVar("T")

# Failures of the link, not of the work: a new session may get past them. A closed link
# (the board process exited, the port vanished) is not one of them.
RECOVERABLE = (TransportTimeout, SessionError)


def run_with_recovery(session: Session, work: Callable[[RpcClient], T],
                      retry: RetryState | RetryPolicy | None = None) -> T:
    """``work(client)`` on an open session, with the client sending lost requests again and,
    if that is not enough, the whole work redone in a new session.

    Raises ``LinkFailed`` (naming the first failure) when the retries allowed by the policy
    did not help, or when the board does not answer a new session start (it is busy with
    the lost request, hung or gone).
    """
    state = retry if isinstance(retry, RetryState) else RetryState(retry or RetryPolicy())
    policy = state.policy
    session.client.retry = state
    first: BaseException | None = None
    while True:
        try:
            return work(session.client)
        except RECOVERABLE as error:
            if isinstance(error, LinkFailed):
                raise
            first = first or error
            if state.restarts >= policy.restarts or state.exhausted:
                raise LinkFailed(
                    f"the link to {session.transport.name} kept failing: {state.resends} "
                    f"requests sent again and {state.restarts} new sessions did not help "
                    f"(first failure: {first})") from error
            state.restarts += 1
            note = state.failed(session.client.max_packet_known)
            try:
                session.restart()
            except RECOVERABLE as start_error:
                raise LinkFailed(
                    f"{first} (Then the board did not answer a new session start either: it "
                    "is busy, hung or gone.)") from start_error
            state.say(f"link: {failure_name(error)}, session restarted (retry "
                      f"{state.restarts}/{policy.restarts}){note}")
