"""load_fashion_mnist: lookup order, IDX parsing, checksums and the download path, all offline.

Small IDX files of a few random images are written to tmp_path; downloads come from a local
http.server on 127.0.0.1 in a thread (the mirrors and checksums are monkeypatched to point at
it). An autouse fixture points the Debian directory, the cache and $COURSE_NN_DATA at empty
temporary places, so no test reads the real data or the network by accident; the real files are
checked by the last test, which runs only where Debian's dataset-fashion-mnist is installed.
"""

import gzip
import hashlib
import http.server
import os
import threading

import numpy as np
import pytest

from course_nn import fashion_mnist as fm
from course_nn.data import FASHION_MNIST_CLASSES, load_fashion_mnist

NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
         "t10k-labels-idx1-ubyte"]


def idx_bytes(array):
    """An IDX file of unsigned bytes holding ``array`` (uint8, any number of dimensions)."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def make_dataset(seed=0, n_train=20, n_test=10):
    """Raw IDX contents of a tiny Fashion-MNIST look-alike: {name: bytes}, plus the arrays."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": (np.arange(n_train) + seed) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) * 3 + seed) % 10,
    }
    return {name: idx_bytes(np.asarray(a, dtype=np.uint8)) for name, a in arrays.items()}, arrays


def gz(raw):
    return gzip.compress(raw, mtime=0)


def write_dataset(directory, raw, compress=True, names=NAMES):
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        if compress:
            (directory / f"{name}.gz").write_bytes(gz(raw[name]))
        else:
            (directory / name).write_bytes(raw[name])
    return directory


def use_checksums(monkeypatch, raw):
    """Make the fixture's files the 'official' ones."""
    monkeypatch.setattr(fm, "RAW_SHA256", {n: hashlib.sha256(raw[n]).hexdigest() for n in NAMES})
    monkeypatch.setattr(fm, "GZ_MD5", {n: hashlib.md5(gz(raw[n])).hexdigest() for n in NAMES})


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """No real data, no real cache, no real mirror: every place the loader looks is in tmp_path."""
    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "debian")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("COURSE_NN_DATA", raising=False)
    monkeypatch.setattr(fm, "MIRRORS", ("http://127.0.0.1:9/unreachable/",))
    return tmp_path


class Server:
    """A local HTTP server in a thread: serves ``files`` ({url path: bytes}), 404 otherwise;
    ``cut`` ({url path: n}) announces the full length but closes after n bytes."""

    def __init__(self, files, cut=None):
        self.files, self.cut, self.requests = files, cut or {}, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[:server.cut.get(self.path, len(body))])
                self.close_connection = True

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, prefix):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}{prefix}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def served(raw, prefix="/fashion/"):
    return {f"{prefix}{name}.gz": gz(raw[name]) for name in NAMES}


def leftovers(directory):
    if not directory.exists():
        return []
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".part"))


# ---- reading local files -------------------------------------------------------------------


