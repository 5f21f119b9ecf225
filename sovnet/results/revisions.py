"""revisions.jsonl lines as typed values: the store's orders of a run (sovnet.store.orders
writes them). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sovnet.results.files import RecordError, num, opt_num, string


@dataclass(frozen=True)
class RevisionChange:
    entity: str  # policy, subscriber, device, setting
    key: str
    op: str  # put or delete
    body: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class SwitchAck:
    wall: float  # when the switch's barrier reply arrived
    flows_changed: int
    refused: str = ""  # why the switch refused the revision ("": it enforces it)


@dataclass(frozen=True)
class Revision:
    revision: int
    committed_wall: float
    t_real: float | None  # None: the run's clock never started
    t_scenario: float | None
    author: str
    reason: str
    changes: tuple[RevisionChange, ...]
    acks: dict[str, SwitchAck] = field(hash=False, compare=False)  # switch -> its answer

    def ack_ms(self, switch: str) -> float | None:
        """Milliseconds from the commit to the switch's answer; None: it never answered."""
        a = self.acks.get(switch)
        return None if a is None else (a.wall - self.committed_wall) * 1000.0

    @classmethod
    def parse(cls, d: Mapping[str, Any], where: str) -> Revision:
        obj = dict(d)
        rev = obj.get("revision")
        if not isinstance(rev, int) or isinstance(rev, bool):
            raise RecordError(f"{where}: 'revision' must be an integer, got {rev!r}")
        changes = []
        for i, c in enumerate(obj.get("changes") or []):
            at = f"{where}: changes[{i}]"
            if not isinstance(c, dict):
                raise RecordError(f"{at}: expected an object")
            body = c.get("body") or {}
            if not isinstance(body, dict):
                raise RecordError(f"{at}: 'body' must be an object")
            changes.append(RevisionChange(string(c, "entity", at), str(c.get("key", "")),
                                          string(c, "op", at), body))
        acks = obj.get("acks") or {}
        if not isinstance(acks, dict):
            raise RecordError(f"{where}: 'acks' must be an object keyed by switch")
        parsed = {}
        for name, a in acks.items():
            at = f"{where}: acks[{name!r}]"
            if not isinstance(a, dict):
                raise RecordError(f"{at}: expected an object")
            parsed[str(name)] = SwitchAck(num(a, "wall", at),
                                          int(opt_num(a.get("flows_changed")) or 0),
                                          str(a.get("refused") or ""))
        return cls(rev, num(obj, "committed_wall", where), opt_num(obj.get("t_real")),
                   opt_num(obj.get("t_scenario")), str(obj.get("author") or ""),
                   str(obj.get("reason") or ""), tuple(changes), parsed)
