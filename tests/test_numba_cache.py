"""``import lstmkit`` where Numba finds no writable cache directory (lstmkit._numba), for real.

A child process imports a copy of lstmkit that its user cannot write to, with a HOME it cannot write to
either, and calls a kernel: the import must succeed with one warning line saying where the compiled
kernels went. As root (permission bits do not bind root) the child runs as uid 65534 through setpriv;
otherwise as this user over chmod-ed read-only directories.
"""
from __future__ import annotations

import math
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import lstmkit

NOBODY = 65534
CHILD = "from lstmkit import activations as A; print(repr(A.apply(A.LOGISTIC, 2.0)))"
EXPECTED = 1.0 / (1.0 + math.exp(-2.0))


def _site_dirs() -> list[str]:
    import llvmlite
    import numba
    import numpy

    return list(dict.fromkeys(str(Path(m.__file__).parent.parent) for m in (numpy, numba, llvmlite)))


def _linked_site(dirs: list[str]) -> str:
    """The site dirs hard-linked (copied across filesystems) under a new world-readable directory.

    For a clone under a private directory (``mktemp -d`` makes it 0700, as CI's may be): uid 65534 cannot
    reach that venv's packages, but can read links to the same files from here. The large optional packages
    lstmkit never imports are left out.
    """
    root = Path(tempfile.mkdtemp(prefix="lstmkit-site-"))
    os.chmod(root, 0o755)
    skip = shutil.ignore_patterns("torch", "torchgen", "functorch", "sympy", "sklearn", "dask", "distributed",
                                  "matplotlib", "hypothesis", "nvidia*", "__pycache__")

    def link(src, dst):
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)

    for i, d in enumerate(dirs):
        shutil.copytree(d, root / str(i), ignore=skip, copy_function=link, symlinks=True)
    for p in [root, *root.rglob("*")]:
        if p.is_dir() and not p.is_symlink():
            os.chmod(p, 0o755)
    return str(root)


