"""Test-only NetBox script module for the UNICOP e2e tests (receiver/test/e2e/netbox/ui-and-script.e2e.test.ts):
uploaded through the REST API, then run like a custom-script button would, so its changes go out as webhooks."""

from dcim.models import Interface
from extras.scripts import IntegerVar, Script, StringVar


class DescribeInterfaces(Script):
    device_id = IntegerVar(min_value=1)
    text = StringVar(max_length=100)

    class Meta:
        name = 'UNICOP e2e: describe a device interfaces'
        commit_default = True
        scheduling_enabled = False

    def run(self, data, commit):
        changed = 0
        for interface in Interface.objects.filter(device_id=data['device_id']).order_by('pk'):
            interface.snapshot()
            interface.description = data['text']
            interface.full_clean()
            interface.save()
            changed += 1
        return f'{changed} interfaces described'
