"""The guise package's PEP 517 build backend (pyproject.toml names it).

setuptools compiles the extension (setup.py build_ext); the wheel itself — a zip
file with a .dist-info folder (PEP 427, PEP 376's RECORD) — is written here, so
the build needs neither the `wheel` package nor a package index: only setuptools
from the Python that builds (Debian's python3-setuptools, or the one beside pip).
"""
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
NAME, VERSION = "guise", "0.1.0"
METADATA = f"""Metadata-Version: 2.1
Name: {NAME}
Version: {VERSION}
Summary: HTTP client whose TLS and HTTP/2 traffic is a real browser's
Requires-Python: >=3.11
"""


def get_requires_for_build_wheel(config_settings=None):
    return []


def _tag():
    impl = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    abi = impl + getattr(sys, "abiflags", "")  # "t" for a free-threaded build, "d" for debug
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"{impl}-{abi}-{plat}"


def _dist_info(zf, records, tag):
    di = f"{NAME}-{VERSION}.dist-info"
    wheel = f"Wheel-Version: 1.0\nGenerator: guise build_backend\nRoot-Is-Purelib: false\nTag: {tag}\n"
    for name, text in (("METADATA", METADATA), ("WHEEL", wheel), ("top_level.txt", NAME + "\n")):
        _add(zf, records, f"{di}/{name}", text.encode())
    records.append(f"{di}/RECORD,,")
    zf.writestr(f"{di}/RECORD", "\n".join(records) + "\n")


def _add(zf, records, arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    zf.writestr(arcname, data)
    records.append(f"{arcname},sha256={digest},{len(data)}")


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    tmp = tempfile.mkdtemp(prefix="guise-wheel-")
    try:
        lib, temp = os.path.join(tmp, "lib"), os.path.join(tmp, "temp")
        subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--build-lib", lib,
                        "--build-temp", temp], cwd=HERE, check=True)
        tag = _tag()
        path = os.path.join(wheel_directory, f"{NAME}-{VERSION}-{tag}.whl")
        records = []
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            pkg = os.path.join(HERE, NAME)
            for f in sorted(os.listdir(pkg)):
                if f.endswith((".py", ".pyi")) or f == "py.typed":
                    with open(os.path.join(pkg, f), "rb") as fh:
                        _add(zf, records, f"{NAME}/{f}", fh.read())
            built = os.path.join(lib, NAME)
            for f in sorted(os.listdir(built)):
                if f.endswith(".so"):
                    with open(os.path.join(built, f), "rb") as fh:
                        _add(zf, records, f"{NAME}/{f}", fh.read())
            _dist_info(zf, records, tag)
        return os.path.basename(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