@pytest.mark.parametrize("compress", [True, False])
def test_reads_idx_files_scaled_to_unit_interval(offline, monkeypatch, compress):
    raw, arrays = make_dataset()
    use_checksums(monkeypatch, raw)
    write_dataset(offline / "data", raw, compress=compress)
    (X, y), (Xt, yt) = load_fashion_mnist("both", path=offline / "data")
    assert X.shape == (20, 784) and X.dtype == np.float32 and y.dtype == np.int64
    assert Xt.shape == (10, 784) and yt.dtype == np.int64
    expected = arrays["train-images-idx3-ubyte"].reshape(20, 784).astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(X, expected)
    np.testing.assert_array_equal(y, arrays["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(yt, arrays["t10k-labels-idx1-ubyte"])
    assert X.min() >= 0 and X.max() <= 1
    Xi, yi = load_fashion_mnist("train", as_images=True, dtype=np.float64, path=str(offline / "data"))
    assert Xi.shape == (20, 1, 28, 28) and Xi.dtype == np.float64
    np.testing.assert_array_equal(Xi[:, 0], arrays["train-images-idx3-ubyte"] / 255.0)
    Xs, ys = load_fashion_mnist("test", path=offline / "data")
    np.testing.assert_array_equal(Xs, Xt)
    assert FASHION_MNIST_CLASSES[0] == "T-shirt/top" and FASHION_MNIST_CLASSES[9] == "Ankle boot"
    assert len(FASHION_MNIST_CLASSES) == 10


def test_one_split_needs_only_its_own_files(offline, monkeypatch):
    raw, _ = make_dataset()
    use_checksums(monkeypatch, raw)
    write_dataset(offline / "data", raw, names=NAMES[2:])
    X, y = load_fashion_mnist("test", path=offline / "data")
    assert X.shape == (10, 784)
    with pytest.raises(FileNotFoundError, match="missing train-images-idx3-ubyte, train-labels-idx1-ubyte"):
        load_fashion_mnist("train", path=offline / "data")


def corrupt(raw, name, how):
    body = raw[name]
    if how == "truncated":
        return body[:-5]
    if how == "extra":
        return body + b"\0"
    if how == "magic":
        return b"\0\0\x09" + body[3:]
    if how == "header":
        return body[:6]
    raise AssertionError(how)


@pytest.mark.parametrize("how, message", [
    ("truncated", r"is truncated: its header says \(20, 28, 28\) = 15680 bytes of data, the file has 15675"),
    ("extra", r"is corrupted \(extra bytes\)"),
    ("magic", r"not an IDX file of unsigned bytes with 3 dimensions: "
              r"expected magic number 00000803, got 00000903"),
    ("header", r"is truncated: 6 bytes, shorter than its 16-byte header"),
])
def test_damaged_idx_file_is_named(offline, monkeypatch, how, message):
    raw, _ = make_dataset()
    use_checksums(monkeypatch, raw)
    raw = dict(raw, **{NAMES[0]: corrupt(raw, NAMES[0], how)})
    write_dataset(offline / "data", raw, compress=False)
    with pytest.raises(ValueError, match=message) as info:
        load_fashion_mnist("train", path=offline / "data")
    assert "train-images-idx3-ubyte" in str(info.value)


def test_truncated_gzip_file_is_named(offline, monkeypatch):
    raw, _ = make_dataset()
    use_checksums(monkeypatch, raw)
    write_dataset(offline / "data", raw)
    file = offline / "data" / "train-labels-idx1-ubyte.gz"
    file.write_bytes(file.read_bytes()[:-10])
    with pytest.raises(ValueError, match=r"labels-idx1-ubyte.gz is not a complete gzip file .*truncated"):
        load_fashion_mnist("train", path=offline / "data")
    file.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match=r"train-labels-idx1-ubyte.gz is not a complete gzip file"):
        load_fashion_mnist("train", path=offline / "data")


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((3, 28, 28)), np.zeros(4), "holds 3 images but .* 4 labels"),
    (np.zeros((3, 32, 32)), np.zeros(3), r"images of \(32, 32\) pixels, expected \(28, 28\)"),
    (np.zeros((3, 28, 28)), np.array([0, 10, 1]), "holds label 10, expected 0..9"),
])
def test_inconsistent_files_are_rejected(offline, images, labels, message):
    raw = {NAMES[0]: idx_bytes(images.astype(np.uint8)), NAMES[1]: idx_bytes(labels.astype(np.uint8))}
    write_dataset(offline / "data", raw, names=NAMES[:2])
    with pytest.raises(ValueError, match=message):
        load_fashion_mnist("train", path=offline / "data", verify=False)


