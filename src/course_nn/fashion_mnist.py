"""Fashion-MNIST: 70,000 grey 28x28 images of clothing in 10 classes (Zalando Research, MIT license).

``load_fashion_mnist`` reads the four official IDX files (gzip-compressed ``.gz`` or not) from
the first directory that holds the files a call needs, looking in this order:

1. ``path=``, when given (then only there);
2. ``$COURSE_NN_DATA/fashion-mnist`` and ``$COURSE_NN_DATA``, when that variable is set;
3. ``/usr/share/datasets/fashion-mnist``, where Debian's package ``dataset-fashion-mnist``
   puts them (``apt-get install dataset-fashion-mnist``, 30 MB; ``scripts/setup.sh`` does it);
4. the user cache, ``$XDG_CACHE_HOME/course_nn/fashion-mnist`` (``~/.cache/...`` by default).

When none holds them, ``download=True`` fetches the official gzip files (30 MB) into ``path``
or the cache, checks each against the MD5 published in the dataset's README, and renames it
into place only then (a temporary file until verified: no half-written file is ever read).
The default is ``download=False``, so tests and CI never touch the network; the error then
lists every directory tried and the three ways to get the data.

Every file read is parsed strictly (magic number, dimensions, size) and its decompressed
content checked against the SHA-256 of the official file (``verify=False`` skips that check,
for your own IDX files).
"""

import gzip
import hashlib
import os
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

from ._validate import check_bool, check_float_dtype, check_positive_int

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                         "Shirt", "Sneaker", "Bag", "Ankle boot")

# The official mirror given in zalandoresearch/fashion-mnist's README, then the repository itself.
MIRRORS = (
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
)
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
ENV_VAR = "COURSE_NN_DATA"

# (images, labels) file names of each split, without ".gz".
SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
SPLIT_SIZES = {"train": 60000, "test": 10000}

