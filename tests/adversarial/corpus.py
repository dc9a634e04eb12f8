"""The bad-input corpus: merchant files an attacker or a careless user writes. Each case is the file's
bytes and where the one diagnostic must point (`line:col`) with a fragment of its message. Generated
here rather than stored, so the big ones (a billion laughs, 900 levels) cost nothing in the repository.
Shared with `bench/bench_bad_inputs.py`."""

from __future__ import annotations

from dataclasses import dataclass

from tests.config.test_loader_errors import BASE

VALID = BASE.lstrip("\n")  # the valid Global-e merchant the loader tests start from


@dataclass(frozen=True)
class Case:
    content: bytes
    line: int
    column: int
    message: str


def _billion_laughs() -> bytes:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(1, 9):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    return (VALID + "\n".join(lines) + "\n").encode()


def _many_aliases() -> bytes:
    return (VALID + "x: &x 1\ny: [" + ", ".join(["*x"] * 300) + "]\n").encode()


def _deep(levels: int, flow: bool) -> bytes:
    if flow:
        return (VALID + "deep: " + "[" * levels + "]" * levels + "\n").encode()
    return (VALID + "".join("  " * i + f"k{i}:\n" for i in range(levels)) + "  " * levels + "end\n").encode()


def cases() -> dict[str, Case]:
    valid_lines = VALID.count("\n")
    after = valid_lines + 1  # the first line after the valid document
    return {
        "billion laughs": Case(_billion_laughs(), 1, 1, "expands to"),
        "many aliases": Case(_many_aliases(), after + 1, 1029, "more than 256 aliases"),
        "900 levels, flow": Case(_deep(900, flow=True), after, 71, "nested deeper than 64 levels"),
        "900 levels, block": Case(_deep(900, flow=False), after + 63, 127, "nested deeper than 64 levels"),
        "5000-digit integer": Case(VALID.replace("local_vat_rate: 20", "local_vat_rate: " + "9" * 5000).encode(),
                                   5, 17, "5000-digit integer is too long"),
        "sequence as a key": Case((VALID + "? [a, b]\n: 1\n").encode(), after, 3, "mapping key must be a plain"),
        "mapping as a key": Case((VALID + "? {a: b}\n: 1\n").encode(), after, 3, "mapping key must be a plain"),
        "not UTF-8": Case(VALID.replace("GlobalE Store", "Glob\xe5l").encode("latin-1"), 3, 12, "not UTF-8 text"),
        # columns count characters: the Nordic letters before the bad byte are two bytes each in UTF-8
        "not UTF-8 after UTF-8": Case(VALID.encode().replace(b"GlobalE Store", b"\xc3\xb8" * 3 + b" \xff"), 3, 12,
                                      "not UTF-8 text"),
        "UTF-16 without a BOM": Case(VALID.encode("utf-16-le"), 1, 2, "is not allowed"),
        "NUL byte": Case(VALID.replace("GlobalE Store", "Global\x00Store").encode(), 3, 14, "is not allowed"),
        "escape character": Case(VALID.replace("GlobalE Store", "Global\x1bStore").encode(), 3, 14,
                                 "is not allowed"),
        "python object tag": Case(VALID.replace("store: GlobalE Store",
                                                "store: !!python/object/apply:os.system [id]").encode(), 3, 8,
                                  "tag:yaml.org,2002:python/object/apply:os.system is not allowed"),
        "binary tag": Case(VALID.replace("store: GlobalE Store", "store: !!binary aGVsbG8=").encode(), 3, 8,
                           "is not allowed"),
        "set tag": Case(VALID.replace("store: GlobalE Store", "store: !!set {a, b}").encode(), 3, 8, "is not allowed"),
        "custom tag": Case(VALID.replace("store: GlobalE Store", "store: !env HOME").encode(), 3, 8, "is not allowed"),
        "too large": Case((VALID + "#" * (1024 * 1024)).encode(), 1, 1, "larger than 1024 KiB"),
        "trailing dot on a prod host": Case(VALID.replace("https://m.centraqa.com", "https://m.centra.com.").encode(),
                                            15, 17, "must not use a production Centra host"),
        "upper-case prod host": Case(VALID.replace("https://m.centraqa.com", "https://M.CENTRA.COM").encode(),
                                     15, 17, "must not use a production Centra host"),
        "prod host with a port": Case(VALID.replace("https://m.centraqa.com", "https://m.centra.com:443").encode(),
                                      15, 17, "must not use a production Centra host"),
        "plain http to a remote host": Case(VALID.replace("https://m.centraqa.com", "HTTP://m.centraqa.com").encode(),
                                            15, 17, "plain http is only for a sandbox on this machine"),
        "duplicate preset": Case(VALID.replace("[global-e]", "[global-e, global-e]").encode(), 2, 21,
                                 "preset 'global-e' is listed twice"),
        "merchant name differs from the file": Case(VALID.replace("merchant: m", "merchant: other").encode(), 1, 11,
                                                    "does not match the file name 'm.yaml'"),
        "a document stream": Case((VALID + "---\nmerchant: n\n").encode(), after, 1, "found another document"),
    }


def still_valid() -> dict[str, bytes]:
    """Encodings and line endings YAML allows: these stay valid."""
    return {
        "UTF-8 with a BOM": b"\xef\xbb\xbf" + VALID.encode(),
        "UTF-16 LE with a BOM": VALID.encode("utf-16"),
        "UTF-16 BE with a BOM": b"\xfe\xff" + VALID.encode("utf-16-be"),
        "CRLF line endings": VALID.replace("\n", "\r\n").encode(),
        "an anchor": (VALID.replace("  - description: Global-e integration\n    email: ops@m.example\n",
                                        "  - &token {description: Global-e integration, email: ops@m.example}\n")
                          ).encode(),
    }
