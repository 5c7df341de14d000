# The air-gapped Kafka base: Debian's OpenJDK (BASE, made by scripts/stack with mmdebstrap) plus the broker jars
# scripts/kafka fetches from Maven Central, laid out as in apache/kafka (/opt/kafka/libs, user 1000).
# Context: the jar directory (`scripts/kafka fetch` prints it).
ARG BASE
FROM ${BASE}
COPY . /opt/kafka/libs/
RUN rm -f /opt/kafka/libs/.complete \
 && echo 'appuser:x:1000:1000:Kafka:/var/lib/kafka:/usr/sbin/nologin' >>/etc/passwd \
 && echo 'appuser:x:1000:' >>/etc/group
