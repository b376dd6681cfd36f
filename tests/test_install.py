"""The README's commands from a fresh clone in a fresh venv: the light install (no torch)
serves the week sample as the main job says. It needs the package registry, as CI has."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conftest import SHARED, free_port, wait_for

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> dict[str, str]:
    """The commands at the top of the README, by the comment that ends their line."""
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block, "the README starts with a bash block of its commands"
    lines = (
        re.match(r"(.+?)\s+#\s*(set up|main job|tests)\b", line) for line in block[1].split("\n")
    )
    return {m[2]: m[1] for m in lines if m}


def test_the_readme_starts_with_its_three_commands() -> None:
    commands = readme_commands()
    assert list(commands) == ["set up", "main job", "tests"]
    assert commands["set up"].startswith("pip install -e ")


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A clone of this checkout's last commit with the shared data beside it, as in a real
    checkout, and a new venv with ``pip install -e .`` (what running paperfeed needs)."""
    base = tmp_path_factory.mktemp("fresh")
    (base / "shared").symlink_to(SHARED.parent)
    clone = base / "paperfeed"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--disable-pip-version-check", "-e", "."], cwd=clone, check=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PAPERFEED_", "VIRTUAL_ENV", "PYTHON", "PIP_"))
    }
    env.update(
        PATH=f"{venv / 'bin'}:{env['PATH']}",
        PAPERFEED_HOME=str(base / "home"),
        VIRTUAL_ENV=str(venv),
    )
    return clone, env


def test_the_light_install_has_no_torch(fresh: tuple[Path, dict[str, str]]) -> None:
    clone, env = fresh
    listed = subprocess.run(
        ["pip", "list", "--format", "json"], cwd=clone, env=env, capture_output=True, check=True
    )
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "paperfeed" in names
    assert not names & {"torch", "sentence-transformers", "transformers"}
    assert not [name for name in names if name.startswith("nvidia-")]


def test_the_main_job_serves_a_full_day_and_embeds_without_torch(
    fresh: tuple[Path, dict[str, str]],
) -> None:
    clone, env = fresh
    port = free_port()
    main_job = f"{readme_commands()['main job']} --port {port}"
    log = clone / "main-job.log"  # a file, not a pipe: nobody reads it until the end
    with log.open("w") as output:
        server = subprocess.Popen(
            ["bash", "-c", main_job],
            cwd=clone,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    site = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        assert server.poll() is None, log.read_text()
        try:
            return httpx.get(f"{site}/papers", timeout=5).status_code == 200
        except httpx.TransportError:
            return False

    def embedding() -> bool:
        stats = subprocess.run(
            ["paperfeed", "stats", "--json"], cwd=clone, env=env, capture_output=True
        )
        return stats.returncode == 0 and json.loads(stats.stdout)["embedded"] > 0

    try:
        wait_for(serving, timeout=120, every=0.5)
        day = httpx.get(f"{site}/papers").text
        assert re.search(r"\b[1-9]\d\d papers\b", day), "a full day of the week sample"
        found = httpx.get(f"{site}/search", params={"q": "language models"}).text
        assert "No papers match" not in found
        wait_for(embedding, timeout=180, every=2)  # the worker's model runs without torch
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    output = log.read_text()
    assert "Traceback" not in output and "ERROR" not in output, output
