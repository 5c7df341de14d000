# Air-gapped stand-in for the official postgres image (compose's POSTGRES_IMAGE): Debian's PostgreSQL 17 (BASE, made
# by scripts/stack with mmdebstrap) with an entry point that honours the official image's variables
# (POSTGRES_USER, POSTGRES_DB, POSTGRES_PASSWORD[_FILE], PGDATA) and its `postgres <args>` command. Context: docker/.
ARG BASE
FROM ${BASE}
COPY postgres/entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 0755 /usr/local/bin/docker-entrypoint.sh \
 && mkdir -p /var/lib/postgresql/data && chown -R postgres:postgres /var/lib/postgresql && chmod 0700 /var/lib/postgresql/data
ENV PGDATA=/var/lib/postgresql/data PATH=/usr/lib/postgresql/17/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
USER postgres
VOLUME /var/lib/postgresql/data
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/docker-entrypoint.sh"]
CMD ["postgres"]
