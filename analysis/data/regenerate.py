"""Regeneration: write a synthetic extract again from its manifest and compare its files.

A synthetic extract's ``manifest.json`` records its writer (the generator,
:func:`analysis.data.synth.generate`, or a delivery cut from it,
:func:`analysis.data.deliveries.write_delivery`), the arguments and the code
version; :func:`regenerate` calls that writer again and returns the checksums of
what it writes, which :mod:`analysis.provenance` compares with the folder's to
decide that an extract is synthetic. It sits above both writers' modules, so that
neither imports the other to find it (the deliveries are cut from what the
generator writes).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import typing
from pathlib import Path

from analysis.data import deliveries, synth
from analysis.data.receipt import forced


def writers() -> dict:
    """The writers a manifest may name: regeneration calls nothing else."""
    return {"generate": synth.generate, "delivery": deliveries.write_delivery}


def _decode(function, arguments: dict) -> dict:
    """The recorded arguments as ``function`` takes them (configuration models rebuilt)."""
    hints = typing.get_type_hints(function)
    decoded = {}
    for name, value in arguments.items():
        hint = hints.get(name)
        # A configuration model, also as ``Model | None``.
        models = [h for h in (hint, *typing.get_args(hint)) if hasattr(h, "model_validate")]
        if models and value is not None:
            value = models[0].model_validate(value)
        decoded[name] = value
    return decoded


class NotRegenerable(ValueError):
    """A manifest that names no known writer or arguments it does not take."""


def regenerate(manifest: dict, cached: bool = True) -> dict[str, str]:
    """Write the extract a manifest describes again and return ``{file: sha256}`` of what was written.

    Every recorded argument is passed through to the writer the manifest names
    (:func:`analysis.data.synth.generate`, or a delivery's :func:`analysis.data.deliveries.write_delivery`),
    into a scratch folder removed afterwards; for ``manifest.json`` the digest of
    its content, the list of files aside (:func:`analysis.data.synth.manifest_digest`). Raises
    :class:`NotRegenerable` for a manifest without a usable ``generator`` entry.

    With ``cached`` (the default, unless ``ANALYSIS_REVALIDATE`` is set) an answer
    found under ``build/regenerated/`` for the same ``generator`` entry and the
    same code version is returned instead: the generator writes one there for each
    extract it writes. That cache is **local trust**, like the validation
    receipts: a person who can write to ``build/`` can write an answer that makes
    a chosen set of checksums count as synthetic (as they could change the code
    itself). ``--revalidate`` regenerates afresh.
    """
    generator = manifest.get(synth.GENERATOR) if isinstance(manifest, dict) else None
    if not isinstance(generator, dict):
        raise NotRegenerable("the manifest records no generator")
    writer = writers().get(generator.get("writer"))
    arguments = generator.get("arguments")
    if writer is None or not isinstance(arguments, str):
        raise NotRegenerable("the manifest names no known writer and its arguments")

    if cached and not forced():
        found = synth.cached(generator)
        if found is not None:
            return dict(found)
    try:
        decoded = _decode(writer, json.loads(arguments))
    except Exception as error:  # a configuration that no longer validates
        raise NotRegenerable(
            f"the recorded arguments cannot be used ({type(error).__name__})"
        ) from None
    scratch = Path(tempfile.mkdtemp(prefix="regenerate-"))
    try:
        out = scratch / "extract"
        try:
            writer(out, **decoded)
        except TypeError as error:  # arguments the writer does not take
            raise NotRegenerable(
                f"the writer does not take the recorded arguments ({error})"
            ) from None
        files = synth.checksums(out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return files
