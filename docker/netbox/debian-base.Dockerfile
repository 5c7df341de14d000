# The air-gapped NetBox base: NetBox from PyPI in a Python 3.13 venv on a Debian trixie base (BASE, made by
# scripts/stack with mmdebstrap), laid out like netbox-docker so docker/netbox/Dockerfile is the same for both:
# venv /opt/netbox/venv, /opt/netbox/netbox/manage.py, /etc/netbox/config/*.py read after the configuration,
# /opt/netbox/docker-entrypoint.sh (waits for the database, migrates) and /opt/netbox/launch-netbox.sh (web
# server on NETBOX_PORT, 8080 as in netbox-docker), user 999 group 0. Context: the repository root.
ARG BASE
FROM ${BASE}
ARG NETBOX_VERSION=4.7.3
# psycopg[c] (pinned by NetBox) compiles against libpq: gcc, python3-dev and libpq-dev are in BASE
RUN python3 -m venv /opt/netbox/venv \
 && /opt/netbox/venv/bin/python -m pip install --no-cache-dir --disable-pip-version-check "netbox==${NETBOX_VERSION}"
COPY docker/netbox/debian-base/configuration.py /opt/netbox/conf/configuration.py
COPY docker/netbox/debian-base/manage.py /opt/netbox/netbox/manage.py
COPY docker/netbox/debian-base/docker-entrypoint.sh /opt/netbox/docker-entrypoint.sh
COPY docker/netbox/debian-base/launch-netbox.sh /opt/netbox/launch-netbox.sh
COPY scripts/lib/netbox/unicop_wsgi.py /opt/netbox/unicop_wsgi.py
RUN chmod 0755 /opt/netbox/docker-entrypoint.sh /opt/netbox/launch-netbox.sh \
 && mkdir -p /etc/netbox/config /opt/netbox/netbox/media /opt/netbox/media /opt/netbox/reports /opt/netbox/scripts /opt/netbox/static \
 && chown -R 999:0 /opt/netbox/netbox/media /opt/netbox/media /opt/netbox/reports /opt/netbox/scripts /opt/netbox/static \
 && echo 'unit:x:999:0:NetBox:/opt/netbox:/usr/sbin/nologin' >>/etc/passwd
ENV NETBOX_ROOT=/opt/netbox \
    PATH=/opt/netbox/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NETBOX_PORT=8080
USER 999:0
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=300s --retries=5 \
  CMD ["python3", "-c", "import os,urllib.request;urllib.request.urlopen('http://127.0.0.1:%s/login/' % os.environ.get('NETBOX_PORT','8080'), timeout=4)"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["/opt/netbox/docker-entrypoint.sh", "/opt/netbox/launch-netbox.sh"]
