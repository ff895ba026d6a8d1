"""Fuzz targets: one per parser, each classifying an input's outcome.

- ``protocol``: protocol YAML → the loader (strict YAML, schema, semantic checks); an
  accepted protocol is then summarised and run by the engine on example patients.
- ``record``: a patient record as JSON (the gRPC ``record_json`` path) or YAML (the
  CLI path) → the record parser; an accepted record is evaluated (eligibility, next
  action, schedule) and converted to its protobuf answer, as the server would.
- ``grpc``: a request to the real server (in this process, port 0): a method and its
  fields, or raw bytes as the request message.

Outcomes: ``accepted``; ``refused`` with the project's error (a stable code, and a
location: a JSON pointer, a line, or a request field); anything else is a
:class:`Failure` (an exception, a refusal without code or location, an INTERNAL or
UNKNOWN status, or a hang past :data:`HANG_S`). A DICOM study target is not here yet:
the DICOM reader (gpu_dose/dicom_io) is being reworked; ``TARGETS`` is where it joins.
"""

from __future__ import annotations

import base64
import contextlib
import json
import signal
import tempfile
import traceback
from collections.abc import Callable, Iterator
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
HANG_S = 20.0  # one input running longer is a hang (generous: 2 shared cores)
AS_OF = [date(2025, 1, 15), date(2025, 8, 18), date(2027, 3, 1)]


class Failure(Exception):
    """An input the project did not handle: the signature names the kind and the place."""

    def __init__(self, signature: str, detail: str = "") -> None:
        super().__init__(signature)
        self.signature = signature
        self.detail = detail


class Hang(BaseException):
    """Raised by the alarm when one input runs past HANG_S."""


@contextlib.contextmanager
def time_limit(seconds: float = HANG_S) -> Iterator[None]:
    """Raise Hang in this (main) thread after ``seconds``."""

    def alarm(signum: int, frame: Any) -> None:
        raise Hang()

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _signature(error: BaseException) -> str:
    """Exception type and the innermost frame in the project's code."""
    frames = [
        f
        for f in traceback.extract_tb(error.__traceback__)
        if str(ROOT) in f.filename and "/tests/" not in f.filename and ".venv" not in f.filename
    ]
    where = f"{Path(frames[-1].filename).relative_to(ROOT)}:{frames[-1].lineno}" if frames else "?"
    return f"{type(error).__name__} at {where}"


def _refused(error: Any) -> str:
    """The code of a project error that names where; Failure when it does not."""
    issues = list(getattr(error, "issues", []) or [])
    code = getattr(error, "code", "")
    if not code or not issues:
        raise Failure(f"refusal without code or issues: {type(error).__name__}")
    for issue in issues:
        if not issue.code or (not issue.pointer and issue.line is None and not issue.file):
            raise Failure(f"issue without a location: {issue.code}")
    return str(code)


# ---- seeds ------------------------------------------------------------------------------


_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where built


def _load(path: Path) -> tuple[str, Any]:
    text = path.read_text("utf-8")
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError:
        data = None
    return text, json.loads(json.dumps(data, default=str))


@cache
def protocol_seeds() -> list[tuple[str, Any]]:
    return [_load(p) for p in sorted((ROOT / "protocol" / "revisions").glob("*.yaml"))]


@cache
def record_seeds() -> list[tuple[str, Any]]:
    paths = sorted((ROOT / "examples" / "patients").glob("*.yaml"))
    paths += sorted((ROOT / "tests" / "cases" / "_base").glob("*.yaml"))
    out = []
    for text, data in map(_load, paths):
        out.append((json.dumps(data), data))
        out.append((text, data))
    for case in sorted((ROOT / "tests" / "cases").rglob("*.yaml")):
        _, data = _load(case)
        if isinstance(data, dict) and isinstance(data.get("record"), dict):
            out.append((json.dumps(data["record"]), data["record"]))
    return out


# ---- protocol ------------------------------------------------------------------------------