# MD5 of the official .gz files, as published in the README of zalandoresearch/fashion-mnist.
GZ_MD5 = {
    "train-images-idx3-ubyte": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte": "bb300cfdad3c16e7a12a480ee83cd310",
}
# SHA-256 of the decompressed IDX files. Computed from Debian's dataset-fashion-mnist, whose .gz
# files are recompressed (other MD5s) but whose contents have the MD5s that torchvision-style
# loaders publish for the raw files (tests/test_fashion_mnist.py checks both on real data).
RAW_SHA256 = {
    "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
DOWNLOAD_TIMEOUT = 60  # seconds without data before a mirror counts as unreachable


def cache_dir():
    """The user cache directory for the files: $XDG_CACHE_HOME/course_nn/fashion-mnist, with
    ~/.cache for XDG_CACHE_HOME when it is unset or not an absolute path (as the XDG spec says)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".cache"
    return root / "course_nn" / "fashion-mnist"


def _candidates(path):
    """The directories to search, in order, each with where it came from."""
    if path is not None:
        return [(Path(path), "path=")]
    found = []
    env = os.environ.get(ENV_VAR)
    if env:
        found += [(Path(env) / "fashion-mnist", f"${ENV_VAR}/fashion-mnist"), (Path(env), f"${ENV_VAR}")]
    found += [(DEBIAN_DIR, "Debian package dataset-fashion-mnist"), (cache_dir(), "user cache")]
    return found


def _file_in(directory, name):
    """directory/name.gz or directory/name, whichever is a file (.gz first); else None."""
    for candidate in (directory / f"{name}.gz", directory / name):
        if candidate.is_file():
            return candidate
    return None


def _not_found(names, tried, destination):
    lines = [f"load_fashion_mnist: Fashion-MNIST not found; looked for {', '.join(names)} "
             f"(each as .gz or uncompressed) in:"]
    for directory, origin, missing in tried:
        lines.append(f"  {directory}  ({origin}): missing {', '.join(missing)}")
    lines += [
        "Get the data in one of these ways:",
        "  - on Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist (30 MB; scripts/setup.sh "
        "does this);",
        "  - online: load_fashion_mnist(..., download=True) fetches the official files (30 MB, "
        f"checksums verified) into {destination};",
        f"  - the four files from https://github.com/zalandoresearch/fashion-mnist in a directory "
        f"named by ${ENV_VAR} (or passed as path=).",
    ]
    return FileNotFoundError("\n".join(lines))


def _md5(path):
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _download(name, directory):
    """Fetch name.gz from the first mirror that serves it into directory, atomically: the bytes go
    to a temporary file in the same directory, which is renamed to name.gz only after its MD5
    matched GZ_MD5; on any failure the temporary file is removed. Returns the final path."""
    import http.client  # imported here: only a download needs them, and they are slow to import
    import urllib.request

    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{name}.gz"
    errors = []
    for mirror in MIRRORS:
        url = f"{mirror}{name}.gz"
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                try:
                    print(f"load_fashion_mnist: downloading {url}", file=sys.stderr)
                    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
                        announced, received = response.headers.get("Content-Length"), 0
                        for block in iter(lambda: response.read(1 << 20), b""):
                            out.write(block)
                            received += len(block)
                    if announced is not None and received != int(announced):
                        raise http.client.IncompleteRead(b"", int(announced) - received)
                except (OSError, http.client.HTTPException, ValueError) as err:  # URLError, HTTPError,
                    # timeouts are OSErrors; a connection closed early is an IncompleteRead
                    errors.append(f"  {url}: {err}")
                    continue
            got = _md5(tmp)
            if got != GZ_MD5[name]:
                raise ValueError(
                    f"load_fashion_mnist: checksum mismatch for {name}.gz downloaded from {url}: "
                    f"expected MD5 {GZ_MD5[name]}, got {got}; the download was deleted (a broken "
                    f"transfer or a changed file: try again, or get the data another way)")
            os.replace(tmp, final)
            return final
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    raise ConnectionError(f"load_fashion_mnist: could not download {name}.gz from any mirror:\n"
                          + "\n".join(errors))


def _read_bytes(file, n_bytes=None):
    """The (decompressed) content of file, or its first n_bytes."""
    try:
        if n_bytes is not None:
            with (gzip.open(file, "rb") if file.suffix == ".gz" else open(file, "rb")) as fh:
                return fh.read(n_bytes)
        if file.suffix == ".gz":
            return gzip.decompress(file.read_bytes())
        return file.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise ValueError(f"load_fashion_mnist: {file} is not a complete gzip file ({err}); "
                         f"the file is truncated or corrupted: delete it and get it again") from None


def _read_idx(file, *, ndim, limit=None):
    """Parse one IDX file of unsigned bytes (magic 0x0000080<ndim>), gzip-compressed if its name
    ends in .gz. Returns a uint8 array with the dimensions of its header (ndim of them) and the
    raw bytes (for the checksum). Raises ValueError naming the file when the magic number, the
    number of dimensions or the size disagree with the header. ``limit``: read only the first
    ``limit`` entries along the first axis (and only as much of the file as they need)."""
    file = Path(file)
    header = 4 + 4 * ndim
    if limit is not None:
        head = _read_bytes(file, header)
        if len(head) == header and head[:3] == b"\0\0\x08" and head[3] == ndim:
            dims = [int.from_bytes(head[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
            if dims[0] < limit:
                raise ValueError(f"limit: expected at most the {dims[0]} entries of {file}, got {limit}")
            dims[0] = limit
            size = int(np.prod(dims, dtype=object))
            raw = _read_bytes(file, header + size)
            if len(raw) < header + size:
                raise ValueError(f"load_fashion_mnist: {file} is truncated: its first {limit} "
                                 f"entries need {size} bytes of data, the file has {len(raw) - header}")
            return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims), None
    raw = _read_bytes(file)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] != ndim:
        got = raw[:4].hex() if len(raw) >= 4 else f"only {len(raw)} bytes"
        raise ValueError(f"load_fashion_mnist: {file} is not an IDX file of unsigned bytes with "
                         f"{ndim} dimensions: expected magic number 0000080{ndim}, got {got}")
    if len(raw) < header:
        raise ValueError(f"load_fashion_mnist: {file} is truncated: {len(raw)} bytes, shorter than "
                         f"its {header}-byte header")
    dims = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(dims, dtype=object))
    if len(raw) != header + size:
        what = "truncated" if len(raw) < header + size else "corrupted (extra bytes)"
        raise ValueError(f"load_fashion_mnist: {file} is {what}: its header says {dims} = {size} "
                         f"bytes of data, the file has {len(raw) - header}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims), raw


_PARSED = {}  # (file, size, mtime) -> (read-only uint8 array, SHA-256 of the content): one
# decompression per file and process (a chapter that loads the training set twice pays once)


def _parsed(file, ndim):
    stat = file.stat()
    key = (str(file.resolve()), stat.st_size, stat.st_mtime_ns, ndim)
    if key not in _PARSED:
        array, raw = _read_idx(file, ndim=ndim)
        array.flags.writeable = False
        while len(_PARSED) >= 4:  # the four files of one dataset at most
            del _PARSED[next(iter(_PARSED))]
        _PARSED[key] = array, hashlib.sha256(raw).hexdigest()
    return _PARSED[key]


def _load_split(directory, split, as_images, dtype, verify, limit):
    image_name, label_name = SPLIT_FILES[split]
    image_file, label_file = _file_in(directory, image_name), _file_in(directory, label_name)
    if limit is None:
        images, image_hash = _parsed(image_file, 3)
        labels, label_hash = _parsed(label_file, 1)
    else:
        images, image_hash = _read_idx(image_file, ndim=3, limit=limit)
        labels, label_hash = _read_idx(label_file, ndim=1, limit=limit)
    if images.shape[1:] != (28, 28):
        raise ValueError(f"load_fashion_mnist: {image_file} holds images of {images.shape[1:]} "
                         f"pixels, expected (28, 28)")
    if len(images) != len(labels):
        raise ValueError(f"load_fashion_mnist: {image_file} holds {len(images)} images but "
                         f"{label_file} {len(labels)} labels")
    if labels.size and labels.max() >= len(FASHION_MNIST_CLASSES):
        raise ValueError(f"load_fashion_mnist: {label_file} holds label {int(labels.max())}, "
                         f"expected 0..{len(FASHION_MNIST_CLASSES) - 1}")
    if verify:
        for file, name, got in ((image_file, image_name, image_hash), (label_file, label_name, label_hash)):
            if got != RAW_SHA256[name]:
                raise ValueError(
                    f"load_fashion_mnist: {file} is not the official Fashion-MNIST file: expected "
                    f"SHA-256 {RAW_SHA256[name]} of its decompressed content, got {got} (corrupted, "
                    f"or another dataset; verify=False reads your own IDX files)")
    X = np.empty((len(images), 28 * 28), dtype=dtype)
    np.divide(images.reshape(len(images), -1), dtype.type(255), out=X, dtype=dtype)
    if as_images:
        X = X.reshape(-1, 1, 28, 28)
    return X, labels.astype(np.int64)


def load_fashion_mnist(split, *, as_images=False, dtype=np.float32, path=None, download=False,
                       verify=True, limit=None):
    """Fashion-MNIST's training (60,000) or test (10,000) images and labels.

    split: "train", "test", or "both". Returns (X, y) for one split and
    ((X_train, y_train), (X_test, y_test)) for "both".
    X: (N, 784) pixel values scaled from 0..255 to [0, 1] in ``dtype`` (float32 by default: half
    the memory and faster matrix products; float64 allowed), or (N, 1, 28, 28) with
    ``as_images=True``: one channel, ready for Conv2d (load_digits(as_images=True) gives
    (N, 8, 8) without the channel axis). y: (N,) int64 labels 0..9, named by
    ``FASHION_MNIST_CLASSES[y]``.

    The files are searched in ``path`` (only there, when given), $COURSE_NN_DATA(/fashion-mnist),
    /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist) and the user cache (see
    ``cache_dir()``). ``download=True`` (default False: never the network unless asked) fetches
    the missing official files into ``path`` or the cache, checksums verified. A FileNotFoundError
    lists every directory tried and how to get the data; a damaged file raises ValueError naming it.
    ``verify`` (default True) checks each file's content against the official SHA-256.
    ``limit``: only the first ``limit`` images (and labels) of each split, reading only that much
    of each file: quick, but a part of a file cannot be checked against its checksum, so a
    limit needs ``verify=False``.
    """
    if not isinstance(split, str) or split not in ("train", "test", "both"):
        raise ValueError(f"split: expected 'train', 'test' or 'both', got {split!r}")
    as_images = check_bool(as_images, "as_images")
    download = check_bool(download, "download")
    verify = check_bool(verify, "verify")
    if limit is not None:
        limit = check_positive_int(limit, "limit")
        if verify:
            raise ValueError("limit: the checksum covers whole files, so reading the first "
                             f"{limit} images cannot verify it; pass verify=False with a limit")
    dtype = check_float_dtype(dtype, "dtype")
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path: expected a directory as str or pathlib.Path, got {type(path).__name__}")
    splits = ("train", "test") if split == "both" else (split,)
    names = [name for s in splits for name in SPLIT_FILES[s]]

    destination = Path(path) if path is not None else cache_dir()
    directory, tried = None, []
    for candidate, origin in _candidates(path):
        missing = [name for name in names if _file_in(candidate, name) is None]
        if not missing:
            directory = candidate
            break
        tried.append((candidate, origin, missing))
    if directory is None:
        if not download:
            raise _not_found(names, tried, destination)
        directory = destination
        for name in names:
            if _file_in(directory, name) is None:
                _download(name, directory)

    parts = tuple(_load_split(directory, s, as_images, dtype, verify, limit) for s in splits)
    return parts if split == "both" else parts[0]
