"""The interceptor every call passes: auth, caller identity, deadline cap, error mapping.

- With a :class:`~server.security.TokenStore`, calls without exactly one
  ``authorization: Bearer <token>`` of a known token get UNAUTHENTICATED; health
  checks and reflection of the health service are exempt so load balancers can
  probe (see :mod:`server.reflection`).
- The caller identity (token name and/or client certificate subject, or
  ``anonymous``) is available to servicers through :func:`current_caller`.
- Request bytes that are not the method's message are INVALID_ARGUMENT
  (:mod:`server.decoding`), not grpc's INTERNAL.
- Every call gets a deadline: the client's, capped at ``max_call_s``. One watcher
  (:class:`server.deadline.Deadlines`) ends calls that run past it: computation in
  an interruptible block is interrupted (DEADLINE_EXCEEDED), anything else is
  cancelled.
- Domain errors become status codes through :func:`server.status.to_status`;
  anything else is INTERNAL, logged by type only.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from flexmrt.server import reflection
from flexmrt.server.deadline import DeadlineExceeded, Deadlines
from flexmrt.server.decoding import checked, tolerant
from flexmrt.server.security import (
    TokenStore,
    authorization_values,
    caller_identity,
    certificate_subject,
)
from flexmrt.server.status import log_unexpected, to_status

__all__ = ["EdgeInterceptor", "current_caller"]

_log = logging.getLogger("flexmrt.server")
_CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="anonymous")
_KINDS = ("unary_unary", "unary_stream", "stream_unary", "stream_stream")


def current_caller() -> str:
    """Identity of the caller of the RPC running in this thread."""
    return _CALLER.get()


class EdgeInterceptor(grpc.ServerInterceptor):
    def __init__(
        self,
        tokens: TokenStore | None = None,
        max_call_s: float = 300.0,
        deadlines: Deadlines | None = None,
    ) -> None:
        self._tokens = tokens
        self._max_call_s = max_call_s
        self.deadlines = deadlines or Deadlines()
        # method → (grpc's handler, ours around it): built once per method, not per call
        # (grpc asks on its polling thread for every call); only methods grpc knows
        self._wrapped: dict[str, tuple[Any, Any]] = {}

    def intercept_service(self, continuation: Callable[..., Any], details: Any) -> Any:
        handler = continuation(details)
        if handler is None:
            return None
        method: str = details.method
        known = self._wrapped.get(method)
        if known is not None and known[0] is handler:
            return known[1]
        wrapped = self._wrap_handler(handler, method)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap_handler(self, handler: Any, method: str) -> Any:
        for kind in _KINDS:
            behaviour = getattr(handler, kind)
            if behaviour is not None:
                streaming = kind.endswith("stream")
                wrapped = self._wrap(behaviour, method, streaming, kind.startswith("stream"))
                decode = tolerant(handler.request_deserializer)
                return handler._replace(**{kind: wrapped, "request_deserializer": decode})
        return handler

    def _wrap(
        self, behaviour: Callable[..., Any], method: str, streaming: bool, requests: bool
    ) -> Any:
        def call(request: Any, context: grpc.ServicerContext) -> Any:
            caller = self._authenticate(method, context)
            token = _CALLER.set(caller)
            limit = self._limit(context)
            try:
                with self.deadlines.track(context, limit):
                    return behaviour(checked(request, requests), context)
            except DeadlineExceeded:
                _expired(context, method, limit)
            except Exception as error:  # every error gets a status
                _abort(context, method, error)
            finally:
                _CALLER.reset(token)

        def stream(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            caller = self._authenticate(method, context)
            token = _CALLER.set(caller)
            limit = self._limit(context)
            try:
                with self.deadlines.track(context, limit):
                    request = checked(request, requests)
                    if caller == _HEALTH_PROBE:
                        request = reflection.health_only(request, lambda: _unauthenticated(context))
                    yield from behaviour(request, context)
            except DeadlineExceeded:
                _expired(context, method, limit)
            except Exception as error:
                _abort(context, method, error)
            finally:
                _CALLER.reset(token)

        return stream if streaming else call

    def _authenticate(self, method: str, context: grpc.ServicerContext) -> str:
        subject = certificate_subject(context)
        if self._tokens is None:
            return caller_identity(None, subject)
        name = self._tokens.name_for(authorization_values(context.invocation_metadata()))
        if name is None:
            if not reflection.token_free(method):
                _log.info("unauthenticated call to %s from %s", method, context.peer())
                _unauthenticated(context)
            if reflection.is_reflection(method):
                return _HEALTH_PROBE
        return caller_identity(name, subject)

    def _limit(self, context: grpc.ServicerContext) -> float:
        """Seconds this call may run: the client's deadline, capped at ``max_call_s``."""
        remaining = context.time_remaining()
        return self._max_call_s if remaining is None else min(remaining, self._max_call_s)


def _expired(context: grpc.ServicerContext, method: str, limit: float) -> None:
    _log.info("%s ran past its deadline (%.1f s) and was stopped", method, limit)
    context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "the call ran past its deadline")


_HEALTH_PROBE = "anonymous health probe"  # reflection without a token: health only


def _unauthenticated(context: grpc.ServicerContext) -> None:
    context.abort(
        grpc.StatusCode.UNAUTHENTICATED,
        "exactly one 'authorization: Bearer <token>' header with a valid token is required",
    )


def _abort(context: grpc.ServicerContext, method: str, error: Exception) -> None:
    # ServicerContext.code() (grpc ≥ 1.38, experimental) is missing from the typeshed stub
    if context.code() is not None:  # type: ignore[attr-defined]
        raise error  # already aborted by the servicer
    # A cancelled call is aborted too: re-raising would have grpc log the error's
    # message, which may quote the request (patient data) — see log_unexpected.
    status = to_status(error)
    if status is None:
        status = log_unexpected(method, error)
    context.abort_with_status(status)
