"""ooni.classify against OONI's own QA expectations (probe-cli webconnectivityqa, summarised in
shutdowns.md 4.1.7), one case per value of `blocking`, plus sovnet's page-load keys."""

from __future__ import annotations

import pytest

from sovnet.experiments import ooni

SITE = "10.9.0.1"
BLOCKPAGE = "10.66.0.1"
URL = "http://bank.sov/"
# What sovnet's httpd sends: only headers OONI counts as common.
HEADERS = {"Server": "sovnet-httpd/bank Python/3.11.2", "Date": "Wed, 25 Nov 2026 00:50:42 GMT",
           "Content-Type": "text/html; charset=utf-8", "Content-Length": "1533"}
BLOCKPAGE_HEADERS = {"Content-Type": "text/html", "Content-Length": "188"}


def query(addrs=(SITE,), failure=None, rcode=0) -> dict:
    return {"engine": "udp", "resolver_address": "10.1.255.1:53", "hostname": "bank.sov",
            "query_type": "A", "answers": [{"answer_type": "A", "ipv4": a} for a in addrs],
            "failure": failure, "rcode": rcode, "t0": 0.0, "t": 0.002}


def connect(ip=SITE, failure=None) -> dict:
    return {"ip": ip, "port": 80, "status": {"success": failure is None, "failure": failure},
            "t0": 0.002, "t": 0.003}


def request(code=200, body_length=1533, title="Bank of the Nation", headers=HEADERS,
            failure=None) -> dict:
    response = ({"code": None, "headers": {}, "body_length": None, "title": None,
                 "body_is_truncated": False} if failure else
                {"code": code, "headers": headers, "body_length": body_length, "title": title,
                 "body_is_truncated": False})
    return {"request": {"url": URL, "method": "GET", "headers": {"Host": "bank.sov"}},
            "response": response, "failure": failure, "t0": 0.003, "t": 0.01}


def observation(queries=None, connects=None, requests=None, dns_failure=None,
                http_failure=None, page=None) -> dict:
    obs = {"client_resolver": "10.1.255.1",
           "queries": [query()] if queries is None else queries,
           "tcp_connect": [connect()] if connects is None else connects,
           "requests": [request()] if requests is None else requests,
           "dns_experiment_failure": dns_failure, "http_experiment_failure": http_failure}
    if page is not None:
        obs["page"] = {"resources": page}
    return obs


def control(addrs=(SITE,), dns_failure=None, connected=True, http_failure=None) -> dict:
    ok = http_failure is None
    return {"dns": {"addrs": list(addrs), "failure": dns_failure},
            "tcp_connect": {f"{a}:80": {"status": connected,
                                        "failure": None if connected else "connection_refused"}
                            for a in addrs},
            "http_request": {"body_length": 1533 if ok else None, "failure": http_failure,
                             "title": "Bank of the Nation" if ok else None,
                             "headers": HEADERS if ok else {},
                             "status_code": 200 if ok else None}}


def keys(tk: dict, *names: str) -> dict:
    return {n: tk[n] for n in names}


def test_success():
    tk = ooni.classify(observation(), control())
    assert keys(tk, "dns_consistency", "blocking", "accessible", "x_blocking_flags") == {
        "dns_consistency": "consistent", "blocking": False, "accessible": True,
        "x_blocking_flags": ooni.SUCCESS}
    assert tk["body_length_match"] is True and tk["body_proportion"] == 1.0
    assert tk["status_code_match"] is True and tk["title_match"] is True
    assert tk["headers_match"] is False  # no uncommon headers on either side (ts-017)
    assert tk["control_failure"] is None and tk["control"] == control()
    assert tk["tcp_connect"][0]["status"] == {"success": True, "failure": None, "blocked": False}


