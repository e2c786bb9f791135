#!/usr/bin/env bash
# JupyterLab at the repository root (params/ and reports/ in the file browser), opened on notebooks/, for any user:
# as root (containers, CI images) it passes --allow-root, which JupyterLab otherwise refuses. Prints the URL to open.
#   scripts/lab.sh [VENV]      LAB_PORT (default 8888, else the next free port), LAB_IP (default 127.0.0.1), LAB_TOKEN
set -euo pipefail
venv="${1:-.venv}"
py="$venv/bin/python"
ip="${LAB_IP:-127.0.0.1}"
# The port is chosen here and JupyterLab may not move it (port_retries=0), so the URL printed below is the one it serves.
port="$("$py" - "$ip" "${LAB_PORT:-8888}" <<'PYEOF'
import socket
import sys

ip, first = sys.argv[1], int(sys.argv[2])
for port in range(first, first + 100):
    with socket.socket() as s:
        try:
            s.bind((ip, port))
        except OSError:
            continue
    print(port)
    break
else:
    sys.exit(f"no free port in {first}..{first + 99} on {ip}: set LAB_PORT")
PYEOF
)"
token="${LAB_TOKEN:-$("$py" -c 'import secrets; print(secrets.token_hex(24))')}"
args=(
  --no-browser
  --ServerApp.ip="$ip"
  --ServerApp.port="$port"
  --ServerApp.port_retries=0
  --IdentityProvider.token="$token"
  --ServerApp.root_dir=.
  --LabApp.default_url=/lab/tree/notebooks
)
if [ "$(id -u)" -eq 0 ]; then
  args+=(--allow-root)
fi
host="$ip"
if [ "$ip" = "0.0.0.0" ]; then
  host=127.0.0.1
  echo "==> JupyterLab listens on every interface (LAB_IP=0.0.0.0): from another machine use this machine's address"
fi
echo "==> JupyterLab: open http://$host:$port/lab/tree/notebooks?token=$token   (Ctrl-C to stop)"
exec "$venv/bin/jupyter" lab "${args[@]}"
