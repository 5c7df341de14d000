#!/usr/bin/env bash
# Health check of the UNICOP Kafka image: the broker answers FindCoordinator (v1) for a consumer group with no error.
# An open port is not enough: on a new broker, group coordination works only once __consumer_offsets exists (the
# first such request creates it), and a consumer that joins before gets "coordinator not available".
# Plain bash over /dev/tcp, so a check costs no JVM.
set -euo pipefail
exec 3<>"/dev/tcp/127.0.0.1/${KAFKA_PORT:-9092}"
# size 26 | api_key 10 | version 1 | correlation id 1 | client id "h" | key "unicop-ready" | key type 0 (group)
printf '\x00\x00\x00\x1a\x00\x0a\x00\x01\x00\x00\x00\x01\x00\x01h\x00\x0cunicop-ready\x00' >&3
# response: size (4) | correlation id (4) | throttle ms (4) | error code (2) ...
read -r -a bytes < <(head -c 14 <&3 | od -An -v -tu1)
((${#bytes[@]} == 14 && bytes[12] == 0 && bytes[13] == 0))
