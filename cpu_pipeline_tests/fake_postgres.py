"""A TCP server that speaks just enough of PostgreSQL's protocol to refuse a connection the way a real
server does, with a FATAL error of our choosing: libpq reads it and words it as it would a real one.

The test server trusts every local connection, so a wrong password, or a server shutting down, can be
seen only this way."""

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator

# The 8-byte requests a client may send before its startup message (SSL, GSSAPI encryption): answered "no".
_SPECIAL_REQUEST_LENGTH = 8


def _read_message(client: socket.socket) -> bytes:
    length = struct.unpack("!i", client.recv(4, socket.MSG_WAITALL))[0]
    return client.recv(length - 4, socket.MSG_WAITALL)


def _error_response(sqlstate: str, message: str) -> bytes:
    fields = b"".join(
        kind + text.encode() + b"\0" for kind, text in ((b"S", "FATAL"), (b"V", "FATAL"), (b"C", sqlstate), (b"M", message))
    )
    body = fields + b"\0"
    return b"E" + struct.pack("!i", len(body) + 4) + body


@contextlib.contextmanager
def refusing_server(sqlstate: str, message: str, *, asks_password: bool = False) -> Iterator[int]:
    """A local server that answers every connection with FATAL `sqlstate` `message`, after asking for a
    cleartext password and reading it when `asks_password`; yields its port."""
    server = socket.create_server(("127.0.0.1", 0))

    def answer(client: socket.socket) -> None:
        with client:
            while len(_read_message(client)) == _SPECIAL_REQUEST_LENGTH - 4:  # its code after the length
                client.sendall(b"N")
            if asks_password:
                client.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
                client.recv(1, socket.MSG_WAITALL)  # 'p'
                _read_message(client)
            client.sendall(_error_response(sqlstate, message))

    def serve() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=answer, args=(client,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield server.getsockname()[1]
    finally:
        server.close()
