#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
"""RFC 1929 username/password authentication with a user file: method
selection never falls back to 'no auth', right and wrong passwords get the
exact replies (a wrong one never 01 00), the verified-credential cache
neither breaks repeated logins nor lets a wrong password in, concurrent
verifications keep their answers apart, SOCKS4 modes with a user file, and
curl with good and bad user:pass."""

import os
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BOUND, Suite, check, check_eq, connect, echo_roundtrip,  # noqa: E402
                     expect_closed, read_socks4_reply, read_socks5_reply, read_to_close, recv_exact,
                     run_client, show, socks4_request, socks5_auth, socks5_open,
                     socks5_request, write_users)
from servers import EchoServer, HttpServer, sha256  # noqa: E402

suite = Suite()

USERS = {
    "alice": "wonderland",
    "bob": "p:ss wörd/with:colons and spaces",
    "carol": "c" * 200,
}


def server(ctx, config=(), users=USERS):
    """An echo target and a hopsocks with a user file; (hs, echo, path)."""
    echo = ctx.own(EchoServer())
    path = write_users(ctx, users)
    hs = ctx.hopsocks(config=["users " + path] + list(config))
    return hs, echo, path


def login(hs, user, password, source=None):
    """Greeting offering 00 and 02, then RFC 1929; (sock, 2-byte reply)."""
    sock = connect(hs.addr, source=source)
    sock.sendall(b"\x05\x02\x00\x02")
    check_eq(recv_exact(sock, 2, "method selection"), b"\x05\x02", "method selection")
    sock.sendall(socks5_auth(user, password))
    return sock, recv_exact(sock, 2, "RFC 1929 reply")


def expect_rejected(hs, user, password, what):
    """A failing RFC 1929 reply (01, non-zero), then a close."""
    sock, reply = login(hs, user, password)
    with sock:
        check(reply[0:1] == b"\x01" and reply[1] != 0,
              "%s: RFC 1929 reply %s, want 01 <non-zero>" % (what, show(reply)))
        expect_closed(sock, what + " (after the failure reply)")


@suite.test("with a user file: 00-only offer gets 05 FF and close; 02 (with or without 00) gets 05 02")
def t_methods(ctx):
    hs, _, _ = server(ctx)
    for offered, want in ((b"\x00", b"\x05\xff"), (b"\x00\x02", b"\x05\x02"),
                          (b"\x02", b"\x05\x02"), (b"\x01\x00", b"\x05\xff")):
        with connect(hs.addr) as sock:
            sock.sendall(b"\x05" + bytes([len(offered)]) + offered)
            check_eq(recv_exact(sock, 2, "selection"), want, "selection for %s" % show(offered))
            if want == b"\x05\xff":
                expect_closed(sock, "after 05 FF")


@suite.test("right password: 01 00, CONNECT relays, access user=alice result=ok")
def t_good_password(ctx):
    hs, echo, _ = server(ctx)
    sock, reply = login(hs, "alice", USERS["alice"])
    client = "127.0.0.1:%d" % sock.getsockname()[1]
    with sock:
        check_eq(reply, b"\x01\x00", "RFC 1929 reply")
        sock.sendall(socks5_request("127.0.0.1", echo.port))
        rep, _, _, raw = read_socks5_reply(sock)
        check(rep == 0, "CONNECT reply %s" % show(raw))
        echo_roundtrip(sock, b"authenticated bytes", "echo")
    rec = hs.wait_access(lambda r: r.get("client") == client)
    check_eq((rec.get("user"), rec.get("result")), ("alice", "ok"), "access of %r" % rec["_line"])


@suite.test("passwords with colons, spaces, UTF-8, and 200 bytes long are accepted")
def t_odd_passwords(ctx):
    hs, echo, _ = server(ctx)
    for user in ("bob", "carol"):
        sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port, auth=(user, USERS[user]))
        with sock:
            echo_roundtrip(sock, user.encode(), "echo as " + user)


@suite.test("wrong password, prefix, unknown user, empty password: 01 <non-zero> and close, never 01 00")
def t_bad_password(ctx):
    hs, echo, _ = server(ctx)
    for user, password, what in (("alice", "Wonderland", "wrong case"),
                                 ("alice", "wonderlan", "prefix"),
                                 ("alice", "wonderland!", "extension"),
                                 ("alice", "", "empty password"),
                                 ("mallory", "wonderland", "unknown user"),
                                 ("bob", USERS["alice"], "another user's password")):
        expect_rejected(hs, user, password, what)
    rec = hs.wait_access(lambda r: r.get("user") == "mallory")
    check_eq(rec.get("result"), "auth-failed", "access result of %r" % rec["_line"])
    check_eq(echo.peers, [], "connections the target saw")


