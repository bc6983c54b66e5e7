"""Builds the guise package's C engine (guise._guise) over libguise.

libguise is not built here: the extension links the static libguise.a that
`tools/setup` built (the repository's build/lib, or GUISE_BUILD_DIR/lib), or an
installed one found by pkg-config (guise-static.pc, `cmake --install` or the
libguise-dev package). BoringSSL is inside libguise.a and hidden; the libraries
it needs (libuv, nghttp2, brotli, zlib, zstd, jansson, c-ares, libpsl) are
linked from the system.

    python3 -m pip install --no-build-isolation ./client/python
"""
import os
import shlex
import subprocess
import sys

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.normpath(os.path.join(HERE, "..", ".."))
DEPS = ["libuv", "libnghttp2", "libbrotlidec", "libbrotlienc", "zlib", "libzstd",
        "jansson", "libcares", "libpsl"]


def pkg_config(*args):
    try:
        out = subprocess.run(["pkg-config", *args], check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        detail = getattr(e, "stderr", "") or str(e)
        sys.exit(f"guise: pkg-config {' '.join(args)} failed: {detail.strip()}\n"
                 "Run tools/setup first: it installs the -dev packages and builds libguise.")
    return shlex.split(out.stdout)


def find_libguise():
    """(include_dirs, extra_objects, link_args) for the static libguise."""
    build = os.environ.get("GUISE_BUILD_DIR", os.path.join(TOP, "build"))
    archive = os.path.join(build, "lib", "libguise.a")
    header = os.path.join(TOP, "client", "include", "guise.h")
    if os.path.isfile(archive) and os.path.isfile(header):
        return [os.path.dirname(header)], [archive], pkg_config("--libs", *DEPS) + ["-lpthread"]
    if subprocess.run(["pkg-config", "--exists", "guise-static"]).returncode == 0:
        flags = pkg_config("--static", "--cflags", "--libs", "guise-static")
        inc = [f[2:] for f in flags if f.startswith("-I")]
        objs = [f for f in flags if f.endswith(".a")]
        rest = [f for f in flags if not f.startswith("-I") and not f.endswith(".a")]
        return inc, objs, rest
    sys.exit(f"guise: libguise.a not found in {build}/lib nor through pkg-config guise-static.\n"
             "Run tools/setup in the repository first (it builds build/lib/libguise.a), or set "
             "GUISE_BUILD_DIR to a build directory.")


if any(a in sys.argv for a in ("build_ext", "build", "install", "bdist_wheel", "develop",
                               "editable_wheel", "bdist", "bdist_egg")):
    include_dirs, extra_objects, link_args = find_libguise()
else:
    include_dirs, extra_objects, link_args = [], [], []

setup(
    name="guise",
    version="0.1.0",
    description="HTTP client whose TLS and HTTP/2 traffic is a real browser's",
    packages=["guise"],
    package_data={"guise": ["py.typed", "*.pyi"]},
    python_requires=">=3.11",
    ext_modules=[Extension(
        "guise._guise",
        sources=[os.path.join("src", "_guise.c")],
        include_dirs=include_dirs,
        extra_objects=extra_objects,
        extra_link_args=link_args + ["-Wl,--gc-sections"],
        extra_compile_args=["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter",
                            "-Wno-missing-field-initializers", "-Werror", "-D_GNU_SOURCE"],
        depends=[os.path.join(TOP, "client", "include", "guise.h")] + extra_objects,
    )],
)
