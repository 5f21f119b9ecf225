"""OONI Web Connectivity classification: a probe's observation against the control's.

classify() returns the web_connectivity test keys of results/README.md. It follows ooni/spec
ts-017 (the classic v0.4 decision order, as summarised in shutdowns.md 4.1.3/4.1.4) and, where
the spec leaves details open, ooni/probe-cli's implementation (the "uncommon" headers list,
NXDOMAIN from the test helper, body_proportion 0 when not computed). x_blocking_flags uses
probe-cli v0.5's bits; see blocking_flags for how they relate to OONI's own QA numbers.
Standard library only, no I/O.
"""

from __future__ import annotations

import copy

from sovnet.probes.net import endpoint

DNS, TCPIP, TLS, HTTP_FAILURE, HTTP_DIFF, SUCCESS = 1, 2, 4, 8, 16, 32
NO_CONTROL = "no control measurement"
BODY_PROPORTION_FACTOR = 0.7
MIN_TITLE_WORD = 5  # "words longer than 4 characters": 5 is the average English word length

# probe-cli's commonHeaders, plus the framing headers that every HTTP/1.1 server sends and so
# say nothing about which server answered (sovnet's servers send only common ones).
COMMON_HEADERS = frozenset({
    "date", "content-type", "server", "cache-control", "vary", "set-cookie", "location",
    "expires", "x-powered-by", "content-encoding", "last-modified", "accept-ranges", "pragma",
    "x-frame-options", "etag", "x-content-type-options", "age", "via", "p3p",
    "x-xss-protection", "content-language", "cf-ray", "strict-transport-security", "link",
    "x-varnish",
    "content-length", "connection", "transfer-encoding", "keep-alive",
})

# The test helper reports NXDOMAIN as "dns_name_error", a probe as "dns_nxdomain_error".
_SAME_DNS_FAILURE = {"dns_name_error": "dns_nxdomain_error"}


def _response(observation: dict) -> dict | None:
    """The final HTTP response the probe received, if any."""
    requests = observation.get("requests") or []
    if not requests or requests[0].get("failure") is not None:
        return None
    response = requests[0].get("response") or {}
    return response if (response.get("code") or 0) > 0 else None


def _probe_addrs(observation: dict) -> set[str]:
    return {a["ipv4"] if a.get("answer_type") == "A" else a["ipv6"]
            for q in observation.get("queries") or [] for a in q.get("answers") or []
            if a.get("answer_type") in ("A", "AAAA")}


def dns_consistency(observation: dict, control: dict | None) -> str | None:
    if control is None:
        return None
    if not observation.get("queries"):
        return "consistent"  # an IP address in the URL: nothing was resolved
    ctrl_addrs = set(control["dns"].get("addrs") or [])
    probe_failure = observation.get("dns_experiment_failure")
    if probe_failure is not None:
        if ctrl_addrs:
            return "inconsistent"
        ctrl_failure = control["dns"].get("failure")
        same = ctrl_failure is None or (
            _SAME_DNS_FAILURE.get(ctrl_failure, ctrl_failure) == probe_failure)
        return "consistent" if same else "inconsistent"
    return "consistent" if _probe_addrs(observation) & ctrl_addrs else "inconsistent"


def body_checks(response: dict | None, ctrl_http: dict) -> tuple[bool | None, float]:
    """(body_length_match, body_proportion); (None, 0.0) when there is nothing to compare,
    as probe-cli reports it."""
    ctrl_len = ctrl_http.get("body_length") or 0
    probe_len = (response or {}).get("body_length") or 0
    if ctrl_len <= 0 or probe_len <= 0 or response.get("body_is_truncated"):
        return None, 0.0
    proportion = min(probe_len, ctrl_len) / max(probe_len, ctrl_len)
    return proportion > BODY_PROPORTION_FACTOR, proportion


def status_code_match(response: dict | None, ctrl_http: dict) -> bool | None:
    """Only a 2xx control status is a reference worth comparing with (ts-017)."""
    ctrl = ctrl_http.get("status_code") or 0
    if response is None or not 200 <= ctrl < 300:
        return None
    return response["code"] == ctrl


def headers_match(response: dict | None, ctrl_http: dict) -> bool | None:
    """Whether probe and control share an uncommon header name; False when they share none
    (also when there are none at all, ts-017)."""
    if response is None or not ctrl_http.get("status_code"):
        return None
    ours = {h.lower() for h in response.get("headers") or {}} - COMMON_HEADERS
    theirs = {h.lower() for h in ctrl_http.get("headers") or {}} - COMMON_HEADERS
    return bool(ours & theirs)


def _title_words(title: str | None) -> set[str]:
    return {w.lower() for w in (title or "").split() if len(w) >= MIN_TITLE_WORD}


def title_match(response: dict | None, ctrl_http: dict) -> bool | None:
    if response is None or not ctrl_http.get("status_code"):
        return None
    ours, theirs = _title_words(response.get("title")), _title_words(ctrl_http.get("title"))
    if not ours or not theirs:
        return None
    return bool(ours & theirs)


def _tcp_blocked(observation: dict, control: dict) -> bool:
    """Every probe connect failed while the control connected somewhere."""
    attempts = observation.get("tcp_connect") or []
    return (bool(attempts) and not any(a["status"]["success"] for a in attempts)
            and any(c.get("status") for c in (control.get("tcp_connect") or {}).values()))


