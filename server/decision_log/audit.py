"""Audit operations over any decision log: verify (against a checkpoint), sign, migrate.

Each streams the log once (constant memory): the chain and its head are checked
while the Merkle tree is built, so a signed checkpoint kept elsewhere is compared
in the same pass — fewer entries than it signed is a truncated tail, another tree
head over its first entries is a rewrite.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flexmrt.server.decision_log import open_log
from flexmrt.server.decision_log.chain import Problem, VerifyReport
from flexmrt.server.decision_log.checkpoint import (
    Checkpoint,
    CheckpointError,
    Signer,
    load_public_key,
    verify_checkpoint,
)
from flexmrt.server.decision_log.interface import LogError
from flexmrt.server.decision_log.merkle import TreeBuilder

__all__ = ["Migration", "export_checkpoint", "migrate", "sign_checkpoint", "verify_log"]


def read_checkpoint(path: str | Path, public_key: str | Path) -> Checkpoint:
    """The checkpoint in file ``path`` once its signature by the key in ``public_key`` verifies."""
    public, name = load_public_key(public_key)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path}: cannot read the checkpoint ({error})") from None
    return verify_checkpoint(text, public, name, where=str(path))


def verify_log(
    location: str | Path, checkpoint: Checkpoint | None = None, wait_s: float = 30.0
) -> VerifyReport:
    """Verify the chain, its head and (optionally) the log against a signed ``checkpoint``."""
    log = open_log(location, read_only=True, wait_s=wait_s)
    try:
        tree = TreeBuilder(snapshot_at=checkpoint.size if checkpoint else None)
        report = log.verify(tree)
    finally:
        log.close()
    if checkpoint is not None:
        report.problems += _against(checkpoint, tree)
    return report


def _against(checkpoint: Checkpoint, tree: TreeBuilder) -> list[Problem]:
    if tree.size < checkpoint.size:
        first = tree.size + 1
        last = checkpoint.size
        which = f"entry {first}" if first == last else f"entries {first}–{last}"
        return [
            Problem(
                first,
                "truncated",
                f"the signed checkpoint covers {checkpoint.size} entries, the log has {tree.size}: "
                f"{which} removed (tail truncated)",
            )
        ]
    if tree.snapshot != checkpoint.root:
        return [
            Problem(
                checkpoint.size,
                "rewritten",
                f"the first {checkpoint.size} entries do not match the signed checkpoint's tree "
                "head: the log was rewritten since it was signed",
            )
        ]
    return []


def export_checkpoint(location: str | Path) -> str:
    """The latest checkpoint stored in the log (for an external witness)."""
    log = open_log(location, read_only=True)
    try:
        stored = log.latest_checkpoint()
    finally:
        log.close()
    if stored is None:
        raise LogError(
            f"{log.location}: no checkpoint stored yet (the service signs one every N entries, "
            "every T seconds and on shutdown when started with --checkpoint-key; or use --sign)"
        )
    return stored[1]


def sign_checkpoint(location: str | Path, signer: Signer) -> str:
    """Verify the whole log, then sign and store a checkpoint of it as it is; the text."""
    log = open_log(location, read_only=True)
    log.close()
    tree = TreeBuilder()
    log = open_log(location)
    try:
        report = log.verify(tree)
        if not report.ok:
            raise LogError(
                f"{log.location}: the chain is broken ({len(report.problems)} problem(s)); "
                "refusing to sign (run `flexmrt audit verify`)"
            )
        text = signer.sign(Checkpoint(signer.origin, tree.size, tree.root()))
        log.store_checkpoint(tree.size, text)
    finally:
        log.close()
    return text


@dataclass(frozen=True)
class Migration:
    entries: int
    checkpoints: int
    report: VerifyReport


def migrate(source: str | Path, target: str | Path) -> Migration:
    """Copy a verified chain (entries verbatim, checkpoints) into an empty log, then verify it."""
    src = open_log(source, read_only=True)
    try:
        before = TreeBuilder()
        checked = src.verify(before)
        if not checked.ok:
            raise LogError(
                f"{src.location}: the chain is broken ({len(checked.problems)} problem(s)); "
                "nothing copied (run `flexmrt audit verify`)"
            )
        checkpoints = src.checkpoints()
        dst = open_log(target)
        try:
            count = dst.ingest(src.entries(), checkpoints)
            after = TreeBuilder()
            report = dst.verify(after)
        finally:
            dst.close()
    finally:
        src.close()
    if count != checked.entries or after.root() != before.root():
        report.problems.append(
            Problem(
                count,
                "copy_differs",
                f"copied {count} of {checked.entries} entries and the tree heads differ: the "
                "source changed during the copy (stop the service first)",
            )
        )
    return Migration(count, len(checkpoints), report)
