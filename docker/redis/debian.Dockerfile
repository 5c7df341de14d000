# Air-gapped stand-in for the official redis image (compose's REDIS_IMAGE): Debian's redis-server (BASE, made by
# scripts/stack with mmdebstrap); compose gives the command line, data in /data as in the official image.
ARG BASE
FROM ${BASE}
RUN mkdir -p /data && chown redis:redis /data
USER redis
WORKDIR /data
VOLUME /data
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["redis-server", "--dir", "/data"]
