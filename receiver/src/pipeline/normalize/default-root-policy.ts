import type { RootPolicy } from './root-policy.js';

/** Device components whose REST body nests their device as `device` (ARCHITECTURE.md "Roots"). */
const DEVICE_COMPONENTS = [
  'interface',
  'consoleport',
  'consoleserverport',
  'powerport',
  'poweroutlet',
  'frontport',
  'rearport',
  'modulebay',
  'module',
  'inventoryitem',
  'devicebay',
] as const;

/** The built-in policy; `UNICOP_ROOT_POLICY` replaces it with a file of the same schema. */
export const DEFAULT_ROOT_POLICY: RootPolicy = {
  version: 1,
  rules: [
    ...DEVICE_COMPONENTS.map((model) => ({
      objectType: `dcim.${model}`,
      root: { type: 'dcim.device', idPath: 'device.id' },
    })),
    {
      objectType: 'ipam.ipaddress',
      when: { path: 'assigned_object_type', equals: 'dcim.interface' },
      root: { type: 'dcim.device', idPath: 'assigned_object.device.id' },
    },
    {
      objectType: 'ipam.ipaddress',
      when: { path: 'assigned_object_type', equals: 'virtualization.vminterface' },
      root: { type: 'virtualization.virtualmachine', idPath: 'assigned_object.virtual_machine.id' },
    },
    {
      objectType: 'virtualization.vminterface',
      root: { type: 'virtualization.virtualmachine', idPath: 'virtual_machine.id' },
    },
    {
      objectType: 'dcim.cable',
      related: [
        { type: 'dcim.device', idPath: 'a_terminations[].object.device.id' },
        { type: 'dcim.device', idPath: 'b_terminations[].object.device.id' },
      ],
    },
  ],
};
