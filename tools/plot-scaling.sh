#!/usr/bin/env bash
# Turns a `backprop scale` JSON table into a PNG plot of speedup against
# threads: tools/plot-scaling.sh scaling.json [scaling.png]. Installs
# matplotlib into tools/.venv on first use (never into the system Python).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [[ ! -x "$here/.venv/bin/python" ]] || ! "$here/.venv/bin/python" -c "import matplotlib" 2>/dev/null; then
  python3 -m venv "$here/.venv"
  "$here/.venv/bin/pip" install -q matplotlib
fi
exec "$here/.venv/bin/python" "$here/plot_scaling.py" "$@"
