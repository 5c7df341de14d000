"""UNICOP local executor: run one reconcile command's playbook with ansible-runner, report like AWX.

Started by eda/executor/local-run.yml (which ansible-rulebook's ``run_playbook`` runs under the per-root
``lock``), with the reconcile command (CloudEvents JSON, schemas/reconcile-command.v1.schema.json) on stdin.

* playbook: ``<UNICOP_PLAYBOOK_DIR>/<data.jobTemplate.name>.yml`` (default eda/playbooks/); a name that is
  not a plain file name, or a file that does not exist, is a ``config`` failure;
* extra vars: the command's ``data.extraVars`` (``unicop_reconcile_id`` and the rest), as AWX gets them;
* timeout: ansible-runner's job timeout = seconds left until ``data.deadline``; on timeout ansible-runner
  kills the playbook's whole process group and nothing is reported: the reconciler's deadline makes the
  attempt ``timed_out`` (one place decides that);
* report: ``POST <UNICOP_RECEIVER_URL>/v1/awx/notifications`` with AWX's notification body (``id`` null,
  ``status``, ``extra_vars``, ``hosts`` with ``dark``/``failures``) plus ``unicop: {executor: "local",
  failureClass?, message?}``; ``running`` when the run starts, the result when it ends. Authenticated with
  ``Authorization: Bearer`` + ``UNICOP_AWX_NOTIFY_TOKEN`` (or the file ``UNICOP_AWX_NOTIFY_TOKEN_FILE``).

Secrets are read from the environment or a file, never from argv, and are never printed; the notify token is
removed from the environment before the playbook runs.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = ["main", "notification", "playbook_path", "result_of", "seconds_left"]

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MESSAGE_MAX = 2000  # schemas/awx-notification.schema.json: unicop.message maxLength
# What the outer ansible-runner (ansible-rulebook's run_playbook of local-run.yml) put into this process's
# environment for ITS run (ansible_runner/config/_base.py prepare_env). Inherited by the inner run they break it
# (ANSIBLE_STDOUT_CALLBACK=awx_display makes the inner awx_display wrap itself: "no attribute CallbackModule")
# or send its events to the outer run's artifacts, so they are removed first.
OUTER_RUNNER_ENV = (
    "ANSIBLE_STDOUT_CALLBACK",
    "ORIGINAL_STDOUT_CALLBACK",
    "ANSIBLE_CALLBACK_PLUGINS",
    "ANSIBLE_LOAD_CALLBACK_PLUGINS",
    "AWX_ISOLATED_DATA_DIR",
    "ANSIBLE_CACHE_PLUGIN",
    "ANSIBLE_CACHE_PLUGIN_CONNECTION",
    "RUNNER_OMIT_EVENTS",
    "RUNNER_ONLY_FAILED_EVENTS",
    "AD_HOC_COMMAND_ID",
    "JOB_ID",
)
HOST_COUNTERS = ("dark", "failures", "ok", "changed", "processed", "skipped", "rescued", "ignored")


def log(msg: str) -> None:
    print(f"unicop-local: {msg}", file=sys.stderr, flush=True)


def playbook_path(playbook_dir: str, name: object) -> tuple[Path | None, str | None]:
    """The command's playbook, or why there is none (a config failure)."""
    if not isinstance(name, str) or not NAME_RE.match(name) or ".." in name:
        return None, f"job template name {str(name)[:80]!r} is not a playbook file name"
    path = Path(playbook_dir) / f"{name}.yml"
    if not path.is_file():
        return None, f"playbook {name}.yml not found in {playbook_dir}"
    return path, None


def seconds_left(deadline: str, now: float) -> float:
    return datetime.fromisoformat(deadline.replace("Z", "+00:00")).timestamp() - now


def result_of(status: str, events: list[dict[str, Any]], stats: dict[str, Any] | None, tail: str) -> dict[str, Any]:
    """ansible-runner's status, events and stats → AWX status, failure class, message, hosts."""
    stats = stats or {}
    hosts: dict[str, dict[str, Any]] = {}
    for counter in HOST_COUNTERS:
        for host, n in (stats.get(counter) or {}).items():
            hosts.setdefault(host, {c: 0 for c in HOST_COUNTERS})[counter] = int(n)
    for h in hosts.values():
        h["failed"] = h["failures"] > 0 or h["dark"] > 0
    if status == "successful":
        return {"status": "successful", "hosts": hosts}
    failed = unreachable = None
    for e in events:
        data = e.get("event_data") or {}
        if e.get("event") == "runner_on_failed" and not data.get("ignore_errors") and failed is None:
            failed = data
        if e.get("event") == "runner_on_unreachable" and unreachable is None:
            unreachable = data
    if unreachable is not None:
        cls, msg = (
            "unreachable",
            f"host {unreachable.get('host')} unreachable in task {unreachable.get('task')!r}: {_msg(unreachable)}",
        )
    elif failed is not None:
        cls, msg = "execution", f"task {failed.get('task')!r} failed on {failed.get('host')}: {_msg(failed)}"
    else:
        # no task failed and no host was unreachable: the playbook could not be run as given (syntax error,
        # unknown module, no hosts matched), which no retry fixes
        cls, msg = "config", f"the playbook did not run ({status}): {tail.strip()[-600:] or 'no output'}"
    return {"status": "failed", "hosts": hosts, "failureClass": cls, "message": msg[:MESSAGE_MAX]}


def _msg(data: dict[str, Any]) -> str:
    res = data.get("res") or {}
    text = res.get("msg") or res.get("stderr") or res.get("reason") or ""
    return str(text).strip()[:1500] or "no message"


