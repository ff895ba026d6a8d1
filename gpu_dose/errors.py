"""The one exception type of gpu_dose, with a stable code, the location and a fix."""

from __future__ import annotations

__all__ = ["DoseError"]


class DoseError(ValueError):
    """Invalid dosimetry input.

    ``code`` is stable (tests and callers match on it); ``path`` and ``tag`` name
    where the problem is (a file and a DICOM keyword or tag, when there is one);
    ``fix`` tells the user what to do.
    """

    def __init__(
        self, code: str, message: str, *, path: str = "", tag: str = "", fix: str = ""
    ) -> None:
        self.code = code
        self.path = str(path)
        self.tag = tag
        self.fix = fix
        super().__init__(self._format(message))

    def _format(self, message: str) -> str:
        where = ": ".join(part for part in (self.path, self.tag) if part)
        text = f"[{self.code}] {where + ': ' if where else ''}{message}"
        return f"{text} — fix: {self.fix}" if self.fix else text

    def to_dict(self) -> dict[str, str]:
        """JSON-ready form, as the CLI and batch results report it."""
        return {
            "code": self.code,
            "path": self.path,
            "tag": self.tag,
            "message": str(self),
            "fix": self.fix,
        }
