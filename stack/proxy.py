"""nginx in front of the local API: deploy/nginx.conf.template filled in, as the nginx image does."""

import re
import socket
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "nginx.conf.template"
# What the template leaves to be filled in (upper case; nginx's own variables are lower case).
NAMES = ("PROXY_LISTEN", "API_UPSTREAM", "FLOWER_UPSTREAM", "MAX_BODY_BYTES", "MAX_IMPORT_BYTES",
         "PUBLIC_OPS_ENDPOINTS")
_NAME = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}")
# nginx's own temporary folders: its compiled-in ones are under /var/lib/nginx.
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def render_template(values, template=TEMPLATE):
    """The template's text with each ${NAME} replaced, as the nginx image's envsubst does."""
    text = Path(template).read_text()
    missing = sorted(set(_NAME.findall(text)) - set(values))
    if missing:
        raise ValueError(f"no value for {', '.join(missing)} in {template}")
    return _NAME.sub(lambda match: str(values[match.group(1)]), text)


def main_config(folder, server_conf):
    """A whole nginx.conf for a foreground nginx keeping every file under folder, including server_conf."""
    temp = "\n".join(f"    {name}_temp_path {folder / 'temp' / name};" for name in TEMP_DIRS)
    # One process, no master: SIGKILL of it (the stack's parent-death signal)
    # leaves no worker behind, and one event loop is plenty for one host's
    # clients. The nginx image runs its own master and workers.
    return f"""daemon off;
master_process off;
pid {folder / 'nginx.pid'};
error_log stderr warn;

events {{
    worker_connections 1024;
}}

http {{
    default_type application/octet-stream;
    # gunicorn logs every request already.
    access_log off;
{temp}
    include {server_conf};
}}
"""


def write_config(folder, values):
    """Write nginx.conf and the filled-in template under folder; the path of nginx.conf."""
    folder = Path(folder)
    for name in TEMP_DIRS:
        (folder / "temp" / name).mkdir(parents=True, exist_ok=True)
    server_conf = folder / "dispatcher.conf"
    server_conf.write_text(render_template(values))
    main = folder / "nginx.conf"
    main.write_text(main_config(folder, server_conf))
    return main


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
