"""Registry logins shared by the builder (to pull a private base image) and ``docker-push``.

Keys as Packer's: ``login``, ``login_server``, ``login_username``,
``login_password``; ``ecr_login`` with ``aws_access_key``, ``aws_secret_key``,
``aws_token`` and ``aws_profile`` gets the user name and password from
Amazon ECR's ``GetAuthorizationToken`` first (signed here with AWS
Signature V4; no AWS SDK needed). The password goes to the engine only:
it is registered as a secret by the config (``secret=True``) and never
appears in a message.
"""
from __future__ import annotations

import base64
import configparser
import datetime
import hashlib
import hmac
import json
import os
import re
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

import attrs

from hatchway import BuildContext, HatchwayError, option
from hatchway.toolkit import add_secret

__all__ = ["LoginConfig", "LoginError", "login", "ecr_credentials", "ECR_SERVER"]

#: ``<account>.dkr.ecr.<region>.amazonaws.com`` (with or without a scheme and a path), as Packer parses it.
ECR_SERVER = re.compile(r"^(?:https?://)?([0-9]+)\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:/.*)?$")
ECR_TIMEOUT = 20


class LoginError(HatchwayError):
    """Logging in to a registry failed (wrong credentials, unreachable registry or ECR)."""


@attrs.define(kw_only=True)
class LoginConfig:
    """The login keys of the docker builder and the docker-push post-processor (mixed into their configs)."""

    login: bool = option(False, help="Log in to login_server first.")
    login_server: str = option("", help="The registry to log in to (host[:port]; default: Docker Hub).")
    login_username: str = option("", help="The registry user name.")
    login_password: str = option("", secret=True, help="The registry password.")
    ecr_login: bool = option(False, help="Get the login from Amazon ECR for login_server "
                             "(<account>.dkr.ecr.<region>.amazonaws.com) with the aws_* keys.")
    aws_access_key: str = option("", secret=True, help="AWS access key for ecr_login (else AWS_ACCESS_KEY_ID, "
                                 "then the shared credentials file).")
    aws_secret_key: str = option("", secret=True, help="AWS secret key for ecr_login (else AWS_SECRET_ACCESS_KEY).")
    aws_token: str = option("", secret=True, help="AWS session token for ecr_login (else AWS_SESSION_TOKEN).")
    aws_profile: str = option("", help="The profile of the AWS shared credentials file for ecr_login "
                              "(else AWS_PROFILE, then default).")

    def login_problems(self) -> Iterator[Tuple[str, str, str]]:
        if self.ecr_login:
            if not self.login_server:
                yield ("ecr_login", "ecr_login needs login_server", "set it to <account>.dkr.ecr.<region>.amazonaws.com")
            elif not ECR_SERVER.match(self.login_server):
                yield ("login_server", f"{self.login_server!r} is not an ECR registry",
                       "use <account>.dkr.ecr.<region>.amazonaws.com with ecr_login")
        elif self.login and not (self.login_username and self.login_password):
            yield ("login", "login needs login_username and login_password", "set both, or remove \"login\"")


def login(ctx: BuildContext, api: Any, c: LoginConfig) -> Optional[str]:
    """Log the engine client in as the keys say; returns the registry logged in to (``None``: no login)."""
    if not (c.login or c.ecr_login):
        return None
    from . import sdk

    docker = sdk.load()
    username, password = c.login_username, c.login_password
    registry = c.login_server or "Docker Hub"
    if c.ecr_login:
        ctx.ui.message(f"Fetching ECR credentials for {c.login_server}...")
        username, password = ecr_credentials(c.login_server, c.aws_access_key, c.aws_secret_key, c.aws_token,
                                             c.aws_profile)
        add_secret(password)
    ctx.ui.message(f"Logging in to {registry} as {username}...")
    server = _server(c.login_server)
    try:
        api.login(username, password=password, registry=server, reauth=True)
    except docker.errors.APIError as exc:
        detail = str(getattr(exc, "explanation", None) or exc)
        if password:
            detail = detail.replace(password, "<sensitive>")
        raise LoginError(f"cannot log in to {registry} as {username!r}: {detail}; check login_server, "
                         "login_username and login_password") from None
    return registry


