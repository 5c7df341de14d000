"""The local executor's pure parts: which playbook, how long it may run, and AWX's notification body it reports.

ansible-runner's status, events and stats are given as ansible-runner 2.4 produces them (event names
``runner_on_failed`` / ``runner_on_unreachable`` with ``event_data.task``, ``host``, ``res``; stats keyed by
counter, then host). The real runs are exercised by receiver/test/e2e/local-executor.e2e.test.ts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from unicop_local_run import notification, playbook_path, result_of, seconds_left

COMMAND = {
    "subject": "dcim.device:7",
    "data": {
        "jobTemplate": {"name": "render-interfaces", "organization": "local"},
        "deadline": "2026-01-01T00:01:00.000Z",
        "extraVars": {"unicop_reconcile_id": "r-1", "unicop_root": "dcim.device:7", "unicop_attempt": 1},
    },
}


def stats(**counters: dict[str, int]) -> dict[str, dict[str, int]]:
    return {c: counters.get(c, {}) for c in ("ok", "dark", "failures", "changed", "processed", "skipped")}


def test_playbook_path_is_the_job_template_name_in_the_playbook_dir(tmp_path: Path) -> None:
    (tmp_path / "render.yml").write_text("- hosts: localhost\n")
    assert playbook_path(str(tmp_path), "render") == (tmp_path / "render.yml", None)


@pytest.mark.parametrize("name", ["missing", "../etc/passwd", "a/b", "", ".hidden", None, "x" * 200])
def test_playbook_path_refuses_missing_files_and_names_that_are_not_plain_file_names(tmp_path: Path, name) -> None:
    path, problem = playbook_path(str(tmp_path), name)
    assert path is None
    assert problem


def test_seconds_left_counts_to_the_commands_deadline() -> None:
    assert seconds_left("2026-01-01T00:01:00.000Z", 1767225600.0) == pytest.approx(60.0)


def test_a_successful_run_is_successful_with_awx_host_counters() -> None:
    r = result_of("successful", [], stats(ok={"localhost": 3}, processed={"localhost": 1}), "")
    assert r["status"] == "successful"
    assert "failureClass" not in r
    assert r["hosts"]["localhost"]["ok"] == 3
    assert r["hosts"]["localhost"]["failed"] is False


def test_a_failed_task_is_execution_with_the_tasks_name_and_message() -> None:
    events = [
        {
            "event": "runner_on_failed",
            "event_data": {"task": "ignored", "host": "h", "ignore_errors": True, "res": {"msg": "x"}},
        },
        {
            "event": "runner_on_failed",
            "event_data": {"task": "push config", "host": "localhost", "res": {"msg": "refused"}},
        },
    ]
    r = result_of("failed", events, stats(failures={"localhost": 1}), "")
    assert (r["status"], r["failureClass"]) == ("failed", "execution")
    assert r["message"] == "task 'push config' failed on localhost: refused"
    assert r["hosts"]["localhost"]["failures"] == 1


def test_an_unreachable_host_is_unreachable_and_counted_dark() -> None:
    events = [
        {
            "event": "runner_on_unreachable",
            "event_data": {"task": "ping", "host": "sw1", "res": {"msg": "ssh: no route"}},
        }
    ]
    r = result_of("failed", events, stats(dark={"sw1": 1}), "")
    assert r["failureClass"] == "unreachable"
    assert "sw1" in r["message"] and "no route" in r["message"]
    assert r["hosts"]["sw1"]["dark"] == 1


def test_a_run_that_failed_before_any_task_is_config_with_the_output_tail() -> None:
    r = result_of("failed", [], None, "ERROR! couldn't resolve module/action 'nope.nope'\n")
    assert r["failureClass"] == "config"
    assert "couldn't resolve module" in r["message"]


def test_the_message_is_bounded_to_the_schemas_2000_characters() -> None:
    events = [
        {"event": "runner_on_failed", "event_data": {"task": "t" * 3000, "host": "h", "res": {"msg": "m" * 3000}}}
    ]
    assert len(result_of("failed", events, None, "")["message"]) == 2000


def test_the_notification_is_awxs_body_with_null_id_and_the_unicop_extension() -> None:
    result = {"status": "failed", "hosts": {}, "failureClass": "config", "message": "playbook x.yml not found"}
    body = notification(COMMAND, result, None, "2026-01-01T00:00:10+00:00")
    assert body["id"] is None
    assert body["status"] == "failed"
    assert body["name"] == "render-interfaces"
    assert body["extra_vars"]["unicop_reconcile_id"] == "r-1"
    assert body["unicop"] == {"executor": "local", "failureClass": "config", "message": "playbook x.yml not found"}


def test_a_running_notification_carries_no_class() -> None:
    body = notification(COMMAND, {"status": "running"}, "2026-01-01T00:00:01+00:00", None)
    assert body["unicop"] == {"executor": "local"}
    assert body["finished"] is None