def test_content_checksum_names_file_expected_and_got(offline, monkeypatch):
    raw, _ = make_dataset()
    write_dataset(offline / "data", raw)  # real checksums: the fixture is not Fashion-MNIST
    got = hashlib.sha256(raw[NAMES[0]]).hexdigest()
    with pytest.raises(ValueError) as info:
        load_fashion_mnist("train", path=offline / "data")
    text = str(info.value)
    assert "train-images-idx3-ubyte.gz is not the official Fashion-MNIST file" in text
    assert fm.RAW_SHA256[NAMES[0]] in text and got in text and "verify=False" in text
    X, _ = load_fashion_mnist("train", path=offline / "data", verify=False)
    assert X.shape == (20, 784)


# ---- where it looks ------------------------------------------------------------------------


def test_lookup_order_path_env_debian_cache(offline, monkeypatch):
    places = {
        "env_sub": offline / "env" / "fashion-mnist",
        "env": offline / "env",
        "debian": offline / "debian",
        "cache": offline / "xdg" / "course_nn" / "fashion-mnist",
    }
    for seed, directory in enumerate(places.values(), start=1):
        write_dataset(directory, make_dataset(seed)[0], names=NAMES[:2])
    write_dataset(offline / "explicit", make_dataset(0)[0], names=NAMES[:2])
    monkeypatch.setenv("COURSE_NN_DATA", str(offline / "env"))

    def first_label(**kwargs):
        return int(load_fashion_mnist("train", verify=False, **kwargs)[1][0])

    assert first_label(path=offline / "explicit") == 0
    for seed, directory in enumerate(places.values(), start=1):
        assert first_label() == seed
        for file in directory.glob("*.gz"):
            file.unlink()
    with pytest.raises(FileNotFoundError):
        first_label()


def test_explicit_path_is_the_only_place_searched(offline, monkeypatch):
    raw, _ = make_dataset()
    use_checksums(monkeypatch, raw)
    write_dataset(offline / "debian", raw)
    assert load_fashion_mnist("test")[0].shape == (10, 784)
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist("test", path=offline / "elsewhere")
    assert str(offline / "elsewhere") in str(info.value) and str(offline / "debian") not in str(info.value)


def test_not_found_message_lists_every_place_and_the_ways_to_get_the_data(offline, monkeypatch):
    monkeypatch.setenv("COURSE_NN_DATA", str(offline / "env"))
    with pytest.raises(FileNotFoundError) as info:
        load_fashion_mnist("train")
    text = str(info.value)
    cache = offline / "xdg" / "course_nn" / "fashion-mnist"
    for directory, origin in [(offline / "env" / "fashion-mnist", "$COURSE_NN_DATA/fashion-mnist"),
                              (offline / "env", "$COURSE_NN_DATA"),
                              (offline / "debian", "Debian package dataset-fashion-mnist"),
                              (cache, "user cache")]:
        assert f"  {directory}  ({origin}): missing train-images-idx3-ubyte, train-labels-idx1-ubyte" in text
    assert "apt-get install dataset-fashion-mnist" in text
    assert f"download=True) fetches the official files (30 MB, checksums verified) into {cache}" in text
    assert "$COURSE_NN_DATA" in text and "path=" in text
    assert not cache.exists()  # looking creates nothing


def test_cache_dir_honours_xdg_cache_home(offline, monkeypatch):
    assert fm.cache_dir() == offline / "xdg" / "course_nn" / "fashion-mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # not absolute: ignored, as the spec says
    monkeypatch.setenv("HOME", str(offline / "home"))
    assert fm.cache_dir() == offline / "home" / ".cache" / "course_nn" / "fashion-mnist"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert fm.cache_dir() == offline / "home" / ".cache" / "course_nn" / "fashion-mnist"


# ---- downloading ---------------------------------------------------------------------------


