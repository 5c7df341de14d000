"""The release's numbers live in three places a NetBox user reads: the wheel's metadata (pyproject.toml), the
PluginConfig NetBox enforces at start-up (version, min_version, max_version) and the compatibility manifest
(netbox-plugin.yaml). They must agree (docs/install-plugin.md, "Version policy")."""

import re
import tomllib
from pathlib import Path

import yaml
from django.test import SimpleTestCase

import unicop_netbox
from unicop_netbox import UnicopConfig

__all__ = ('PackageMetadataTests',)

# the tests run from the source tree (they are not in the wheel): netbox-plugin/ is two levels up
PLUGIN_DIR = Path(__file__).resolve().parents[2]
SEMVER = re.compile(r'^\d+\.\d+\.\d+$')


def _version_tuple(text):
    return tuple(int(part) for part in str(text).split('.'))


class PackageMetadataTests(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.project = tomllib.loads((PLUGIN_DIR / 'pyproject.toml').read_text())['project']
        cls.manifest = yaml.safe_load((PLUGIN_DIR / 'netbox-plugin.yaml').read_text())

    def test_versions_agree_when_read_from_pyproject_pluginconfig_and_manifest(self):
        version = self.project['version']
        self.assertRegex(version, SEMVER)
        self.assertEqual(unicop_netbox.__version__, version)
        self.assertEqual(UnicopConfig.version, version)
        newest = self.manifest['compatibility'][0]
        self.assertEqual(str(newest['release']), version)
        self.assertEqual(str(newest['netbox_min']), UnicopConfig.min_version)
        self.assertEqual(str(newest['netbox_max']), UnicopConfig.max_version)
        self.assertEqual(self.manifest['package_name'], self.project['name'])

    def test_manifest_lists_releases_newest_first_with_ordered_ranges(self):
        self.assertIn('version', self.manifest)  # the manifest format's own version key
        releases = [_version_tuple(entry['release']) for entry in self.manifest['compatibility']]
        self.assertEqual(releases, sorted(set(releases), reverse=True))
        for entry in self.manifest['compatibility']:
            self.assertLessEqual(_version_tuple(entry['netbox_min']), _version_tuple(entry['netbox_max']), entry)

    def test_wheel_declares_apache_licence_and_ships_its_text(self):
        self.assertEqual(self.project['license'], 'Apache-2.0')
        self.assertEqual(self.project['license-files'], ['LICENSE'])
        self.assertIn('Apache License', (PLUGIN_DIR / 'LICENSE').read_text()[:200])
