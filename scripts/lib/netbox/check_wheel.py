"""check_wheel.py <wheel> <source package dir>: the plugin's wheel ships what a NetBox needs and nothing else.

Fails (exit 1, one line per problem) when the wheel holds the tests package, misses a file of the source package
(a module, template, policy JSON or migration: package-data globs that miss a subfolder only show up here), or lacks
the licence text. Prints the wheel's file count on success."""

import sys
import zipfile
from pathlib import Path

__all__ = ('problems',)

SKIP_PARTS = {'tests', '__pycache__'}


def problems(wheel, source):
    names = set(zipfile.ZipFile(wheel).namelist())
    package = source.name
    found = []
    found += [f'the wheel holds test code: {n}' for n in sorted(names) if n.startswith(f'{package}/tests/')]
    for path in sorted(source.rglob('*')):
        relative = path.relative_to(source)
        if path.is_dir() or SKIP_PARTS & set(relative.parts) or path.suffix == '.pyc':
            continue
        if f'{package}/{relative.as_posix()}' not in names:
            found.append(f'the wheel lacks {package}/{relative.as_posix()}')
    if not any(n.endswith('.dist-info/licenses/LICENSE') for n in names):
        found.append('the wheel lacks the licence text (.dist-info/licenses/LICENSE)')
    return found, len(names)


if __name__ == '__main__':
    found, count = problems(sys.argv[1], Path(sys.argv[2]))
    for line in found:
        print(f'check_wheel: {line}', file=sys.stderr)
    if found:
        sys.exit(1)
    print(f'check_wheel: {count} files, no tests, every package file and the licence present')
