#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Installs every Debian package kproxy needs to build, test, fuzz and demo.
# Meant for a fresh Debian 12 machine, run as root; running it again is cheap.
set -eu

packages="
	build-essential pkg-config clang clang-format libclang-rt-14-dev
	libcurl4-openssl-dev libcjson-dev libmnl-dev libiptc-dev libmicrohttpd-dev
	libcmocka-dev libyaml-dev libssl-dev
	iptables iproute2 procps python3 valgrind curl ca-certificates openssl
"

missing=""
for p in $packages; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done

if [ -z "$missing" ]; then
	echo "deps: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
