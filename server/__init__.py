"""The edges of flexmrt: the gRPC service and the command-line interface."""

__all__: list[str] = []
