"""The interceptor wraps each method's handler once, not on every call."""

from __future__ import annotations

from types import SimpleNamespace

import grpc

from flexmrt.server.edge import EdgeInterceptor


def _handler(reply: str) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(
        lambda request, context: reply,
        request_deserializer=bytes,
        response_serializer=str.encode,
    )


def test_a_methods_handler_is_wrapped_once_and_rewrapped_when_grpc_changes_it():
    interceptor = EdgeInterceptor()
    handlers = {"/a.S/M": _handler("one")}
    asks: list[str] = []

    def continuation(details):
        asks.append(details.method)
        return handlers.get(details.method)

    call = SimpleNamespace(method="/a.S/M", invocation_metadata=())
    first = interceptor.intercept_service(continuation, call)
    assert first is not handlers["/a.S/M"] and first.unary_unary is not None
    assert interceptor.intercept_service(continuation, call) is first  # the same wrapper
    handlers["/a.S/M"] = _handler("two")
    assert interceptor.intercept_service(continuation, call) is not first
    assert interceptor.intercept_service(continuation, SimpleNamespace(method="/a.S/X")) is None
    assert asks == ["/a.S/M"] * 3 + ["/a.S/X"]  # grpc is still asked every time