def _unprivileged(site: list[str]) -> tuple[list[str], str, int] | str:
    """(command prefix, interpreter, uid) to run a child that cannot write where its files are, or why not."""
    if os.geteuid() != 0:
        return [], sys.executable, os.getuid()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return "running as root without setpriv: no way to drop to an unprivileged user"
    prefix = [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    # A venv's interpreter may live under a root-only directory (pyenv in /root): try the same Python elsewhere.
    v = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [sys.executable, os.path.realpath(sys.executable), shutil.which(v), f"/usr/bin/{v}"]
    env = {"PATH": os.defpath, "PYTHONPATH": os.pathsep.join(site), "HOME": "/"}
    for py in dict.fromkeys(c for c in candidates if c):
        r = subprocess.run([*prefix, py, "-c", "import numpy, numba"], env=env, capture_output=True)
        if r.returncode == 0:
            return prefix, py, NOBODY
    return (f"no {v} interpreter that uid {NOBODY} may run with this environment's numpy/numba "
            f"(tried {', '.join(c for c in candidates if c)})")


@pytest.fixture(scope="module")
def child():
    """(command prefix, interpreter, uid, site dirs) of the unprivileged child."""
    site, linked = _site_dirs(), None
    how = _unprivileged(site)
    if isinstance(how, str) and os.geteuid() == 0:         # the packages may sit under a private directory
        linked = _linked_site(site)
        site = [str(p) for p in sorted(Path(linked).iterdir())]
        how = _unprivileged(site)
    try:
        if isinstance(how, str):
            pytest.skip(how)
        yield (*how, site)
    finally:
        if linked:
            shutil.rmtree(linked)


@pytest.fixture
def dirs():
    """base/{pkg/lstmkit (read-only copy), home (read-only), tmp (sticky, world-writable like /tmp)}.

    Outside pytest's tmp_path: that is private to root, and the child must be able to reach the copy.
    """
    base = Path(tempfile.mkdtemp(prefix="lstmkit-cache-test-"))
    os.chmod(base, 0o755)
    pkg = base / "pkg"
    shutil.copytree(Path(lstmkit.__file__).parent, pkg / "lstmkit", ignore=shutil.ignore_patterns("__pycache__"))
    home, tmp = base / "home", base / "tmp"
    home.mkdir()
    tmp.mkdir()
    os.chmod(tmp, 0o1777)
    for p in [home, *pkg.rglob("*"), pkg]:
        os.chmod(p, 0o555 if p.is_dir() else 0o444)
    if os.geteuid() != 0 and os.access(home, os.W_OK):
        pytest.skip(f"chmod 555 leaves {home} writable for this user: no read-only directory to test with")
    yield {"base": base, "pkg": pkg, "home": home, "tmp": tmp}
    for p in base.rglob("*"):
        if p.is_dir() and not p.is_symlink():
            os.chmod(p, 0o755)
    shutil.rmtree(base)


def run(child, dirs, **env) -> subprocess.CompletedProcess:
    prefix, py, _, site = child
    base_env = {"PATH": os.defpath, "HOME": str(dirs["home"]), "TMPDIR": str(dirs["tmp"]), "PYTHONNOUSERSITE": "1",
                "PYTHONPATH": os.pathsep.join([str(dirs["pkg"]), *site])}
    return subprocess.run([*prefix, py, "-c", CHILD], env={**base_env, **env}, capture_output=True, text=True,
                          timeout=300)


def check(r: subprocess.CompletedProcess, *phrases: str) -> str:
    """Exit 0, the kernel's result right, and stderr exactly one NumbaCacheWarning line holding the phrases."""
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert float(r.stdout.splitlines()[-1]) == pytest.approx(EXPECTED, rel=1e-15)
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("lstmkit:0: NumbaCacheWarning: "), r.stderr
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


def test_no_writable_cache_falls_back_to_a_private_temp_dir(child, dirs):
    cache = dirs["tmp"] / f"lstmkit-numba-{child[2]}"
    check(run(child, dirs), f"lstmkit's sources ({dirs['pkg'] / 'lstmkit' / '__pycache__'})",
          f"caching them in {cache} instead")
    st = cache.lstat()
    assert stat.S_ISDIR(st.st_mode) and st.st_uid == child[2] and stat.S_IMODE(st.st_mode) == 0o700
    assert list(cache.rglob("activations.apply-*.nbi")), "nothing was cached"
    # The next process loads the kernel from there instead of compiling it (and warns again, once).
    r = run(child, dirs, NUMBA_DEBUG_CACHE="1")
    assert "data loaded from" in r.stdout and str(cache) in r.stdout, r.stdout
    check(r, "caching them in")


@pytest.mark.parametrize("plant", ["symlink", "writable by others", "other owner"])
def test_a_planted_temp_dir_is_not_used(child, dirs, plant):
    cache = dirs["tmp"] / f"lstmkit-numba-{child[2]}"
    elsewhere = dirs["base"] / "elsewhere"
    elsewhere.mkdir()
    os.chmod(elsewhere, 0o777)
    if plant == "symlink":
        cache.symlink_to(elsewhere)
        expected = "is a symlink"
    elif plant == "writable by others":
        cache.mkdir()
        if os.geteuid() == 0:
            os.chown(cache, child[2], -1)
        os.chmod(cache, 0o777)
        expected = "writable by other users (mode 777)"
    else:
        if os.geteuid() != 0:
            pytest.skip("needs root to create a directory owned by another user")
        cache.mkdir(mode=0o700)                    # root's, not the child's
        expected = f"belongs to uid 0, not to this process's uid {child[2]}"
    check(run(child, dirs), expected, "compiling them without a cache")
    assert not any(elsewhere.iterdir())
    if not cache.is_symlink():
        assert not any(cache.iterdir())


def test_an_explicit_numba_cache_dir_is_respected(child, dirs):
    chosen = dirs["base"] / "chosen"
    chosen.mkdir(mode=0o555)
    check(run(child, dirs, NUMBA_CACHE_DIR=str(chosen)), f"NUMBA_CACHE_DIR={chosen}", "without a cache")
    assert not list(dirs["tmp"].iterdir()), "lstmkit put files where NUMBA_CACHE_DIR did not say"


def test_a_writable_cache_gives_no_warning(child, dirs):
    chosen = dirs["tmp"] / "chosen"
    chosen.mkdir()
    os.chmod(chosen, 0o777)
    r = run(child, dirs, NUMBA_CACHE_DIR=str(chosen))
    assert r.returncode == 0 and r.stderr == "", r.stderr
    assert float(r.stdout) == pytest.approx(EXPECTED, rel=1e-15)
    assert list(chosen.rglob("activations.apply-*.nbi"))