def _decide(observation: dict, control: dict, tk: dict) -> tuple[object, bool | None]:
    """(blocking, accessible) in the classic decision order."""
    inconsistent = tk["dns_consistency"] == "inconsistent"
    if observation.get("dns_experiment_failure") is not None:
        if not control["dns"].get("addrs"):
            return False, False  # nobody can resolve it: the site is down
        return "dns", False
    response = _response(observation)
    if response is not None:
        if control["http_request"].get("failure") is not None:
            return None, None  # nothing to compare the page with: undetermined
        if tk["status_code_match"] and (
                tk["body_length_match"] or tk["headers_match"] or tk["title_match"]):
            return False, True
        return ("dns" if inconsistent else "http-diff"), False
    if control["http_request"].get("failure") is not None:
        return False, False  # the control failed too: the site is down
    if inconsistent:
        return "dns", False
    if _tcp_blocked(observation, control):
        return "tcp_ip", False
    return "http-failure", False


def blocking_flags(observation: dict, control: dict | None, tk: dict) -> int:
    """x_blocking_flags: every anomaly seen, plus SUCCESS when the page was accessible. A
    failed TLS handshake is TLS (4), as probe-cli's QA expects for a reset or a blackhole after
    the ClientHello; a failed HTTP exchange after TLS or on plain HTTP is HTTP_FAILURE (8).

    Same bits as probe-cli v0.5, whose QA expects DNS|SUCCESS (33) for NXDOMAIN from the ISP
    resolver and DNS|TCPIP|SUCCESS (35) for a spoofed address refusing TCP: its SUCCESS there
    comes from fetching the page through the test helper's addresses, which this probe does
    not do, so sovnet reports 1 and 3. Its other QA numbers (2, 8, 16, 17, 33 for a DNS hijack
    to a transparent proxy, 0 for a site down) come out the same."""
    blocking, accessible = tk["blocking"], tk["accessible"]
    if control is None or blocking is None or (blocking is False and accessible is False):
        return 0
    flags = DNS if tk["dns_consistency"] == "inconsistent" else 0
    if _tcp_blocked(observation, control):
        flags |= TCPIP
    requests = observation.get("requests") or []
    if _tls_failed(observation):
        flags |= TLS
    elif requests and requests[0].get("failure") is not None:
        flags |= HTTP_FAILURE
    if _response(observation) is not None and not accessible:
        flags |= HTTP_DIFF
    if accessible:
        flags |= SUCCESS
    return flags


def _tls_failed(observation: dict) -> bool:
    """The last TLS handshake failed (a reset, a blackhole or a forged certificate after the
    TCP connect): probe-cli's analysisFlagTLSBlocking, reported with blocking "http-failure"."""
    handshakes = observation.get("tls_handshakes") or []
    return bool(handshakes) and handshakes[-1].get("failure") is not None


def _tcp_records(observation: dict, control: dict | None) -> list[dict]:
    """The probe's connects with OONI's (deprecated) "blocked": failed where the control
    connected to the same endpoint."""
    ctrl = (control or {}).get("tcp_connect") or {}
    out = copy.deepcopy(observation.get("tcp_connect") or [])
    for record in out:
        seen = ctrl.get(endpoint(record["ip"], record["port"]))
        record["status"]["blocked"] = (
            None if control is None
            else not record["status"]["success"] and bool(seen and seen.get("status")))
    return out


def _page(observation: dict, accessible: bool | None) -> tuple[dict | None, bool | None]:
    """(x_sovnet_page, x_sovnet_usable): usable means accessible and every subresource loaded,
    what a user needs when a whitelisted page depends on a blocked CDN."""
    page = observation.get("page")
    if page is None:
        return None, None
    resources = copy.deepcopy(page.get("resources") or [])
    complete = _response(observation) is not None and all(
        r.get("status_code") == 200 for r in resources)
    usable = None if accessible is None else bool(accessible and complete)
    return {"resources": resources, "complete": complete}, usable


def classify(observation: dict, control: dict | None) -> dict:
    """The full web_connectivity test keys of one observation; control None means the control
    measurement failed or is missing (blocking and accessible are then null)."""
    tk = {k: copy.deepcopy(v) for k, v in observation.items() if k != "page"}
    tk["tcp_connect"] = _tcp_records(observation, control)
    ctrl_http = (control or {}).get("http_request") or {}
    response = _response(observation) if control is not None else None
    tk["control_failure"] = None if control is not None else NO_CONTROL
    tk["control"] = copy.deepcopy(control)
    tk["dns_consistency"] = dns_consistency(observation, control)
    tk["body_length_match"], tk["body_proportion"] = body_checks(response, ctrl_http)
    tk["status_code_match"] = status_code_match(response, ctrl_http)
    tk["headers_match"] = headers_match(response, ctrl_http)
    tk["title_match"] = title_match(response, ctrl_http)
    if control is None:
        tk["blocking"], tk["accessible"] = None, None
    else:
        tk["blocking"], tk["accessible"] = _decide(observation, control, tk)
    tk["x_blocking_flags"] = blocking_flags(observation, control, tk)
    tk["x_sovnet_page"], tk["x_sovnet_usable"] = _page(observation, tk["accessible"])
    return tk
