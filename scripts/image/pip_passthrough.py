"""Hand the build host's pip settings (indexes, wheel directories, CA bundle) to an image build.

pip inside an image build sees none of the host's configuration, so a wheel directory or local index the host
relies on (for instance the CPU build of torch on disk) or a CA bundle for a TLS-inspecting proxy would be
missing. This reads `pip config list` from the host and writes, under a build scratch directory OUT that the
builder mounts over the image's /tmp during RUN steps (and only then: nothing of it lands in a layer):

- OUT/.config/pip/pip.conf: the host's settings, local paths rewritten under /tmp/build-host (pip reads it
  because the Dockerfiles set HOME=/tmp);
- and prints one bind mount per line, ``HOST_PATH:/tmp/build-host/HOST_PATH:ro``, for the builder's -v flags.

    python3 -m pip config list | python3 scripts/image/pip_passthrough.py OUT
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path, PurePosixPath
from urllib.parse import quote, unquote, urlsplit

MOUNT_ROOT = PurePosixPath("/tmp/build-host")

# Settings worth passing on, by kind. Anything else (cache dirs, --user, --target...) concerns the host only.
INDEX_KEYS = ("index-url", "extra-index-url")
PATH_KEYS = ("find-links", "cert", "client-cert", "constraint")
PLAIN_KEYS = (
    "trusted-host",
    "timeout",
    "default-timeout",
    "retries",
    "proxy",
    "prefer-binary",
    "only-binary",
)
# Later sections win: pip applies [install] over [global], and PIP_* variables over both.
SECTION_ORDER = ("global", "install", ":env:")


def parse_config_list(text: str) -> dict[str, str]:
    """Merge the lines of `pip config list` into one mapping, the way pip applies them to `pip install`.

    >>> parse_config_list("global.find-links='/a'\\n:env:.find-links='/b'\\nglobal.cert='/c.pem'\\n")
    {'find-links': '/b', 'cert': '/c.pem'}
    """
    by_section: dict[str, dict[str, str]] = {section: {} for section in SECTION_ORDER}
    for line in text.splitlines():
        name, sep, raw_value = line.partition("=")
        section, dot, key = name.rpartition(".")
        if not (sep and dot) or section not in by_section:
            continue
        value = ast.literal_eval(raw_value)  # pip prints repr() of a plain string
        if isinstance(value, str):
            by_section[section][key] = value
    merged: dict[str, str] = {}
    for section in SECTION_ORDER:
        merged.update(by_section[section])
    return merged


def local_path(token: str) -> PurePosixPath | None:
    """The local path a setting's value names (a file:// URL or an absolute path), else None.

    >>> local_path("file:///srv/index/simple"), local_path("/srv/wheels"), local_path("https://pypi.org/simple")
    (PurePosixPath('/srv/index/simple'), PurePosixPath('/srv/wheels'), None)
    """
    if token.startswith("file://"):
        return PurePosixPath(unquote(urlsplit(token).path))
    if token.startswith("/"):
        return PurePosixPath(token)
    return None


def in_build(path: PurePosixPath) -> PurePosixPath:
    """Where a host path is mounted during the build.

    >>> in_build(PurePosixPath("/srv/wheels"))
    PurePosixPath('/tmp/build-host/srv/wheels')
    """
    return MOUNT_ROOT / path.relative_to("/")


def rewrite(settings: dict[str, str], exists: dict[str, bool]) -> tuple[dict[str, str], list[PurePosixPath]]:
    """Rewrite local paths to their in-build mounts; return the settings and the host paths to mount.

    A local index (``file://.../simple``) is mounted from its parent directory, since its project pages may
    link to files beside it (``../../files/x.whl``). Local paths missing on the host are dropped.

    >>> rewrite({"find-links": "/w /gone", "extra-index-url": "file:///p/simple https://x/simple"},
    ...         {"/w": True, "/gone": False, "/p/simple": True})
    ({'find-links': '/tmp/build-host/w', 'extra-index-url': 'file:///tmp/build-host/p/simple https://x/simple'}, [PurePosixPath('/w'), PurePosixPath('/p')])
    """
    rewritten: dict[str, str] = {}
    mounts: list[PurePosixPath] = []
    for key, value in settings.items():
        if key in PLAIN_KEYS:
            rewritten[key] = value
            continue
        if key not in INDEX_KEYS + PATH_KEYS:
            continue
        kept: list[str] = []
        for token in value.split():
            path = local_path(token)
            if path is None:
                kept.append(token)
                continue
            if not exists.get(str(path), False):
                continue
            mounts.append(path.parent if key in INDEX_KEYS else path)
            moved = in_build(path)
            kept.append(f"file://{quote(str(moved))}" if token.startswith("file://") else str(moved))
        if kept:
            rewritten[key] = " ".join(kept)
    return rewritten, outermost(mounts)


def outermost(paths: list[PurePosixPath]) -> list[PurePosixPath]:
    """The paths with duplicates and those inside another one left out, in first-seen order.

    >>> outermost([PurePosixPath("/a/b"), PurePosixPath("/a"), PurePosixPath("/c"), PurePosixPath("/c")])
    [PurePosixPath('/a'), PurePosixPath('/c')]
    """
    unique = list(dict.fromkeys(paths))
    return [
        path for path in unique if not any(other != path and path.is_relative_to(other) for other in unique)
    ]


def render(settings: dict[str, str]) -> str:
    """The pip.conf text for the settings.

    >>> print(render({"find-links": "/tmp/build-host/w"}), end="")
    [global]
    find-links = /tmp/build-host/w
    """
    return "[global]\n" + "".join(f"{key} = {value}\n" for key, value in settings.items())


def main(argv: list[str]) -> None:
    """Write OUT/.config/pip/pip.conf from `pip config list` on stdin and print the mounts."""
    if len(argv) != 1:
        sys.exit("usage: python3 -m pip config list | pip_passthrough.py OUT_DIR")
    out = Path(argv[0])
    settings = parse_config_list(sys.stdin.read())
    tokens = [local_path(token) for value in settings.values() for token in value.split()]
    exists = {str(path): Path(path).exists() for path in tokens if path is not None}
    rewritten, mounts = rewrite(settings, exists)
    config = out / ".config" / "pip" / "pip.conf"  # HOME=/tmp in the build, and OUT is its /tmp
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(render(rewritten))
    for path in mounts:
        print(f"{path}:{in_build(path)}:ro")


if __name__ == "__main__":
    main(sys.argv[1:])