def notification(
    command: dict[str, Any], result: dict[str, Any], started: str | None, finished: str | None
) -> dict[str, Any]:
    """AWX's notification body (job_metadata) for this run, plus the `unicop` extension."""
    data = command["data"]
    unicop: dict[str, Any] = {"executor": "local"}
    for key in ("failureClass", "message"):
        if key in result:
            unicop[key] = result[key]
    return {
        "id": None,
        "name": str(data["jobTemplate"]["name"])[:200],
        "status": result["status"],
        "started": started,
        "finished": finished,
        "traceback": None,
        "extra_vars": data.get("extraVars") or {},
        "hosts": result.get("hosts") or {},
        "unicop": unicop,
    }


def become_subreaper() -> bool:
    """Linux PR_SET_CHILD_SUBREAPER: what the playbook started and left behind is re-parented to this process."""
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8", errors="replace") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


def kill_leftovers() -> int:
    """SIGKILL every process the timed-out run left (ansible-runner kills ansible-playbook's process group, but a
    module's command can sit in a session of its own, e.g. Ansible's worker detaches with setsid), and reap it."""
    killed = 0
    for _ in range(20):
        kids = _children(os.getpid())
        if not kids:
            break
        for pid in kids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        deadline = time.time() + 2
        while time.time() < deadline:
            try:
                if os.waitpid(-1, os.WNOHANG) == (0, 0):
                    time.sleep(0.05)
            except ChildProcessError:
                break
    return killed


def _token() -> str:
    token = os.environ.pop("UNICOP_AWX_NOTIFY_TOKEN", "")
    path = os.environ.get("UNICOP_AWX_NOTIFY_TOKEN_FILE", "")
    if not token and path:
        token = Path(path).read_text(encoding="utf-8").strip()
    if not token:
        raise SystemExit("unicop-local: set UNICOP_AWX_NOTIFY_TOKEN or UNICOP_AWX_NOTIFY_TOKEN_FILE")
    return token


def post(url: str, token: str, body: dict[str, Any], attempts: int = 5) -> None:
    """POST with bounded retries (the receiver answers 503 while it starts or rebuilds)."""
    raw = json.dumps(body).encode()
    for i in range(attempts):
        req = urllib.request.Request(url, data=raw, method="POST")
        req.add_header("Content-Type", "application/json")
        req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as res:
                log(f"reported {body['status']} → HTTP {res.status}")
                return
        except urllib.error.HTTPError as e:
            if e.code < 500 or i == attempts - 1:
                raise RuntimeError(f"receiver answered HTTP {e.code} to the {body['status']} report") from None
        except OSError as e:
            if i == attempts - 1:
                raise RuntimeError(f"receiver unreachable: {e}") from None
        time.sleep(min(0.5 * 2**i, 4))


def _now() -> str:
    return datetime.now().astimezone().isoformat()


def main() -> int:
    command = json.load(sys.stdin)
    data = command["data"]
    reconcile_id = data["extraVars"]["unicop_reconcile_id"]
    receiver = os.environ.get("UNICOP_RECEIVER_URL", "http://127.0.0.1:8080").rstrip("/")
    url = f"{receiver}/v1/awx/notifications"
    token = _token()
    here = Path(__file__).resolve().parent
    playbook_dir = os.environ.get("UNICOP_PLAYBOOK_DIR") or str(here.parent / "playbooks")
    log(f"reconcile {reconcile_id} root {command.get('subject')} playbook {data['jobTemplate']['name']}")

    left = seconds_left(data["deadline"], time.time())
    if left <= 0:
        log(f"reconcile {reconcile_id}: deadline already passed, not run (the reconciler reports timed_out)")
        return 0
    path, problem = playbook_path(playbook_dir, data["jobTemplate"]["name"])
    if path is None:
        result = {"status": "failed", "hosts": {}, "failureClass": "config", "message": problem}
        post(url, token, notification(command, result, None, _now()))
        return 0

    import ansible_runner  # the venv's; imported late so the pure functions test without it

    for name in OUTER_RUNNER_ENV:
        os.environ.pop(name, None)

    subreaper = become_subreaper()
    started = _now()
    post(url, token, notification(command, {"status": "running"}, started, None))
    private = tempfile.mkdtemp(prefix="unicop-local-")
    try:
        runner = ansible_runner.run(
            private_data_dir=private,
            project_dir=str(path.parent),
            playbook=str(path),
            inventory=os.environ.get("UNICOP_LOCAL_INVENTORY") or str(here / "inventory.yml"),
            extravars=data.get("extraVars") or {},
            timeout=max(1, math.ceil(left)),
            suppress_env_files=True,
            quiet=True,
        )
        status = runner.status
        log(f"reconcile {reconcile_id}: ansible-runner status {status} rc {runner.rc}")
        if status in ("timeout", "canceled"):
            # stopped: ansible-runner killed the process group, we kill what escaped it; nothing is reported,
            # the reconciler's deadline turns this attempt into timed_out
            leftovers = kill_leftovers() if subreaper else 0
            log(f"reconcile {reconcile_id}: run stopped at the deadline ({leftovers} leftover processes killed)")
            return 0
        tail = ""
        if status != "successful":
            try:
                tail = runner.stdout.read()[-4000:]
            except Exception:
                tail = ""
        result = result_of(status, list(runner.events), runner.stats, tail)
    finally:
        shutil.rmtree(private, ignore_errors=True)
    post(url, token, notification(command, result, started, _now()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
