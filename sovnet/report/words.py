"""The store's orders in plain words, for readers who do not write policies:

    deny:inbound international for isp:mobiq (priority 100), reason "national order 7"
    -> "drop everything from abroad to mobiq's subscribers (priority 100): national order 7"

Pure: reads model values only. Anything it does not know is said in the policy's own text
rather than guessed at.
"""

from __future__ import annotations

from typing import Any

from sovnet.model.policy import Action, Policy, PolicySyntaxError, Scope, Target
from sovnet.model.topology import CATEGORY_NAMES

CLASS_WORDS = {
    "mobile_prepaid": "prepaid mobile", "mobile_postpaid": "postpaid mobile",
    "fixed_home": "fixed home line", "fixed_macbound": "MAC-bound fixed line",
    "enterprise": "enterprise", "hosting": "hosting", "privileged": "privileged",
    "kiosk": "kiosk",
}
VERBS = {  # what the policy does to the traffic it covers
    "allow": "allow", "deny": "drop", "reject": "refuse (reset)",
    "blockpage": "send to a block page", "steer_dns": "steer the DNS queries for",
    "log": "log every flow to", "withdraw": "withdraw the routes announced for",
    "restore": "announce again the routes for",
}
DIRECTION_WORDS = {"inbound": "from", "outbound": "to", "border": "to and from"}


def category(code: str) -> str:
    """'GRP' -> 'social networking (GRP)'; an unknown code as it is."""
    name = CATEGORY_NAMES.get(code)
    return f"{name} ({code})" if name else code


def scope_words(scope: Scope) -> str:
    """Whose traffic: 'all subscribers', "mobiq's subscribers", 'prepaid mobile subscribers'."""
    v = scope.value
    if scope.kind == "all":
        return "all subscribers"
    if scope.kind == "isp":
        return f"{v}'s subscribers"
    if scope.kind == "class":
        return f"{CLASS_WORDS.get(v, v)} subscribers"
    if scope.kind == "subscriber":
        return f"subscriber {v}"
    if scope.kind == "region":
        return f"subscribers in region {v}"
    if scope.kind == "tier":
        return f"{v} subscribers"
    if scope.kind == "standing":
        return f"subscribers of standing below {v.lstrip('<').strip()}"
    return str(scope)


def target_words(target: Target, abroad: str = "everything abroad") -> str:
    """What it covers: 'everything abroad', 'social networking (GRP)', 'TCP port 443'."""
    k, v = target.kind, target.value
    text = {
        "international": abroad,
        "any": "everything",
        "service": f"service {v}",
        "category": category(v),
        "locus": f"every {v} service",
        "prefix": f"addresses in {v}",
        "sni": f"TLS to {v} (by its SNI)",
        "sni-contains": f"TLS whose SNI contains {v!r}",
        "host": f"HTTP requests for {v} (by Host)",
        "quic": f"QUIC to {v}" if v else "all QUIC",
    }.get(k)
    if k == "port":
        proto, _, port = v.partition("/")
        text = f"{proto.upper()} port {port}" if port else f"all {proto.upper()}"
    text = text or str(target)
    return f"{text} over {target.family.replace('ipv', 'IPv')} only" if target.family else text


def policy_words(p: Policy) -> str:
    """One policy as a sentence: verb, target, scope, priority, schedule, reason."""
    try:
        act = Action.parse(p.action)
    except PolicySyntaxError:
        return p.describe()
    whom = scope_words(p.scope)
    if act.direction:
        # At the border, the scope is addresses and the target is the far end.
        far = target_words(p.target, abroad="abroad")
        far = far if p.target.kind == "international" else f"{far} abroad"
        verb = VERBS.get(act.kind, act.kind)
        text = f"{verb} traffic {DIRECTION_WORDS[act.direction]} {far} at the border, for {whom}"
    elif act.kind == "throttle":
        text = (f"throttle {target_words(p.target)} to {_rate(act.rate_kbps)} for {whom}")
    elif act.kind == "dns_tamper":
        lie = "no such name" if act.answer == "nxdomain" else f"the address {act.answer}"
        text = f"make the ISPs' resolvers answer {lie} for {target_words(p.target)}, for {whom}"
    elif act.kind in ("withdraw", "restore"):
        isps = "every ISP" if p.scope.kind == "all" else p.scope.value
        what = "all its space" if p.target.kind == "any" else p.target.value
        verb = "withdraws its routes to" if act.kind == "withdraw" else "keeps announcing"
        text = f"BGP: {isps} {verb} {what}"
    else:
        verb = VERBS.get(act.kind, act.kind)
        text = f"{verb} {target_words(p.target)} for {whom}"
    if act.has_options:
        opts = []
        if act.residual:
            opts.append(f"the server stays blocked {act.residual:g} s after")
        if act.reassemble:
            opts.append("reads the whole ClientHello")
        if act.reset_server:
            opts.append("resets the server too")
        text += f" ({'; '.join(opts)})"
    text += f" (priority {p.priority}"
    text += f", {p.schedule})" if p.schedule else ")"
    return f"{text}: {p.reason}" if p.reason else text


def _rate(kbps: int | None) -> str:
    if kbps is None:
        return "a limit"
    return f"{kbps / 1000:g} Mbit/s" if kbps >= 1000 else f"{kbps} kbit/s"


def change_words(entity: str, key: str, op: str, body: dict[str, Any],
                 before: dict[str, Any] | None) -> str | None:
    """A revision's change in plain words; None for one a reader need not see (the clock).
    `before` is the entity's body before this change (None: it did not exist), so that a
    revocation says what it revoked and an update says what it changed."""
    if entity == "policy":
        if op == "put":
            return "ordered: " + policy_words(Policy.from_body(int(key), body))
        return "revoked: " + (policy_words(Policy.from_body(int(key), before)) if before
                              else f"policy #{key}")
    if entity == "subscriber":
        if op == "delete":
            return f"subscriber {key} struck from the register"
        old = before or {}
        changed = [f"{k} {old[k]} → {v}" if k in old else f"{k} {v}"
                   for k, v in body.items() if old.get(k) != v]
        return f"subscriber {key}: " + (", ".join(changed) or "unchanged")
    if entity == "device":
        if op == "put":
            return f"device {key} registered to subscriber {body.get('subscriber', '?')}"
        owner = (before or {}).get("subscriber")
        return f"device {key} struck from the register" + (f" ({owner}'s)" if owner else "")
    if entity == "setting":
        return None if key == "clock" else f"setting {key} {'set' if op == 'put' else 'removed'}"
    return f"{entity} {key}: {op}"
