"""`freezelint lsp`: the language server (pygls 2), over stdio or TCP on 127.0.0.1.

The same `lint`/`analyze` as the CLI behind the Language Server Protocol: diagnostics while
typing, quick fixes, hover on name tests, completion of real names, a code lens on each
optimizer, and notebooks in both VS Code's and JupyterLab's forms. See `server.py`.
"""

from __future__ import annotations

import logging
import sys


def serve(tcp_port: int | None = None) -> None:
    """Run the server until the client says exit (stdio) or forever (TCP).

    stdout belongs to the JSON-RPC stream, so `sys.stdout` is pointed at stderr first: a
    stray print() anywhere (a library, a model's import) must not corrupt the protocol."""
    from freezelint.lsp.server import create_server

    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="freezelint-lsp %(levelname)s %(name)s: %(message)s")
    logging.getLogger("freezelint").setLevel(logging.INFO)
    server = create_server()  # (which bounds every record's size, see BoundedRecords)
    if tcp_port is None:
        stdout = sys.stdout.buffer
        sys.stdout = sys.stderr
        server.start_io(sys.stdin.buffer, stdout)
    else:
        server.start_tcp("127.0.0.1", tcp_port)
