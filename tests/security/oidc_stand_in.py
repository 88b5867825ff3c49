"""A stand-in OpenID Connect provider: a real local HTTP server speaking
the protocol's authorization-code flow (OpenID Connect Core 1.0 and
Discovery 1.0) with PKCE (RFC 7636).

It serves the discovery document, the authorization endpoint (which
"signs in" ``user`` at once and redirects back with a code), the token
endpoint (which checks the client's secret, the code, the redirect URI
and the PKCE verifier, and issues an RS256-signed ID token), the JWKS and
userinfo. Every refused request is recorded in ``errors``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.servers import free_port

CLIENT_ID = "fixtrail-test"
CLIENT_SECRET = "s3cret-for-the-stand-in"
KID = "test-key-1"


@dataclass
class Provider:
    redirect_uri: str
    user: dict = field(default_factory=dict)
    url: str = ""
    errors: list[str] = field(default_factory=list)
    tokens_issued: int = 0
    _codes: dict = field(default_factory=dict)
    _access: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def discovery(self) -> dict:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "userinfo_endpoint": f"{self.url}/userinfo",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }

    def jwks(self) -> dict:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**jwk, "kid": KID, "use": "sig", "alg": "RS256"}]}

    def authorize(self, query: dict) -> tuple[int, dict]:
        want = {"response_type": "code", "client_id": CLIENT_ID}
        for name, value in want.items():
            if query.get(name) != value:
                return self._refuse(f"authorize: {name}={query.get(name)!r}")
        if query.get("redirect_uri") != self.redirect_uri:
            return self._refuse(f"authorize: redirect_uri {query.get('redirect_uri')}")
        if "openid" not in query.get("scope", "").split():
            return self._refuse("authorize: no openid scope")
        if query.get("code_challenge_method") != "S256":
            return self._refuse("authorize: no PKCE")
        code = secrets.token_urlsafe(16)
        self._codes[code] = query
        target = (
            f"{self.redirect_uri}?{urlencode({'code': code, 'state': query['state']})}"
        )
        return 302, {"Location": target}

    def token(self, form: dict) -> tuple[int, dict]:
        if (
            form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
        ):
            return 401, {"error": "invalid_client"}
        request = self._codes.pop(form.get("code", ""), None)
        if form.get("grant_type") != "authorization_code" or request is None:
            return self._refuse("token: unknown code", {"error": "invalid_grant"})
        if form.get("redirect_uri") != request["redirect_uri"]:
            return self._refuse("token: redirect_uri", {"error": "invalid_grant"})
        verifier = form.get("code_verifier", "").encode()
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest())
        if challenge.rstrip(b"=").decode() != request["code_challenge"]:
            return self._refuse("token: PKCE verifier", {"error": "invalid_grant"})
        now = int(time.time())
        claims = {
            "iss": self.url,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": request.get("nonce"),
            **self.user,
        }
        id_token = jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": KID})
        access = secrets.token_urlsafe(16)
        self._access[access] = dict(self.user)
        self.tokens_issued += 1
        body = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }
        return 200, body

    def userinfo(self, headers: dict) -> tuple[int, dict]:
        auth = headers.get("Authorization", "")
        info = self._access.get(auth.removeprefix("Bearer "))
        if not auth.startswith("Bearer ") or info is None:
            return self._refuse("userinfo: bad token", {"error": "invalid_token"}, 401)
        return 200, info

    def _refuse(self, why: str, body: dict | None = None, status: int = 400):
        self.errors.append(why)
        return status, body or {"error": "invalid_request", "why": why}

    def start(self) -> Provider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: dict) -> None:
                self.send_response(status)
                if status == 302:
                    self.send_header("Location", body["Location"])
                    self.end_headers()
                    return
                raw = json.dumps(body).encode()
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/.well-known/openid-configuration":
                    self._answer(200, provider.discovery())
                elif parts.path == "/jwks":
                    self._answer(200, provider.jwks())
                elif parts.path == "/authorize":
                    self._answer(*provider.authorize(query))
                elif parts.path == "/userinfo":
                    self._answer(*provider.userinfo(dict(self.headers)))
                else:
                    self._answer(*provider._refuse(f"GET {parts.path}"))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                form = {
                    k: v[0]
                    for k, v in parse_qs(self.rfile.read(length).decode()).items()
                }
                if self.path == "/token":
                    self._answer(*provider.token(form))
                else:
                    self._answer(*provider._refuse(f"POST {self.path}"))

        port = free_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
