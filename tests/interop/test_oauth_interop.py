"""Interop with other people's libraries: authlib as the OAuth 2.0 client (client credentials,
both client authentication methods), PyJWT with its JWKS client validating our tokens, and
the integration guide's curl with a JSON body."""

import json
import subprocess

import jwt
from authlib.integrations.requests_client import OAuth2Session


def test_authlib_client_credentials_basic_and_post(server):
    client_id, secret = server.create_client(["resource:read", "resource:write"])
    for method in ("client_secret_basic", "client_secret_post"):
        session = OAuth2Session(client_id, secret, token_endpoint_auth_method=method, scope="resource:read resource:write")
        token = session.fetch_token(server.url + "/oauth/token", grant_type="client_credentials")
        assert token["token_type"] == "Bearer"
        assert token["expires_in"] == 3600
        created = session.post(server.url + "/v1/resource", json={"name": "via authlib", "type": "widget"})
        assert created.status_code == 201, created.text
        read = session.get(server.url + "/v1/resource/" + created.json()["id"])
        assert read.status_code == 200
        assert read.json()["name"] == "via authlib"


def test_pyjwt_validates_tokens_against_the_jwks(server):
    client_id, secret = server.create_client(["resource:read"])
    session = OAuth2Session(client_id, secret)
    token = session.fetch_token(server.url + "/oauth/token", grant_type="client_credentials")["access_token"]
    metadata = session.get(server.url + "/.well-known/oauth-authorization-server").json()
    assert metadata["grant_types_supported"] == ["client_credentials"]
    signing_key = jwt.PyJWKClient(metadata["jwks_uri"]).get_signing_key_from_jwt(token)
    claims = jwt.decode(
        token,
        signing_key.key,
        algorithms=["RS256"],
        audience=metadata["issuer"] + "/v1",
        issuer=metadata["issuer"],
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
    )
    assert claims["client_id"] == client_id
    assert claims["sub"] == client_id
    assert claims["scope"] == "resource:read"
    assert jwt.get_unverified_header(token)["typ"] == "at+jwt"
    # A tampered token fails PyJWT's check too.
    head, payload, sig = token.split(".")
    forged = ".".join([head, payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1], sig])
    try:
        jwt.decode(forged, signing_key.key, algorithms=["RS256"], audience=metadata["issuer"] + "/v1")
    except jwt.InvalidTokenError:
        pass
    else:
        raise AssertionError("PyJWT accepted a tampered token")


def test_the_guides_curl_with_a_json_body(server):
    client_id, secret = server.create_client(["resource:read"])
    out = subprocess.run(
        [
            "curl", "-sS", "-X", "POST", server.url + "/oauth/token",
            "-H", "Content-Type: application/json",
            "-d", json.dumps({"client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"}),
        ],
        check=True, capture_output=True, text=True,
    )
    body = json.loads(out.stdout)
    assert body["token_type"] == "Bearer" and body["access_token"].count(".") == 2