def test_download_verifies_and_fills_the_cache_then_reuses_it(offline, monkeypatch):
    raw, arrays = make_dataset()
    use_checksums(monkeypatch, raw)
    cache = offline / "xdg" / "course_nn" / "fashion-mnist"
    with Server(served(raw)) as server:
        monkeypatch.setattr(fm, "MIRRORS", (server.url("/fashion/"),))
        (X, y), (Xt, yt) = load_fashion_mnist("both", download=True)
        assert sorted(server.requests) == sorted(f"/fashion/{n}.gz" for n in NAMES)
        np.testing.assert_array_equal(y, arrays["train-labels-idx1-ubyte"])
        assert sorted(p.name for p in cache.iterdir()) == sorted(f"{n}.gz" for n in NAMES)
        for name in NAMES:
            assert (cache / f"{name}.gz").read_bytes() == gz(raw[name])
        again = load_fashion_mnist("both", download=True)
        assert len(server.requests) == 4  # no second request: the cache is reused
        np.testing.assert_array_equal(again[0][0], X)
        assert load_fashion_mnist("test")[0].shape == Xt.shape  # found in the cache without download


def test_download_completes_a_partial_cache_and_into_path(offline, monkeypatch):
    raw, _ = make_dataset()
    use_checksums(monkeypatch, raw)
    write_dataset(offline / "mine", raw, names=NAMES[:1])
    with Server(served(raw)) as server:
        monkeypatch.setattr(fm, "MIRRORS", (server.url("/fashion/"),))
        load_fashion_mnist("train", path=offline / "mine", download=True)
        assert server.requests == ["/fashion/train-labels-idx1-ubyte.gz"]
    assert not (offline / "xdg").exists()


def test_download_tries_the_next_mirror(offline, monkeypatch):
    raw, _ = make_dataset()
    use_checksums(monkeypatch, raw)
    with Server(served(raw, prefix="/second/")) as server:
        monkeypatch.setattr(fm, "MIRRORS", (server.url("/first/"), server.url("/second/")))
        X, _ = load_fashion_mnist("test", download=True)
        assert server.requests == ["/first/t10k-images-idx3-ubyte.gz", "/second/t10k-images-idx3-ubyte.gz",
                                   "/first/t10k-labels-idx1-ubyte.gz", "/second/t10k-labels-idx1-ubyte.gz"]
    assert X.shape == (10, 784)


def test_download_checksum_mismatch_deletes_the_file_and_names_it(offline, monkeypatch):
    raw, _ = make_dataset()
    use_checksums(monkeypatch, raw)
    files = served(raw)
    bad = bytearray(gz(raw[NAMES[0]]))
    bad[100] ^= 0xFF  # one flipped byte
    bad = bytes(bad)
    files["/fashion/train-images-idx3-ubyte.gz"] = bad
    cache = offline / "xdg" / "course_nn" / "fashion-mnist"
    with Server(files) as server:
        monkeypatch.setattr(fm, "MIRRORS", (server.url("/fashion/"),))
        with pytest.raises(ValueError) as info:
            load_fashion_mnist("train", download=True)
    text = str(info.value)
    assert "checksum mismatch for train-images-idx3-ubyte.gz" in text
    assert f"expected MD5 {fm.GZ_MD5[NAMES[0]]}, got {hashlib.md5(bad).hexdigest()}" in text
    assert "deleted" in text
    assert not (cache / "train-images-idx3-ubyte.gz").exists() and leftovers(cache) == []


def test_download_404_everywhere_names_each_url(offline, monkeypatch):
    with Server({}) as server:
        monkeypatch.setattr(fm, "MIRRORS", (server.url("/a/"), server.url("/b/")))
        with pytest.raises(ConnectionError) as info:
            load_fashion_mnist("test", download=True)
    text = str(info.value)
    assert "could not download t10k-images-idx3-ubyte.gz from any mirror" in text
    for prefix in ("/a/", "/b/"):
        assert f"{server.url(prefix)}t10k-images-idx3-ubyte.gz: HTTP Error 404" in text
    cache = offline / "xdg" / "course_nn" / "fashion-mnist"
    assert list(cache.iterdir()) == []


