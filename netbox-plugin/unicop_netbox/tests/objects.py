"""One object of every default panel model (and an interface, whose root is its device) for the plugin's UI tests."""

from types import SimpleNamespace

from dcim.models import Device, DeviceRole, DeviceType, Interface, Manufacturer, Site
from ipam.models import VLAN, Prefix
from virtualization.models import Cluster, ClusterType, VirtualMachine

__all__ = ('create_roots',)


def create_roots():
    site = Site.objects.create(name='UI Site', slug='ui-site')
    manufacturer = Manufacturer.objects.create(name='UI M', slug='ui-m')
    device_type = DeviceType.objects.create(manufacturer=manufacturer, model='UI T', slug='ui-t')
    role = DeviceRole.objects.create(name='UI R', slug='ui-r')
    device = Device.objects.create(name='ui-dev', site=site, device_type=device_type, role=role)
    cluster = Cluster.objects.create(name='UI C', type=ClusterType.objects.create(name='UI CT', slug='ui-ct'))
    return SimpleNamespace(
        site=site,
        device=device,
        interface=Interface.objects.create(device=device, name='eth0', type='1000base-t'),
        vm=VirtualMachine.objects.create(name='ui-vm', cluster=cluster, site=site),
        prefix=Prefix.objects.create(prefix='203.0.113.0/24', scope=site),
        vlan=VLAN.objects.create(vid=42, name='ui-v42', site=site),
    )