@cache
def _patients() -> list[Any]:
    from flexmrt import engine

    names = ("flx-001-eligible.yaml", "flx-011-kidney-cap.yaml", "flx-008-holiday-psa-restart.yaml")
    folder = ROOT / "examples" / "patients"
    return [engine.read_record_text((folder / n).read_text("utf-8"), n) for n in names]


def protocol_target(text: str) -> str:
    from flexmrt import engine
    from flexmrt.protocol import ProtocolError, load_text
    from flexmrt.server import convert

    try:
        protocol = load_text(text, "fuzz.yaml")
    except ProtocolError as error:
        return "refused:" + _refused(error)
    convert.protocol_summary(protocol.summary())
    for record in _patients():
        as_of = AS_OF[len(text) % len(AS_OF)]
        try:
            convert.eligibility(engine.eligibility(protocol, record, as_of))
            convert.decision(engine.decide(protocol, record, as_of))
        except engine.RecordError as error:  # e.g. the patient's arm is not one of its arms
            return "refused:" + _refused(error)
    return "accepted"


# ---- record --------------------------------------------------------------------------------


@cache
def _protocols() -> list[Any]:
    from flexmrt.protocol import Registry

    return list(Registry.bundled().all())


def record_target(text: str, as_json: bool = True) -> str:
    from flexmrt import engine
    from flexmrt.protocol import parse_duration
    from flexmrt.server import convert

    try:
        record = (
            engine.read_record_json(text, "record.json")
            if as_json
            else engine.read_record_text(text, "record.yaml")
        )
        as_of = AS_OF[len(text) % len(AS_OF)]
        protocol = _protocols()[len(text) % len(_protocols())]
        convert.eligibility(engine.eligibility(protocol, record, as_of))
        convert.decision(engine.decide(protocol, record, as_of))
        convert.schedule(engine.schedule(protocol, record, as_of, parse_duration("P6M")))
        convert.study_status(engine.study_status(protocol, [record, record], as_of))
    except engine.RecordError as error:
        return "refused:" + _refused(error)
    return "accepted"


# ---- gRPC ------------------------------------------------------------------------------------

METHODS = {
    "EvaluateEligibility": ("DecisionService", "decision", "EvaluateEligibilityRequest"),
    "DecideNextAction": ("DecisionService", "decision", "DecideNextActionRequest"),
    "GetSchedule": ("DecisionService", "decision", "GetScheduleRequest"),
    "GetStudyStatus": ("DecisionService", "decision", "GetStudyStatusRequest"),
    "GetDecision": ("DecisionService", "decision", "GetDecisionRequest"),
    "ListDecisions": ("DecisionService", "decision", "ListDecisionsRequest"),
    "ListProtocols": ("ProtocolService", "protocol", "ListProtocolsRequest"),
    "GetProtocol": ("ProtocolService", "protocol", "GetProtocolRequest"),
    "ValidateProtocol": ("ProtocolService", "protocol", "ValidateProtocolRequest"),
    "DiffProtocols": ("ProtocolService", "protocol", "DiffProtocolsRequest"),
    "AssessAmendment": ("ProtocolService", "protocol", "AssessAmendmentRequest"),
}
_STREAMING = {"AssessAmendment"}


class _Server:
    """One real server for the whole fuzz run, its log in a temporary folder."""

    def __init__(self) -> None:
        import grpc

        from flexmrt.server.app import create_server

        self.folder = tempfile.TemporaryDirectory(prefix="flexmrt-fuzz-")
        self.service, port = create_server("127.0.0.1:0", db=Path(self.folder.name) / "log.sqlite")
        self.service.start()
        self.channel = grpc.insecure_channel(f"127.0.0.1:{port}")

    def call(self, method: str, payload: bytes) -> list[bytes]:
        service = METHODS[method][0]
        path = f"/flexmrt.v1.{service}/{method}"
        if method in _STREAMING:
            stream = self.channel.unary_stream(path)
            return list(stream(payload, timeout=HANG_S))
        return [self.channel.unary_unary(path)(payload, timeout=HANG_S)]


