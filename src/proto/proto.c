/* SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors. */
/* The parsers' shared error codes, in words. */
#include "proto/proto.h"

const char *proto_strerror(int err)
{
	/* Accept either sign: parsers return -PROTO_E*, callers may negate. */
	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "no error";
	case PROTO_EVERSION:
		return "wrong protocol version";
	case PROTO_ENOMETHODS:
		return "no authentication methods offered";
	case PROTO_ECMD:
		return "unknown command";
	case PROTO_EATYP:
		return "unknown address type";
	case PROTO_EDOMAIN:
		return "empty domain name or NUL in domain name";
	case PROTO_ETOOLONG:
		return "field too long";
	case PROTO_EUSER:
		return "empty user name";
	case PROTO_EMALFORMED:
		return "malformed message";
	default:
		return "unknown protocol error";
	}
}
