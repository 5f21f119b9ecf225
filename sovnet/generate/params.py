"""What a generated national network is made of: a few numbers, and the presets shipped.

Pure: standard library only.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from sovnet.errors import SovnetError

# Subscribers per access switch, by class, as shares of its subscribers (the rest of the
# rounding goes to the first class).
FIXED_MIX = (("fixed_home", 0.7), ("enterprise", 0.15), ("fixed_macbound", 0.1),
             ("privileged", 0.05))
MOBILE_MIX = (("mobile_prepaid", 0.7), ("mobile_postpaid", 0.3))
# Service categories (Citizen Lab codes) by locus, drawn in turn.
DOMESTIC_CATEGORIES = ("GOVT", "BANK", "HEALTH", "NEWS", "SRCH", "COMT", "MMED", "HOST")
FOREIGN_CATEGORIES = ("CDN", "GRP", "NEWS", "MMED", "COMT", "SRCH", "ANON", "FILE", "HOST")


class GenerateError(SovnetError):
    exit_code = 2


# The most of each that a generated network may have: past these it would not fit in memory or
# in the address plan long before it ran, and a typo (an extra 0) is answered at once.
MAXIMA = {"regions": 64, "aggregation": 64, "access": 256, "subscribers": 4000,
          "domestic": 2000, "foreign": 2000, "ixps": 16, "datacentres": 16, "borders": 16,
          "internet": 16}
MAX_SWITCHES = 4096
MAX_SUBSCRIBERS = 100_000


@dataclass(frozen=True)
class Params:
    name: str = "generated"
    seed: int = 1
    fixed: int = 2  # fixed-line ISPs
    mobile: int = 3  # mobile operators
    regions: int = 4  # each ISP has an aggregation level per region
    aggregation: int = 1  # aggregation switches per ISP and region
    access: int = 10  # access switches per aggregation switch
    subscribers: int = 4  # subscribers per access switch
    unregistered: float = 0.02  # share of subscribers whose device is not admitted yet
    domestic: int = 24  # domestic services, in the national data centres
    foreign: int = 36  # foreign services, abroad
    depend: float = 0.3  # share of services that load from a foreign CDN
    http3: float = 0.2  # share of foreign services that also speak HTTP/3
    ixps: int = 2  # national exchanges; ISP cores and data centres meet there
    datacentres: int = 2
    borders: int = 3  # international gateways
    internet: int = 3  # switches abroad
    bw: float | None = None  # Mbit/s on every link; None: unshaped
    pods: bool = False  # every subscriber in its switch's pod (macvlans, no namespace each)
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def check(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name in ("name", "extra", "bw", "unregistered", "depend", "http3", "pods"):
                continue
            low = 0 if f.name in ("fixed", "mobile", "domestic", "foreign", "subscribers") \
                else 1
            if not isinstance(v, int) or v < low:
                raise GenerateError(f"--{f.name}: {v!r} (expected an integer >= {low})")
        for name in ("unregistered", "depend", "http3"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise GenerateError(f"--{name}: {v!r} (expected a share from 0 to 1)")
        if self.fixed + self.mobile < 1:
            raise GenerateError("--fixed and --mobile: no ISP (expected at least one)")
        if self.fixed + self.mobile > 20:
            raise GenerateError(f"--fixed and --mobile: {self.fixed + self.mobile} ISPs "
                                "(expected at most 20)")
        for name, most in MAXIMA.items():
            if getattr(self, name) > most:
                raise GenerateError(f"--{name}: {getattr(self, name)} (expected at most {most})")
        access = (self.fixed + self.mobile) * self.regions * self.aggregation * self.access
        switches = (access + (self.fixed + self.mobile) * (1 + self.regions * self.aggregation)
                    + self.ixps + self.datacentres + self.borders + self.internet)
        if switches > MAX_SWITCHES:
            raise GenerateError(f"--regions, --aggregation and --access: {switches:,} switches "
                                f"(expected at most {MAX_SWITCHES:,})")
        if access * self.subscribers > MAX_SUBSCRIBERS:
            raise GenerateError(f"--subscribers: {access * self.subscribers:,} subscribers on "
                                f"{access:,} access switches (expected at most "
                                f"{MAX_SUBSCRIBERS:,})")


PRESETS = {
    # 5 ISPs x (1 core + 4 aggregation + 44 access) + 2 IXPs + 2 data centres + 3 borders +
    # 3 internet switches = 255 switches; 1,100 subscribers + 60 services + 5 resolvers.
    "national-250": Params(name="national-250", seed=250, fixed=2, mobile=3, regions=4,
                           aggregation=1, access=11, subscribers=5),
    # 4 ISPs x (1 core + 1 aggregation + 5 access) + 1 IXP + 1 data centre + 2 borders + 2
    # internet switches = 34 switches; 20 access switches x 500 = 10,000 subscribers, in one
    # pod per access switch.
    "national-10k": Params(name="national-10k", seed=10_000, fixed=2, mobile=2, regions=1,
                           aggregation=1, access=5, subscribers=500, domestic=40, foreign=60,
                           ixps=1, datacentres=1, borders=2, internet=2, pods=True),
}


def preset(which: str | None, **overrides: Any) -> Params:
    if which is not None and which not in PRESETS:
        raise GenerateError(f"unknown preset {which!r} (expected one of: {', '.join(PRESETS)})")
    base = PRESETS[which] if which else Params()
    given = {k: v for k, v in overrides.items() if v is not None}
    p = replace(base, **given)
    p.check()
    return p