def test_dropped_endpoint_is_tcp_ip():
    # DPIDropTrafficForServerEndpoint: consistent DNS, generic_timeout_error, tcp_ip, flags 2
    obs = observation(connects=[connect(failure="generic_timeout_error")], requests=[],
                      http_failure="generic_timeout_error")
    tk = ooni.classify(obs, control())
    assert keys(tk, "dns_consistency", "http_experiment_failure", "blocking", "accessible",
                "x_blocking_flags") == {
        "dns_consistency": "consistent", "http_experiment_failure": "generic_timeout_error",
        "blocking": "tcp_ip", "accessible": False, "x_blocking_flags": 2}
    assert tk["tcp_connect"][0]["status"]["blocked"] is True


def test_isp_resolver_nxdomain_is_dns():
    obs = observation(queries=[query(addrs=(), failure="dns_nxdomain_error", rcode=3)],
                      connects=[], requests=[], dns_failure="dns_nxdomain_error",
                      http_failure="dns_nxdomain_error")
    tk = ooni.classify(obs, control())
    assert keys(tk, "dns_experiment_failure", "dns_consistency", "blocking", "accessible") == {
        "dns_experiment_failure": "dns_nxdomain_error", "dns_consistency": "inconsistent",
        "blocking": "dns", "accessible": False}
    # OONI's QA expects 33 = DNS|SUCCESS: v0.5 then fetched the page through the test helper's
    # addresses and succeeded. Our probe makes no such fetch, so only the DNS bit is set.
    assert tk["x_blocking_flags"] == ooni.DNS == 1


def test_spoofed_dns_to_address_refusing_tcp_is_dns():
    obs = observation(queries=[query(addrs=(BLOCKPAGE,))],
                      connects=[connect(BLOCKPAGE, "connection_refused")], requests=[],
                      http_failure="connection_refused")
    tk = ooni.classify(obs, control())
    assert keys(tk, "dns_consistency", "http_experiment_failure", "blocking", "accessible") == {
        "dns_consistency": "inconsistent", "http_experiment_failure": "connection_refused",
        "blocking": "dns", "accessible": False}
    # OONI: 35 = DNS|TCPIP|SUCCESS, SUCCESS again from the fetch through the TH's addresses.
    assert tk["x_blocking_flags"] == ooni.DNS | ooni.TCPIP == 3
    # The spoofed endpoint is not one the control knows: not "blocked" in OONI's sense.
    assert tk["tcp_connect"][0]["status"]["blocked"] is False


def test_reset_after_connect_is_http_failure():
    obs = observation(requests=[request(failure="connection_reset")],
                      http_failure="connection_reset")
    tk = ooni.classify(obs, control())
    assert keys(tk, "dns_consistency", "blocking", "accessible", "x_blocking_flags") == {
        "dns_consistency": "consistent", "blocking": "http-failure", "accessible": False,
        "x_blocking_flags": ooni.HTTP_FAILURE}


def test_throttled_transfer_timing_out_is_http_failure():
    obs = observation(requests=[request(failure="generic_timeout_error")],
                      http_failure="generic_timeout_error")
    tk = ooni.classify(obs, control())
    assert (tk["blocking"], tk["x_blocking_flags"]) == ("http-failure", 8)


def blockpage_request() -> dict:
    return request(body_length=188, title="Access denied by order", headers=BLOCKPAGE_HEADERS)


def test_blockpage_is_http_diff():
    tk = ooni.classify(observation(requests=[blockpage_request()]), control())
    assert keys(tk, "status_code_match", "body_length_match", "headers_match", "title_match",
                "blocking", "accessible", "x_blocking_flags") == {
        "status_code_match": True, "body_length_match": False, "headers_match": False,
        "title_match": False, "blocking": "http-diff", "accessible": False,
        "x_blocking_flags": 16}
    assert tk["body_proportion"] == pytest.approx(0.12263535551206783)  # OONI's fixture


def test_blockpage_with_inconsistent_dns_is_dns():
    obs = observation(queries=[query(addrs=(BLOCKPAGE,))], connects=[connect(BLOCKPAGE)],
                      requests=[blockpage_request()])
    tk = ooni.classify(obs, control())
    assert (tk["blocking"], tk["accessible"], tk["x_blocking_flags"]) == ("dns", False, 17)


