"""The entry point as ansible-rulebook loads it, and its DOCUMENTATION against the arguments it accepts.

ansible-rulebook 1.3.2 runs a collection's source with ``runpy.run_path("<collection>/extensions/eda/plugins/
event_source/unicop_kafka.py")`` (and a ``-S`` directory's the same way) and calls its
``main(queue, args)``. The load is done in a fresh interpreter (``-I``: no PYTHONPATH, no user site, no script
directory on sys.path), so nothing this test process has imported can make it pass.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

import unicop_kafka
from unicop_kafka_lib.arguments import parse_args

EDA = Path(__file__).resolve().parent.parent
SOURCES = EDA / "collection" / "extensions" / "eda" / "plugins" / "event_source"

# what ansible-rulebook does with the file, then main() with no arguments: the ConfigError proves that the
# package beside the file was imported and wired (it is raised by unicop_kafka_lib.arguments)
LOAD = """
import asyncio, json, runpy, sys
module = runpy.run_path(sys.argv[1])
try:
    asyncio.run(module["main"](None, {}))
    error = None
except Exception as exc:
    error = [type(exc).__module__, type(exc).__name__, str(exc)]
print(json.dumps({
    "main": asyncio.iscoroutinefunction(module["main"]),
    "documentation": "options:" in module["DOCUMENTATION"],
    "package": sys.modules["unicop_kafka_lib"].__file__,
    "error": error,
}))
"""


def load_like_ansible_rulebook(path: str, cwd: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-I", "-c", LOAD, path], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_entry_point_loads_with_run_path_from_an_absolute_source_dir_in_any_working_directory(tmp_path: Path) -> None:
    loaded = load_like_ansible_rulebook(str(SOURCES / "unicop_kafka.py"), tmp_path)

    assert loaded["main"] is True
    assert loaded["documentation"] is True
    assert loaded["package"] == str(SOURCES / "unicop_kafka_lib" / "__init__.py")
    assert loaded["error"][:2] == ["unicop_kafka_lib.arguments", "ConfigError"]
    assert "'group_id' is required" in loaded["error"][2]


def test_entry_point_loads_with_run_path_from_a_relative_path() -> None:
    # a relative path from the repository root (e.g. `ansible-rulebook -S` of the event_source folder)
    loaded = load_like_ansible_rulebook(str(SOURCES.relative_to(EDA.parent) / "unicop_kafka.py"), EDA.parent)

    assert loaded["package"] == str(SOURCES / "unicop_kafka_lib" / "__init__.py")
    assert loaded["error"][:2] == ["unicop_kafka_lib.arguments", "ConfigError"]


def test_documentation_lists_exactly_the_arguments_parse_args_reads() -> None:
    options = set(yaml.safe_load(unicop_kafka.DOCUMENTATION)["options"])
    settings = set(parse_args({"topic": "t", "group_id": "g"}))

    # `topic` is read into `topics`; `feedback` is read by ansible-rulebook itself (it passes eda_feedback_queue)
    assert options - {"topic", "feedback"} == settings


def test_examples_are_a_rulebook_whose_source_arguments_are_all_documented() -> None:
    options = set(yaml.safe_load(unicop_kafka.DOCUMENTATION)["options"])
    [ruleset] = yaml.safe_load(unicop_kafka.EXAMPLES)
    [source] = ruleset["sources"]

    # used by its fully qualified name, as from the installed collection unicop.eda
    assert set(source["unicop.eda.unicop_kafka"]) <= options
    assert {"group_id", "feedback", "rejects_topic"} <= set(source["unicop.eda.unicop_kafka"])
