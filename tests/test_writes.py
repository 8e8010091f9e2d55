"""Writing the output folder on a real filesystem: all at once even when the compile is killed,
one compile at a time, what a killed compile left removed, nothing of anyone else's touched."""

from __future__ import annotations

import fcntl
import json
import os
import random
import re
import select
import stat
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from kedro_gitops import output
from kedro_gitops.header import owner_line, ownership, stamp

MANIFEST, NIGHTLY = "pipelines.deploy.yaml", "nightly.deploy.yaml"
ROUNDS = int(os.environ.get("KEDRO_GITOPS_CRASH_ROUNDS", "50"))
TEMP_FILE = re.compile(r"\.[^/]+\.py\.[a-z0-9_]{8}")

# A compile's writing step alone: the generations in the JSON file argv[1] names, written in
# turn (forever with "loop"), after printing "ready".
CHILD = r"""
import json, sys
from pathlib import Path
from kedro_gitops import output
from kedro_gitops.diagnostics import CompileError
from kedro_gitops.header import owner_line

spec = json.loads(Path(sys.argv[1]).read_text())
output.LOCK_TIMEOUT = spec["lock_timeout"]
owner = owner_line(spec["manifest"])
print("ready", flush=True)
try:
    while True:
        for files in spec["generations"]:
            output.write(files, Path(spec["folder"]), owner, spec["manifest"])
        if not spec["loop"]:
            break
except CompileError as exc:
    print(exc, file=sys.stderr)
    sys.exit(2)
"""


def generation(tag: str, numbers: range, manifest: str = MANIFEST) -> dict[str, str]:
    """Generated files of a few KB each, their text telling the generation apart."""
    body = f"GENERATION = {tag!r}\n" + "step = 1\n" * 300
    prefix = "dag" if manifest == MANIFEST else "nightly"
    return {f"{prefix}_{i:03d}.py": stamp(body, manifest, "0123456789abcdef") for i in numbers}


def spawn(
    folder: Path,
    generations: list[dict[str, str]],
    *,
    manifest: str = MANIFEST,
    loop: bool = False,
    lock_timeout: float = 120.0,
) -> subprocess.Popen[str]:
    spec = folder.parent / f".spec-{time.monotonic_ns()}.json"
    data = {"folder": str(folder), "manifest": manifest, "loop": loop}
    spec.write_text(json.dumps({**data, "generations": generations, "lock_timeout": lock_timeout}))
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


def ours(folder: Path, manifest: str = MANIFEST) -> dict[str, str]:
    """The files of `folder` generated from `manifest`."""
    owner = owner_line(manifest)
    found = {}
    for path in folder.glob("*.py"):
        if path.is_file() and not path.is_symlink():
            text = path.read_text()
            if ownership(text, owner) != "foreign":
                found[path.name] = text
    return found


def others(folder: Path) -> dict[str, tuple[int, int, bytes]]:
    """Every entry of `folder` not generated from MANIFEST: {path: (mode, inode, contents)}."""
    found, skip = {}, {folder / name for name in ours(folder)}
    for path in sorted(folder.rglob("*")):
        st = path.lstat()
        if path in skip:
            continue
        if stat.S_ISREG(st.st_mode):
            found[str(path.relative_to(folder))] = (st.st_mode, st.st_ino, path.read_bytes())
        elif stat.S_ISLNK(st.st_mode):
            found[str(path.relative_to(folder))] = (
                st.st_mode,
                st.st_ino,
                os.readlink(path).encode(),
            )
        else:
            found[str(path.relative_to(folder))] = (st.st_mode, 0, b"")
    return found


def leftovers(folder: Path) -> list[str]:
    """Staged copies beside `folder` and temporary files in it."""
    staged = [p.name for p in folder.parent.iterdir() if ".kedro-gitops-" in p.name]
    return staged + [p.name for p in folder.iterdir() if TEMP_FILE.fullmatch(p.name)]