@suite.test("after the right password is cached, a wrong one still fails and the right one still works")
def t_cache_not_fooled(ctx):
    hs, echo, _ = server(ctx, config=["workers 1"])
    for _ in range(3):
        sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port, auth=("alice", USERS["alice"]))
        sock.close()
    expect_rejected(hs, "alice", "wonderlanD", "wrong password after cached success")
    expect_rejected(hs, "alice", USERS["alice"] + "\x00", "password plus NUL after cached success")
    sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port, auth=("alice", USERS["alice"]))
    with sock:
        echo_roundtrip(sock, b"still fine", "echo")


@suite.test("200 sequential logins with the same credentials all succeed and relay")
def t_many_logins(ctx):
    hs, echo, _ = server(ctx)
    started = time.monotonic()
    for i in range(200):
        sock, _, _ = socks5_open(hs.addr, "127.0.0.1", echo.port, auth=("alice", USERS["alice"]))
        with sock:
            echo_roundtrip(sock, b"login %d" % i, "echo of login %d" % i)
    print("# 200 logins in %.2fs" % (time.monotonic() - started))


@suite.test("20 concurrent logins from 20 addresses, alternately right and wrong: each gets its own "
            "correct answer")
def t_concurrent_logins(ctx):
    # Ten wrong passwords are ten full argon2 checks on two pool threads:
    # on a loaded 2-core machine that can pass the default 10 s handshake
    # deadline, which is not what this test is about.
    hs, echo, _ = server(ctx, config=["timeout handshake 120s"])
    results = {}

    def one(i):
        good = i % 2 == 0
        password = USERS["alice"] if good else "wrong-%d" % i
        try:
            # One address each: from one address, parallel wrong
            # passwords would be throttled as they are submitted.
            sock, reply = login(hs, "alice", password, source="127.0.0.%d" % (10 + i))
            with sock:
                results[i] = (good, reply)
        except Exception as e:
            results[i] = (good, e)

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(BOUND)
    wrong = {i: r for i, r in results.items()
             if not isinstance(r[1], bytes) or (r[1] == b"\x01\x00") != r[0]}
    check(len(results) == 20, "only %d of 20 logins answered" % len(results))
    check(not wrong, "wrong answers (index: expected success?, reply): %r" % wrong)


@suite.test("RFC 1929 with version byte 05 instead of 01: closed, never 01 00")
def t_bad_subnegotiation_version(ctx):
    hs, _, _ = server(ctx)
    with connect(hs.addr) as sock:
        sock.sendall(b"\x05\x01\x02")
        check_eq(recv_exact(sock, 2, "selection"), b"\x05\x02", "selection")
        sock.sendall(b"\x05" + socks5_auth("alice", USERS["alice"])[1:])
        data, how = read_to_close(sock)
        check(how in ("eof", "reset"), "not closed (%s)" % how)
        check(data in (b"", b"\x01\x01") or (data[:1] == b"\x01" and len(data) == 2 and data[1] != 0),
              "bytes before close: %s" % show(data))


@suite.test("pipelined: greeting + auth + request + data in one send; data echoed")
def t_pipelined_auth(ctx):
    hs, echo, _ = server(ctx)
    data = b"early bytes after the request"
    with connect(hs.addr) as sock:
        sock.sendall(b"\x05\x01\x02" + socks5_auth("alice", USERS["alice"])
                     + socks5_request("127.0.0.1", echo.port) + data)
        check_eq(recv_exact(sock, 2, "selection"), b"\x05\x02", "selection")
        check_eq(recv_exact(sock, 2, "auth reply"), b"\x01\x00", "auth reply")
        rep, _, _, raw = read_socks5_reply(sock)
        check(rep == 0, "CONNECT reply %s" % show(raw))
        check_eq(recv_exact(sock, len(data), "echo"), data, "pipelined data echoed")


