"""NetBox script module stub for the UNICOP plugin's RequestReconcile script (core custom scripts: deprecated in
NetBox 4.7, removed in 5.0; the plugin's Reconcile button is the future-proof path).

Install it as a script module: copy it into SCRIPTS_ROOT, or upload it (Customization > Scripts > Add, or
POST /api/extras/scripts/upload/). Subclassing here gives the script the clean name unicop_reconcile.RequestReconcile.
"""

import unicop_netbox.scripts

__all__ = ('RequestReconcile',)


class RequestReconcile(unicop_netbox.scripts.RequestReconcile):
    pass