def test_download_cut_short_leaves_no_file(offline, monkeypatch):
    raw, _ = make_dataset()
    use_checksums(monkeypatch, raw)
    files = served(raw)
    path = "/fashion/t10k-images-idx3-ubyte.gz"
    with Server(files, cut={path: len(files[path]) // 2}) as server:
        monkeypatch.setattr(fm, "MIRRORS", (server.url("/fashion/"),))
        with pytest.raises(ConnectionError, match=r"t10k-images-idx3-ubyte.gz: IncompleteRead"):
            load_fashion_mnist("test", download=True)
    cache = offline / "xdg" / "course_nn" / "fashion-mnist"
    assert list(cache.iterdir()) == []


def test_download_serves_a_truncated_file_rejected_by_checksum(offline, monkeypatch):
    raw, _ = make_dataset()
    use_checksums(monkeypatch, raw)
    files = served(raw)
    path = "/fashion/t10k-labels-idx1-ubyte.gz"
    files[path] = files[path][:20]  # a complete response of a truncated file
    with Server(files) as server:
        monkeypatch.setattr(fm, "MIRRORS", (server.url("/fashion/"),))
        with pytest.raises(ValueError, match="checksum mismatch for t10k-labels-idx1-ubyte.gz"):
            load_fashion_mnist("test", download=True)
    cache = offline / "xdg" / "course_nn" / "fashion-mnist"
    assert sorted(p.name for p in cache.iterdir()) == ["t10k-images-idx3-ubyte.gz"]  # the good one stays


def test_download_is_atomic(offline, monkeypatch):
    """The final name appears only by a rename of a complete, verified temporary file in the same
    directory; until then nothing under the final name can be read."""
    raw, _ = make_dataset()
    use_checksums(monkeypatch, raw)
    renames = []
    real_replace = os.replace

    def replace(src, dst):
        src, dst = os.fspath(src), os.fspath(dst)
        assert os.path.dirname(src) == os.path.dirname(dst) and src.endswith(".part")
        assert not os.path.exists(dst)
        name = os.path.basename(dst)[:-3]
        with open(src, "rb") as fh:
            assert hashlib.md5(fh.read()).hexdigest() == fm.GZ_MD5[name]
        renames.append(name)
        real_replace(src, dst)

    monkeypatch.setattr(fm.os, "replace", replace)
    with Server(served(raw)) as server:
        monkeypatch.setattr(fm, "MIRRORS", (server.url("/fashion/"),))
        load_fashion_mnist("train", download=True)
    assert renames == NAMES[:2]


def test_no_network_unless_asked(offline, monkeypatch):
    raw, _ = make_dataset()
    with Server(served(raw)) as server:
        monkeypatch.setattr(fm, "MIRRORS", (server.url("/fashion/"),))
        with pytest.raises(FileNotFoundError, match="download=True"):
            load_fashion_mnist("train")
    assert server.requests == []


# ---- arguments -----------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(split="val"), ValueError, "split: expected 'train', 'test' or 'both', got 'val'"),
    (dict(split=0), ValueError, "split: expected 'train', 'test' or 'both', got 0"),
    (dict(split="train", as_images="yes"), TypeError, "as_images: expected True or False, got 'yes'"),
    (dict(split="train", download=1), TypeError, "download: expected True or False, got 1"),
    (dict(split="train", verify=None), TypeError, "verify: expected True or False, got None"),
    (dict(split="train", dtype=np.int64), TypeError, "dtype: expected np.float32 or np.float64, got int64"),
    (dict(split="train", path=3), TypeError, "path: expected a directory as str or pathlib.Path, got int"),
])
def test_bad_arguments_are_named_and_change_nothing(offline, kwargs, error, message):
    with pytest.raises(error, match=message):
        load_fashion_mnist(**{"download": True, **kwargs})
    assert list(offline.iterdir()) == []  # no cache directory created, nothing downloaded


# ---- the real files ------------------------------------------------------------------------

# MD5s of the decompressed official files, as published by loaders that check raw files
# (e.g. the raw_data lists of torchvision-style FashionMNIST classes); independent of RAW_SHA256.
RAW_MD5 = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}
REAL = fm.DEBIAN_DIR