def populate(folder: Path) -> None:
    """What other people keep in the output folder."""
    folder.mkdir(parents=True)
    os.chmod(folder, 0o750)
    (folder / "hand_written.py").write_text("# my own DAG\n")
    (folder / ".airflowignore").write_text("scratch/\n")
    (folder / "scratch" / "deep").mkdir(parents=True)
    (folder / "scratch" / "deep" / "notes.txt").write_text("notes\n")
    os.chmod(folder / "scratch", 0o700)
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "hand_written.cpython-311.pyc").write_bytes(b"\x00\x01")
    (folder / "latest.py").symlink_to("hand_written.py")
    os.mkfifo(folder / "pipe")
    owner = owner_line(NIGHTLY)
    output.write(generation("nightly", range(2), NIGHTLY), folder, owner, NIGHTLY)


def test_a_killed_compile_leaves_all_the_old_files_or_all_the_new_ones(tmp_path: Path) -> None:
    folder = tmp_path / "repo" / "dags"
    populate(folder)
    old, new = generation("old", range(150)), generation("new", range(10, 160))
    output.write(old, folder, owner_line(MANIFEST), MANIFEST)
    before = others(folder)
    spec = [new, old]
    rng = random.Random(0)
    outcomes: Counter[str] = Counter()
    for _ in range(ROUNDS):
        child = spawn(folder, spec, loop=True)
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n", finish(child)
        time.sleep(rng.uniform(0.0, 0.4))
        child.kill()
        child.communicate()
        found = ours(folder)
        outcomes["old" if found == old else "new" if found == new else "mixed"] += 1
        outcomes["killed while staged"] += bool(leftovers(folder))
        assert others(folder) == before
    print(f"{ROUNDS} rounds: {dict(outcomes)}")
    assert outcomes["mixed"] == 0, outcomes
    output.write(new, folder, owner_line(MANIFEST), MANIFEST)
    assert ours(folder) == new
    assert others(folder) == before
    assert stat.S_IMODE(folder.stat().st_mode) == 0o750
    assert leftovers(folder) == []


def test_concurrent_compiles_take_turns(tmp_path: Path) -> None:
    folder = tmp_path / "repo" / "dags"
    populate(folder)
    before = others(folder)
    gens = [generation(f"g{k}", range(5 * k, 5 * k + 60)) for k in range(4)]
    nightly = generation("nightly-2", range(1, 4), NIGHTLY)
    for _ in range(3):
        procs = [spawn(folder, [gens[(k + j) % 4] for j in range(3)]) for k in range(4)]
        procs.append(spawn(folder, [nightly], manifest=NIGHTLY))
        results = [finish(p) for p in procs]
        assert [code for code, _ in results] == [0] * 5, results
        assert ours(folder) in gens
        assert ours(folder, NIGHTLY) == nightly
        assert leftovers(folder) == []
    assert {k: v for k, v in others(folder).items() if not k.startswith("nightly")} == {
        k: v for k, v in before.items() if not k.startswith("nightly")
    }


