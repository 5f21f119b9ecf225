"""The inspector's parsers on real ClientHellos and QUIC Initials, and fuzzed: they never raise
and never claim a name that is not there."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sovnet.inspect.http import http_host
from sovnet.inspect.quic import quic_initial_sni
from sovnet.inspect.tls import MAX_HELLO, Hello, client_hello_sni
from tests.unit.inspect.hellos import client_hello, quic_initial

STATUSES = {"name", "no_sni", "incomplete", "not_tls"}


def test_the_sni_of_a_real_client_hello():
    hello = client_hello("Friendbook.Example")
    assert client_hello_sni(hello) == Hello("name", "friendbook.example")
    assert client_hello_sni(client_hello(None)).status == "no_sni"


def test_a_truncated_hello_is_incomplete_and_says_how_much_it_needs():
    hello = client_hello("friendbook.example")
    for cut in (1, 3, 5, 40, len(hello) - 1):
        got = client_hello_sni(hello[:cut])
        assert got.status == "incomplete", cut
        assert got.need in (0, len(hello))
    assert client_hello_sni(hello + b"trailing").name == "friendbook.example"


def test_a_hello_split_over_two_records_is_read_whole():
    hello = client_hello("video.example")
    body = hello[5:]
    first, second = body[:60], body[60:]
    records = (b"\x16\x03\x01" + len(first).to_bytes(2, "big") + first
               + b"\x16\x03\x01" + len(second).to_bytes(2, "big") + second)
    assert client_hello_sni(records) == Hello("name", "video.example")


def test_not_tls_is_not_tls():
    for data in (b"GET / HTTP/1.1\r\n", b"\x17\x03\x03\x00\x10" + b"x" * 16, b"\x16\x02"):
        assert client_hello_sni(data).status == "not_tls"


def test_a_hello_larger_than_an_inspector_holds_is_passed_unread():
    huge = b"\x16\x03\x01\x40\x00" + b"\x01" + (1 << 20).to_bytes(3, "big")
    assert client_hello_sni(huge + b"\x00" * (MAX_HELLO * 2)).status == "not_tls"


def test_the_host_of_http():
    req = b"GET / HTTP/1.1\r\nUser-Agent: x\r\nHost: WorldNews.example:80\r\n\r\n"
    assert http_host(req) == Hello("name", "worldnews.example")
    assert http_host(req[:20]).status == "incomplete"
    assert http_host(b"GE").status == "incomplete"
    assert http_host(b"\x16\x03\x01").status == "not_tls"
    assert http_host(b"GET / HTTP/1.0\r\n\r\n").status == "no_sni"


def test_the_sni_of_a_real_quic_initial():
    assert quic_initial_sni(quic_initial("fvideo.example")) == Hello("name", "fvideo.example")
    packet = bytearray(quic_initial("fvideo.example"))
    packet[300] ^= 0xFF  # the AEAD tag no longer holds: unreadable, passed
    assert quic_initial_sni(bytes(packet)).status == "not_tls"


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=3000))
def test_no_input_makes_a_parser_raise(data):
    for parse in (client_hello_sni, http_host, quic_initial_sni):
        assert parse(data).status in STATUSES


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=600), st.binary(max_size=64))
def test_a_corrupted_hello_never_raises_and_never_invents_the_name(at, junk):
    hello = client_hello("secret.example")
    mangled = hello[:at] + junk + hello[at + len(junk):]
    got = client_hello_sni(mangled)
    assert got.status in STATUSES
    if got.status == "name" and b"secret.example" not in mangled:
        assert got.name != "secret.example"
