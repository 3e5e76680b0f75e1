"""Store computed results as JSON and Parquet, and read them back as the same objects.

A results stage computes once what a report shows, and the notebooks read it
back. The objects involved are the package's own dataclasses and plain classes
(estimates, aggregations, protected payment tables) holding numbers, arrays and
data frames. :func:`dump` writes one ``objects.json`` describing the object tree
and one Parquet file per data frame (Parquet keeps the dtypes and is exact);
numeric arrays of more than ``ARRAY_INLINE`` values (the influence functions of
the estimates, millions of floats) go into ``arrays/*.npy`` (NumPy's own binary
format, exact and about a hundred times faster to write and read than the same
numbers as JSON text); :func:`load` rebuilds the tree. Floats are written with ``repr`` precision, so
every number comes back bit for bit (:func:`dump` checks each frame's round trip).

Unlike pickle, reading never runs code named by the file: only classes defined
in the ``analysis`` package (and the handful of value types below) are rebuilt.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import atomic

OBJECTS = "objects.json"
FRAMES = "frames"
ARRAYS = "arrays"
# Numeric arrays up to this many values stay readable in objects.json.
ARRAY_INLINE = 64


class CodecError(ValueError):
    """A value that cannot be stored, or a stored file that cannot be read back."""


def _float(value: float):
    if math.isnan(value):
        return {"$float": "nan"}
    if math.isinf(value):
        return {"$float": "inf" if value > 0 else "-inf"}
    return value


class _Writer:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.frames = 0
        self.arrays = 0

    def array(self, value: np.ndarray) -> dict:
        name = f"{self.arrays:04d}.npy"
        self.arrays += 1
        (self.folder / ARRAYS).mkdir(exist_ok=True)
        with open(self.folder / ARRAYS / name, "wb") as file:
            np.save(file, value, allow_pickle=False)
        return {"$npy": name}

    def frame(self, frame: pd.DataFrame) -> dict:
        # Parquet needs string column names: the labels are stored beside the file.
        # Columns of Python objects (strings mixed with None, NaN or numbers) and the
        # index go into the JSON, value by value: Parquet would turn them into
        # pandas strings and None into NaN.
        name = f"{self.frames:04d}.parquet"
        self.frames += 1
        kept = [i for i in range(frame.shape[1]) if str(frame.dtypes.iloc[i]) != "object"]
        stored = frame.iloc[:, kept].copy()
        stored.columns = [f"c{i}" for i in kept]
        (self.folder / FRAMES).mkdir(exist_ok=True)
        stored.reset_index(drop=True).to_parquet(self.folder / FRAMES / name, engine="pyarrow")
        index = frame.index
        encoded = {
            "$frame": name,
            "columns": self.encode(list(frame.columns)),
            "columns_name": self.encode(frame.columns.name),
            "multi": isinstance(frame.columns, pd.MultiIndex),
            "objects": {
                str(i): self.encode(frame.iloc[:, i].tolist())
                for i in range(frame.shape[1])
                if i not in kept
            },
            "index": (
                {"range": [index.start, index.stop, index.step], "name": self.encode(index.name)}
                if isinstance(index, pd.RangeIndex)
                else {
                    "values": self.encode(list(index)),
                    "names": self.encode(list(index.names)),
                    "dtype": None if isinstance(index, pd.MultiIndex) else str(index.dtype),
                }
            ),
            "attrs": self.encode(dict(frame.attrs)),
        }
        back = _Reader(self.folder).decode(encoded)
        try:
            pd.testing.assert_frame_equal(back, frame, check_exact=True)
        except AssertionError as error:
            raise CodecError(f"a data frame does not survive Parquet unchanged: {error}") from None
        return encoded

    def encode(self, value):
        if (
            value is None
            or isinstance(value, bool | str | int)
            and not isinstance(value, np.generic)
        ):
            return value
        # NumPy scalars first: np.float64 is also a float, and must come back as one.
        if isinstance(value, np.generic):
            return {"$numpy": value.dtype.str, "value": self.encode(value.item())}
        if isinstance(value, float):
            return _float(value)
        if isinstance(value, np.ndarray):
            if value.dtype == object:
                return {"$array_object": [self.encode(v) for v in value.tolist()]}
            if value.size > ARRAY_INLINE and value.dtype.kind in "biufc":
                return self.array(value)
            return {
                "$array": value.dtype.str,
                "shape": list(value.shape),
                "values": [
                    _float(v) if isinstance(v, float) else v for v in value.ravel().tolist()
                ],
            }
        if isinstance(value, pd.DataFrame):
            return self.frame(value)
        if isinstance(value, pd.Series):
            return {
                "$series": self.frame(value.to_frame(name="value")),
                "name": self.encode(value.name),
            }
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, tuple):
            return {"$tuple": [self.encode(v) for v in value]}
        if isinstance(value, set | frozenset):
            kind = "$frozenset" if isinstance(value, frozenset) else "$set"
            # In the order of the encoded elements' JSON text: the iteration order of a
            # set, and so the repr of a set inside it, changes with the per-process
            # hash seed of strings, and two writes of the same value must be the same bytes.
            items = [self.encode(v) for v in value]
            return {kind: sorted(items, key=_canonical)}
        if isinstance(value, dict):
            return {"$dict": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        cls = type(value)
        if not cls.__module__.startswith("analysis."):
            raise CodecError(f"cannot store a {cls.__module__}.{cls.__qualname__}")
        if dataclasses.is_dataclass(value):
            fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        elif cls.__getstate__ is not object.__getstate__:
            # A class that leaves caches out of its state (pickle's protocol).
            fields = dict(value.__getstate__())
        else:
            fields = dict(vars(value))
        return {
            "$object": f"{cls.__module__}:{cls.__qualname__}",
            "fields": {k: self.encode(v) for k, v in fields.items()},
        }


class _Reader:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def decode(self, value):
        """Decode one stored value (the inverse of the writer's ``encode``).

        Kept whole: one dispatch on the stored markers (``$float``, ``$array``,
        ``$frame``, ``$object`` …), each a few lines; the order of the tests is the
        format's definition.
        """
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "$float" in value:
            return float(value["$float"])
        if "$numpy" in value:
            return np.dtype(value["$numpy"]).type(self.decode(value["value"]))
        if "$array" in value:
            values = [self.decode(v) for v in value["values"]]
            return np.array(values, dtype=np.dtype(value["$array"])).reshape(value["shape"])
        if "$npy" in value:
            return np.load(self.folder / ARRAYS / value["$npy"], allow_pickle=False)
        if "$array_object" in value:
            items = [self.decode(v) for v in value["$array_object"]]
            array = np.empty(len(items), dtype=object)
            array[:] = items
            return array
        if "$frame" in value:
            stored = pd.read_parquet(self.folder / FRAMES / value["$frame"], engine="pyarrow")
            labels = self.decode(value["columns"])
            objects = {int(k): v for k, v in value["objects"].items()}
            columns = {}
            for i in range(len(labels)):
                if i in objects:
                    items = self.decode(objects[i])
                    array = np.empty(len(items), dtype=object)
                    array[:] = items  # element by element: None stays None
                    columns[i] = pd.Series(array, dtype=object)
                else:
                    columns[i] = stored[f"c{i}"]
            frame = pd.DataFrame(
                {i: columns[i] for i in range(len(labels))},
                index=range(len(next(iter(columns.values()))) if columns else len(stored)),
            )
            index = value["index"]
            if "range" in index:
                frame.index = pd.RangeIndex(*index["range"], name=self.decode(index["name"]))
            elif index["dtype"] is None:
                frame.index = pd.MultiIndex.from_tuples(
                    self.decode(index["values"]), names=self.decode(index["names"])
                )
            else:
                frame.index = pd.Index(
                    self.decode(index["values"]),
                    dtype=index["dtype"],
                    name=self.decode(index["names"])[0],
                )
            frame.columns = (
                pd.MultiIndex.from_tuples(labels) if value["multi"] else pd.Index(labels)
            )
            frame.columns.name = self.decode(value["columns_name"])
            frame.attrs.update(self.decode(value["attrs"]))
            return frame
        if "$series" in value:
            series = self.decode(value["$series"])["value"]
            series.name = self.decode(value["name"])
            return series
        if "$tuple" in value:
            return tuple(self.decode(v) for v in value["$tuple"])
        if "$set" in value:
            return {self.decode(v) for v in value["$set"]}
        if "$frozenset" in value:
            return frozenset(self.decode(v) for v in value["$frozenset"])
        if "$dict" in value:
            return {_hashable(self.decode(k)): self.decode(v) for k, v in value["$dict"]}
        if "$object" in value:
            module, _, qualname = value["$object"].partition(":")
            if not module.startswith("analysis."):
                raise CodecError(f"refusing to rebuild {value['$object']}")
            cls = importlib.import_module(module)
            for part in qualname.split("."):
                cls = getattr(cls, part)
            fields = {k: self.decode(v) for k, v in value["fields"].items()}
            if dataclasses.is_dataclass(cls):
                init = {f.name for f in dataclasses.fields(cls) if f.init}
                obj = cls(**{k: v for k, v in fields.items() if k in init})
                for k, v in fields.items():
                    if k not in init:
                        object.__setattr__(obj, k, v)
                return obj
            obj = cls.__new__(cls)
            if hasattr(cls, "__setstate__"):
                obj.__setstate__(fields)
            else:
                obj.__dict__.update(fields)
            return obj
        raise CodecError(f"unknown stored value {sorted(value)}")


def _canonical(encoded) -> str:
    return json.dumps(encoded, sort_keys=True, ensure_ascii=False, allow_nan=False)


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


def dump(value, folder: Path | str) -> None:
    """Write ``value`` into ``folder`` (``objects.json`` and ``frames/*.parquet``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    encoded = _Writer(folder).encode(value)
    atomic.write_text(folder / OBJECTS, json.dumps(encoded, ensure_ascii=False, allow_nan=False))


def load(folder: Path | str):
    """Read back what :func:`dump` wrote."""
    folder = Path(folder)
    return _Reader(folder).decode(json.loads((folder / OBJECTS).read_text(encoding="utf-8")))
