"""Every code block in README.md and docs/ runs, as a reader would run it.

Blocks are read from Markdown fences and reStructuredText ``code-block``
directives. ``docs/contributing.md`` describes the markers; in short, the HTML
comment on the line before a Markdown fence says what to do with it:

* ``<!-- not-runnable: why -->``: skip it (the reason is required). In
  reStructuredText, ``:class: not-runnable``; in either, a first line
  ``# not runnable: why`` does the same.
* ``<!-- file: NAME -->``: save the block as NAME in the page's working
  folder (a later block with the same NAME is appended). A ``.py`` file is
  then run as a module (``__name__`` is not ``"__main__"``), a ``.json`` file
  parsed; ``test_*.py`` files are run by a shell block of the page that calls
  pytest.
* ``<!-- runs-until-stopped -->``: a shell command that serves until it is
  stopped. It is started in the background, must be listening on the port it
  names (``--port N`` or ``--bind HOST:N``) within a few seconds, and is
  stopped when the page is done.

Other Python blocks run in order in one namespace per page (like doctest).
Other shell blocks (``sh``, ``bash``) run with ``bash -e`` in the page's
working folder and must exit 0. In a ``console`` block each ``$ `` line is a
command; the lines after it are its expected output (stdout and stderr), where
``...`` matches anything, as in doctest. Blocks in other languages (``nginx``,
``text``, none) are not code to run. Snippets reach only 127.0.0.1: each
TaskRouter they need is a local sandbox.
"""

from __future__ import annotations

import doctest
import json
import os
import re
import runpy
import shlex
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(
    [ROOT / "README.md"]
    + [p for p in DOCS.rglob("*.md") if "_build" not in p.parts]
    + [p for p in DOCS.rglob("*.rst") if "_build" not in p.parts]
)

PYTHON = {"python", "py", "python3"}
SHELL = {"sh", "bash", "shell", "console"}
SHELL_TIMEOUT = 45.0
SERVER_START_TIMEOUT = 15.0


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the first line of code
    language: str
    code: str
    marker: str = ""  # "", "not-runnable: ...", "file: NAME", "runs-until-stopped"

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"

    @property
    def skip_reason(self) -> str | None:
        if self.marker.startswith("not-runnable"):
            return self.marker.partition(":")[2].strip()
        first = self.code.lstrip().splitlines()[0] if self.code.strip() else ""
        if first.lower().startswith("# not runnable:"):
            return first.partition(":")[2].strip()
        return None

    @property
    def file_name(self) -> str | None:
        if self.marker.startswith("file:"):
            return self.marker.partition(":")[2].strip()
        return None


_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")
_MARKER = re.compile(r"^\s*<!--\s*(?P<marker>[a-z-]+(?::.*?)?)\s*-->\s*$")
_RST_DIRECTIVE = re.compile(
    r"^(?P<indent>\s*)\.\. (?:code-block|code|sourcecode)::\s*(?P<lang>\S*)"
)


def markdown_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, with the marker comment before each."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        match = _FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        fence = match["fence"]
        info = match["info"].strip()
        # MyST directives ({toctree}, {eval-rst}, ...) are not code.
        language = "" if info.startswith("{") else (info.split() or [""])[0].lower()
        marker = ""
        if index > 0:
            found = _MARKER.match(lines[index - 1])
            if found:
                marker = found["marker"].strip()
        start = index + 1
        end = start
        while end < len(lines) and not lines[end].strip().startswith(fence):
            end += 1
        code = "\n".join(lines[start:end]) + "\n"
        if not info.startswith("{"):
            blocks.append(Block(path, start + 1, language, code, marker))
        index = end + 1
    return blocks


def rst_blocks(path: Path) -> list[Block]:
    """The ``code-block`` directives of a reStructuredText page."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        match = _RST_DIRECTIVE.match(lines[index])
        if not match:
            index += 1
            continue
        indent = len(match["indent"])
        options: list[str] = []
        index += 1
        while index < len(lines) and lines[index].strip().startswith(":"):
            options.append(lines[index].strip())
            index += 1
        body: list[str] = []
        start = index + 1
        while index < len(lines) and (
            not lines[index].strip() or len(lines[index]) - len(lines[index].lstrip()) > indent
        ):
            body.append(lines[index])
            index += 1
        marker = (
            "not-runnable: marked :class: not-runnable"
            if any("not-runnable" in option for option in options if option.startswith(":class:"))
            else ""
        )
        code = textwrap.dedent("\n".join(body)).strip("\n") + "\n"
        blocks.append(Block(path, start, match["lang"].lower(), code, marker))
    return blocks


def page_blocks(path: Path) -> list[Block]:
    return rst_blocks(path) if path.suffix == ".rst" else markdown_blocks(path)


def shell_commands(block: Block) -> str:
    """The shell script of a block: a ``console`` block's ``$ `` lines."""
    if block.language != "console":
        return block.code
    return "".join(command for command, _ in console_steps(block))