@cache
def server() -> _Server:
    return _Server()


def request_bytes(doc: dict[str, Any]) -> tuple[str, bytes]:
    """(method, serialised request) of a gRPC fuzz input (see :func:`grpc_target`)."""
    import importlib

    method = doc["method"]
    _, module, message = METHODS[method]
    if "raw" in doc:
        return method, base64.b64decode(doc["raw"])
    pb = importlib.import_module(f"flexmrt.server._gen.flexmrt.v1.{module}_pb2")
    request = getattr(pb, message)()
    for name, value in doc.get("fields", {}).items():
        field = request.DESCRIPTOR.fields_by_name.get(name)
        if field is None:
            continue
        if isinstance(value, list):
            getattr(request, name).extend(value)
        else:
            setattr(request, name, value)
    return method, request.SerializeToString()


def grpc_target(doc: dict[str, Any]) -> str:
    """A request (method + fields or raw bytes) to the running server; classify its status."""
    import grpc

    method, payload = request_bytes(doc)
    try:
        server().call(method, payload)
    except grpc.RpcError as error:
        code = error.code()
        if code in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
            raise Failure(f"{code.name} from {method}: {str(error.details())[:120]}") from None
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            raise Hang() from None
        if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            raise Failure(f"{code.name} from {method}: {str(error.details())[:120]}") from None
        if code == grpc.StatusCode.INVALID_ARGUMENT and not _grpc_location(error):
            raise Failure(f"{code.name} from {method} without a field") from None
        return f"refused:{code.name}"
    return "accepted"


def _grpc_location(error: Any) -> bool:
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    status = rpc_status.from_call(error)
    for detail in status.details if status else []:
        bad = error_details_pb2.BadRequest()
        if detail.Unpack(bad) and all(v.field for v in bad.field_violations):
            return bool(bad.field_violations)
    return False


# ---- running one input -----------------------------------------------------------------------


def run_one(target: str, data: Any) -> str:
    """The outcome of one input ("accepted", "refused:CODE"); Failure or Hang otherwise."""
    fn: Callable[[Any], str] = TARGETS[target]
    try:
        with time_limit():
            return fn(data)
    except (Failure, Hang):
        raise
    except Exception as error:
        raise Failure(_signature(error), traceback.format_exc()[-2000:]) from error
    except RecursionError as error:  # pragma: no cover - a subclass of Exception, kept explicit
        raise Failure(_signature(error)) from error


def _record_input(data: Any) -> str:
    text, as_json = data
    return record_target(text, as_json)


TARGETS: dict[str, Callable[[Any], str]] = {
    "protocol": protocol_target,
    "record": _record_input,
    "grpc": grpc_target,
}


# ---- corpus -------------------------------------------------------------------------------------


def encode(target: str, data: Any) -> tuple[str, bytes]:
    """(file suffix, bytes) of an input as kept in the corpus."""
    if target == "protocol":
        return ".yaml", data.encode("utf-8", "surrogatepass")
    if target == "record":
        text, as_json = data
        return (".json" if as_json else ".yaml"), text.encode("utf-8", "surrogatepass")
    return ".json", json.dumps(data, ensure_ascii=True, indent=1).encode("ascii")


def decode(target: str, path: Path) -> Any:
    raw = path.read_bytes()
    if target == "protocol":
        return raw.decode("utf-8", "surrogatepass")
    if target == "record":
        return raw.decode("utf-8", "surrogatepass"), path.suffix == ".json"
    return json.loads(raw)


def save_failure(target: str, data: Any) -> Path:
    import hashlib

    suffix, raw = encode(target, data)
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(raw).hexdigest()[:16]}{suffix}"
    path.write_bytes(raw)
    return path


def corpus_files(target: str) -> list[Path]:
    folder = CORPUS / target
    return sorted(p for p in folder.glob("*") if p.suffix in (".json", ".yaml"))
