#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause. Copyright (c) 2026 The hopsocks authors.
# Generate configure and Makefile.in. tap-driver.sh ships with automake but
# is not copied by --add-missing, so take it from the installed automake.
set -e
cd "$(dirname "$0")"
mkdir -p build-aux m4
autoreconf -fi
for d in /usr/share/automake-*; do
	if [ -f "$d/tap-driver.sh" ]; then
		cp "$d/tap-driver.sh" build-aux/tap-driver.sh
		break
	fi
done
test -f build-aux/tap-driver.sh || { echo "autogen.sh: tap-driver.sh not found (install automake)" >&2; exit 1; }
