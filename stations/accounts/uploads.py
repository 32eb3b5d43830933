"""Uploaded station files waiting between their dry run and their confirmation.

A staff member uploads a spreadsheet, reads the dry-run report, then confirms: the two
requests may reach different service instances (or workers), so the file waits in the
store's ``uploads`` table (schema version 3), not in one machine's folder. An upload is its
maker's only, at most ``max_bytes`` long, removed when it is applied or discarded, and
removed by the next upload once it is older than :data:`UPLOAD_KEEP_S`.

The SQL is portable (qmark parameters): it runs on a GeoPackage or a PostGIS store alike,
through ``store.transaction()`` and ``store.query()``.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
import time
from pathlib import Path
from typing import Iterator

from ..errors import NotFoundError, Problem, ValidationError
from .scopes import User

#: Seconds an unconfirmed upload is kept (a day).
UPLOAD_KEEP_S = 86400.0


def save_upload(store, user: User, filename: str, data: bytes, *, max_bytes: int,
                now_s: float | None = None) -> str:
    """Keep ``data`` (the file called ``filename``) for ``user`` until it is confirmed; its
    upload id. Uploads older than :data:`UPLOAD_KEEP_S` are removed in the same transaction.

    Raises :class:`ValidationError` for an empty file or one over ``max_bytes`` bytes."""
    if not data or len(data) > max_bytes:
        raise ValidationError.from_problems([Problem("file", f"{filename} ({len(data)} bytes)",
                                                     "empty" if not data else "too large",
                                                     f"1 to {max_bytes} bytes")], what="upload")
    now_s = time.time() if now_s is None else now_s
    upload_id = f"{user.user_id}-{secrets.token_hex(12)}"
    with store.transaction() as db:
        db.execute("DELETE FROM uploads WHERE created_at < ?", (now_s - UPLOAD_KEEP_S,))
        db.execute("INSERT INTO uploads (upload_id, user_id, filename, data, created_at) VALUES (?, ?, ?, ?, ?)",
                   (upload_id, user.user_id, filename, bytes(data), now_s))
    return upload_id


@contextlib.contextmanager
def upload_file(store, upload_id: str, user: User, *, now_s: float | None = None) -> Iterator[Path]:
    """The upload as a file under its own name in a temporary folder (removed after the block),
    for the importer, which reads files. Raises :class:`NotFoundError` for an id that is
    unknown, applied, older than :data:`UPLOAD_KEEP_S` or another user's."""
    now_s = time.time() if now_s is None else now_s
    rows = store.query("SELECT filename, data FROM uploads WHERE upload_id = ? AND user_id = ? AND created_at >= ?",
                       (str(upload_id), user.user_id, now_s - UPLOAD_KEEP_S))
    if not rows:
        raise NotFoundError(f"no upload {upload_id!r} of yours waiting; upload the file again",
                            [Problem("upload_id", upload_id, "unknown, applied, expired or someone else's",
                                     "an id from POST /api/v1/uploads")])
    with tempfile.TemporaryDirectory(prefix="stations-upload-") as folder:
        path = Path(folder) / Path(rows[0]["filename"]).name
        path.write_bytes(bytes(rows[0]["data"]))
        yield path


def discard_upload(store, upload_id: str) -> None:
    """Remove an upload (applied, or its dry run failed)."""
    with store.transaction() as db:
        db.execute("DELETE FROM uploads WHERE upload_id = ?", (str(upload_id),))