def test_dns_hijack_to_transparent_proxy_is_accessible():
    obs = observation(queries=[query(addrs=(BLOCKPAGE,))], connects=[connect(BLOCKPAGE)])
    tk = ooni.classify(obs, control())
    assert keys(tk, "dns_consistency", "body_length_match", "status_code_match", "title_match",
                "blocking", "accessible", "x_blocking_flags") == {
        "dns_consistency": "inconsistent", "body_length_match": True,
        "status_code_match": True, "title_match": True, "blocking": False,
        "accessible": True, "x_blocking_flags": 33}  # as OONI: DNS|SUCCESS


@pytest.mark.parametrize("ctrl_failure", ["dns_nxdomain_error", "dns_name_error"])
def test_site_down_nxdomain_everywhere(ctrl_failure):
    obs = observation(queries=[query(addrs=(), failure="dns_nxdomain_error", rcode=3)],
                      connects=[], requests=[], dns_failure="dns_nxdomain_error",
                      http_failure="dns_nxdomain_error")
    ctrl = control(addrs=(), dns_failure=ctrl_failure, http_failure=ctrl_failure)
    tk = ooni.classify(obs, ctrl)
    assert keys(tk, "dns_consistency", "blocking", "accessible", "x_blocking_flags") == {
        "dns_consistency": "consistent", "blocking": False, "accessible": False,
        "x_blocking_flags": 0}


def test_site_down_refusing_everyone():
    obs = observation(connects=[connect(failure="connection_refused")], requests=[],
                      http_failure="connection_refused")
    ctrl = control(connected=False, http_failure="connection_refused")
    tk = ooni.classify(obs, ctrl)
    assert (tk["blocking"], tk["accessible"], tk["x_blocking_flags"]) == (False, False, 0)
    assert tk["tcp_connect"][0]["status"]["blocked"] is False


def test_missing_control_is_undetermined():
    tk = ooni.classify(observation(page=[]), None)
    assert keys(tk, "control_failure", "control", "dns_consistency", "blocking", "accessible",
                "x_blocking_flags", "x_sovnet_usable") == {
        "control_failure": ooni.NO_CONTROL, "control": None, "dns_consistency": None,
        "blocking": None, "accessible": None, "x_blocking_flags": 0, "x_sovnet_usable": None}
    assert tk["status_code_match"] is None and tk["body_proportion"] == 0.0
    assert tk["tcp_connect"][0]["status"]["blocked"] is None


def test_response_without_control_response_is_undetermined():
    tk = ooni.classify(observation(), control(http_failure="generic_timeout_error"))
    assert (tk["blocking"], tk["accessible"]) == (None, None)


def resource(url, status_code=200, failure=None) -> dict:
    return {"url": url, "failure": failure, "status_code": status_code}


def test_page_complete_is_usable():
    page = [resource("http://bank.sov/asset.js"), resource("http://fastcdn.example/asset.js")]
    tk = ooni.classify(observation(page=page), control())
    assert tk["x_sovnet_page"] == {"resources": page, "complete": True}
    assert tk["x_sovnet_usable"] is True
    assert "page" not in tk


def test_whitelisted_page_with_blocked_cdn_is_accessible_but_not_usable():
    page = [resource("http://bank.sov/asset.js"),
            resource("http://fastcdn.example/asset.js", None, "generic_timeout_error")]
    tk = ooni.classify(observation(page=page), control())
    assert (tk["accessible"], tk["x_sovnet_page"]["complete"], tk["x_sovnet_usable"]) == (
        True, False, False)


def test_page_of_a_failed_fetch_is_not_complete():
    obs = observation(requests=[request(failure="connection_reset")], page=[])
    tk = ooni.classify(obs, control())
    assert tk["x_sovnet_page"] == {"resources": [], "complete": False}
    assert tk["x_sovnet_usable"] is False


def test_no_page_requested():
    tk = ooni.classify(observation(), control())
    assert (tk["x_sovnet_page"], tk["x_sovnet_usable"]) == (None, None)


