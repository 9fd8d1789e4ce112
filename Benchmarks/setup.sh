#!/usr/bin/env bash
# Installs what the peer programs need on a fresh Debian machine (after `apt-get update`, which this
# runs itself when something is missing). Usage: Benchmarks/setup.sh [cxx] [blas] [python]
#   cxx     g++, make, libtbb-dev (oneTBB) — the scheduler peers; OpenMP is gcc's libgomp
#   blas    gcc, make, libopenblas-dev — the OpenBLAS GEMM peer
#   numpy   NumPy and threadpoolctl from PyPI (the NumPy GEMM peer)
#   python  NumPy, threadpoolctl, JAX (CPU) and PyTorch from PyPI (requirements.txt)
#   With numpy or python, prints the Python interpreter to use as the last line of stdout. It is $BENCH_PYTHON if set, else python3 if
#           it already has them or can pip-install them, else a virtual environment Benchmarks/.venv.
# Everything else goes to stderr. Does nothing that is already done.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"

apt_missing=()
need_pkg() { dpkg -s "$1" >/dev/null 2>&1 || apt_missing+=("$1"); }
want_python=0
modules="numpy, threadpoolctl"; packages=(numpy threadpoolctl)
for part in "$@"; do
    case "$part" in
        cxx) need_pkg g++; need_pkg make; need_pkg libtbb-dev ;;
        blas) need_pkg gcc; need_pkg make; need_pkg libopenblas-dev ;;
        numpy|python)
            want_python=1
            if [ "$part" = python ]; then modules="numpy, threadpoolctl, jax, torch"; packages=(-r "$here/requirements.txt"); fi
            command -v python3 >/dev/null 2>&1 || { need_pkg python3; need_pkg python3-pip; need_pkg python3-venv; } ;;
        *) echo "setup.sh: unknown part '$part' (cxx, blas, numpy, python)" >&2; exit 2 ;;
    esac
done
if [ ${#apt_missing[@]} -gt 0 ]; then
    echo "setup.sh: installing ${apt_missing[*]}" >&2
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${apt_missing[@]}" >&2
fi
[ "$want_python" -eq 1 ] || exit 0

has_all() { "$1" -c "import $modules" >/dev/null 2>&1; }
if [ -n "${BENCH_PYTHON:-}" ]; then
    py="$BENCH_PYTHON"
elif [ -x "$here/.venv/bin/python" ]; then
    py="$here/.venv/bin/python"
else
    py="$(command -v python3)"
fi
if ! has_all "$py"; then
    echo "setup.sh: pip install ${packages[*]} into $py (torch alone is about 5 GB)" >&2
    if ! "$py" -m pip install -q "${packages[@]}" >&2; then
        # Debian's python3 refuses system-wide pip installs (PEP 668): use a virtual environment.
        echo "setup.sh: pip refused; creating $here/.venv" >&2
        "$py" -m venv "$here/.venv" >&2 2>&1 || {
            apt_missing=(python3-venv); $sudo apt-get update -qq >&2
            DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq python3-venv >&2
            "$py" -m venv "$here/.venv" >&2; }
        py="$here/.venv/bin/python"
        "$py" -m pip install -q "${packages[@]}" >&2
    fi
fi
has_all "$py" || { echo "setup.sh: $py still cannot import $modules" >&2; exit 1; }
echo "$py"
