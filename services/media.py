"""Generated media on disk: image bytes stored under unguessable names and served at `/media/`."""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from config.settings import Settings
from models.db import raw_query
from models.writer import Image


def png_size(data: bytes) -> tuple[int | None, int | None]:
    """Width and height from a PNG header; (None, None) for other formats."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    return None, None


async def store_image(settings: Settings, image: Image, data: bytes) -> None:
    """Write the bytes under the media folder with an unguessable name; set url and size."""
    relative = Path(str(image.account_id)) / f"{uuid.uuid4().hex}.png"
    path = settings.media_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    image.file_path = str(relative)
    image.url = f"/media/{relative.as_posix()}"
    image.width, image.height = png_size(data)


# An image's row goes with its content or site; its file would stay on disk, served at its address.
_DELETE_IMAGES = {
    owner: f'DELETE FROM "image" WHERE "{owner}" = {{0}} RETURNING "file_path"' for owner in ("content_id", "site_id")
}


async def delete_images(settings: Settings, owner: Literal["content_id", "site_id"], owner_id: int) -> list[Path]:
    """Delete the images of a content or a site (before it, in its transaction); the files to
    `remove` once that commits. Each row's file is read as it is deleted, so an image a job is
    storing meanwhile is deleted once the job commits, with its file named here (a job storing
    one after finds it gone and removes its own file)."""
    rows = await raw_query(_DELETE_IMAGES[owner], [owner_id])
    return [settings.media_dir / row["file_path"] for row in rows if row["file_path"]]


def remove(files: Iterable[Path]) -> None:
    for path in files:
        path.unlink(missing_ok=True)
