"""Keep secret values out of everything the tool writes or prints.

Values from secure.yaml are known by value; anything written to the
database, the run directory or the terminal goes through ``scrub`` or
``mask_values`` first, so a secret that leaked into a log line is masked too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MASK = "********"

# Free text is scrubbed of secrets this long or longer; a shorter one would
# mask ordinary digits and words all over the data.
MIN_SCRUB_LENGTH = 4


def mask_values(data: Any, secrets: Iterable[str]) -> Any:
    """Replace every leaf equal to a secret, keeping the shape of the data."""
    secret_set = {s for s in secrets if s}
    if not secret_set:
        return data
    return _mask(data, secret_set)


def _mask(data: Any, secrets: set[str]) -> Any:
    if isinstance(data, dict):
        return {k: _mask(v, secrets) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_mask(v, secrets) for v in data]
    if data is not None and not isinstance(data, bool) and str(data) in secrets:
        return MASK
    if isinstance(data, str):
        return scrub(data, secrets)
    return data


def scrub(text: str, secrets: Iterable[str]) -> str:
    """Mask every occurrence of a secret inside free text (logs, messages)."""
    # Longest first, so a secret containing another is masked whole.
    for secret in _scrubbable(secrets):
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def scrub_bytes(content: bytes, secrets: Iterable[str]) -> bytes:
    for secret in _scrubbable(secrets):
        raw = secret.encode()
        if raw in content:
            content = content.replace(raw, MASK.encode())
    return content


def _scrubbable(secrets: Iterable[str]) -> list[str]:
    return sorted((s for s in secrets if len(s) >= MIN_SCRUB_LENGTH), key=len, reverse=True)
