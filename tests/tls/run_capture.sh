#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run_capture.sh DUMP_BINARY [KEEP_DIR]
#
# Capture the ClientHellos that openssl s_client and curl really send (TLS 1.2
# and 1.3, with and without SNI, with ALPN) on 127.0.0.1, parse each with
# lib/tls through DUMP_BINARY (tls_hello_dump --selfcheck), and check the
# result against tls_capture.py's independent reading of the same bytes.
# Exit 77 (meson: skipped) when openssl or curl is missing. With KEEP_DIR the
# captures are kept there (this is how tests/data/tls/*.hex were made).
set -euo pipefail

dump=$1
keep=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
py=(python3 "$here/tls_capture.py")

for tool in openssl curl python3 timeout; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: $tool not installed"
		exit 77
	fi
done

work=$(mktemp -d)
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

failed=0
ran=0

# capture NAME CLIENT-ARGS...: serve one connection, run the client against it
# ("@PORT@" in its arguments is replaced by the port), keep the bytes.
capture() {
	local name=$1
	shift
	rm -f "$work/port"
	"${py[@]}" serve "$work/port" "$work/$name.bin" &
	server_pid=$!
	for _ in $(seq 100); do
		[ -s "$work/port" ] && break
		sleep 0.05
	done
	if [ ! -s "$work/port" ]; then
		echo "FAIL $name: capture server did not start"
		failed=1
		return 1
	fi
	local port args=()
	port=$(cat "$work/port")
	for a in "$@"; do
		args+=("${a//@PORT@/$port}")
	done
	# The server hangs up after the hello, so the client always fails
	# its handshake: only the bytes matter.
	timeout 15 "${args[@]}" </dev/null >"$work/$name.client.log" 2>&1 || true
	if ! wait "$server_pid"; then
		server_pid=
		echo "FAIL $name: no complete ClientHello captured"
		sed 's/^/    /' "$work/$name.client.log" | head -5
		failed=1
		return 1
	fi
	server_pid=
	if [ -n "$keep" ]; then
		mkdir -p "$keep"
		cp "$work/$name.bin" "$keep/"
	fi
}

# check NAME VERIFY-ARGS...: lib/tls on the capture, then the comparison.
check() {
	local name=$1
	shift
	ran=$((ran + 1))
	if ! "$dump" "$work/$name.bin" --selfcheck >"$work/$name.dump" 2>"$work/$name.err"; then
		echo "FAIL $name: tls_hello_dump"
		sed 's/^/    /' "$work/$name.dump" "$work/$name.err" | head -20
		failed=1
		return 0
	fi
	if ! "${py[@]}" verify "$work/$name.bin" "$work/$name.dump" "$@"; then
		failed=1
	fi
}

sni=api.portcullis-test.example
s_client=(openssl s_client -connect 127.0.0.1:@PORT@)
curl_cmd=(curl -sS --noproxy '*' --max-time 10 --resolve "$sni:@PORT@:127.0.0.1"
	"https://$sni:@PORT@/v1/ping")

capture openssl_tls13 "${s_client[@]}" -tls1_3 -servername "$sni" -alpn h2,http/1.1 &&
	check openssl_tls13 --version 13 --sni "$sni" --alpn h2,http/1.1
capture openssl_tls12 "${s_client[@]}" -tls1_2 -servername "$sni" -alpn http/1.1 &&
	check openssl_tls12 --version 12 --sni "$sni" --alpn http/1.1
capture openssl_tls13_nosni "${s_client[@]}" -tls1_3 -noservername -alpn h2 &&
	check openssl_tls13_nosni --version 13 --no-sni --alpn h2
capture curl_tls13 "${curl_cmd[@]}" --tlsv1.3 --http1.1 &&
	check curl_tls13 --version 13 --sni "$sni" --alpn http/1.1
capture curl_tls12 "${curl_cmd[@]}" --tlsv1.2 --tls-max 1.2 --http1.1 &&
	check curl_tls12 --version 12 --sni "$sni" --alpn http/1.1
if curl --version | grep -q HTTP2; then
	capture curl_tls13_h2 "${curl_cmd[@]}" --tlsv1.3 --http2 &&
		check curl_tls13_h2 --version 13 --sni "$sni" --alpn h2,http/1.1
fi

echo "$ran captures checked"
if [ "$failed" -ne 0 ] || [ "$ran" -lt 5 ]; then
	exit 1
fi
