# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""UDP ASSOCIATE where a destination's first address has no route: a name
with an AAAA record on a host without IPv6 routes must still reach its A
address.  Run in a private network namespace (loopback only, so IPv6
fd00::/8 has no route and connect() says ENETUNREACH); where none can be
made the tests skip.
"""

import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Suite, check_eq, need_netns  # noqa: E402
from dnsserver import DnsServer  # noqa: E402
from servers import UdpEchoServer  # noqa: E402
from test_udp import Assoc, access_of, check_fields, udp_fields  # noqa: E402

suite = Suite()

TARGET_IP = "127.0.0.9"
UNROUTED_V6 = "fd00::9"


@suite.test("address-order ipv6-first, a name with AAAA %s (no route here) and A %s: its "
            "datagrams go to the A address, every one from the same source port, and the "
            "replies come back naming the address; an IPv6 literal with no route is dropped "
            "(drop_send=1)" % (UNROUTED_V6, TARGET_IP))
def t_name_falls_back(ctx):
    need_netns()
    echo = ctx.own(UdpEchoServer(TARGET_IP))
    dns = ctx.own(DnsServer({"dual.test": [UNROUTED_V6, TARGET_IP]}))
    hs = ctx.hopsocks(config=["resolver " + dns.resolver, "address-order ipv6-first"])
    a = Assoc(hs)
    for i in range(3):
        a.send(b"game tick %d" % i, ("dual.test", echo.port))
        host, port, got = a.recv("reply %d" % i)
        check_eq((host, port, got), (TARGET_IP, echo.port, b"game tick %d" % i), "reply %d" % i)
    a.send(b"to nowhere", (UNROUTED_V6, echo.port))
    a.expect_nothing()
    a.close()
    check_eq(len({src for src, _ in echo.received}), 1, "source ports the target saw")
    check_fields(access_of(hs, a.client), udp_fields(3, 3, 33, 33, drop_send=1))


if __name__ == "__main__":
    suite.run(netns=[])