def test_what_a_killed_compile_left_is_removed_but_never_a_users_file(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    old, new = generation("old", range(3)), generation("new", range(1, 4))
    output.write(old, folder, owner_line(MANIFEST), MANIFEST)
    (folder / ".dag_000.py.abcd1234").write_text("")
    (folder / ".dag_001.py.k2j4_x9z").write_text(old["dag_001.py"])
    (folder / ".dag_002.py.k2j4_x9y").write_text("# Generated by kedro")
    users = {".notes.py.abcdefgh": "my notes\n", ".dag_002.py.abcd12345": old["dag_002.py"]}
    for name, text in users.items():
        (folder / name).write_text(text)
    os.mkfifo(folder / ".dag_002.py.0fifo000")
    staged = tmp_path / ".dags.kedro-gitops-x1y2z3ab"
    (staged / "sub").mkdir(parents=True)
    (staged / "dag_009.py").write_text(generation("new", range(9, 10))["dag_009.py"])
    (staged / "dag_010.py").write_text("")  # killed while writing it
    (staged / "written_meanwhile.py").write_text("# saved while a compile ran\n")
    (staged / "sub" / "also.txt").write_text("also\n")
    (staged / "dag_000.py").write_text("# an older copy\n")
    (folder / "sub").mkdir()
    (tmp_path / ".dags.kedro-gitops-not-a-folder").write_text("mine\n")
    code, err = finish(spawn(folder, [new]))
    assert code == 0, err
    assert ours(folder) == new
    assert {p.name for p in tmp_path.iterdir()} == {
        "dags",
        ".dags.kedro-gitops-not-a-folder",
        *(p.name for p in tmp_path.glob(".spec-*")),
    }
    assert {p.name for p in folder.iterdir()} == {
        *new,
        *users,
        ".dag_002.py.0fifo000",
        "written_meanwhile.py",
        "sub",
    }
    assert all((folder / name).read_text() == text for name, text in users.items())
    assert stat.S_ISFIFO((folder / ".dag_002.py.0fifo000").lstat().st_mode)
    assert (folder / "written_meanwhile.py").read_text() == "# saved while a compile ran\n"
    assert (folder / "sub" / "also.txt").read_text() == "also\n"


def test_a_fifo_named_like_a_dag_is_foreign_and_never_opened(tmp_path: Path) -> None:
    folder = tmp_path / "dags"
    folder.mkdir()
    os.mkfifo(folder / "dag_000.py")
    os.mkfifo(folder / "pipe")
    inode = (folder / "pipe").lstat().st_ino
    files = generation("new", range(3))
    code, err = finish(spawn(folder, [files]))
    assert code == 2
    assert "error[foreign-file]: dags/dag_000.py exists" in err
    assert ours(folder) == {}
    (folder / "dag_000.py").unlink()
    code, err = finish(spawn(folder, [files]))
    assert code == 0, err
    assert ours(folder) == files
    assert stat.S_ISFIFO((folder / "pipe").lstat().st_mode)
    assert (folder / "pipe").lstat().st_ino == inode


def test_a_symlinked_output_folder_is_written_at_its_target(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    target = repo / "build" / "dags"
    populate(target)
    before = others(target)
    (repo / "dags").symlink_to("build/dags")
    files = generation("new", range(3))
    output.write(files, repo / "dags", owner_line(MANIFEST), MANIFEST)
    assert os.readlink(repo / "dags") == "build/dags"
    assert ours(target) == files
    assert others(target) == before
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert leftovers(target) == []
    assert sorted(p.name for p in repo.iterdir()) == ["build", "dags"]
    # A link to a folder not made yet: the folder is made, the link kept.
    (repo / "later").symlink_to("out/later")
    output.write(files, repo / "later", owner_line(MANIFEST), MANIFEST)
    assert (repo / "later").is_symlink()
    assert ours(repo / "out" / "later") == files


def _line_within(proc: subprocess.Popen[str], seconds: float) -> str:
    assert proc.stderr is not None
    ready, _, _ = select.select([proc.stderr], [], [], seconds)
    return proc.stderr.readline() if ready else ""


@pytest.mark.parametrize("released", [True, False])
def test_a_compile_waits_for_the_lock_and_says_so(tmp_path: Path, released: bool) -> None:
    folder = tmp_path / "repo" / "dags"
    folder.parent.mkdir(parents=True)
    files = generation("new", range(3))
    lock = os.open(folder.parent, os.O_RDONLY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        proc = spawn(folder, [files], lock_timeout=60.0 if released else 0.5)
        message = _line_within(proc, 30.0)
        assert message == "waiting for another kedro-gitops compile writing to dags/ ...\n"
        if released:
            time.sleep(0.3)
            assert not folder.exists(), "nothing is written while another compile writes"
        else:
            code, err = finish(proc)
    finally:
        os.close(lock)
    if released:
        code, err = finish(proc)
        assert (code, err) == (0, "")
        assert ours(folder) == files
    else:
        assert code == 2
        assert "error[output-locked]: another kedro-gitops compile kept writing to dags/" in err
        assert not folder.exists()
