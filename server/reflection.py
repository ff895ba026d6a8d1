"""Server reflection, v1 and v1alpha, and what of it a caller without a token may ask.

grpcio-reflection serves ``grpc.reflection.v1alpha``; ``grpc.reflection.v1`` is the
same protocol (the same messages and field numbers under another package), so the
v1 service is the same servicer registered under the v1 name, its file descriptor
built from v1alpha's with the package renamed.

With bearer tokens required, health checks and reflection *of the health service*
stay open to load balancers and probes (``grpcurl … grpc.health.v1.Health/Check``
resolves the health service by reflection first); listing services or describing
any other service needs a token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection
from grpc_reflection.v1alpha import reflection_pb2 as _v1alpha

__all__ = ["V1_SERVICE_NAME", "enable_reflection", "health_only", "token_free"]

V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"
_HEALTH = "grpc.health.v1."
_HEALTH_FILE = "grpc_health/v1/health.proto"  # as grpcio-health-checking names it
_REFLECTION_METHODS = {
    f"/{reflection.SERVICE_NAME}/ServerReflectionInfo",
    f"/{V1_SERVICE_NAME}/ServerReflectionInfo",
}


def token_free(method: str) -> bool:
    """Methods a caller without a token may call (reflection then only of health)."""
    return method.startswith(f"/{_HEALTH}Health/") or method in _REFLECTION_METHODS


def is_reflection(method: str) -> bool:
    return method in _REFLECTION_METHODS


def health_only(requests: Iterator[Any], refuse: Callable[[], None]) -> Iterator[Any]:
    """Pass reflection requests about the health service; ``refuse()`` any other."""
    for request in requests:
        if not _about_health(request):
            refuse()
        yield request


def _about_health(request: Any) -> bool:
    which = request.WhichOneof("message_request")
    if which == "file_by_filename":
        return bool(request.file_by_filename == _HEALTH_FILE)
    if which == "file_containing_symbol":
        return bool(request.file_containing_symbol.startswith(_HEALTH))
    if which == "file_containing_extension":
        return bool(request.file_containing_extension.containing_type.startswith(_HEALTH))
    if which == "all_extension_numbers_of_type":
        return bool(request.all_extension_numbers_of_type.startswith(_HEALTH))
    return False  # list_services names every service: a token is needed


def _add_v1_descriptor(pool: Any) -> None:
    """grpc/reflection/v1/reflection.proto, built from v1alpha's, in ``pool``."""
    try:
        pool.FindServiceByName(V1_SERVICE_NAME)
        return
    except KeyError:
        pass
    proto = descriptor_pb2.FileDescriptorProto()
    _v1alpha.DESCRIPTOR.CopyToProto(proto)
    _rename(proto)
    pool.Add(proto)


def _rename(proto: descriptor_pb2.FileDescriptorProto) -> None:
    old, new = "grpc.reflection.v1alpha", "grpc.reflection.v1"
    proto.name = "grpc/reflection/v1/reflection.proto"
    proto.package = new
    proto.ClearField("options")
    for message in proto.message_type:
        for field in message.field:
            if field.type_name.startswith(f".{old}."):
                field.type_name = f".{new}." + field.type_name[len(old) + 2 :]
    for service in proto.service:
        for method in service.method:
            method.input_type = method.input_type.replace(f".{old}.", f".{new}.")
            method.output_type = method.output_type.replace(f".{old}.", f".{new}.")


def enable_reflection(service_names: tuple[str, ...], server: grpc.Server) -> None:
    """Reflection v1alpha and v1 over ``service_names`` (both reflection services listed)."""
    _add_v1_descriptor(descriptor_pool.Default())
    names = (*service_names, reflection.SERVICE_NAME, V1_SERVICE_NAME)
    servicer = reflection.ReflectionServicer(names)
    handler = grpc.method_handlers_generic_handler(
        V1_SERVICE_NAME,
        {
            "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                servicer.ServerReflectionInfo,
                request_deserializer=_v1alpha.ServerReflectionRequest.FromString,
                response_serializer=_v1alpha.ServerReflectionResponse.SerializeToString,
            )
        },
    )
    server.add_generic_rpc_handlers((handler,))
    reflection.enable_server_reflection(names, server)
