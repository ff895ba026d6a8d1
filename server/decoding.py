"""Request messages that do not decode: INVALID_ARGUMENT naming the message, never INTERNAL.

grpc's own handling of a request whose bytes are not the method's message (bad
UTF-8 in a string field, a truncated varint …) is INTERNAL with a traceback in
the process log. :func:`tolerant` wraps a method's deserializer so such bytes
become an :class:`Undecodable` value instead, and :func:`checked` turns that
value (or one inside a request stream) into a :class:`~server.status.RequestError`
where the interceptor maps errors to statuses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from flexmrt.server.status import RequestError

__all__ = ["Undecodable", "checked", "tolerant"]


class Undecodable:
    """Bytes that did not decode as the request message."""

    def __init__(self, problem: str) -> None:
        self.problem = problem


def tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def decode(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as error:  # protobuf's DecodeError, or bytes of another message
            return Undecodable(type(error).__name__)

    return decode


def _refuse(item: Undecodable) -> RequestError:
    return RequestError.invalid(
        "request",
        "the request is not a valid message of this method "
        f"({item.problem}: malformed protobuf or a string that is not UTF-8)",
        "undecodable_request",
    )


def checked(request: Any, streaming_request: bool) -> Any:
    """``request`` as the servicer should see it; RequestError for undecodable bytes."""
    if streaming_request:
        return _checked_stream(request)
    if isinstance(request, Undecodable):
        raise _refuse(request)
    return request


def _checked_stream(requests: Iterator[Any]) -> Iterator[Any]:
    for item in requests:
        if isinstance(item, Undecodable):
            raise _refuse(item)
        yield item