def console_steps(block: Block) -> list[tuple[str, str]]:
    """A ``console`` block's commands (``$ `` lines), each with the output shown after it."""
    steps: list[tuple[str, str]] = []
    for line in block.code.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:] + "\n", ""))
        elif steps and steps[-1][0].endswith("\\\n"):
            continued = line[2:] if line.startswith("> ") else line
            steps[-1] = (steps[-1][0] + continued + "\n", "")
        elif steps:
            steps[-1] = (steps[-1][0], steps[-1][1] + line + "\n")
    return steps


# -- running a page ------------------------------------------------------------------------------


def _environment(workdir: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "TASKROUTER_", "TWILIO_", "PYTEST_", "COV_"))
        and key.lower() not in ("http_proxy", "https_proxy", "all_proxy")
    }
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["PYTHONPATH"] = str(workdir)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    # pytest as the reader runs it, less the seconds spent loading this project's other
    # plugins (hypothesis, playwright): only the package's own plugin is loaded.
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTEST_PLUGINS"] = "taskrouter_flask.pytest_plugin"
    return env


def _port_of(command: str) -> int | None:
    found = re.search(r"--port[ =](\d+)|--bind[ =]\S*:(\d+)", command)
    if not found:
        return None
    return int(found.group(1) or found.group(2))


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class PageRun:
    """The state of one page's run: its folder, namespace and background servers."""

    def __init__(self, path: Path, workdir: Path) -> None:
        self.path = path
        self.workdir = workdir
        self.env = _environment(workdir)
        self.namespace: dict[str, object] = {"__name__": "__docs__"}
        self.files: dict[str, str] = {}
        self.servers: list[subprocess.Popen[bytes]] = []
        self.ran_pytest = False

    def run(self, block: Block) -> None:
        if block.file_name:
            self.save(block)
        elif block.language in PYTHON:
            self.python(block)
        elif block.language in SHELL:
            if block.marker == "runs-until-stopped":
                self.serve(block)
            else:
                self.shell(block)

    def save(self, block: Block) -> None:
        name = block.file_name
        assert name and "/" not in name, f"{block.where}: file names are plain names"
        before = self.files.get(name, "")
        joint = "\n\n" if before and name.endswith(".py") else ""  # two blank lines, as PEP 8
        self.files[name] = before + joint + block.code
        target = self.workdir / name
        target.write_text(self.files[name], encoding="utf-8")
        if name.endswith(".json"):
            json.loads(self.files[name])
        elif name.endswith(".py") and not name.startswith("test_"):
            compile(self.files[name], f"{block.where} ({name})", "exec")
            runpy.run_path(str(target), run_name=f"docs_{name[:-3]}")

    def python(self, block: Block) -> None:
        before = set(self.namespace)
        exec(compile(block.code, block.where, "exec"), self.namespace)  # noqa: S102
        tests = [n for n in set(self.namespace) - before if n.startswith("test_")]
        assert not tests, (
            f"{block.where}: defines {tests}; put tests in a `<!-- file: test_....py -->` block"
            " and run them with pytest from a shell block, so that they run as a reader runs them"
        )

    def shell(self, block: Block) -> None:
        if block.language == "console":
            for command, expected in console_steps(block):
                exported = re.fullmatch(r"export (\w+)=(\S*)\n", command)
                if exported:  # as in the reader's shell, for the commands that follow
                    self.env[exported[1]] = shlex.split(exported[2])[0] if exported[2] else ""
                else:
                    self.command(block, command, expected)
        else:
            self.command(block, block.code, None)

    def command(self, block: Block, script: str, expected: str | None) -> None:
        self.ran_pytest = self.ran_pytest or "pytest" in script
        result = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", script],
            cwd=self.workdir,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=SHELL_TIMEOUT,
            stdin=subprocess.DEVNULL,
        )
        output = result.stdout.decode(errors="replace")
        assert result.returncode == 0, (
            f"{block.where}: exit {result.returncode}\n--- script\n{script}\n--- output\n{output}"
        )
        if expected:
            checker = doctest.OutputChecker()
            flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
            assert checker.check_output(expected, output, flags), (
                f"{block.where}: `{script.strip()}` printed\n{output}\nexpected\n{expected}"
            )

    def serve(self, block: Block) -> None:
        script = shell_commands(block)
        port = _port_of(script)
        assert port is not None, f"{block.where}: a server block must name its --port or --bind"
        assert not _listening(port), f"{block.where}: port {port} is already in use"
        log = self.workdir / f"server-{block.line}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                ["bash", "-e", "-c", script],
                cwd=self.workdir,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.servers.append(process)
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while not _listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                output = log.read_text(errors="replace")
                pytest.fail(f"{block.where}: the server did not listen on {port}\n{output}")
            time.sleep(0.05)

    def close(self) -> None:
        for process in self.servers:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
        from taskrouter_flask.sandbox.server import Sandbox

        for value in self.namespace.values():
            if isinstance(value, Sandbox) and not value._stop.is_set():
                value.stop()


