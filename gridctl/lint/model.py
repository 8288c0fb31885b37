"""Instrument lint: the `model` field must be an instrument, not a lab model name."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from gridctl import grid
from gridctl.findings import Finding, finding


@dataclass
class ModelLint:
    name: str
    findings: list[Finding] = field(default_factory=list)
    suggestion: str | None = None
    known: bool = False

    @property
    def ok(self) -> bool:
        return not any(f.severity == "error" for f in self.findings)


_VERSION = re.compile(r"\d+(?:\.\d+)*")


def _without_versions(name: str) -> str:
    """`claude-3-5-haiku-20241022` -> `claude-haiku`: the older names put the version first."""
    return "-".join(part for part in name.split("-") if not _VERSION.fullmatch(part))


def foreign_hint(name: str) -> str | None:
    """The instrument for a lab model name: the most specific hint matching the name, the name
    without its version numbers, or the name without its provider prefix."""
    lowered = name.lower()
    candidates = [lowered, _without_versions(lowered)]
    if "/" in lowered:
        tail = lowered.rsplit("/", 1)[1]
        candidates += [tail, _without_versions(tail)]
    best: tuple[int, str] | None = None
    for candidate in candidates:
        for prefix, instrument in grid.FOREIGN_MODEL_HINTS:
            if candidate.startswith(prefix):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), instrument)
                break
    if best is not None:
        return best[1]
    if "/" in lowered:
        return grid.DEFAULT_MODEL
    return None


def lint_model(name: str, live: Sequence[str] | None = None) -> ModelLint:
    """Lint `name`; `live` is the list from GET /v1/models when it could be read (the authority)."""
    result = ModelLint(name=name)
    add = result.findings.append
    known = set(grid.INSTRUMENTS) | set(grid.LAB_MARKET) | set(live or ())
    if len(name) > 256:  # bounded: no instrument name is long, and the message would quote it all
        add(finding("model.unknown", f"The model name is {len(name)} characters long; instruments are short "
                    f"names such as {grid.DEFAULT_MODEL}.", fix=f"Use {grid.DEFAULT_MODEL}."))
        result.suggestion = grid.DEFAULT_MODEL
        return result
    bare = name.strip().strip("\"'")
    if not bare:
        add(finding("model.unknown", "The model is empty.", fix=f"Use {grid.DEFAULT_MODEL}."))
        result.suggestion = grid.DEFAULT_MODEL
        return result
    if bare != name:
        add(finding("model.unknown", f"The model has whitespace or quotes around it: {name!r}.",
                    fix=f"Send exactly {bare}."))
        result.suggestion = bare
    if bare in known:
        result.known = True
        if live is not None and bare not in live:
            add(finding("model.not_listed", f"{bare} is an instrument, but GET /v1/models does not list it "
                        "for this key."))
        return result
    if bare.lower() in known:
        result.suggestion = bare.lower()
        add(finding("model.case", f"{bare!r} is {result.suggestion!r} in the wrong case.",
                    fix=f"Use {result.suggestion}."))
        return result
    if "/" in bare:
        # A provider prefix in front of an instrument (`openai/code-max`, LiteLLM's spelling): LiteLLM
        # strips it, but on the wire The Grid sees the whole string and answers 404.
        tail = bare.rsplit("/", 1)[1]
        if tail.lower() in known:
            result.suggestion = tail.lower()
            add(finding("model.unknown", f"{bare} has a provider prefix; the `model` sent to The Grid must be "
                        f"{result.suggestion} alone.", fix=f"Send {result.suggestion} (LiteLLM: write "
                        f"openai/{result.suggestion} in its config; it strips the prefix)."))
            return result
    hint = foreign_hint(bare)
    if hint:
        tier = hint.rsplit("-", 1)[1]
        result.suggestion = hint
        what = ("the model that served a request (the response's `model` field)" if "/" in bare
                else "a lab model name")
        add(finding("model.foreign_name", f"{bare} is {what}, not an instrument; The Grid answers 404.",
                    fix=f"Use {hint} ({grid.TIER_ADVICE[tier]}); see `gridctl models`."))
        return result
    lowered = bare.lower()
    if lowered in grid.FAMILIES or lowered in grid.TIERS:
        # `code` or `prime` alone: the family (or tier) is right, complete it with the general tier
        pick = f"{lowered}-prime" if lowered in grid.FAMILIES else f"text-{lowered}"
        result.suggestion = pick
        add(finding("model.unknown", f"{bare} is half an instrument name. Did you mean {pick}?",
                    fix=f"Use {pick}; `gridctl models` lists them all."))
        return result
    close = difflib.get_close_matches(lowered, sorted(known), n=1, cutoff=0.6)
    result.suggestion = close[0] if close else grid.DEFAULT_MODEL
    did = f"Did you mean {close[0]}?" if close else f"Try {grid.DEFAULT_MODEL}."
    add(finding("model.unknown", f"{bare} is not an instrument. {did}",
                fix=f"Use {result.suggestion}; `gridctl models` lists them all."))
    return result
