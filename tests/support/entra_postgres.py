"""Azure Database for PostgreSQL's Microsoft Entra sign-in, played in front of a local PostgreSQL.

An Entra-enabled flexible server asks the client for a cleartext password over TLS, takes it as an access
token, checks it — signed by Entra, audience `https://ossrdbms-aad.database.windows.net`, issued by the
server's tenant, not expired — and maps its `oid` to the role that `pgaadauth_create_principal` made for that
principal. This front does the same with the emulator's signing keys and clock, then hands the connection
to a local PostgreSQL that trusts its socket, so everything after the login is the real server. Any valid
token is accepted, as at Azure: the product fetches its own, and an expired one is refused.

PostgreSQL wire protocol v3: startup (with SSLRequest/GSSENCRequest negotiation), AuthenticationCleartextPassword,
PasswordMessage, then the backend's own startup reply and the session, relayed byte for byte.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import struct
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

SSL_REQUEST = 80877103
GSSENC_REQUEST = 80877104
CANCEL_REQUEST = 80877102
POSTGRES_RESOURCE = "https://ossrdbms-aad.database.windows.net"


@dataclass
class EntraPostgresFront:
    """Listens on 127.0.0.1:`port` (TLS when `tls`) and relays authenticated sessions to the backend's socket.

    :param principals: role name -> the Entra object id (`oid`) the role was created for.
    :param clock: seconds since the epoch on Entra's clock (the emulator's), for `exp`.
    """

    backend_socket: str
    signing_keys: Mapping[str, Any]
    issuer: str
    principals: Mapping[str, str]
    clock: Callable[[], float]
    tls: ssl.SSLContext | None = None
    port: int = 0
    refused: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> EntraPostgresFront:
        ready = threading.Event()
        self._loop = asyncio.new_event_loop()

        def serve() -> None:
            assert self._loop is not None
            asyncio.set_event_loop(self._loop)
            server = self._loop.run_until_complete(asyncio.start_server(self._session, "127.0.0.1", 0))
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            try:
                self._loop.run_forever()
            finally:
                server.close()
                # Sessions still relaying (pooled connections of a test) end with the front.
                pending = asyncio.all_tasks(self._loop)
                for task in pending:
                    task.cancel()
                self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                self._loop.run_until_complete(server.wait_closed())
                self._loop.close()

        self._thread = threading.Thread(target=serve, name="entra-postgres-front", daemon=True)
        self._thread.start()
        ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> EntraPostgresFront:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the token check Azure does -----------------------------------------------------------------------
    def check(self, role: str, token: str) -> str | None:
        """None if `token` logs `role` in, else the reason it does not."""
        try:
            header = jwt.get_unverified_header(token)
            key = self.signing_keys[header.get("kid", "")]
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=[POSTGRES_RESOURCE, "123cd850-d9df-40bd-94d5-c9f07b7fa203"],
                issuer=self.issuer,
                options={"verify_exp": False, "verify_nbf": False, "require": ["exp", "oid"]},
            )
        except (jwt.PyJWTError, KeyError) as exc:
            return f"the access token is not valid ({type(exc).__name__})"
        if self.clock() >= claims["exp"]:
            return "the access token has expired"
        expected = self.principals.get(role)
        if expected is None:
            return f'role "{role}" is not a Microsoft Entra principal (pgaadauth_create_principal)'
        if claims["oid"] != expected:
            return f'the access token is for object id {claims["oid"]}, not the principal of role "{role}"'
        return None

    # -- protocol -----------------------------------------------------------------------------------------
    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, OSError):
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            (length,) = struct.unpack("!I", await reader.readexactly(4))
            packet = await reader.readexactly(length - 4)
            (code,) = struct.unpack("!I", packet[:4])
            if code == SSL_REQUEST:
                writer.write(b"S" if self.tls else b"N")
                await writer.drain()
                if self.tls:
                    await writer.start_tls(self.tls)
                continue
            if code == GSSENC_REQUEST:
                writer.write(b"N")
                await writer.drain()
                continue
            break
        startup = struct.pack("!I", length) + packet
        if code == CANCEL_REQUEST:
            _, backend = await asyncio.open_unix_connection(self.backend_socket)
            backend.write(startup)
            await backend.drain()
            backend.close()
            return
        fields = packet[4:].split(b"\0")
        params = dict(zip(fields[0::2], fields[1::2], strict=False))
        role = params.get(b"user", b"").decode()
        writer.write(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
        await writer.drain()
        kind = await reader.readexactly(1)
        (size,) = struct.unpack("!I", await reader.readexactly(4))
        body = await reader.readexactly(size - 4)
        if kind != b"p":
            return
        reason = self.check(role, body.rstrip(b"\0").decode(errors="replace"))
        if reason is not None:
            self.refused.append(role)
            message = f'password authentication failed for user "{role}": {reason}'
            fields_out = b"".join(
                [b"SFATAL\0", b"VFATAL\0", b"C28P01\0", b"M" + message.encode() + b"\0", b"\0"]
            )
            writer.write(b"E" + struct.pack("!I", len(fields_out) + 4) + fields_out)
            await writer.drain()
            return
        self.accepted.append(role)
        backend_reader, backend_writer = await asyncio.open_unix_connection(self.backend_socket)
        backend_writer.write(startup)
        await backend_writer.drain()

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while chunk := await source.read(65536):
                    sink.write(chunk)
                    await sink.drain()
            finally:
                with contextlib.suppress(Exception):
                    sink.close()

        await asyncio.gather(
            pump(reader, backend_writer), pump(backend_reader, writer), return_exceptions=True
        )


def emulator_signing_keys(jwks: Mapping[str, Any]) -> dict[str, Any]:
    """kid -> public key, from the JWKS the emulator's identity service publishes."""
    return {key.key_id: key.key for key in jwt.PyJWKSet.from_dict(dict(jwks)).keys}
