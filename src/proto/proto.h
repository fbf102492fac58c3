/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* Errors shared by the pure wire-format parsers (socks4.c, socks5.c, and
 * later http.c). A parser returns the number of bytes it consumed (> 0),
 * 0 when it needs more input, or the negation of one of these codes. */
#ifndef HOPSOCKS_PROTO_H
#define HOPSOCKS_PROTO_H

enum proto_err {
	PROTO_EVERSION = 1, /* wrong version byte */
	PROTO_ENOMETHODS,   /* SOCKS5 greeting with NMETHODS = 0 */
	PROTO_ECMD,         /* unknown command code */
	PROTO_EATYP,        /* unknown address type */
	PROTO_EDOMAIN,      /* empty domain, or a NUL inside it */
	PROTO_ETOOLONG,     /* a field longer than its limit (SOCKS4 USERID/host > 255) */
	PROTO_EUSER,        /* RFC 1929 ULEN = 0 */
	PROTO_EMALFORMED,   /* anything else that cannot be a valid message */
};

/* A short English description ("unknown command") for logs. */
const char *proto_strerror(int err);

#endif
