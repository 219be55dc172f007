"""``exclude`` patterns: gitignore-style, one implementation (hatchway.toolkit.is_excluded) for every communicator."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from hatchway import HatchwayError, Relay, Target
from hatchway.testing import EXCLUDE_KEPT, EXCLUDE_PATTERNS, make_exclude_tree
from hatchway.toolkit import exclude_problems, is_excluded, walk
from hatchway_local import LocalCommunicator, LocalConfig


@pytest.mark.parametrize("relpath, is_dir, patterns, excluded", [
    ("a.log", False, ["*.log"], True),
    ("sub/deeper/a.log", False, ["*.log"], True),           # no "/" in the pattern: any depth
    ("logs/a.log", False, ["logs/*.log"], True),
    ("logs/sub/a.log", False, ["logs/*.log"], False),       # "*" does not cross "/"
    ("x/logs/a.log", False, ["logs/*.log"], False),         # a "/" anchors the pattern at the root
    ("logs/sub/a.log", False, ["logs/**/*.log"], True),     # "**" does
    ("a/b/cache", True, ["**/cache"], True),
    ("build", True, ["build/"], True),                      # a trailing "/" matches directories...
    ("build", False, ["build/"], False),                    # ...only
    ("build/x.o", False, ["build/"], True),                 # and what they hold
    ("keep.log", False, ["*.log", "!keep.log"], False),     # "!" re-includes
    ("keep.log", False, ["!keep.log", "*.log"], True),      # the last match wins
    ("build/keep.log", False, ["build/", "!build/keep.log"], True),  # not from inside an excluded directory
    ("top.txt", False, ["/top.txt"], True),
    ("sub/top.txt", False, ["/top.txt"], False),
    ("anything", False, [], False),
])
def test_is_excluded(relpath, is_dir, patterns, excluded):
    assert is_excluded(relpath, patterns, is_dir) is excluded


def test_walk_skips_excluded_directories_without_entering_them(tmp_path: Path):
    make_exclude_tree(tmp_path)
    assert {e.relpath for e in walk(tmp_path, EXCLUDE_PATTERNS)} == EXCLUDE_KEPT


def test_bad_patterns_are_named(tmp_path: Path):
    assert exclude_problems(["*.log", "!", "\\"]) == [
        "'!' is not a valid pattern: Invalid git pattern: '!'",
        "'\\\\' is not a valid pattern: Invalid git pattern: '\\\\'",
    ]
    relay = Relay(LocalCommunicator(LocalConfig(), Target()))
    (tmp_path / "src").mkdir()
    with pytest.raises(HatchwayError) as info:
        relay.upload(str(tmp_path / "src") + "/", str(tmp_path / "dst"), exclude=["ok", "!"])
    assert str(info.value) == ("bad exclude patterns (gitignore-style): "
                               "'!' is not a valid pattern: Invalid git pattern: '!'")
    assert not (tmp_path / "dst").exists()
    relay.upload(io.BytesIO(b"x"), str(tmp_path / "f"))  # no exclude: nothing to check


def test_validate_reports_a_bad_exclude_pattern_with_its_key(env, tmp_path: Path):
    (tmp_path / "src").mkdir()
    template = env.template({"builders": [{"type": "null", "communicator": "local"}],
                             "provisioners": [{"type": "file", "source": str(tmp_path / "src"),
                                               "destination": str(tmp_path / "dst"), "exclude": ["*.log", "!"]}]})
    result = env.hatchway("validate", str(template))
    assert result.returncode == 1
    assert ("provisioners[0].exclude: '!' is not a valid pattern: Invalid git pattern: '!' "
            "(patterns are gitignore-style)") in result.stdout + result.stderr
