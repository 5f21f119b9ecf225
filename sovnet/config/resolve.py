"""From parsed data to resolved entries: per-entry validation, defaults and groups, `count:`.

Every entry is validated on its own so that one broken switch does not hide the checks on
the others. Names of broken entries are kept: a reference to a broken switch is not an
"unknown node", and checks that need the broken entry are skipped.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from sovnet.config import topology_file as tf
from sovnet.config.report import Reporter, got, one_of
from sovnet.config.shape import validate, validate_lenient
from sovnet.config.yamlsrc import Path

_APPLIES = {  # fields of a group that subscribers / services take
    "subscribers": ("class", "isp", "registered", "switch", "pod", "region"),
    "services": ("category", "locus", "switch", "depends_on", "https_redirect", "http3"),
}
_REQUIRED = {
    "subscribers": ("class", "isp", "switch"),
    "services": ("domains", "category", "locus", "switch"),
    "resolvers": ("switch",),
    "routers": ("switch",),
    "collectors": ("switch",),
    "probers": ("switch",),
}
# A host whose value for one of these keys was unusable is left out of the checks.
_CRITICAL = {"class", "isp", "switch", "category", "locus", "domains", "group", "count"}
_KIND = {"subscribers": "subscriber", "services": "service", "resolvers": "resolver",
         "routers": "router", "collectors": "collector", "probers": "prober"}
HOST_SECTIONS = tuple(_KIND)
MAX_SUBSCRIBERS = 10_000  # after count: a bound for any file, far more than one machine runs


@dataclass
class Section:
    """The valid entries of a mapping section, and the names of those that are not."""

    entries: dict[str, Any] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)
    dropped: dict[str, set[str]] = field(default_factory=dict)  # keys left out as unusable
    ok: bool = True  # False when the section itself is not a mapping

    def names(self) -> set[str]:
        return set(self.entries) | self.broken

    def complete(self) -> bool:
        return self.ok and not self.broken


@dataclass
class HostSpec:
    """A subscriber, service or resolver after defaults, group and count expansion."""

    kind: str  # "subscriber", "service" or "resolver"
    name: str
    path: Path  # ("subscribers", "home") for home1..home3
    fields: dict[str, Any]
    origin: dict[str, Path]  # where each field's value was written

    def get(self, key: str, default: Any = None) -> Any:
        return self.fields.get(key, default)

    def at(self, key: str) -> Path:
        """Path of the value of `key`, or of the entry when the key is not written anywhere."""
        return self.origin.get(key, self.path)


@dataclass
class Parsed:
    name: str
    description: str
    addressing: tf.Addressing | None  # None when broken
    defaults: tf.Defaults | None
    sections: dict[str, Section]
    links: list[tuple[int, tf.LinkIn]]
    links_complete: bool
    hosts: list[HostSpec]
    hosts_complete: dict[str, bool]  # per section: every entry resolved
    # entries whose count was refused, once each under their own name: checked for what
    # holds for all their hosts alike (references, attachment), never allocated
    unexpanded: list[HostSpec] = field(default_factory=list)


def parse(data: Any, reporter: Reporter) -> Parsed:
    """Validate the whole file (reporting shape errors), then keep whatever is usable."""
    validate(tf.TopologyFile, data, reporter)
    if not isinstance(data, dict):
        data = {}
    addressing = validate(tf.Addressing, data.get("addressing", {}))
    defaults = validate(tf.Defaults, data.get("defaults", {}))
    sections = {key: _section(data.get(key, {}), model, key != "groups")
                for key, model in tf.SECTIONS.items()}
    links, links_complete = [], isinstance(data.get("links", []), list)
    for i, item in enumerate(data.get("links", []) if links_complete else []):
        link, _ = validate_lenient(tf.LinkIn, item)
        if link is None:
            links_complete = False
        else:
            links.append((i, link))
    name = data.get("name") if isinstance(data.get("name"), str) else ""
    desc = data.get("description") if isinstance(data.get("description"), str) else ""
    parsed = Parsed(name, desc, addressing, defaults, sections, links, links_complete, [], {})
    for key in HOST_SECTIONS:
        _resolve_hosts(parsed, key, reporter)
    return parsed


def _section(raw: Any, model: type, lenient: bool) -> Section:
    if not isinstance(raw, dict):
        return Section(ok=False)
    sec = Section()
    for name, entry in raw.items():
        if not isinstance(name, str):
            continue
        if lenient:
            value, dropped = validate_lenient(model, entry)
        else:
            value, dropped = validate(model, entry), set()
        if value is None:
            sec.broken.add(name)
        else:
            sec.entries[name] = value
            sec.dropped[name] = dropped
    return sec


def _written(model: Any) -> dict[str, Any]:
    return model.model_dump(by_alias=True, exclude_unset=True)


def _resolve_hosts(parsed: Parsed, key: str, reporter: Reporter) -> None:
    sec = parsed.sections[key]
    complete = sec.complete()
    for name, entry in sec.entries.items():
        path: Path = (key, name)
        merged = _merge(parsed, key, name, entry, reporter)
        if merged is None:
            complete = False
            continue
        fields, origin = merged
        count = fields.pop("count", None)
        if count is None:
            parsed.hosts.append(HostSpec(_KIND[key], name, path, fields, origin))
            continue
        shared = [k for k in ("ip", "mac") if k in fields]
        if ":" in fields["switch"]:
            shared.append("switch")
        if count > 1 and shared:
            for k in shared:
                what = "port" if k == "switch" else k
                reporter.value(
                    origin[k],
                    f"an explicit {what} cannot be shared by count: {count} subscribers "
                    f"(expected no {what} here, or count: 1)",
                )
            parsed.unexpanded.append(HostSpec(_KIND[key], name, path, fields, origin))
            complete = False
            continue
        if not _count_fits(parsed, path, fields, origin, count, reporter):
            parsed.unexpanded.append(HostSpec(_KIND[key], name, path, fields, origin))
            complete = False
            continue
        for i in range(1, count + 1):
            parsed.hosts.append(HostSpec(_KIND[key], f"{name}{i}", path, dict(fields), origin))
    parsed.hosts_complete[key] = complete


def _count_fits(parsed: Parsed, path: Path, fields: dict[str, Any], origin: dict[str, Path],
                count: int, reporter: Reporter) -> bool:
    """Whether `count` hosts can exist, judged before making them: a count can be any
    integer, and the name, port and address checks that would refuse it walk every host."""
    isp = parsed.sections["isps"].entries.get(fields.get("isp"))
    if isp is not None and "ip" not in fields:
        net = ipaddress.IPv4Network(isp.prefix)
        room = max(net.num_addresses - 3, 0)  # .0, .1 (a gateway's) and broadcast stay free
        if count > room:  # as build._ips says it, where it would say it
            reporter.entry(path, f"no free address left in {net}, the prefix of ISP "
                                 f"{fields['isp']!r} (expected a larger prefix or fewer hosts)")
            return False
    total = len(parsed.hosts) + count
    if total > MAX_SUBSCRIBERS:
        reporter.value(origin["count"], f"count: {count} makes {total} subscribers (expected at "
                                        f"most {MAX_SUBSCRIBERS} in one topology)")
        return False
    return True


def _merge(parsed: Parsed, key: str, name: str, entry: Any,
           reporter: Reporter) -> tuple[dict[str, Any], dict[str, Path]] | None:
    """defaults.KIND, then the group, then the entry itself; None if unknowable or incomplete."""
    path: Path = (key, name)
    groups = parsed.sections["groups"]
    fields: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    usable = not (parsed.sections[key].dropped.get(name, set()) & _CRITICAL)

    def layer(values: dict[str, Any], where: Path, only: tuple[str, ...] | None = None) -> None:
        for k, v in values.items():
            if only is None or k in only:
                fields[k], origin[k] = v, where + (k,)

    if key in ("subscribers", "services"):
        if parsed.defaults is None:
            usable = False
        else:
            layer(_written(getattr(parsed.defaults, _KIND[key])), ("defaults", _KIND[key]))
        group = entry.group
        if group in groups.entries:
            values = _written(groups.entries[group])
            for k in values:
                if k not in _APPLIES[key]:
                    reporter.key(("groups", group, k), f"key '{k}' does not apply to {key} "
                                                       f"(group '{group}' is used by {key}.{name})")
            layer(values, ("groups", group), _APPLIES[key])
        elif group is not None:
            usable = False
            if groups.ok and group not in groups.broken:
                known = one_of(sorted(groups.entries), "groups")
                reporter.value(path + ("group",), f"unknown group {got(group)} ({known})")
    own = _written(entry)
    own.pop("group", None)
    layer(own, path)
    if not usable:
        return None
    missing = [req for req in _REQUIRED[key] if req not in fields]
    for req in missing:
        reporter.missing(path + (req,), f"missing required key '{req}'")
    empty = [req for req in _REQUIRED[key] if req in fields and fields[req] is None]
    for req in empty:  # `switch:` with nothing after it, where a group may also give one
        reporter.value(origin[req], f"expected a value, got {got(None, reporter.raw(origin[req]))}")
    return None if missing or empty else (fields, origin)
