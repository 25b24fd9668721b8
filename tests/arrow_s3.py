"""Test-only: an fsspec `s3://` filesystem backed by pyarrow's S3 client, for when s3fs is not installed.

fsspec maps `s3://` to s3fs. This environment has no s3fs (and the tests may not install packages),
but pyarrow ships an S3 client, and fsspec can wrap any pyarrow filesystem (ArrowFSWrapper). Registered
for the duration of one test, it lets the push test talk real S3 over HTTP to a moto server on
127.0.0.1 through the unchanged toolkit code path (`fsspec.core.url_to_fs(url, **storage_options)`).
With s3fs installed the tests use s3fs itself.
"""

from __future__ import annotations

import contextlib

import fsspec
from fsspec.implementations.arrow import ArrowFSWrapper


class ArrowS3(ArrowFSWrapper):
    protocol = ("s3",)

    def __init__(self, endpoint_override=None, access_key=None, secret_key=None, region="us-east-1",
                 scheme="http", **kw):
        from pyarrow import fs as pafs

        super().__init__(pafs.S3FileSystem(endpoint_override=endpoint_override, access_key=access_key,
                                           secret_key=secret_key, region=region, scheme=scheme), **kw)

    @classmethod
    def _strip_protocol(cls, path):
        path = super()._strip_protocol(path)
        return path[len("s3://"):] if isinstance(path, str) and path.startswith("s3://") else path


def s3_options(host: str, port: int) -> dict:
    """storage_options for the moto server: s3fs's spelling when s3fs exists, ArrowS3's otherwise."""
    try:
        import s3fs  # noqa: F401

        return {"key": "testing", "secret": "testing",
                "client_kwargs": {"endpoint_url": f"http://{host}:{port}", "region_name": "us-east-1"}}
    except ImportError:
        return {"endpoint_override": f"{host}:{port}", "access_key": "testing", "secret_key": "testing"}


@contextlib.contextmanager
def s3_protocol():
    """Yield 's3fs' or 'pyarrow' (the backend in use); registers ArrowS3 only while s3fs is missing."""
    try:
        import s3fs  # noqa: F401

        yield "s3fs"
        return
    except ImportError:
        pass
    from fsspec.registry import _registry

    saved = _registry.get("s3")
    fsspec.register_implementation("s3", ArrowS3, clobber=True)
    try:
        yield "pyarrow"
    finally:
        _registry.pop("s3", None)
        if saved is not None:
            _registry["s3"] = saved