@pytest.mark.skipif(not all((REAL / f"{n}.gz").is_file() for n in NAMES),
                    reason=f"Debian's dataset-fashion-mnist is not installed ({REAL} missing)")
def test_real_debian_files(monkeypatch):
    monkeypatch.setattr(fm, "DEBIAN_DIR", REAL)
    for name in NAMES:
        content = gzip.decompress((REAL / f"{name}.gz").read_bytes())
        assert hashlib.md5(content).hexdigest() == RAW_MD5[name]
        assert hashlib.sha256(content).hexdigest() == fm.RAW_SHA256[name]
    (X, y), (Xt, yt) = load_fashion_mnist("both", as_images=True)
    assert X.shape == (60000, 1, 28, 28) and Xt.shape == (10000, 1, 28, 28)
    assert X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [6000] * 10 and np.bincount(yt).tolist() == [1000] * 10
    assert X.min() == 0 and X.max() == 1


def test_parsed_files_are_reused_until_they_change(offline, monkeypatch):
    raw, arrays = make_dataset()
    use_checksums(monkeypatch, raw)
    write_dataset(offline / "data", raw)
    reads = []
    real = fm._read_idx
    monkeypatch.setattr(fm, "_read_idx", lambda file, ndim: reads.append(file.name) or real(file, ndim=ndim))
    first = load_fashion_mnist("both", path=offline / "data")
    second = load_fashion_mnist("both", path=offline / "data")
    assert len(reads) == 4  # the second call decompressed nothing
    np.testing.assert_array_equal(first[0][0], second[0][0])
    second[0][0][0, 0] = 7.0  # the caller's arrays are its own
    assert load_fashion_mnist("train", path=offline / "data")[0][0, 0] != 7.0
    changed = dict(raw, **{NAMES[1]: idx_bytes(np.zeros(20, dtype=np.uint8))})
    write_dataset(offline / "data", changed, names=NAMES[1:2])
    use_checksums(monkeypatch, changed)
    assert load_fashion_mnist("train", path=offline / "data")[1].tolist() == [0] * 20
    assert reads[-1] == "train-labels-idx1-ubyte.gz"


@pytest.mark.parametrize("compress", [True, False])
def test_limit_reads_only_the_first_images(offline, compress):
    raw, arrays = make_dataset()
    cut = dict(raw)
    for name in NAMES[:2]:  # the files end after the 12th image: a limit of 12 never notices
        header = 16 if "images" in name else 8
        row = 784 if "images" in name else 1
        cut[name] = raw[name][:header + 12 * row]
    write_dataset(offline / "data", cut, compress=compress, names=NAMES[:2])
    X, y = load_fashion_mnist("train", path=offline / "data", limit=12, verify=False, as_images=True)
    assert X.shape == (12, 1, 28, 28)
    np.testing.assert_array_equal(X[:, 0], arrays[NAMES[0]][:12] / np.float32(255))
    np.testing.assert_array_equal(y, arrays[NAMES[1]][:12])
    with pytest.raises(ValueError, match="is truncated: its first 13 entries need 10192 bytes of data, "
                                         "the file has 9408"):
        load_fashion_mnist("train", path=offline / "data", limit=13, verify=False)
    with pytest.raises(ValueError, match="is truncated"):  # the whole file, read without a limit
        load_fashion_mnist("train", path=offline / "data", verify=False)


def test_limit_needs_verify_false_and_a_count_the_files_hold(offline):
    raw, _ = make_dataset()
    write_dataset(offline / "data", raw, names=NAMES[:2])
    with pytest.raises(ValueError, match="limit: the checksum covers whole files.*pass verify=False"):
        load_fashion_mnist("train", path=offline / "data", limit=5)
    with pytest.raises(ValueError, match=r"limit: expected at most the 20 entries of .*train-images"):
        load_fashion_mnist("train", path=offline / "data", limit=21, verify=False)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="limit: expected a positive integer"):
            load_fashion_mnist("train", path=offline / "data", limit=bad, verify=False)
