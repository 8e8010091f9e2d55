"""What Airflow would load from the output folder besides the generated files, and which of them
it would skip: copies of a generated DAG in a subfolder or a zip, `.airflowignore` patterns."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

from .header import ownership
from .swap import first_bytes

_HEAD_BYTES = 4096


def _is_ours(head: bytes | None, owner: str) -> bool:
    """Whether the first bytes of a file hold the header of `owner`'s files (edited or not)."""
    return (
        head is not None and ownership(head.decode("utf-8", "surrogateescape"), owner) != "foreign"
    )


def _copies_in_zip(path: Path, owner: str) -> list[str]:
    try:
        with zipfile.ZipFile(path) as archive:
            return [
                f"{path.name}:{info.filename}"
                for info in archive.infolist()
                if info.filename.endswith(".py")
                and _is_ours(archive.open(info).read(_HEAD_BYTES), owner)
            ]
    except (OSError, zipfile.BadZipFile, RuntimeError, ValueError):
        return []


def copies(out_dir: Path, owner: str) -> list[str]:
    """Files under `out_dir`, other than its own top-level `.py` files, that hold a DAG generated
    from the manifest of `owner`: Airflow would load each as well (paths relative to `out_dir`)."""
    found = []
    for folder, dirs, files in os.walk(out_dir):
        dirs.sort()
        here = Path(folder)
        for name in sorted(files):
            path = here / name
            relative = path.relative_to(out_dir).as_posix()
            if "__pycache__" in path.parts:
                continue
            if name.endswith(".zip") and first_bytes(str(path), 0) is not None:
                found += [
                    f"{relative.rpartition('/')[0]}/{c}".lstrip("/")
                    for c in _copies_in_zip(path, owner)
                ]
            elif (
                name.endswith(".py")
                and here != out_dir
                and _is_ours(first_bytes(str(path), _HEAD_BYTES), owner)
            ):
                found.append(relative)
    return found


def _rules(ignore_file: Path) -> list[tuple[re.Pattern[str], bool, Path | None]]:
    """The glob rules of an `.airflowignore` (Airflow's default syntax): (pattern, include,
    the folder a rule with a slash is relative to)."""
    from pathspec.patterns.gitwildmatch import GitWildMatchPattern

    rules = []
    try:
        lines = ignore_file.read_text("utf-8", "replace").split("\n")
    except OSError:
        return []
    for line in lines:
        pattern = re.sub(r"\s*#.*", "", line)
        if not pattern or pattern.strip() == "/":
            continue
        compiled = GitWildMatchPattern(pattern)
        if compiled.include is None or compiled.regex is None:
            continue
        anchored = pattern.startswith("/") or "/" in pattern.rstrip("/")
        rules.append((compiled.regex, compiled.include, ignore_file.parent if anchored else None))
    return rules


Rule = tuple[re.Pattern[str], bool, Path | None, Path]  # + the ignore file it comes from


def _hiding(path: Path, is_dir: bool, rules: list[Rule]) -> Path | None:
    """The ignore file whose rules hide `path` (the last matching rule decides), if any."""
    verdict = None
    for regex, include, relative_to, source in rules:
        relative = path.relative_to(relative_to).as_posix() if relative_to else path.name
        if regex.match(f"{relative}/" if is_dir else relative):
            verdict = source if include else None
    return verdict


def hidden(out_dir: Path, names: list[str], top: Path) -> dict[str, str]:
    """{file name: the `.airflowignore` hiding it} for the generated `names`, applying the ignore
    files as Airflow does when it reads DAGs from `top` (`out_dir` or a folder above it)."""
    chain = [out_dir, *out_dir.parents]
    chain = chain[: chain.index(top) + 1][::-1] if top in chain else [out_dir]
    rules: list[Rule] = []
    for folder, below in zip(chain, [*chain[1:], None], strict=True):
        ignore_file = folder / ".airflowignore"
        if ignore_file.is_file():
            rules += [(*rule, ignore_file) for rule in _rules(ignore_file)]
        source = _hiding(below, True, rules) if below else None
        if source is not None:  # Airflow does not descend into the output folder at all
            return {name: os.path.relpath(source, out_dir.parent) for name in names}
    return {
        name: os.path.relpath(source, out_dir.parent)
        for name in names
        if (source := _hiding(out_dir / name, False, rules)) is not None
    }