def _server(login_server: str) -> Optional[str]:
    """The registry as the engine's auth config names it: ``host[:port]``, without a scheme or path."""
    if not login_server:
        return None
    server = re.sub(r"^https?://", "", login_server)
    return server.split("/", 1)[0]


# -- Amazon ECR ----------------------------------------------------------------------------------------

def _aws_keys(access_key: str, secret_key: str, token: str, profile: str) -> Tuple[str, str, str]:
    """The keys given, else the environment's, else the shared credentials file's profile."""
    if access_key and secret_key:
        return access_key, secret_key, token or os.environ.get("AWS_SESSION_TOKEN", "")
    env = os.environ
    if not profile and env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"], env.get("AWS_SESSION_TOKEN", "")
    name = profile or env.get("AWS_PROFILE") or "default"
    path = Path(env.get("AWS_SHARED_CREDENTIALS_FILE") or Path.home() / ".aws" / "credentials")
    parser = configparser.ConfigParser()
    try:
        parser.read(path)
    except (OSError, configparser.Error):
        pass
    if parser.has_section(name) and parser.get(name, "aws_access_key_id", fallback=""):
        section = parser[name]
        return (section.get("aws_access_key_id", ""), section.get("aws_secret_access_key", ""),
                section.get("aws_session_token", ""))
    raise LoginError(f"ecr_login: no AWS credentials: set aws_access_key and aws_secret_key, or "
                     f"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or profile {name!r} in {path}")


def _sign(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _signed_headers(region: str, host: str, body: bytes, keys: Tuple[str, str, str],
                    now: datetime.datetime) -> Dict[str, str]:
    """AWS Signature V4 headers for a POST of ``body`` to the ECR API."""
    access, secret, token = keys
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {"content-type": "application/x-amz-json-1.1", "host": host, "x-amz-date": stamp,
               "x-amz-target": "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"}
    if token:
        headers["x-amz-security-token"] = token
    names = sorted(headers)
    canonical = "\n".join(["POST", "/", "", *[f"{n}:{headers[n]}" for n in names], "", ";".join(names),
                           hashlib.sha256(body).hexdigest()])
    scope = f"{day}/{region}/ecr/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _sign(_sign(_sign(_sign(f"AWS4{secret}".encode(), day), region), "ecr"), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={access}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return headers


def ecr_credentials(server: str, access_key: str = "", secret_key: str = "", token: str = "",
                    profile: str = "") -> Tuple[str, str]:
    """(user name, password) for ``server`` from ECR's GetAuthorizationToken; :class:`LoginError` otherwise."""
    import requests

    match = ECR_SERVER.match(server)
    if match is None:
        raise LoginError(f"ecr_login: login_server {server!r} is not an ECR registry; "
                         "use <account>.dkr.ecr.<region>.amazonaws.com")
    account, region = match.groups()
    keys = _aws_keys(access_key, secret_key, token, profile)
    for secret in keys[1:]:
        if secret:
            add_secret(secret)
    host = f"api.ecr.{region}.amazonaws.com"
    endpoint = os.environ.get("AWS_ENDPOINT_URL_ECR") or f"https://{host}/"
    body = json.dumps({"registryIds": [account]}).encode()
    headers = _signed_headers(region, host, body, keys, datetime.datetime.now(datetime.timezone.utc))
    try:
        response = requests.post(endpoint, data=body, headers=headers, timeout=ECR_TIMEOUT)
    except requests.RequestException as exc:
        reason = str(exc.__context__ or exc) if "NameResolution" in str(exc) else type(exc).__name__
        raise LoginError(f"ecr_login: cannot get a login token for account {account} from {host}: "
                         f"{_short(reason)}; ECR login needs network access to AWS") from None
    if response.status_code != 200:
        raise LoginError(f"ecr_login: {host} refused the login token request for account {account} "
                         f"(HTTP {response.status_code}: {_short(response.text)}); check the aws_* keys")
    try:
        token_b64 = response.json()["authorizationData"][0]["authorizationToken"]
        user, _, password = base64.b64decode(token_b64).decode().partition(":")
    except (ValueError, KeyError, IndexError, TypeError):
        raise LoginError(f"ecr_login: {host} answered without a login token") from None
    return user, password


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"
