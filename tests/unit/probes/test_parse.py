"""sovnet.probes.parse against real output of Debian 12's iputils-ping (ping from iputils 20221126),
captured with stdout and stderr together as the agent reads them, on the development machine and
in network namespaces built to produce each case."""

from __future__ import annotations

import pytest

from sovnet.probes.parse import ProbeParseError, parse_page, parse_ping

# ping -n -c 3 -i 0.2 -W 1 127.0.0.1 (exit status 0)
OK = """\
PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.
64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.032 ms
64 bytes from 127.0.0.1: icmp_seq=2 ttl=64 time=0.038 ms
64 bytes from 127.0.0.1: icmp_seq=3 ttl=64 time=0.041 ms

--- 127.0.0.1 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 405ms
rtt min/avg/max/mdev = 0.032/0.037/0.041/0.003 ms
"""

# ping -n -c 6 -i 0.2 -W 1 10.1.0.2, the peer's address removed after 0.7 s (exit status 0)
PARTIAL = """\
PING 10.1.0.2 (10.1.0.2) 56(84) bytes of data.
64 bytes from 10.1.0.2: icmp_seq=1 ttl=64 time=0.035 ms
64 bytes from 10.1.0.2: icmp_seq=2 ttl=64 time=0.047 ms
64 bytes from 10.1.0.2: icmp_seq=3 ttl=64 time=0.049 ms
64 bytes from 10.1.0.2: icmp_seq=4 ttl=64 time=0.049 ms

--- 10.1.0.2 ping statistics ---
6 packets transmitted, 4 received, 33.3333% packet loss, time 1018ms
rtt min/avg/max/mdev = 0.035/0.045/0.049/0.005 ms
"""

# ping -n -c 3 -i 0.2 -W 1 10.1.0.9, nobody on the link: no reply, no error (exit status 1)
SILENT = """\
PING 10.1.0.9 (10.1.0.9) 56(84) bytes of data.

--- 10.1.0.9 ping statistics ---
3 packets transmitted, 0 received, 100% packet loss, time 407ms

"""

# ping -n -c 4 -i 0.5 -W 1 10.1.0.9, the same but long enough for ARP to give up (exit status 1)
HOST_UNREACHABLE = """\
PING 10.1.0.9 (10.1.0.9) 56(84) bytes of data.
From 10.1.0.1 icmp_seq=1 Destination Host Unreachable
From 10.1.0.1 icmp_seq=2 Destination Host Unreachable
From 10.1.0.1 icmp_seq=3 Destination Host Unreachable
From 10.1.0.1 icmp_seq=4 Destination Host Unreachable

--- 10.1.0.9 ping statistics ---
4 packets transmitted, 0 received, +4 errors, 100% packet loss, time 1530ms
pipe 4
"""

# ping -n -c 3 -i 0.2 -W 1 203.0.113.1 from the dev machine, whose gateway answers so (exit 1)
PORT_UNREACHABLE = """\
PING 203.0.113.1 (203.0.113.1) 56(84) bytes of data.
From 21.4.3.3 icmp_seq=1 Destination Port Unreachable
From 21.4.3.3 icmp_seq=2 Destination Port Unreachable
From 21.4.3.3 icmp_seq=3 Destination Port Unreachable

--- 203.0.113.1 ping statistics ---
3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 406ms

"""

# ping -n -c 3 -i 0.2 -W 1 198.51.100.1 via a router with `ip route add prohibit` (exit 1)
FILTERED = """\
PING 198.51.100.1 (198.51.100.1) 56(84) bytes of data.
From 10.1.0.2 icmp_seq=1 Packet filtered
From 10.1.0.2 icmp_seq=2 Packet filtered

--- 198.51.100.1 ping statistics ---
3 packets transmitted, 0 received, +2 errors, 100% packet loss, time 406ms

"""

# ping -n -c 3 -i 0.2 -W 1 192.0.2.1 in a namespace without a route to it (exit status 2)
NO_ROUTE = """\
ping: connect: Network is unreachable
"""

# ping -n -c 1 -W 1 256.1.1.1 (exit status 2)
UNKNOWN_HOST = """\
ping: 256.1.1.1: Name or service not known
"""


def test_all_replies():
    assert parse_ping(OK, 0) == {"sent": 3, "received": 3, "rtt_min_ms": 0.032,
                                 "rtt_avg_ms": 0.037, "rtt_max_ms": 0.041, "failure": None}


def test_partial_loss_is_a_success_with_fewer_replies():
    assert parse_ping(PARTIAL, 0) == {"sent": 6, "received": 4, "rtt_min_ms": 0.035,
                                      "rtt_avg_ms": 0.045, "rtt_max_ms": 0.049, "failure": None}


def test_nothing_back_is_a_timeout():
    assert parse_ping(SILENT, 1) == {"sent": 3, "received": 0, "rtt_min_ms": None,
                                     "rtt_avg_ms": None, "rtt_max_ms": None,
                                     "failure": "generic_timeout_error"}


@pytest.mark.parametrize("raw, sent, failure", [
    (HOST_UNREACHABLE, 4, "host_unreachable"),
    (PORT_UNREACHABLE, 3, "host_unreachable"),
    (FILTERED, 3, "host_unreachable"),  # ICMP admin-prohibited, as OONI maps it
])
def test_icmp_errors_instead_of_replies(raw, sent, failure):
    got = parse_ping(raw, 1)
    assert (got["sent"], got["received"], got["rtt_avg_ms"], got["failure"]) == (
        sent, 0, None, failure)


def test_no_route_is_measured_not_an_error():
    assert parse_ping(NO_ROUTE, 2) == {"sent": 0, "received": 0, "rtt_min_ms": None,
                                       "rtt_avg_ms": None, "rtt_max_ms": None,
                                       "failure": "network_unreachable"}


@pytest.mark.parametrize("raw, rc", [
    (UNKNOWN_HOST, 2),
    ("ping: unknown host nowhere\n", 2),
    ("", 0),
    ("", -9),
    ("Segmentation fault\n", 139),
    (OK.replace("rtt min/avg/max/mdev", "rtt ??"), 0),  # replies but no rtt line
    (SILENT, 0),  # no reply yet success: not what ping does
    (OK, -15),  # killed: whatever it printed is incomplete
])
def test_output_not_understood_raises_with_the_raw_text(raw, rc):
    with pytest.raises(ProbeParseError) as err:
        parse_ping(raw, rc)
    assert err.value.raw == raw and err.value.message


def test_page_title_and_subresources_in_order_without_duplicates():
    body = b"""<!doctype html><html><head><title> Bank of
      the Nation </title><link rel="stylesheet" href="/style.css">
      <script src="/asset.js"></script><script src="http://fastcdn.example/asset.js"></script>
      <script>var inline = 1;</script></head>
      <body><img src="/logo.png"><img src="/logo.png"><a href="/elsewhere">x</a></body></html>"""
    assert parse_page(body) == ("Bank of the Nation", [
        "/style.css", "/asset.js", "http://fastcdn.example/asset.js", "/logo.png"])


def test_page_without_title_or_html():
    assert parse_page(b"window.sovnet = [];\n") == (None, [])
    assert parse_page(b"<title></title><img src=''><script src='/a.js") == (None, [])