def test_classify_does_not_alias_its_inputs():
    obs, ctrl = observation(page=[resource("http://a/")]), control()
    tk = ooni.classify(obs, ctrl)
    tk["tcp_connect"][0]["status"]["success"] = False
    tk["control"]["dns"]["addrs"].clear()
    tk["x_sovnet_page"]["resources"].clear()
    assert obs == observation(page=[resource("http://a/")]) and ctrl == control()


def test_ip_url_is_consistent():
    tk = ooni.classify(observation(queries=[]), control())
    assert tk["dns_consistency"] == "consistent"


def test_headers_match_on_a_shared_uncommon_header():
    response = {"code": 200, "headers": {"Server": "x", "X-Bank-Session": "1"}}
    ctrl = {"status_code": 200, "headers": {"server": "y", "x-bank-session": "2"}}
    assert ooni.headers_match(response, ctrl) is True
    assert ooni.headers_match({"code": 200, "headers": {"X-Other": "1"}}, ctrl) is False
    assert ooni.headers_match(None, ctrl) is None


def test_title_match_needs_long_words_on_both_sides():
    ctrl = {"status_code": 200, "title": "National Bank"}
    assert ooni.title_match({"title": "bank"}, ctrl) is None  # no word longer than 4
    assert ooni.title_match({"title": "The NATIONAL portal"}, ctrl) is True
    assert ooni.title_match({"title": "Access denied"}, ctrl) is False


def test_status_code_match_needs_a_2xx_control():
    assert ooni.status_code_match({"code": 404}, {"status_code": 200}) is False
    assert ooni.status_code_match({"code": 503}, {"status_code": 503}) is None
    assert ooni.status_code_match(None, {"status_code": 200}) is None


def test_body_checks_skip_truncated_and_empty_bodies():
    ctrl = {"body_length": 1000}
    assert ooni.body_checks({"body_length": 800, "body_is_truncated": False}, ctrl) == (
        True, 0.8)
    assert ooni.body_checks({"body_length": 700, "body_is_truncated": False}, ctrl) == (
        False, 0.7)  # OONI's rule is strictly greater than 0.7
    assert ooni.body_checks({"body_length": 800, "body_is_truncated": True}, ctrl) == (
        None, 0.0)
    assert ooni.body_checks({"body_length": 0}, ctrl) == (None, 0.0)


def handshake(failure=None) -> dict:
    return {"network": "tcp", "address": f"{SITE}:443", "server_name": "bank.sov",
            "tls_version": "" if failure else "TLSv1.3", "failure": failure,
            "cipher_suite": "" if failure else "TLS_AES_256_GCM_SHA384",
            "negotiated_protocol": "" if failure else "http/1.1", "peer_certificates": [],
            "no_tls_verify": False, "alpn": ["http/1.1"], "t0": 0.003, "t": 0.004}


@pytest.mark.parametrize("failure", ["connection_reset", "generic_timeout_error",
                                     "ssl_invalid_hostname", "eof_error"])
def test_tls_interference_is_http_failure_with_the_tls_flag(failure):
    """probe-cli QA (tlsBlockingConnectionReset, ...): blocking http-failure, flags 4."""
    obs = observation(requests=[], http_failure=failure)
    obs["tls_handshakes"] = [handshake(failure)]
    tk = ooni.classify(obs, control())
    assert (tk["blocking"], tk["accessible"], tk["x_blocking_flags"],
            tk["http_experiment_failure"]) == ("http-failure", False, ooni.TLS, failure)


def test_tls_failing_for_the_control_too_means_the_site_is_down():
    obs = observation(requests=[], http_failure="ssl_failed_handshake")
    obs["tls_handshakes"] = [handshake("ssl_failed_handshake")]
    tk = ooni.classify(obs, control(http_failure="ssl_failed_handshake"))
    assert (tk["blocking"], tk["accessible"], tk["x_blocking_flags"]) == (False, False, 0)


def test_a_good_handshake_and_page_is_accessible():
    obs = observation()
    obs["tls_handshakes"] = [handshake()]
    tk = ooni.classify(obs, control())
    assert (tk["blocking"], tk["accessible"], tk["x_blocking_flags"]) == (False, True, 32)
