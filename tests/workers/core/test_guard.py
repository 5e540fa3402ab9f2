"""The semantic guard (workers/core/guard.py) refuses every kind of wrong patch, at both places
that call it: manifest fixes (workers/core/manifest.py) and Helm values fixes
(workers/core/helm.py).

Each catch-site test swaps the splicer (`apply`) for one that makes the correct edits and then
one mistake, and asserts the file is left unchanged with the guard's reason. A control case
with no mistake proves the fixture itself is fixable, so a refusal means the guard caught it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from workers.config.model import Config
from workers.core import guard, helm, manifest
from workers.core.helm import ValueRef, check_values
from workers.core.manifest import check_manifest
from workers.core.patch import Edit, apply

Sabotage = Callable[[str], str]

# One chunk (the `...` markers keep both documents together), two pods; only `app` is a
# finding (`sidecar` is exempted by its comment, `tool` is already Always).
MANIFEST = """\
# web pod
apiVersion: v1
kind: Pod
metadata:
  name: web  # public
spec:
  containers:
  - name: app
    image: nginx:1.25
  - name: sidecar
    image: envoy:1.29  # pullpolicy: ignore
...
---
kind: Pod
metadata:
  name: second
spec:
  containers:
  - name: tool
    image: busybox:1.36
    imagePullPolicy: Always
...
"""
APP_POLICY = "    image: nginx:1.25\n    imagePullPolicy: Always\n"
FIXED_MANIFEST = MANIFEST.replace("    image: nginx:1.25\n", APP_POLICY)

VALUES = """\
# chart values
image:
  repository: nginx
  tag: "1.25"  # pinned
  pullPolicy: IfNotPresent
sidecar:
  repository: envoy
  pullPolicy: Never
