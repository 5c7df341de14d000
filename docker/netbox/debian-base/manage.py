#!/opt/netbox/venv/bin/python
# netbox-docker's layout has Django's manage.py here; a PyPI NetBox has the `netbox` command instead, which
# runs the same management commands (`manage.py rqworker` = `netbox rqworker`).
import sys

from netbox.cli import main

if __name__ == '__main__':
    sys.argv[0] = 'netbox'
    sys.exit(main())
