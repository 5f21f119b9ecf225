"""The codec's fast address converter against os-ken's own (netaddr): the same bytes, the same
refusals, for every kind of value a match can carry."""

from __future__ import annotations

import pytest
from os_ken.lib import addrconv, type_desc
from os_ken.ofproto import ofproto_v1_3_parser as parser

import sovnet.controller.ofcodec as ofcodec


@pytest.mark.parametrize("text", ["10.1.0.5", "0.0.0.0", "255.255.255.255", "172.16.0.0"])
def test_ipv4_bytes_are_os_kens(text):
    assert type_desc.IPv4Addr.from_user(text) == addrconv.ipv4.text_to_bin(text)


@pytest.mark.parametrize("text", ["fd00:5e::a01:5", "::", "2001:db8::1", "::ffff:10.1.0.5"])
def test_ipv6_bytes_are_os_kens(text):
    assert type_desc.IPv6Addr.from_user(text) == addrconv.ipv6.text_to_bin(text)


def test_what_is_not_a_plain_address_still_goes_to_os_ken():
    assert type_desc.IPv4Addr.from_user("10.0.0.0/8") == addrconv.ipv4.text_to_bin("10.0.0.0/8")
    with pytest.raises(Exception):  # noqa: B017 (os-ken's own error, whatever its type)
        type_desc.IPv4Addr.from_user("10.1.0")


def test_a_match_serialises_as_before():
    match = (("eth_type", 0x0800), ("ipv4_dst", ("10.1.0.0", "255.255.0.0")),
             ("ipv4_src", "10.2.0.7"), ("metadata", (5, 255)))
    fast = bytearray()
    ofcodec.to_match(parser, match).serialize(fast, 0)
    slow_v4 = type_desc.IPv4Addr.from_user
    try:
        type_desc.IPv4Addr.from_user = staticmethod(addrconv.ipv4.text_to_bin)
        slow = bytearray()
        ofcodec.to_match(parser, match).serialize(slow, 0)
    finally:
        type_desc.IPv4Addr.from_user = slow_v4
    assert fast == slow
