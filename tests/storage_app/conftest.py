"""Real S3 over HTTP: two moto servers on 127.0.0.1, a Supabase Storage stand-in, and a real
Google Cloud Storage JSON API (fake-gcs-server, tests/storage_app/gcs_emulator.py).

- `moto_open`: no IAM checks (any key works); presigned GETs work, so most tests use it.
- `moto_strict`: IAM enforced (moto's reset-auth to 0 after setup): only the `fileloom` user's
  keys work, and that user has exactly the documented minimal policy (Put/Get/DeleteObject on
  one bucket). moto cannot serve presigned URLs with IAM enforced, hence two servers.
Both are subprocesses, so the Celery worker subprocess reaches them over HTTP like the web does.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from django.conf import settings

from fileloom.lifecycle import dies_with_this_process
from tests.storage_app.gcs_emulator import (
    DenyingGCS,
    GCSEmulator,
    service_account_key,
    start_emulator,
    stop_emulator,
)
from tests.storage_app.supabase_standin import SupabaseStandIn

REGION = "us-east-1"
STRICT_BUCKET = "acme-strict"
MINIMAL_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
            "Resource": f"arn:aws:s3:::{STRICT_BUCKET}/*",
        }
    ],
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class MotoServer:
    endpoint: str
    process: subprocess.Popen
    access_key: str = "AKIAOPENSERVER000000"
    secret_key: str = "open-server-secret"
    admin_access_key: str = "AKIAOPENSERVER000000"
    admin_secret_key: str = "open-server-secret"

    def client(self, access_key: str | None = None, secret_key: str | None = None) -> Any:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=access_key or self.admin_access_key,
            aws_secret_access_key=secret_key or self.admin_secret_key,
            config=Config(s3={"addressing_style": "path"}),
        )

    def keys(self, bucket: str) -> list[str]:
        listing = self.client().list_objects_v2(Bucket=bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def read(self, bucket: str, key: str) -> bytes:
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()


def _start_moto(name: str) -> MotoServer:
    port = free_port()
    log = (settings.VAR_DIR / f"moto-{name}.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "MOTO_PORT": str(port)},
        start_new_session=True,
        preexec_fn=dies_with_this_process(),  # an interrupted test run leaves no server behind
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto server {name} exited early")
        try:
            requests.get(f"{endpoint}/moto-api/", timeout=2)
            return MotoServer(endpoint=endpoint, process=process)
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"moto server {name} did not start")


def _stop(server: MotoServer) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def moto_open() -> Any:
    server = _start_moto("open")
    yield server
    _stop(server)


@pytest.fixture(scope="session")
def moto_strict() -> Any:
    server = _start_moto("strict")
    iam = boto3.session.Session().client(
        "iam", endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id="x", aws_secret_access_key="y"
    )
    iam.create_user(UserName="fileloom")
    iam.put_user_policy(UserName="fileloom", PolicyName="fileloom-pdfs", PolicyDocument=json.dumps(MINIMAL_POLICY))
    key = iam.create_access_key(UserName="fileloom")["AccessKey"]
    iam.create_user(UserName="admin")
    iam.put_user_policy(
        UserName="admin",
        PolicyName="all",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    admin = iam.create_access_key(UserName="admin")["AccessKey"]
    server.access_key, server.secret_key = key["AccessKeyId"], key["SecretAccessKey"]
    server.admin_access_key, server.admin_secret_key = admin["AccessKeyId"], admin["SecretAccessKey"]
    server.client().create_bucket(Bucket=STRICT_BUCKET)
    # From here on every request must be signed by a known IAM user and allowed by its policy.
    requests.post(f"{server.endpoint}/moto-api/reset-auth", data=b"0", timeout=5).raise_for_status()
    yield server
    _stop(server)


@pytest.fixture
def bucket(moto_open: MotoServer) -> str:
    """A fresh bucket on the open server for one test."""
    name = f"acme-{uuid.uuid4().hex[:12]}"
    moto_open.client().create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def supabase() -> Any:
    standin = SupabaseStandIn(service_role_key="service-role-" + uuid.uuid4().hex)
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture(scope="session")
def gcs() -> Any:
    """fake-gcs-server on 127.0.0.1 (a subprocess, so the worker reaches it too)."""
    emulator = start_emulator(free_port(), settings.VAR_DIR / "fake-gcs-server.log")
    yield emulator
    stop_emulator(emulator)


@pytest.fixture
def gcs_bucket(gcs: GCSEmulator) -> str:
    """A fresh bucket in the emulator for one test."""
    name = f"acme-{uuid.uuid4().hex[:12]}"
    gcs.create_bucket(name)
    return name


@pytest.fixture(scope="session")
def denying_gcs() -> Any:
    standin = DenyingGCS()
    standin.start()
    yield standin
    standin.stop()


@pytest.fixture(scope="session")
def gcs_key() -> dict[str, str]:
    """A service-account key (fresh RSA key) the workspace pastes into its connection."""
    return service_account_key()


def firebase_body(emulator: GCSEmulator, bucket: str, key: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "provider": "firebase",
        "name": "Firebase PDFs",
        "bucket": bucket,
        "endpoint": emulator.url,
        "serviceAccount": key,
    }
    body.update(overrides)
    return body


def s3_body(server: MotoServer, bucket: str, **overrides: Any) -> dict[str, Any]:
    body = {
        "provider": "s3",
        "name": "Production Backup",
        "bucket": bucket,
        "region": REGION,
        "endpointUrl": server.endpoint,
        "forcePathStyle": True,
        "accessKeyId": server.access_key,
        "secretAccessKey": server.secret_key,
    }
    body.update(overrides)
    return body


def supabase_body(standin: SupabaseStandIn, bucket: str = "pdfs", **overrides: Any) -> dict[str, Any]:
    body = {
        "provider": "supabase",
        "name": "Supabase PDFs",
        "bucket": bucket,
        "projectUrl": standin.url,
        "serviceRoleKey": standin.service_role_key,
    }
    body.update(overrides)
    return body


def set_storage_mode(workspace: Any, mode: str) -> None:
    from accounts.models import Workspace

    Workspace.objects.filter(pk=workspace.pk).update(storage_mode=mode)


def closed_port_endpoint() -> str:
    """An endpoint on loopback where nothing listens (connection refused at once)."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def connect(api: Any) -> Any:
    """Create a connection through the API (so it passed the connection test)."""

    def create(body: dict[str, Any]) -> dict[str, Any]:
        response = api.post("/v1/storage", json=body)
        assert response.status_code == 201, response.text
        return response.json()["data"]

    return create


def var_path(name: str) -> Path:
    return settings.VAR_DIR / name
