"""The incident history as an Atom feed (RFC 4287)."""

from __future__ import annotations

from datetime import datetime
from xml.etree import ElementTree as ET

from gptapi.console.status.schemas import IncidentOut
from gptapi.kit.clock import rfc3339

ATOM = "http://www.w3.org/2005/Atom"


def _child(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    element.text = text
    return element


def _entry_text(incident: IncidentOut) -> str:
    lines = [f"Severity: {incident.severity}."]
    if incident.service:
        lines.append(f"Affects: {incident.service}.")
    lines += [
        f"{rfc3339(update.created_at)} — {update.status.capitalize()}: {update.message}"
        for update in incident.updates
    ]
    return "\n".join(lines)


def incident_feed(incidents: list[IncidentOut], *, base_url: str, now: datetime) -> bytes:
    feed = ET.Element("feed", {"xmlns": ATOM})
    _child(feed, "id", f"{base_url}/api/status/feed.atom")
    _child(feed, "title", "GPT API status — incidents")
    updated = max((incident.updated_at for incident in incidents), default=now)
    _child(feed, "updated", rfc3339(updated))
    _child(feed, "link", rel="self", href=f"{base_url}/api/status/feed.atom")
    _child(feed, "link", rel="alternate", href=f"{base_url}/status")
    author = _child(feed, "author")
    _child(author, "name", "GPT API")
    for incident in incidents:
        entry = _child(feed, "entry")
        url = f"{base_url}/api/status/incidents/{incident.id}"
        _child(entry, "id", url)
        _child(entry, "title", f"[{incident.status.capitalize()}] {incident.title}")
        _child(entry, "published", rfc3339(incident.created_at))
        _child(entry, "updated", rfc3339(incident.updated_at))
        _child(entry, "link", rel="alternate", href=url)
        if incident.updates:
            _child(entry, "summary", incident.updates[0].message)
        _child(entry, "content", _entry_text(incident), type="text")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))
