"""The small value a pod/event/PodGroup inspection returns."""

from __future__ import annotations

from dataclasses import dataclass

# Order in which failures are reported when several pods fail differently: the cause a
# human must fix first (the image, then the config, then the code, then capacity).
FAILURE_RANK: dict[str, int] = {
    "InvalidImageName": 0,
    "ErrImageNeverPull": 1,
    "ImagePullBackOff": 2,
    "ErrImagePull": 3,
    "CreateContainerConfigError": 4,
    "CrashLoopBackOff": 5,
    "Unschedulable": 6,
    "FailedCreate": 7,
}


@dataclass(frozen=True)
class Finding:
    """What an inspection found.

    ``failed`` True means "terminal: report FAILED now"; False means a progress hint that
    explains why the workload is not ready yet (for example ``ErrImagePull`` seen once).
    ``subject`` names where it was seen (``pod "x" container "y"``).
    """

    failed: bool
    reason: str
    message: str
    subject: str = ""

    @property
    def rank(self) -> int:
        """Sort key: lower is reported first."""
        return FAILURE_RANK.get(self.reason, len(FAILURE_RANK))

    def text(self) -> str:
        """``reason: message (subject)`` for a human."""
        text = f"{self.reason}: {self.message}" if self.message else self.reason
        return f"{text} ({self.subject})" if self.subject else text


def pick(findings: list[Finding]) -> tuple[Finding | None, int]:
    """The finding to report first and how many more there are (deterministic order)."""
    if not findings:
        return None, 0
    ordered = sorted(findings, key=lambda f: (f.rank, f.subject, f.reason, f.message))
    return ordered[0], len(ordered) - 1