@suite.test("greeting, RFC 1929 auth and request one byte at a time (5 ms apart) work")
def t_byte_by_byte_auth(ctx):
    hs, echo, _ = server(ctx)
    with connect(hs.addr) as sock:
        for part, reply in ((b"\x05\x01\x02", b"\x05\x02"),
                            (socks5_auth("alice", USERS["alice"]), b"\x01\x00")):
            for b in part:
                sock.send(bytes([b]))
                time.sleep(0.005)
            check_eq(recv_exact(sock, 2, "reply"), reply, "reply to %s" % show(part[:3]))
        for b in socks5_request("127.0.0.1", echo.port):
            sock.send(bytes([b]))
            time.sleep(0.005)
        rep, _, _, raw = read_socks5_reply(sock)
        check(rep == 0, "CONNECT reply %s" % show(raw))
        echo_roundtrip(sock, b"slow and authenticated", "echo")


@suite.test("pipelined with a wrong password: 01 <non-zero>, and the request never reaches the target")
def t_pipelined_bad_auth(ctx):
    hs, echo, _ = server(ctx)
    with connect(hs.addr) as sock:
        sock.sendall(b"\x05\x01\x02" + socks5_auth("alice", "nope")
                     + socks5_request("127.0.0.1", echo.port) + b"smuggled")
        check_eq(recv_exact(sock, 2, "selection"), b"\x05\x02", "selection")
        reply = recv_exact(sock, 2, "auth reply")
        check(reply[0] == 1 and reply[1] != 0, "auth reply %s" % show(reply))
        expect_closed(sock, "after failed auth")
    check_eq(echo.peers, [], "connections the target saw")


def socks4_reply(hs, userid, port):
    with connect(hs.addr) as sock:
        sock.sendall(socks4_request("127.0.0.1", port, userid))
        cd, _, _, raw = read_socks4_reply(sock)
        if cd == 0x5A:
            echo_roundtrip(sock, b"v4", "SOCKS4 echo")
        return cd


@suite.test("SOCKS4 with a user file: 91 by default, 90 with 'socks4 on'")
def t_socks4_default_off(ctx):
    hs, echo, _ = server(ctx)
    check_eq(socks4_reply(hs, b"alice", echo.port), 0x5B, "SOCKS4 CD with socks4 auto + users")
    hs2 = ctx.hopsocks(config=["users " + write_users(ctx, {"alice": "x"}), "socks4 on"])
    check_eq(socks4_reply(hs2, b"anyone", echo.port), 0x5A, "SOCKS4 CD with socks4 on")


@suite.test("'socks4 known-user': USERID alice gets 90, mallory and empty get 91")
def t_socks4_known_user(ctx):
    hs, echo, _ = server(ctx, config=["socks4 known-user"])
    check_eq(socks4_reply(hs, b"alice", echo.port), 0x5A, "CD for USERID alice")
    check_eq(socks4_reply(hs, b"mallory", echo.port), 0x5B, "CD for USERID mallory")
    check_eq(socks4_reply(hs, b"", echo.port), 0x5B, "CD for empty USERID")


@suite.test("'socks4 off' without a user file: 91")
def t_socks4_off(ctx):
    echo = ctx.own(EchoServer())
    hs = ctx.hopsocks(config=["socks4 off"])
    check_eq(socks4_reply(hs, b"x", echo.port), 0x5B, "SOCKS4 CD with socks4 off")


def curl(proxy_url, url):
    return run_client(["curl", "-sS", "--max-time", str(int(BOUND)), "-o", "-",
                       "-w", "\n%{http_code}", "-x", proxy_url, url])


@suite.test("curl socks5:// and socks5h:// with the right user:pass fetch the exact body")
def t_curl_good(ctx):
    http = ctx.own(HttpServer())
    path = write_users(ctx, USERS)
    hs = ctx.hopsocks(config=["users " + path])
    for scheme in ("socks5", "socks5h"):
        run = curl(hs.url(scheme, "alice:wonderland"), http.url("/bytes/100000"))
        check_eq(run.returncode, 0, "curl %s exit status (stderr %r)" % (scheme, run.stderr))
        body, _, code = run.stdout.rpartition(b"\n")
        check_eq(code, b"200", "HTTP status")
        check_eq(sha256(body), sha256(http.body_for("/bytes/100000")[0]), "body SHA-256")


@suite.test("curl with a wrong password or no credentials fails and no request reaches the target")
def t_curl_bad(ctx):
    http = ctx.own(HttpServer())
    path = write_users(ctx, USERS)
    hs = ctx.hopsocks(config=["users " + path])
    for userinfo in ("alice:wrong", "nobody:wonderland", ""):
        run = curl(hs.url("socks5", userinfo), http.url())
        check(run.returncode != 0, "curl with %r succeeded: %r" % (userinfo, run.stdout[:100]))
    check_eq(http.requests, [], "requests the HTTP target saw")


if __name__ == "__main__":
    suite.run()
