"""Refusing, with ``MemoryError``, allocations larger than this machine can ever provide.

f2py fills the arrays it creates for MINPACK with zeros, which makes the kernel commit
every page at once: on Linux, whose default overcommit lets a single allocation of
nearly all memory succeed, an impossible fit would otherwise be killed by the
out-of-memory killer instead of raising.  What fits in memory and swap but not in what
is free now cannot be told apart beforehand; that is left to the system.
"""

from __future__ import annotations

import functools
import os

_GIB = 2**30
# Below this, a fit's buffers are never checked: no machine that runs Python lacks it.
UNCHECKED_BYTES = 2**28


def _meminfo_bytes(field: str) -> int | None:
    """Read one ``kB`` field of /proc/meminfo, or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                name, _, value = line.partition(":")
                if name == field:
                    return int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_limit() -> int | None:
    """Return the memory limit of this process's cgroup (v2, then v1), or None."""
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path, encoding="ascii") as limit:
                text = limit.read().strip()
        except OSError:
            continue
        if text.isdigit():
            return int(text)
    return None


@functools.cache
def memory_limit() -> int | None:
    """Return the most memory this process could ever get, in bytes, or None if unknown.

    Physical memory plus swap, or the cgroup's limit when that is lower.
    """
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # not a POSIX system that tells
        return None
    total = physical + (_meminfo_bytes("SwapTotal") or 0)
    cgroup = _cgroup_limit()
    return total if cgroup is None else min(total, cgroup)


def check_allocation(nbytes: int, what: str) -> None:
    """Raise ``MemoryError`` if ``what`` needs more than `memory_limit` bytes."""
    if nbytes < UNCHECKED_BYTES:
        return
    limit = memory_limit()
    if limit is not None and nbytes > limit:
        raise MemoryError(
            f"{what} needs {nbytes / _GIB:.1f} GiB, more than the {limit / _GIB:.1f} GiB of "
            "memory and swap that this machine can give it"
        )
