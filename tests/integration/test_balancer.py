#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""Several hopsocks behind a TCP load balancer (the real HAProxy).

UDP ASSOCIATE behind a balancer: the control connection goes through the
balancer, the datagrams go straight to the instance that owns the
association. Each instance advertises its own reachable address
(udp-advertise) and keeps its relay ports in a range of its own
(udp-ports), which a 1:1 NAT forwards unchanged. The NAT is real: nftables
DNAT rules in the test's own network namespace map each instance's
"public" address to the address it listens on."""

import os
import socket
import struct
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, Skip, Suite, check, check_eq, connect, echo_roundtrip,  # noqa: E402
                     encode_addr5, need_netns, parse_access, read_socks5_reply, recv_exact, show,
                     socks5_open, wait_until)
from servers import EchoServer, Haproxy, UdpEchoServer  # noqa: E402

suite = Suite()

NFT = "/usr/sbin/nft"

# Each instance: the address it listens on (and binds its relay sockets
# to), the "public" address the NAT maps to it, and its relay port range.
INSTANCES = [("127.0.0.11", "127.0.0.21", (41000, 41009)),
             ("127.0.0.12", "127.0.0.22", (42000, 42009))]


def nat_rules():
    """DNAT for locally sent UDP to each public address and port range;
    conntrack gives the replies the public address back as their source."""
    rules = "".join("        ip daddr %s udp dport %d-%d dnat to %s\n" % (public, lo, hi, private)
                    for private, public, (lo, hi) in INSTANCES)
    return ("table ip hopsocks_test_nat {\n"
            "    chain out {\n"
            "        type nat hook output priority -100; policy accept;\n"
            "%s"
            "    }\n"
            "}\n" % rules)


def install_nat(ctx):
    if not os.access(NFT, os.X_OK):
        raise Skip("nft (Debian package nftables) is missing")
    path = os.path.join(ctx.tmpdir, "nat.nft")
    with open(path, "w") as f:
        f.write(nat_rules())
    run = subprocess.run([NFT, "-f", path], capture_output=True, timeout=BOUND)
    if run.returncode != 0:
        raise Skip("nftables NAT cannot be set up here: %s"
                   % run.stderr.decode(errors="replace").strip())
    ctx.own(_NatTable())


class _NatTable:
    """Removes the test's table at cleanup (the namespace goes anyway)."""

    def stop(self):
        subprocess.run([NFT, "delete", "table", "ip", "hopsocks_test_nat"],
                       capture_output=True, timeout=BOUND)


def udp_associate(proxy):
    """A SOCKS5 UDP ASSOCIATE through proxy (DST 0.0.0.0:0); (control
    socket, BND host, BND port)."""
    ctl = connect(proxy)
    ctl.sendall(b"\x05\x01\x00")
    check_eq(recv_exact(ctl, 2, "method selection"), b"\x05\x00", "method selection")
    ctl.sendall(b"\x05\x03\x00\x01\x00\x00\x00\x00\x00\x00")
    rep, host, port, raw = read_socks5_reply(ctl)
    check_eq(rep, 0, "UDP ASSOCIATE reply code (%s)" % show(raw))
    return ctl, host, port


def udp_echo_through(relay, target, payload):
    """Send payload to target through the relay at (host, port); the reply
    must come from the relay's advertised address and carry the target as
    its source and the payload back."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(BOUND)
    with s:
        s.bind(("127.0.0.1", 0))
        header = b"\x00\x00\x00" + encode_addr5(target[0]) + struct.pack(">H", target[1])
        s.sendto(header + payload, relay)
        data, source = s.recvfrom(65536)
        check_eq(source, relay, "source of the relayed reply (the advertised address)")
        check_eq(data[:10], header, "the reply's header names the target")
        check_eq(data[10:], payload, "the echoed payload")
        return s.getsockname()


@suite.test("UDP behind a TCP balancer: each instance's reply names its own advertised address "
            "and a port of its own range; datagrams go straight to it through a 1:1 NAT and "
            "come back from that address; both instances take associations")
def t_udp_behind_balancer(ctx):
    need_netns()
    install_nat(ctx)
    echo = ctx.own(UdpEchoServer())
    tcp_echo = ctx.own(EchoServer())
    instances = []
    for private, public, (lo, hi) in INSTANCES:
        instances.append(ctx.hopsocks(listen=(private,), workers=1,
                                      config=["udp-advertise %s" % public,
                                              "udp-ports %d-%d" % (lo, hi)]))
    lb = ctx.own(Haproxy(ctx, [hs.addr for hs in instances]).start())
    lb.wait_status({"s0": "UP", "s1": "UP"}, "both instances up")

    # TCP through the balancer works as ever.
    sock, _, _ = socks5_open(lb.addr, tcp_echo.host, tcp_echo.port)
    with sock:
        echo_roundtrip(sock, b"a CONNECT through HAProxy", "echo")

    owners = []
    for i in range(4):
        ctl, host, port = udp_associate(lb.addr)
        with ctl:
            owner = [n for n, (_, public, (lo, hi)) in enumerate(INSTANCES)
                     if host == public and lo <= port <= hi]
            check(len(owner) == 1, "association %d: BND %s:%d is neither instance's advertised "
                  "address and range %s" % (i, host, port, INSTANCES))
            owners.append(owner[0])
            udp_echo_through((host, port), echo.addr, b"datagram %d" % i)
    check_eq(sorted(set(owners)), [0, 1], "instances that took associations (round robin)")
    for n, hs in enumerate(instances):
        def udp_lines():
            recs = [r for r in parse_access(hs.stderr_text()) if r.get("cmd") == "udp"]
            return recs if len(recs) == owners.count(n) else None
        recs = wait_until(udp_lines)
        check(recs, "instance %d: %d UDP access lines expected" % (n, owners.count(n)))
        for r in recs:
            check_eq((r.get("pkts_up"), r.get("pkts_down"), r.get("drop_foreign")),
                     ("1", "1", "0"), "instance %d's association (%s)" % (n, r["_line"]))
            # The control connection came from HAProxy, not from the client.
            check(r["client"].startswith("127.0.0.1:"), "client= %s" % r["client"])

if __name__ == "__main__":
    suite.run(netns=[])
