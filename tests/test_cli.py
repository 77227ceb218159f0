"""The `kam` command as a new user runs it: on a fresh data folder, in a real
process (subprocess), reading what it prints."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

KAM = [sys.executable, "-m", "kam.cli"]

# Each test runs `kam` on a fresh SQLite folder of its own (see the marker in pyproject).
pytestmark = pytest.mark.sqlite_cli


def run(data_dir: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "KAM_DATA_DIR": str(data_dir)}
    env.pop("KAM_DATABASE_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run([*KAM, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def test_user_add_and_token_work_on_a_fresh_data_folder(tmp_path):
    # when
    added = run(tmp_path, "user", "add", "zhang", "--role", "manager", "--team", "华东",
                "--password", "a-good-password-1")
    token = run(tmp_path, "token", "zhang")
    # then
    assert added.returncode == 0, added.stderr
    assert "Created manager zhang, team 华东." in added.stdout
    assert token.returncode == 0, token.stderr
    assert token.stdout.split()[-1].startswith("kam_")
    assert (tmp_path / "kam.sqlite3").exists()
    assert (tmp_path / "secret_key").exists()
    assert oct((tmp_path / "secret_key").stat().st_mode)[-3:] == "600"


def test_user_add_generates_and_prints_a_password_when_none_given(tmp_path):
    result = run(tmp_path, "user", "add", "li", "--role", "rep")
    assert result.returncode == 0
    assert "Password: " in result.stdout


def test_user_add_refuses_duplicates_and_weak_passwords(tmp_path):
    run(tmp_path, "user", "add", "li", "--role", "rep")
    duplicate = run(tmp_path, "user", "add", "li", "--role", "rep")
    weak = run(tmp_path, "user", "add", "wang", "--role", "rep", "--password", "123")
    assert duplicate.returncode == 2
    assert "already exists" in duplicate.stderr
    assert weak.returncode == 2
    assert "(password)" in weak.stderr
    assert "Traceback" not in duplicate.stderr + weak.stderr


def test_user_add_rejects_unknown_role(tmp_path):
    result = run(tmp_path, "user", "add", "li", "--role", "boss")
    assert result.returncode == 2
    assert "invalid choice: 'boss'" in result.stderr


def test_token_for_unknown_user_says_how_to_create_one(tmp_path):
    result = run(tmp_path, "token", "nobody")
    assert result.returncode == 2
    assert "kam user add nobody" in result.stderr


def test_broken_playbook_stops_with_file_and_field(tmp_path):
    # given
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "mine.toml").write_text('key = "mine"\nstages = []\n',
                                                        encoding="utf-8")
    # when
    result = run(tmp_path, "user", "add", "li", "--role", "rep")
    # then
    assert result.returncode == 2
    assert "mine.toml" in result.stderr
    assert "stages" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_database_url_is_a_clear_error(tmp_path):
    env = {**os.environ, "KAM_DATA_DIR": str(tmp_path), "KAM_DATABASE_URL": "nonsense://x"}
    result = subprocess.run([*KAM, "user", "add", "li", "--role", "rep"], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "KAM_DATABASE_URL" in result.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_migrates_a_fresh_folder_and_answers_the_api(tmp_path):
    # given
    assert run(tmp_path, "user", "add", "li", "--role", "rep").returncode == 0
    token = run(tmp_path, "token", "li").stdout.split()[-1]
    port = _free_port()
    env = {**os.environ, "KAM_DATA_DIR": str(tmp_path)}
    env.pop("KAM_DATABASE_URL", None)  # the SQLite database `run` made the user in
    server = subprocess.Popen([*KAM, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # when
        deadline = time.monotonic() + 60
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/v1/accounts",
                    headers={"Authorization": f"Bearer {token}"})
                with urllib.request.urlopen(request, timeout=5) as response:
                    body = json.loads(response.read())
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    server.terminate()  # read() of a running server's output never ends
                    output = server.communicate(timeout=20)[0]
                    pytest.fail("kam serve did not answer: " + (output or ""))
                time.sleep(0.3)
        # then
        assert body == {"items": [], "count": 0, "page": 1, "page_size": 50}
    finally:
        server.terminate()
        server.wait(timeout=20)


def _children(pid: int) -> set[int]:
    """The processes `pid` started (Linux)."""
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except FileNotFoundError:
        return set()
    return {int(x) for x in text.split()}


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for its parent."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except FileNotFoundError:
        return False


def _until(condition, what: str, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds:g} s for {what}")
        time.sleep(0.2)


def _answers(port: int, token: str) -> bool:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/accounts",
                                     headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def test_serve_with_workers_runs_that_many_processes_and_replaces_one_that_dies(tmp_path):
    # given: kam serve --workers 2
    assert run(tmp_path, "user", "add", "li", "--role", "rep").returncode == 0
    token = run(tmp_path, "token", "li").stdout.split()[-1]
    port = _free_port()
    env = {**os.environ, "KAM_DATA_DIR": str(tmp_path)}
    env.pop("KAM_DATABASE_URL", None)
    server = subprocess.Popen([*KAM, "serve", "--port", str(port), "--workers", "2"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _until(lambda: _answers(port, token) and len(_children(server.pid)) == 2,
               "two processes answering")
        first = _children(server.pid)
        # when: one of them is killed
        os.kill(min(first), signal.SIGKILL)
        # then: another takes its place, and the server answers on
        _until(lambda: len(_children(server.pid)) == 2 and min(first) not in _children(server.pid),
               "a new process in place of the killed one")
        assert all(_answers(port, token) for _ in range(5))
        survivors = _children(server.pid)
        # when: the server is stopped
        server.terminate()
        output = server.communicate(timeout=30)[0]
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    # then: it ends cleanly, its processes with it, and said what happened
    assert server.returncode == 0, output
    _until(lambda: not any(_alive(pid) for pid in survivors), "the processes to end", 20)
    assert "with 2 processes of 8 threads" in output
    assert f"server process {min(first)} ended (signal SIGKILL); starting another." in output
    assert "Traceback" not in output


def test_serve_on_a_port_in_use_says_so(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        # when
        result = run(tmp_path, "serve", "--port", str(taken.getsockname()[1]), timeout=60)
    # then
    assert result.returncode == 2
    assert "cannot listen on 127.0.0.1:" in result.stderr
    assert "--port" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("option", ["--workers", "--threads"])
@pytest.mark.parametrize("value", ["0", "many"])
def test_serve_refuses_a_count_that_is_not_a_positive_number(tmp_path, option, value):
    result = run(tmp_path, "serve", option, value, timeout=60)
    assert result.returncode == 2
    assert f"argument {option}:" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_server_whose_processes_die_as_they_start_stops_and_says_so():
    # given: processes that end at once
    script = ("import sys\n"
              "from kam.core.serving import supervise\n"
              "sys.exit(supervise(lambda: None, 2, print))\n")
    # when
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, check=False)
    # then: not forking forever
    assert result.returncode == 1
    assert "server processes end as soon as they start (3 in a row" in result.stdout


def test_serve_refuses_when_deals_use_a_playbook_that_was_removed(tmp_path):
    # given: a deal on an admin's own playbook, whose file is then removed
    books = tmp_path / "playbooks"
    books.mkdir()
    shipped = Path(__file__).resolve().parent.parent / "kam/methodology/playbooks"
    text = (shipped / "milestones-5.toml").read_text(encoding="utf-8")
    (books / "own-5.toml").write_text(text.replace('key = "milestones-5"', 'key = "own-5"'),
                                      encoding="utf-8")
    assert run(tmp_path, "user", "add", "li", "--role", "rep").returncode == 0
    script = (
        "from kam.users.models import User\n"
        "from kam.accounts.services import account_create\n"
        "from kam.opportunities.services import opportunity_create\n"
        "u = User.objects.get(username='li')\n"
        "a = account_create(actor=u, name='A')\n"
        "opportunity_create(actor=u, account=a, name='D', amount=1,"
        " expected_close='2027-01-01', playbook='own-5')\n"
    )
    made = run(tmp_path, "manage", "shell", "-c", script)
    assert made.returncode == 0, made.stderr
    (books / "own-5.toml").unlink()
    # when
    result = run(tmp_path, "serve", "--port", str(_free_port()), timeout=60)
    # then
    assert result.returncode == 2
    assert "own-5/lead_confirmation (1 deals)" in result.stderr
    assert "Traceback" not in result.stderr