"""
FIXED_VALUES = VALUES.replace("pullPolicy: IfNotPresent", "pullPolicy: Always")
REFS = [ValueRef("image.pullPolicy", None)]


def _swap(text: str, old: str, new: str) -> str:
    assert old in text, old  # a sabotage that changes nothing would prove nothing
    return text.replace(old, new, 1)


MANIFEST_MISTAKES: dict[str, tuple[Sabotage, str]] = {
    "value changed": (lambda t: _swap(t, "nginx:1.25", "nginx:1.26"), "unexpected change"),
    "key added elsewhere": (
        lambda t: _swap(t, "  name: web", "  imagePullPolicy: Always\n  name: web"),
        "unexpected change",
    ),
    "key removed": (lambda t: _swap(t, "  - name: tool\n", "  -\n"), "unexpected change"),
    "wrong value": (
        lambda t: _swap(t, APP_POLICY, APP_POLICY.replace("Always", "IfNotPresent")),
        "unexpected change",
    ),
    "comment lost": (lambda t: _swap(t, "  # public", ""), "comment"),
    "comment changed": (lambda t: _swap(t, "# web pod", "# web pods"), "comment"),
    "document dropped": (lambda t: t[: t.index("---")], "number of documents"),
    "document added": (lambda t: t + "---\n{}\n", "number of documents"),
    "policy on the wrong container": (
        lambda t: _swap(
            _swap(t, APP_POLICY, "    image: nginx:1.25\n"),
            "  # pullpolicy: ignore\n",
            "  # pullpolicy: ignore\n    imagePullPolicy: Always\n",
        ),
        "unexpected change",
    ),
    "policy missing": (lambda t: _swap(t, APP_POLICY, "    image: nginx:1.25\n"), "not Always"),
    "does not parse": (lambda t: t + "  - [\n", "does not parse"),
}

VALUES_MISTAKES: dict[str, tuple[Sabotage, str]] = {
    "value changed": (lambda t: _swap(t, '"1.25"', '"1.26"'), "unexpected change"),
    "key added elsewhere": (
        lambda t: _swap(t, "sidecar:\n", "sidecar:\n  extra: 1\n"),
        "unexpected change",
    ),
    "comment lost": (lambda t: _swap(t, "  # pinned", ""), "comment"),
    "document dropped": (lambda t: "# chart values\n# pinned\n", "number of documents"),
    "policy on the wrong key": (
        lambda t: _swap(
            _swap(t, "pullPolicy: Always", "pullPolicy: IfNotPresent"),
            "pullPolicy: Never",
            "pullPolicy: Always",
        ),
        "unexpected change",
    ),
    "wrong value": (
        lambda t: _swap(t, "pullPolicy: Always", "pullPolicy: always"),
        "unexpected change",
    ),
}


def _sabotaged(mistake: Sabotage) -> Callable[[str, Iterable[Edit]], str]:
    """The splicer with a bug: the correct edits, then `mistake`."""

    def wrong_apply(body: str, edits: Iterable[Edit]) -> str:
        return mistake(apply(body, edits))

    return wrong_apply


def _fix_manifest(data: bytes) -> tuple[bytes | None, str | None]:
    report = check_manifest("pod.yaml", data, Config(), fix=True)
    return report.fixed, report.skipped


def _fix_values(data: bytes) -> tuple[bytes | None, str | None]:
    report = check_values("chart", "chart/values.yaml", data, REFS, fix=True)
    return report.fixed, report.skipped


def test_the_fixtures_are_fixed_when_nothing_goes_wrong() -> None:
    assert _fix_manifest(MANIFEST.encode()) == (FIXED_MANIFEST.encode(), None)
    assert _fix_values(VALUES.encode()) == (FIXED_VALUES.encode(), None)


@pytest.mark.parametrize("name", MANIFEST_MISTAKES)
def test_a_wrong_manifest_patch_is_refused(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    mistake, reason = MANIFEST_MISTAKES[name]
    monkeypatch.setattr(manifest, "apply", _sabotaged(mistake))
    fixed, skipped = _fix_manifest(MANIFEST.encode())
    assert fixed is None
    assert skipped is not None
    assert skipped.startswith("left unchanged: ")
    assert reason in skipped


@pytest.mark.parametrize("name", VALUES_MISTAKES)
def test_a_wrong_helm_values_patch_is_refused(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    mistake, reason = VALUES_MISTAKES[name]
    monkeypatch.setattr(helm, "apply", _sabotaged(mistake))
    fixed, skipped = _fix_values(VALUES.encode())
    assert fixed is None
    assert skipped is not None
    assert skipped.startswith("left unchanged: ")
    assert reason in skipped


CRLF_MISTAKES: dict[str, Sabotage] = {
    "a CRLF turned into LF": lambda t: _swap(t, "\r\n", "\n"),
    "an LF line added to a CRLF file": lambda t: _swap(
        t, "\r\n    imagePullPolicy: Always", "\n    imagePullPolicy: Always"
    ),
}


@pytest.mark.parametrize("name", CRLF_MISTAKES)
def test_broken_crlf_is_refused_in_manifests(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    crlf = MANIFEST.replace("\n", "\r\n").encode()
    assert _fix_manifest(crlf) == (FIXED_MANIFEST.replace("\n", "\r\n").encode(), None)
    monkeypatch.setattr(manifest, "apply", _sabotaged(CRLF_MISTAKES[name]))
    fixed, skipped = _fix_manifest(crlf)
    assert fixed is None
    assert skipped is not None
    assert "line breaks" in skipped


def test_broken_crlf_is_refused_in_helm_values(monkeypatch: pytest.MonkeyPatch) -> None:
    crlf = VALUES.replace("\n", "\r\n").encode()
    assert _fix_values(crlf) == (FIXED_VALUES.replace("\n", "\r\n").encode(), None)
    monkeypatch.setattr(helm, "apply", _sabotaged(lambda t: _swap(t, "\r\n", "\n")))
    fixed, skipped = _fix_values(crlf)
    assert fixed is None
    assert skipped is not None
    assert "line breaks" in skipped


@pytest.mark.parametrize(
    ("module", "fix", "text"),
    [(manifest, _fix_manifest, MANIFEST), (helm, _fix_values, VALUES)],
    ids=["manifest", "helm values"],
)
def test_a_lost_bom_is_refused(
    module: object,
    fix: Callable[[bytes], tuple[bytes | None, str | None]],
    text: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = b"\xef\xbb\xbf" + text.encode()
    fixed, skipped = fix(data)
    assert fixed is not None
    assert fixed.startswith(b"\xef\xbb\xbf")
    monkeypatch.setattr(module, "BOM", "")  # the bug: the fixed file is written without it
    fixed, skipped = fix(data)
    assert fixed is None
    assert skipped == "left unchanged: the byte order mark changed"


# The guard on its own: exact messages, and what it must let through.


def _located(*parts: str | int) -> tuple[int, tuple[str | int, ...]]:
    return (0, tuple(parts))


APP = _located("spec", "containers", 0)


def test_the_guard_accepts_the_intended_patch() -> None:
    guard.check(MANIFEST, FIXED_MANIFEST, containers=[APP], edited=[], json_file=False)


def test_the_guard_names_the_unexpected_path() -> None:
    wrong = FIXED_MANIFEST.replace("nginx:1.25", "nginx:1.26")
    with pytest.raises(guard.GuardFailure) as caught:
        guard.check(MANIFEST, wrong, containers=[APP], edited=[], json_file=False)
    assert str(caught.value) == "unexpected change at document 0, spec/containers/0/image"


def test_the_guard_requires_every_container_to_be_always() -> None:
    with pytest.raises(guard.GuardFailure) as caught:
        guard.check(MANIFEST, MANIFEST, containers=[APP], edited=[], json_file=False)
    assert str(caught.value) == "document 0, spec/containers/0 is not Always after the fix"


def test_a_value_reached_elsewhere_may_change_only_to_always() -> None:
    old = "a: &p IfNotPresent\nb: *p\n"
    edited = [_located("a"), _located("b")]  # the anchored scalar, and where it is read
    guard.check(
        old, old.replace("IfNotPresent", "Always"), containers=[], edited=edited, json_file=False
    )
    with pytest.raises(guard.GuardFailure):
        guard.check(
            old, old.replace("IfNotPresent", "Never"), containers=[], edited=edited, json_file=False
        )


def test_a_json_file_must_stay_json() -> None:
    old = '{"a": {"imagePullPolicy": "Never"}}'
    new = '{"a": {"imagePullPolicy": Always}}'  # still YAML, no longer JSON
    with pytest.raises(guard.GuardFailure) as caught:
        guard.check(
            old, new, containers=[], edited=[_located("a", "imagePullPolicy")], json_file=True
        )
    assert str(caught.value).startswith("the patched file is no longer valid JSON: ")
    guard.check(old, new, containers=[], edited=[_located("a", "imagePullPolicy")], json_file=False)


def test_an_original_the_guard_cannot_read_is_refused() -> None:
    with pytest.raises(guard.GuardFailure) as caught:
        guard.check("a: [\n", "a: [\n", containers=[], edited=[], json_file=False)
    assert str(caught.value).startswith("the guard's parser cannot read the original: ")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('a: "x # not a comment"\n', 'a: "x # not a comment"\nimagePullPolicy: Always\n'),
        ("a: 'it''s #1'  # real\n", "a: 'it''s #1'  # real\nimagePullPolicy: Always\n"),
        ("a: b#c\n", "a: b#c\nimagePullPolicy: Always\n"),
    ],
)
def test_a_hash_inside_a_value_is_not_a_comment(old: str, new: str) -> None:
    guard.check(old, new, containers=[((0, ()))], edited=[], json_file=False)


def test_hash_signs_that_are_comments_must_stay() -> None:
    with pytest.raises(guard.GuardFailure) as caught:
        guard.check("a: 1 # one\n", "a: 1\n", containers=[], edited=[], json_file=False)
    assert str(caught.value) == "a comment was removed or changed: '# one'"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("a: 1\r\n", "a: 1\r\nb: 2\r\n"),
        ("a: 1\n", "a: 1\nb: 2\n"),
        ("a: 1", "a: 1\nb: 2"),  # no line break to follow: LF, as the patcher does
        ("a: 1\r\nc: 1\n", "a: 1\r\nb: 2\r\nc: 1\n"),  # mixed already
        ("\ufeffa: 1\n", "\ufeffa: 1\nb: 2\n"),
    ],
)
def test_the_file_check_accepts_breaks_of_the_files_own_kind(old: str, new: str) -> None:
    guard.check_file(old, new)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("\ufeffa: 1\n", "a: 1\n", "the byte order mark changed"),
        ("a: 1\n", "\ufeffa: 1\n", "the byte order mark changed"),
        ("a: 1\r\nb: 2\r\n", "a: 1\nb: 2\r\n", "line breaks were removed or converted"),
        ("a: 1\nb: 2\n", "a: 1\r\nb: 2\n", "line breaks were removed or converted"),
        ("a: 1\nb: 2\n", "a: 1 b: 2\n", "line breaks were removed or converted"),
        ("a: 1\r\n", "a: 1\r\nb: 2\n", "the patched file mixes CRLF and LF line breaks"),
        ("a: 1\n", "a: 1\nb: 2\r\n", "the patched file mixes CRLF and LF line breaks"),
    ],
)
def test_the_file_check_refuses_a_lost_bom_or_changed_breaks(
    old: str, new: str, message: str
) -> None:
    with pytest.raises(guard.GuardFailure) as caught:
        guard.check_file(old, new)
    assert str(caught.value) == message


# Found by mutation testing (docs/mutation.md): each test kills mutants of workers/core/guard.py.


def test_the_guard_counts_documents() -> None:
    with pytest.raises(guard.GuardFailure) as caught:
        guard.check("a: 1\n", "a: 1\n---\nb: 2\n", containers=[], edited=[], json_file=False)
    assert str(caught.value) == "the number of documents changed"


def test_a_lost_comment_is_quoted_up_to_60_characters() -> None:
    comment = "# " + "x" * 70
    with pytest.raises(guard.GuardFailure) as caught:
        guard.check(f"a: 1 {comment}\n", "a: 1\n", containers=[], edited=[], json_file=False)
    assert str(caught.value) == f"a comment was removed or changed: {comment[:60]!r}"


def _ruamel_problem(text: str) -> str:
    """What ruamel.yaml itself says about `text`: the guard must pass it on, whatever it is."""
    try:
        list(YAML(typ="safe", pure=True).load_all(text))
    except YAMLError as error:
        return str(getattr(error, "problem", None) or error).splitlines()[0]
    raise AssertionError("expected a parse error")


def test_parse_errors_name_the_parsers_problem() -> None:
    broken = "a: [\n"
    problem = _ruamel_problem(broken)
    assert problem and problem != "None"
    with pytest.raises(guard.GuardFailure) as caught:
        guard.check(broken, broken, containers=[], edited=[], json_file=False)
    assert str(caught.value) == f"the guard's parser cannot read the original: {problem}"
    with pytest.raises(guard.GuardFailure) as caught:
        guard.check("a: 1\n", broken, containers=[], edited=[], json_file=False)
    assert str(caught.value) == f"the patched text does not parse: {problem}"


def test_a_tab_before_a_comment_is_whitespace() -> None:
    old = "imagePullPolicy: Never\t# keep\n"
    new = "imagePullPolicy: Always\t# keep\n"
    guard.check(old, new, containers=[(0, ())], edited=[], json_file=False)


def test_flow_yaml_that_older_libyaml_rejects_is_read() -> None:
    # `a:1` in a flow mapping: valid YAML 1.2 that ruamel.yaml.clib refuses.
    old = "{name: a, image: a:1}\n"
    new = "{name: a, image: a:1, imagePullPolicy: Always}\n"
    guard.check(old, new, containers=[(0, ())], edited=[], json_file=False)


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("[2, 1, 1]\n", "[1, 1, 1]\n", "0"),  # pairs of equal objects are compared once
        ("[1, 1, 1]\n", "[2, 1, 1]\n", "0"),
        ("x: {y: 1}\n", "x: 5\n", "x"),  # a mapping replaced by a scalar
        ("x: [1]\n", "x: 5\n", "x"),  # a list replaced by a scalar
        ("x: .nan\n", "x: 1.0\n", "x"),
        ("x: 1.0\n", "x: .nan\n", "x"),
        ("1\n", "2\n", "the document root"),
    ],
)
def test_every_difference_is_found(old: str, new: str, where: str) -> None:
    with pytest.raises(guard.GuardFailure) as caught:
        guard.check(old, new, containers=[], edited=[], json_file=False)
    assert str(caught.value) == f"unexpected change at document 0, {where}"


def test_not_a_number_equals_itself() -> None:
    guard.check("x: .nan\n", "x: .nan\n", containers=[], edited=[], json_file=False)


def test_comparisons_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "[1, 2, 3]\n"  # four comparisons: the list and its three items
    monkeypatch.setattr(guard, "MAX_COMPARISONS", 4)
    guard.check(text, text, containers=[], edited=[], json_file=False)
    monkeypatch.setattr(guard, "MAX_COMPARISONS", 3)
    with pytest.raises(guard.GuardFailure) as caught:
        guard.check(text, text, containers=[], edited=[], json_file=False)
    assert str(caught.value) == "document too large to compare"


@pytest.mark.parametrize(
    ("text", "container"),
    [
        ("a: x\n", ("a",)),  # a scalar where a container was expected
        ("a: [1]\n", ("a",)),  # a list
        ("a: [{}]\n", ("a", 1)),  # past the end of the list
    ],
)
def test_a_container_path_that_leads_nowhere_is_not_always(
    text: str, container: tuple[str | int, ...]
) -> None:
    with pytest.raises(guard.GuardFailure) as caught:
        guard.check(text, text, containers=[(0, container)], edited=[], json_file=False)
    shown = "/".join(str(part) for part in container)
    assert str(caught.value) == f"document 0, {shown} is not Always after the fix"


def test_a_value_the_parser_cannot_build_is_refused_not_a_crash() -> None:
    # A timestamp with month 13: the parser raises a ValueError with no `problem` attribute.
    text = "a: 2020-13-45\n"
    with pytest.raises(guard.GuardFailure) as caught:
        guard.check(text, text, containers=[], edited=[], json_file=False)
    assert str(caught.value).startswith("the guard's parser cannot read the original: ")


def test_messages_name_documents_as_the_file_numbers_them() -> None:
    # The manifest guard checks a batch of chunks: `numbers` maps back to the file's indices.
    with pytest.raises(guard.GuardFailure) as caught:
        guard.check("a: 1\n", "a: 2\n", containers=[], edited=[], json_file=False, numbers=[7])
    assert str(caught.value) == "unexpected change at document 7, a"
    with pytest.raises(guard.GuardFailure) as caught:
        guard.check(
            "a: {}\n", "a: {}\n", containers=[(0, ("a",))], edited=[], json_file=False, numbers=[7]
        )
    assert str(caught.value) == "document 7, a is not Always after the fix"


def _overlapping(
    real: Callable[[str, Iterable[Edit]], str],
) -> Callable[[str, Iterable[Edit]], str]:
    """The real splicer, handed one more edit that overlaps the first: it raises Unfixable."""

    def apply_with_overlap(body: str, edits: Iterable[Edit]) -> str:
        edits = list(edits)
        first = min(edits, key=lambda edit: edit.start)
        clash = Edit(first.start, first.start, "# another edit at the same place\n")
        return real(body, [*edits, clash])

    return apply_with_overlap


def test_overlapping_edits_leave_a_manifest_unchanged_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(manifest, "apply", _overlapping(apply))
    fixed, skipped = _fix_manifest(MANIFEST.encode())
    assert fixed is None
    assert skipped == "left unchanged: overlapping edits"


def test_overlapping_edits_leave_helm_values_unchanged_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(helm, "apply", _overlapping(apply))
    fixed, skipped = _fix_values(VALUES.encode())
    assert fixed is None
    assert skipped == "left unchanged: overlapping edits"
