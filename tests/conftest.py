"""Shared fixtures: templates, card inputs, PNG decoding and pixel comparison."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from PIL import Image, ImageChops, ImageStat

from social_cards import CardInput, Template, load_template
from social_cards.template import BUILTIN_TEMPLATES_DIR

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"

MULTISCRIPT_TITLE = "Olá, mundo 😃 — 你好世界 — مرحبا بالعالم"


def decode(data: bytes) -> Image.Image:
    """Decode card bytes for real (verifying the file), as RGB."""
    with Image.open(io.BytesIO(data)) as probe:
        probe.verify()
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.convert("RGB")


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute per-channel difference, 0 (same) to 255."""
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    return sum(ImageStat.Stat(diff).mean) / 3


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test (and every process it starts) uses its own cache folder unless it names one."""
    folder = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("SOCIAL_CARDS_CACHE_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def default_template() -> Template:
    return load_template("default")


@pytest.fixture
def card() -> CardInput:
    return CardInput(
        title="How to configure the search plugin",
        description="Everything about indexing large sites",
        site_name="Example Docs",
        options=CardInput.options_from({"accent": "#ff5500"}),
    )


@pytest.fixture
def template_copy(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a built-in template into a temporary folder that a test may change."""

    def copy(name: str = "default") -> Path:
        target = tmp_path / f"tpl-{name}"
        shutil.copytree(BUILTIN_TEMPLATES_DIR / name, target)
        return target

    return copy


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed command line in a real process."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "social_cards", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=120,
        check=False,
    )


def hostile_text() -> SearchStrategy[str]:
    """Text as chat logs and generated titles bring it: any character, and the pieces that break tools."""
    pieces = st.sampled_from(
        [
            "\x00", "\x1b[31m", "\r\n", "\ud800", "\udfff", "\u202e", "\u2066", "\u200b", "\u200d", "\ufeff",
            "👨\u200d👩\u200d👧\u200d👦", "🏳️\u200d🌈", "🇧🇷", "e\u0301\u0301\u0301", "{{ 7 * 7 }}", "{% raw %}",
            "{{ ''.__class__.__mro__ }}", "<script>alert(1)</script>", "<svg onload=x>", '"><img src=x>', "&amp;",
            "**b**", "[a](b)", "你好世界", "مرحبا بالعالم", "שלום", "ไทย", "x" * 300, " ", "\t",
        ]
    )  # fmt: skip
    return st.lists(st.one_of(pieces, st.text(alphabet=st.characters(codec=None), max_size=40)), max_size=12).map(
        "".join
    )


def descendants(pid: int) -> set[int]:
    """The processes below ``pid`` (Linux: each thread's ``children`` file)."""
    found: set[int] = set()
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return found
    for task in tasks:
        try:
            children = {int(c) for c in (task / "children").read_text().split()}
        except OSError:
            continue
        for child in children - found:
            found |= {child} | descendants(child)
    return found


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie nobody has reaped does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


# --- real servers for the shared tier -----------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} ended at start (exit {process.returncode})")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within 30 s")


def start_s3_server() -> tuple[subprocess.Popen[bytes], str]:
    """moto's S3-compatible server on a free port of 127.0.0.1: the process and its address."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _wait_for(port, process, "moto's S3 server")
    return process, f"http://127.0.0.1:{port}"


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    process, address = start_s3_server()
    yield address
    stop(process)


def s3_bucket(address: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new bucket on the server at ``address``, with the environment that reaches it; its tier URL."""
    bucket = f"cards-{uuid.uuid4().hex[:12]}"
    urllib.request.urlopen(urllib.request.Request(f"{address}/{bucket}", method="PUT"), timeout=10).close()
    for name, value in {
        "AWS_ENDPOINT_URL": address, "AWS_ACCESS_KEY_ID": "test-key-id", "AWS_SECRET_ACCESS_KEY": "test-secret-key",
        "AWS_REGION": "us-east-1",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    return f"s3://{bucket}/team"


@pytest.fixture
def s3_tier(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh S3 bucket on the session's server: its tier URL."""
    return s3_bucket(s3_server, monkeypatch)


_NGINX_CONF = """daemon off;
{user}
worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy; fastcgi_temp_path {root}/fcgi; uwsgi_temp_path {root}/uwsgi; scgi_temp_path {root}/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {root}/data;
    client_max_body_size 16m;
    location /cache/ {{
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }}
  }}
}}
"""


def start_webdav_server(root: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    """Debian's nginx with its WebDAV module on a free port, kept in ``root``: the process, the cache's base
    address and its folder on disk."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    (root / "data/cache").mkdir(parents=True)
    port = _free_port()
    user = "user root;" if os.geteuid() == 0 else ""
    (root / "nginx.conf").write_text(_NGINX_CONF.format(root=root, port=port, user=user))
    process = subprocess.Popen(
        [nginx, "-c", str(root / "nginx.conf"), "-p", str(root), "-e", str(root / "error.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    _wait_for(port, process, "nginx")
    return process, f"http://127.0.0.1:{port}/cache", root / "data/cache"


@pytest.fixture(scope="session")
def webdav_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """nginx's WebDAV cache for the session: its base address and its folder on disk."""
    process, address, folder = start_webdav_server(tmp_path_factory.mktemp("nginx"))
    yield address, folder
    stop(process)


@pytest.fixture
def http_tier(webdav_server: tuple[str, Path]) -> str:
    """A fresh folder of the session's nginx WebDAV cache: its tier URL."""
    return f"{webdav_server[0]}/{uuid.uuid4().hex[:12]}"


@pytest.fixture(params=["s3", "http"])
def tier(request: pytest.FixtureRequest) -> str:
    """Each engine in turn: an S3 bucket on moto's server, a folder of nginx's WebDAV cache."""
    return str(request.getfixturevalue(f"{request.param}_tier"))
