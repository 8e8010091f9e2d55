"""Replace a folder's contents all at once (Linux): stage a hard-linked copy, exchange the two.

`replace_all` builds `.<folder>.kedro-gitops-<random>` beside the folder: every entry of the
folder hard-linked (the same files, never opened, so a FIFO is linked, not read), subfolders
recreated with their mode and owner, the new files written in as new files (never through a
link) and the removed ones unlinked. `renameat2(RENAME_EXCHANGE)` then swaps the two folders in
one step: even right after a SIGKILL the folder is the old one or the new one, never a mix. What
someone wrote into the folder while it was staged is carried over, and the old tree is removed.

Where that is impossible (not Linux, no `renameat2`, the folder is or holds a mount point, a
hard link or a folder's owner is refused) `replace_all` changes nothing and returns False; the
caller then writes file by file, each file atomically but not the set. A process whose working
directory is inside the folder keeps the old one, which is removed.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path

from .header import GENERATED

Identity = tuple[int, int, int]  # (device, inode, file type) of an entry
Seen = dict[str, dict[str, Identity]]  # {subfolder ("" or "a/b/"): {entry name: identity}}

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_GENERATED = GENERATED.encode()


def staging_prefix(folder: Path) -> str:
    """The name prefix of the staged copies of `folder`, created beside it."""
    return f".{folder.name}.kedro-gitops-"


def first_bytes(path: str, size: int) -> bytes | None:
    """The first `size` bytes of a regular file; None for anything else, which is never
    opened (a FIFO would block, a device could act) and never followed (a symlink)."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        return os.read(fd, size) if stat.S_ISREG(os.fstat(fd).st_mode) else None
    finally:
        os.close(fd)


def written_by_a_compile(path: str) -> bool:
    """Whether `path` is a regular file that a compile wrote or was writing when killed: it
    starts with a kedro-gitops header, or with a part of it (it may be empty)."""
    head = first_bytes(path, len(_GENERATED))
    return head is not None and _GENERATED.startswith(head)


def replace_all(folder: Path, new: dict[str, str], gone: Iterable[str]) -> bool:
    """Give `folder` the files `new` (name: text) and remove `gone`, all in one step. False,
    with nothing changed, when the platform or the folder does not allow it."""
    if not sys.platform.startswith("linux") or not os.access(folder, os.W_OK):
        return False
    if _has_mounts(folder):
        return False
    try:
        staging = Path(tempfile.mkdtemp(prefix=staging_prefix(folder), dir=folder.parent))
    except OSError:
        return False
    seen: Seen = {}
    ours = {*new, *gone}
    try:
        for name, text in new.items():
            _write_new(staging / name, text)
        made = _mirror(folder, staging, seen, "", ours)
        for path in made:
            _fsync(path)
        _exchange(staging, folder)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            return False
        raise
    _fsync(folder.parent)
    _carry_over(staging, folder, seen, "", ours)
    shutil.rmtree(staging, ignore_errors=True)  # if not all gone, the next compile removes it
    return True


def remove_leftovers(folder: Path) -> None:
    """Remove the staged copies a killed compile left beside `folder`, first moving into
    `folder` what only they hold that no compile wrote: it was saved there meanwhile."""
    prefix = staging_prefix(folder)
    with os.scandir(folder.parent) as entries:
        found = [e.path for e in entries if e.name.startswith(prefix)]
    for path in found:
        try:
            if stat.S_ISDIR(os.lstat(path).st_mode):
                _salvage(Path(path), folder)
                shutil.rmtree(path)
        except OSError:
            continue  # what is left stays for the next compile


def _has_mounts(folder: Path) -> bool:
    """Whether `folder` is or holds a mount point, which a staged copy cannot hold."""
    try:
        table = Path("/proc/self/mountinfo").read_bytes()
    except OSError:
        return True
    root = os.fsencode(folder)
    for line in table.splitlines():
        field = line.split(b" ")[4]
        point = re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m[1], 8)]), field)
        if point == root or point.startswith(root + b"/"):
            return True
    return False


def _identity(st: os.stat_result) -> Identity:
    return st.st_dev, st.st_ino, stat.S_IFMT(st.st_mode)


def _mirror(src: Path, dst: Path, seen: Seen, rel: str, skip: set[str]) -> list[Path]:
    """Fill `dst` with what `src` holds but `skip`: every entry but a folder hard-linked,
    folders mirrored likewise; then give `dst` the mode and owner of `src`. Records what was
    seen; returns the folders filled."""
    made = [dst]
    level = seen[rel] = {}
    with os.scandir(src) as entries:
        for entry in entries:
            st = entry.stat(follow_symlinks=False)
            level[entry.name] = _identity(st)
            if entry.name in skip:
                continue
            if stat.S_ISDIR(st.st_mode):
                (dst / entry.name).mkdir()
                made += _mirror(
                    Path(entry.path), dst / entry.name, seen, f"{rel}{entry.name}/", set()
                )
            else:
                os.link(entry.path, dst / entry.name, follow_symlinks=False)
    want, have = os.lstat(src), os.lstat(dst)
    if (have.st_uid, have.st_gid) != (want.st_uid, want.st_gid):
        os.chown(dst, want.st_uid, want.st_gid)
    os.chmod(dst, stat.S_IMODE(want.st_mode))
    return made


def _write_new(path: Path, text: str) -> None:
    """Write `text` to `path`, a new file (mode 0o644)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with open(fd, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
        f.flush()
        os.fchmod(fd, 0o644)
        os.fsync(fd)


def _fsync(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _exchange(a: Path, b: Path) -> None:
    """Swap the folders at `a` and `b` in one step."""
    import ctypes  # only when writing: its import costs a compile with nothing to write

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    c_int, c_path = ctypes.c_int, ctypes.c_char_p
    renameat2.argtypes = [c_int, c_path, c_int, c_path, ctypes.c_uint]
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE):
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(a), None, str(b))


def _carry_over(old: Path, new: Path, seen: Seen, rel: str, skip: set[str]) -> None:
    """Bring into `new` what changed in `old` after it was mirrored: entries someone added,
    replaced or removed meanwhile, except our own names `skip`."""
    before = seen.get(rel, {})
    with os.scandir(old) as entries:
        now = {e.name: _identity(e.stat(follow_symlinks=False)) for e in entries}
    for name in sorted((before.keys() | now.keys()) - skip):
        if name not in now:
            _remove(new / name)
        elif before.get(name) != now[name]:
            _remove(new / name)
            with contextlib.suppress(FileNotFoundError):  # gone again meanwhile
                os.rename(old / name, new / name)
        elif stat.S_ISDIR(now[name][2]):
            _carry_over(old / name, new / name, seen, f"{rel}{name}/", set())


def _salvage(leftover: Path, folder: Path) -> None:
    """Move into `folder` the entries only `leftover` holds, files a compile wrote excepted."""
    with os.scandir(leftover) as entries:
        for entry in entries:
            dest = folder / entry.name
            if entry.is_dir(follow_symlinks=False) and dest.is_dir() and not dest.is_symlink():
                _salvage(Path(entry.path), dest)
            elif not os.path.lexists(dest) and not written_by_a_compile(entry.path):
                os.rename(entry.path, dest)


def _remove(path: Path) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(path)
    else:
        os.unlink(path)
