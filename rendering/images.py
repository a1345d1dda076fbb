"""Image output: what to capture (ImageSetup) and the finishing every engine shares (Pillow).

Field names in `from_dict`/`as_dict` are the API's. Pillow is imported inside functions, like the
engines' native libraries: it is only needed in render processes.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rendering.loading import PageLoad

if TYPE_CHECKING:
    from PIL.Image import Image

IMAGE_TYPES = ("png", "jpeg", "webp")
CONTENT_TYPES = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp"}
DEFAULT_QUALITY = 80  # jpeg and webp when `quality` is not set


@dataclass(frozen=True)
class Clip:
    """A rectangle of the page in CSS pixels."""

    x: float
    y: float
    width: float
    height: float

    def as_dict(self) -> dict[str, float]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Clip:
        return cls(x=float(data["x"]), y=float(data["y"]), width=float(data["width"]), height=float(data["height"]))


@dataclass(frozen=True)
class ImageSetup:
    image_type: str = "png"
    quality: int | None = None  # jpeg and webp, 0-100
    full_page: bool = True  # the whole scrollable page, not only the viewport
    clip: Clip | None = None
    selector: str | None = None  # capture the first element that matches
    transparent: bool = False  # png and webp: no default white background
    trim: bool = False  # crop borders of one uniform colour
    load: PageLoad = field(default_factory=PageLoad)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.image_type]

    @property
    def effective_quality(self) -> int:
        return DEFAULT_QUALITY if self.quality is None else self.quality

    @property
    def extension(self) -> str:
        return "jpg" if self.image_type == "jpeg" else self.image_type

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "imageType": self.image_type,
            "fullPage": self.full_page,
            "transparent": self.transparent,
            "trim": self.trim,
        }
        if self.quality is not None:
            data["quality"] = self.quality
        if self.clip is not None:
            data["clip"] = self.clip.as_dict()
        if self.selector is not None:
            data["selector"] = self.selector
        data.update(self.load.as_dict())
        return data

    def browser_options_set(self) -> list[str]:
        """API names of the options set here that only a browser engine honours."""
        names = []
        if not self.full_page:
            names.append("fullPage")
        if self.clip is not None:
            names.append("clip")
        if self.selector is not None:
            names.append("selector")
        return names + self.load.options_set()

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ImageSetup:
        """Build from already-validated options (missing keys take defaults)."""
        clip = data.get("clip")
        return cls(
            image_type=str(data.get("imageType") or "png"),
            quality=None if data.get("quality") is None else int(data["quality"]),
            full_page=bool(data.get("fullPage", True)),
            clip=Clip.from_dict(clip) if clip else None,
            selector=None if data.get("selector") is None else str(data["selector"]),
            transparent=bool(data.get("transparent", False)),
            trim=bool(data.get("trim", False)),
            load=PageLoad.from_dict(data),
        )


def trim_uniform_border(image: Image) -> Image:
    """Crop the borders whose pixels all equal the top-left pixel (transparent ones if it is).

    An image of one colour is left as it is.
    """
    from PIL import Image as PILImage
    from PIL import ImageChops

    corner = image.getpixel((0, 0))
    if image.mode == "RGBA" and isinstance(corner, tuple) and corner[3] == 0:
        # Transparent pixels may carry any colour; only their alpha matters.
        box = image.getchannel("A").getbbox()
    else:
        background = PILImage.new(image.mode, image.size, corner)
        box = ImageChops.difference(image, background).getbbox()
    return image.crop(box) if box else image


def encode_image(image: Image, setup: ImageSetup) -> bytes:
    """The image in the set-up's format (trimmed first if asked)."""
    if setup.trim:
        image = trim_uniform_border(image)
    if not setup.transparent or setup.image_type == "jpeg":
        image = _on_white(image)
    buffer = io.BytesIO()
    if setup.image_type == "png":
        image.save(buffer, format="PNG")
    elif setup.image_type == "jpeg":
        image.save(buffer, format="JPEG", quality=setup.effective_quality)
    else:
        image.save(buffer, format="WEBP", quality=setup.effective_quality)
    return buffer.getvalue()


def finish_png(png: bytes, setup: ImageSetup) -> bytes:
    """A PNG capture turned into the set-up's output (trim, format, quality)."""
    from PIL import Image as PILImage

    with PILImage.open(io.BytesIO(png)) as image:
        image.load()
        return encode_image(image, setup)


def _on_white(image: Image) -> Image:
    from PIL import Image as PILImage

    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        white = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
        return PILImage.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")
