"""The Teams app package: manifest.json with this bot's app id, and the two icons, in one zip (no SDK needed)."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent / "app_package"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class BadAppId(ValueError):
    """Not a Microsoft App ID (a GUID)."""


def manifest(app_id: str, *, website: str = "https://www.example.com") -> dict:
    """manifest.json for this bot: the package id and the bot id are the Azure Bot's app id."""
    if not GUID.match(app_id):
        raise BadAppId(app_id)
    data = json.loads((PACKAGE / "manifest.json").read_text(encoding="utf-8"))
    data["id"] = app_id
    for bot in data["bots"]:
        bot["botId"] = app_id
    site = website.rstrip("/")
    data["developer"].update(websiteUrl=site, privacyUrl=f"{site}/privacy", termsOfUseUrl=f"{site}/terms")
    return data


def build_package(app_id: str, output: Path, *, website: str = "https://www.example.com") -> Path:
    """Write the zip Teams uploads: manifest.json, color.png (192x192) and outline.png (32x32) at its root."""
    data = manifest(app_id, website=website)
    output.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as package:
        package.writestr("manifest.json", json.dumps(data, indent=2))
        for icon in ("color.png", "outline.png"):
            package.write(PACKAGE / icon, icon)
    return output
