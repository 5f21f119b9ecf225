"""expectations.json items as typed values: what the runner concluded, as the report reads it.
Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sovnet.results.files import opt_num


@dataclass(frozen=True)
class ExpectationResult:
    name: str
    scope: str  # "from": the vantage points it is about
    during: tuple[float, float] | None  # emulated seconds; None: the whole run
    to: str
    metric: str  # e.g. "accessible", "blocking:tcp_ip", "throughput_kbps"
    op: str
    threshold: float | None
    observed: float | None  # None: nothing to compute it from (then it failed)
    n: int | None  # how many measurements (samples, for the medians) it is over
    passed: bool
    note: str = ""

    @property
    def key(self) -> tuple:
        """What the expectation is, without what was observed: the same in every run of a
        scenario (a name alone is not: one name may state several conditions)."""
        return (self.name, self.scope, self.during, self.to, self.metric, self.op,
                self.threshold)

    @classmethod
    def parse(cls, x: Mapping[str, Any]) -> ExpectationResult:
        """One item; fields a foreign or older writer left out read as unknown."""
        d = x.get("during")
        during = ((float(d[0]), float(d[1]))
                  if isinstance(d, list) and len(d) == 2 and all(opt_num(v) is not None for v in d)
                  else None)
        n = x.get("n")
        return cls(name=str(x.get("name")), scope=str(x.get("from") or ""), during=during,
                   to=str(x.get("to") or ""), metric=str(x.get("metric", "?")),
                   op=str(x.get("op", "?")), threshold=opt_num(x.get("threshold")),
                   observed=opt_num(x.get("observed")),
                   n=n if isinstance(n, int) and not isinstance(n, bool) else None,
                   passed=x.get("pass") is True, note=str(x.get("note") or ""))

    def to_json(self) -> dict[str, Any]:
        """The item as written to expectations.json (its field names, its order)."""
        return {"name": self.name, "from": self.scope,
                "during": list(self.during) if self.during is not None else None,
                "to": self.to, "metric": self.metric, "op": self.op,
                "threshold": self.threshold, "observed": self.observed, "n": self.n,
                "pass": self.passed, "note": self.note}
