"""Seccomp filters for the sandbox, compiled to classic BPF with libseccomp (through ``pyseccomp``).

Two filters, both "allow by default, refuse the dangerous": the programs judged here are ordinary
single-process Python, and a deny-list keeps every interpreter feature they use working.

* :func:`sandbox_filter` is loaded by bubblewrap (``--seccomp FD``) for everything in the sandbox, the
  runner included: no ``ptrace``/``process_vm_*``, no new namespaces, mounts, keyrings, BPF, perf events,
  ``io_uring``, kernel modules, clock or reboot calls, and sockets of the local (``AF_UNIX``) family only.
* :func:`case_filter` is stacked by the runner on each test case's child on top of it: no ``execve``, no
  new processes (``fork``, ``vfork``, ``clone`` without ``CLONE_THREAD``; ``clone3`` answers ``ENOSYS`` so
  the C library falls back to ``clone`` for threads), no sockets at all, and no signals to anyone
  (``kill``, ``tgkill``, pidfds), which matters most where there is no PID namespace (``sandbox="none"``).

A syscall of another architecture (x32, i386 ``int 0x80``) is refused by libseccomp's architecture check.
Both are compiled once per process; when libseccomp cannot be loaded both return ``None`` and the sandbox
reports itself unavailable rather than run without them.

Example:
    >>> blob = case_filter()
    >>> blob is None or len(blob) % 8 == 0
    True
"""

from __future__ import annotations

import errno
import functools
import logging
import tempfile
from typing import Any

logger = logging.getLogger(__name__)

_CLONE_THREAD = 0x00010000
_CLONE_NAMESPACES = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000)
_AF_UNIX = 1

# Refused for everything in the sandbox (EPERM). Names libseccomp does not know are skipped.
_DENIED = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "kcmp",
    "pidfd_getfd",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "unshare",
    "setns",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "bpf",
    "perf_event_open",
    "userfaultfd",
    "keyctl",
    "add_key",
    "request_key",
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "reboot",
    "swapon",
    "swapoff",
    "acct",
    "quotactl",
    "syslog",
    "iopl",
    "ioperm",
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "open_by_handle_at",
    "name_to_handle_at",
    "lookup_dcookie",
    "fanotify_init",
    "vhangup",
)
# Additionally refused for a test case's child.
_CASE_DENIED = (
    "execve",
    "execveat",
    "fork",
    "vfork",
    "socketpair",
    "kill",
    "tkill",
    "tgkill",
    "pidfd_open",
    "pidfd_send_signal",
    "rt_sigqueueinfo",
    "rt_tgsigqueueinfo",
)


def _seccomp() -> Any:
    try:
        import pyseccomp
    except (ImportError, OSError, AttributeError) as exc:  # no libseccomp on this machine
        logger.warning("libseccomp is not available: %s", exc)
        return None
    return pyseccomp


def _deny(flt: Any, lib: Any, names: tuple[str, ...], code: int = errno.EPERM) -> None:
    for name in names:
        try:
            flt.add_rule(lib.ERRNO(code), name)
        except (OSError, ValueError, RuntimeError):
            logger.debug("libseccomp does not know the syscall %s", name)


def _compile(flt: Any) -> bytes:
    with tempfile.TemporaryFile() as handle:
        flt.export_bpf(handle)
        handle.seek(0)
        return handle.read()


@functools.cache
def sandbox_filter() -> bytes | None:
    """The filter for the whole sandbox, as BPF bytes for bubblewrap's ``--seccomp`` (None: no libseccomp)."""
    lib = _seccomp()
    if lib is None:
        return None
    flt = lib.SyscallFilter(lib.ALLOW)
    _deny(flt, lib, _DENIED)
    flt.add_rule(lib.ERRNO(errno.ENOSYS), "clone3")
    for flag in _CLONE_NAMESPACES:
        flt.add_rule(lib.ERRNO(errno.EPERM), "clone", lib.Arg(0, lib.MASKED_EQ, flag, flag))
    flt.add_rule(lib.ERRNO(errno.EACCES), "socket", lib.Arg(0, lib.NE, _AF_UNIX))
    return _compile(flt)


@functools.cache
def case_filter() -> bytes | None:
    """The filter a test case's child stacks before running the program (None: no libseccomp)."""
    lib = _seccomp()
    if lib is None:
        return None
    flt = lib.SyscallFilter(lib.ALLOW)
    _deny(flt, lib, _DENIED + _CASE_DENIED)
    flt.add_rule(lib.ERRNO(errno.ENOSYS), "clone3")
    flt.add_rule(lib.ERRNO(errno.EPERM), "clone", lib.Arg(0, lib.MASKED_EQ, _CLONE_THREAD, 0))
    flt.add_rule(lib.ERRNO(errno.EACCES), "socket")
    return _compile(flt)
