"""Give back the clean pages a shared library touched while loading (Linux).

chDB is one 550 MB library. Loading it reads its relocation tables and runs the
static initialisers of all of ClickHouse, which leaves about 200 MB of its file
resident in the desk's RSS, though the tick store's steady work (inserts, bar
queries) runs in well under half of that. Those pages are clean copies of the file:
dropping them from this process's page tables (``MADV_DONTNEED``) is what the
kernel itself does under memory pressure, and any page still needed is faulted
back from the page cache on first use.

Only mappings that can be dropped without losing anything are touched: not
writable, and holding no anonymous (copy-on-write) pages, i.e. nothing but
unmodified file contents.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import sys
from pathlib import Path

MADV_DONTNEED = 4
_MAPPING = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+\s*(.*)$")


def clean_mappings(path_fragment: str, smaps: str) -> list[tuple[int, int, int]]:
    """``(start, end, resident_kb)`` of each read-only, unmodified mapping of a file named like ``path_fragment``."""
    found: list[tuple[int, int, int]] = []
    current: tuple[int, int] | None = None
    rss = anonymous = 0

    def close() -> None:
        if current is not None and anonymous == 0 and rss > 0:
            found.append((current[0], current[1], rss))

    for line in smaps.splitlines():
        match = _MAPPING.match(line)
        if match:
            close()
            start, end, perms, path = match.groups()
            wanted = path_fragment in Path(path).name and "w" not in perms and perms[0] == "r"
            current = (int(start, 16), int(end, 16)) if wanted else None
            rss = anonymous = 0
        elif current is not None:
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Anonymous:"):
                anonymous = int(line.split()[1])
    close()
    return found


def release_clean_pages(path_fragment: str) -> int:
    """Drop the resident clean pages of libraries named like ``path_fragment``; returns bytes released.

    Does nothing (returns 0) off Linux or if ``/proc/self/smaps`` cannot be read.
    """
    if not sys.platform.startswith("linux"):
        return 0
    try:
        smaps = Path("/proc/self/smaps").read_text()
    except OSError:
        return 0
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    madvise = libc.madvise
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madvise.restype = ctypes.c_int
    released = 0
    for start, end, rss_kb in clean_mappings(path_fragment, smaps):
        if madvise(start, end - start, MADV_DONTNEED) == 0:
            released += rss_kb * 1024
    return released
