#!/usr/bin/env bash
# Entry point of the UNICOP Kafka image: writes server.properties from the environment, formats the storage
# once (cluster id kept in the data volume) and execs the broker, so SIGTERM reaches the JVM (clean shutdown).
#
#   KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_LISTEN_HOST (0.0.0.0), KAFKA_ADVERTISED_HOST (kafka:
#   the compose service name; 127.0.0.1 with host networking), KAFKA_DATA_DIR (/var/lib/kafka), KAFKA_HEAP,
#   KAFKA_CLUSTER_ID (default: generated at the first start and kept in the data dir).
set -euo pipefail
props="$KAFKA_DATA_DIR/server.properties"
logs="$KAFKA_DATA_DIR/data"
cp=("-cp" "$KAFKA_HOME/libs/*")
log4j="-Dlog4j2.configurationFile=/etc/unicop-kafka/log4j2.properties"

cat >"$props" <<PROPS
# Written by unicop-kafka-start at every start; edits are lost.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$KAFKA_LISTEN_HOST:$KAFKA_PORT,CONTROLLER://$KAFKA_LISTEN_HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$KAFKA_ADVERTISED_HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$logs
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
# the receiver creates its topics with the settings it checks (docs/topics.md)
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS

if [[ ! -f "$logs/meta.properties" ]]; then
  id_file="$KAFKA_DATA_DIR/cluster.id"
  if [[ -n "${KAFKA_CLUSTER_ID:-}" ]]; then printf '%s\n' "$KAFKA_CLUSTER_ID" >"$id_file"; fi
  if [[ ! -s "$id_file" ]]; then
    # a Kafka Uuid: 16 random bytes, URL-safe Base64 without padding, never starting with "-"
    until id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')" && [[ "$id" != -* ]]; do :; done
    printf '%s\n' "$id" >"$id_file"
  fi
  mkdir -p "$logs"
  java -Xmx256m -XX:TieredStopAtLevel=1 "$log4j" "${cp[@]}" kafka.tools.StorageTool format \
    -t "$(cat "$id_file")" -c "$props" --ignore-formatted
fi

# shellcheck disable=SC2086 # KAFKA_HEAP holds several flags
exec java $KAFKA_HEAP -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
  "$log4j" "${cp[@]}" kafka.Kafka "$props"
