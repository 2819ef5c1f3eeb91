"""Generated media on disk: image bytes stored under unguessable names and served at `/media/`."""

from __future__ import annotations

import struct
import uuid
from pathlib import Path

from config.settings import Settings
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