def _forget_modules(folder: Path) -> None:
    """Drop modules imported from a page's folder, so pages with an ``app.py`` stay apart."""
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None) or ""
        if file.startswith(str(folder)):
            del sys.modules[name]


@pytest.fixture
def page_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PageRun]:
    for key in list(os.environ):
        if key.startswith(("FLASK_", "TASKROUTER_")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    run = PageRun(Path(), tmp_path)
    try:
        yield run
    finally:
        run.close()
        _forget_modules(tmp_path)


@pytest.mark.parametrize("path", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_code_block_runs(path: Path, page_run: PageRun) -> None:
    page_run.path = path
    blocks = page_blocks(path)
    for block in blocks:
        reason = block.skip_reason
        if reason is not None:
            assert reason, f"{block.where}: say why the block is not runnable"
            continue
        page_run.run(block)
    tests = [name for name in page_run.files if name.startswith("test_")]
    assert not tests or page_run.ran_pytest, (
        f"{path.relative_to(ROOT)}: {tests} are never run; add a shell block that runs pytest"
    )


# -- the harness itself --------------------------------------------------------------------------


def test_markers_are_read(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- not-runnable: needs Twilio -->\n```python\nraise SystemExit\n```\n\n"
        "<!-- file: app.py -->\n```python\nx = 1\n```\n\n"
        "```{toctree}\nindex\n```\n\n"
        "```sh\necho hi\n```\n"
    )
    blocks = markdown_blocks(page)
    assert [b.language for b in blocks] == ["python", "python", "sh"]
    assert blocks[0].skip_reason == "needs Twilio"
    assert blocks[1].file_name == "app.py"
    assert blocks[2].skip_reason is None and blocks[2].line == 16


def test_rst_code_blocks_are_read(tmp_path: Path) -> None:
    page = tmp_path / "page.rst"
    page.write_text(
        "Title\n=====\n\n.. code-block:: python\n   :class: not-runnable\n\n   import nothing\n\n"
        ".. code-block:: python\n\n   x = 1\n   y = x + 1\n\nText.\n"
    )
    blocks = rst_blocks(page)
    assert [b.code for b in blocks] == ["import nothing\n", "x = 1\ny = x + 1\n"]
    assert blocks[0].skip_reason and blocks[1].skip_reason is None


def test_every_page_has_been_found() -> None:
    names = {str(p.relative_to(ROOT)) for p in PAGES}
    assert {"README.md", "docs/architecture.md", "docs/sandbox-fidelity.md"} <= names
    assert "docs/index.md" in names


# -- README's two commands and .ci/run -----------------------------------------------------------

EXAMPLE_COMMAND = 'pip install -e ".[example]" && python -m example_app'
TEST_COMMAND = 'pip install -e ".[dev]" && python -m pytest'


def _readme_commands() -> list[str]:
    """The first two code blocks of README: run the example, run the tests."""
    blocks = markdown_blocks(ROOT / "README.md")
    return [block.code.strip() for block in blocks[:2]]


def test_readme_gives_the_two_commands_first() -> None:
    assert _readme_commands() == [EXAMPLE_COMMAND, TEST_COMMAND]


def test_ci_runs_readme_test_command_exactly() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [line.strip() for line in ci if line.strip() and not line.startswith("#")]
    readme_test = _readme_commands()[1]
    # The test command is .ci/run's last word on the tests: the same string, on its own line.
    assert readme_test in commands
    assert commands.count(readme_test) == 1
    # README's install of the example is the CI install without the extras.
    example_install = _readme_commands()[0].split(" && ")[0]
    ci_installs = [c for c in commands if c.startswith("pip install -e ")]
    assert ci_installs, ".ci/run installs the package"
    for install in ci_installs:
        assert shlex.split(install)[:3] == shlex.split(example_install)[:3]
        assert re.fullmatch(r'"?\.(\[[a-z,]+\])?"?', shlex.split(install.split(" && ")[0])[3])
