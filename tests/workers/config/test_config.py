"""`.pullpolicy.yml`: defaults, validation messages with key paths and lines, generated files."""

from __future__ import annotations

import json
import pickle
from importlib import resources
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from workers.config.loading import MAX_DEPTH, ConfigError, ConfigIssue, parse_config
from workers.config.model import (
    DEFAULT_CONFIG,
    MAX_MESSAGE_CHARS,
    MAX_NAME_CHARS,
    MAX_NAMES,
    MAX_PATTERN_CHARS,
    MAX_PATTERNS,
    MAX_TITLE_CHARS,
    SCHEMA_ID,
    Config,
    DigestPolicy,
    Mode,
    NeverPolicy,
    render_defaults_yaml,
    schema_json,
)

# Every key set to a value that differs from its default (checked below).
FULL_EXAMPLE = """\
enabled: false
mode: check
strict: true
paths:
  include: ["deploy/**/*.yaml"]
  exclude:
    - "deploy/vendor/**"
rules:
  never: keep
  digests: exempt
  explicit: false
  containers: false
  init_containers: false
  ephemeral_containers: false
  helm_values: false
exempt:
  images: ["registry.local/*", "busybox:*"]
  registries: ["registry.internal:5000"]
  containers: [istio-proxy]
  namespaces: [kube-system]
  kinds: [Job]
pull_request:
  branch: bots/pull-always
  title: Pull images every time
  commit_message: "fix: imagePullPolicy Always"
  labels: [k8s, bot]
  reviewers: [alice]
  assignees: [bob]
  draft: true
review: check
review_conclusion: failure
review_event: request_changes
review_drafts: true
"""

FULL_EXAMPLE_DATA: dict[str, Any] = {
    "enabled": False,
    "mode": "check",
    "strict": True,
    "paths": {"include": ["deploy/**/*.yaml"], "exclude": ["deploy/vendor/**"]},
    "rules": {
        "never": "keep",
        "digests": "exempt",
        "explicit": False,
        "containers": False,
        "init_containers": False,
        "ephemeral_containers": False,
        "helm_values": False,
    },
    "exempt": {
        "images": ["registry.local/*", "busybox:*"],
        "registries": ["registry.internal:5000"],
        "containers": ["istio-proxy"],
        "namespaces": ["kube-system"],
        "kinds": ["Job"],
    },
    "pull_request": {
        "branch": "bots/pull-always",
        "title": "Pull images every time",
        "commit_message": "fix: imagePullPolicy Always",
        "labels": ["k8s", "bot"],
        "reviewers": ["alice"],
        "assignees": ["bob"],
        "draft": True,
    },
    "review": "check",
    "review_conclusion": "failure",
    "review_event": "request_changes",
    "review_drafts": True,
}


def leaf_paths(model: type[BaseModel], prefix: str = "") -> list[str]:
    paths = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths += leaf_paths(annotation, f"{prefix}{name}.")
        else:
            paths.append(prefix + name)
    return paths


def lookup(data: dict[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        data = data[part]
    return data


def only_issue(text: str | bytes) -> ConfigIssue:
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert len(caught.value.issues) == 1, caught.value.issues
    return caught.value.issues[0]


# --- defaults ---------------------------------------------------------------------------------


def test_documented_defaults() -> None:
    config = parse_config("")
    assert config == DEFAULT_CONFIG == Config()
    assert config.enabled is True
    assert config.mode is Mode.FIX
    assert config.paths.include == ("**/*.yaml", "**/*.yml", "**/*.json")
    assert config.paths.exclude == ()
    assert config.rules.never is NeverPolicy.FIX
    assert config.rules.digests is DigestPolicy.FIX
    assert config.pull_request.branch == "pullpolicy/always-pull-images"
    assert config.pull_request.title is None


@pytest.mark.parametrize(
    "text", ["", b"", "\n\n", "# only\n# comments\n", "null\n", "~", "---\n", "---\n...\n"]
)
def test_empty_documents_give_the_defaults(text: str | bytes) -> None:
    assert parse_config(text) == DEFAULT_CONFIG


def test_a_partial_file_keeps_the_other_defaults() -> None:
    config = parse_config("rules:\n  never: keep\n")
    assert config.rules.never is NeverPolicy.KEEP
    assert config.rules.model_copy(update={"never": NeverPolicy.FIX}) == DEFAULT_CONFIG.rules
    assert config.model_copy(update={"rules": DEFAULT_CONFIG.rules}) == DEFAULT_CONFIG


# --- every key round-trips ------------------------------------------------------------------


def test_the_full_example_sets_every_key_away_from_its_default() -> None:
    defaults = DEFAULT_CONFIG.model_dump(mode="json")
    for path in leaf_paths(Config):
        assert lookup(FULL_EXAMPLE_DATA, path) != lookup(defaults, path), path
    assert yaml.safe_load(FULL_EXAMPLE) == FULL_EXAMPLE_DATA


def test_every_key_round_trips() -> None:
    config = parse_config(FULL_EXAMPLE)
    assert config.model_dump(mode="json") == FULL_EXAMPLE_DATA
    assert config.exempt.images == ("registry.local/*", "busybox:*")  # tuples, not lists
    assert config.mode is Mode.CHECK
    assert parse_config(yaml.safe_dump(config.model_dump(mode="json"))) == config


def test_yaml_booleans_merge_keys_and_timestamps_as_text() -> None:
    text = "enabled: no\npull_request:\n  <<: {draft: on, branch: x}\n  branch: 2024-01-01\n"
    config = parse_config(text)
    assert config.enabled is False
    assert config.pull_request.draft is True
    assert config.pull_request.branch == "2024-01-01"  # what the user wrote, not a date


# --- unknown keys ---------------------------------------------------------------------------


def test_unknown_top_level_key_suggests_the_close_one() -> None:
    issue = only_issue("enabled: true\nrule:\n  never: keep\n")
    assert issue == ConfigIssue("rule", "unknown key 'rule', did you mean 'rules'?", 2)


@pytest.mark.parametrize(
    ("text", "path", "suggestion", "line"),
    [
        ("rules:\n  never: keep\n  digest: exempt\n", "rules.digest", "digests", 3),
        ("rules:\n\n  initContainers: false\n", "rules.initContainers", "init_containers", 3),
        ("mode: fix\npull-request:\n  draft: true\n", "pull-request", "pull_request", 2),
        ("exempt:\n  image: [a]\n", "exempt.image", "images", 2),
    ],
)
def test_unknown_nested_key_names_path_line_and_suggestion(
    text: str, path: str, suggestion: str, line: int
) -> None:
    issue = only_issue(text)
    assert (issue.path, issue.line) == (path, line)
    assert issue.message.endswith(f"did you mean '{suggestion}'?")


def test_unknown_key_without_a_close_match_lists_the_valid_keys() -> None:
    issue = only_issue("paths:\n  zzz: 1\n")
    assert issue == ConfigIssue("paths.zzz", "unknown key 'zzz'; valid keys: include, exclude", 2)


# --- bad values -----------------------------------------------------------------------------


def test_bad_enum_value() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("mode: fix\nrules:\n  never: nope\n", source="repo/.pullpolicy.yml")
    issue = ConfigIssue("rules.never", "expected one of 'fix', 'keep', got 'nope'", 3)
    assert caught.value.issues == (issue,)
    assert str(caught.value) == (
        "repo/.pullpolicy.yml:3: rules.never: expected one of 'fix', 'keep', got 'nope'"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("enabled: 'yes'\n", ConfigIssue("enabled", "expected true or false, got 'yes'", 1)),
        ("enabled: 1\n", ConfigIssue("enabled", "expected true or false, got 1", 1)),
        (
            "pull_request:\n  branch: 5\n",
            ConfigIssue("pull_request.branch", "expected a string, got 5", 2),
        ),
        (
            "pull_request:\n  labels:\n    - ok\n    - 3\n",
            ConfigIssue("pull_request.labels[1]", "expected a string, got 3", 4),
        ),
        ("paths: 5\n", ConfigIssue("paths", "expected a mapping, got 5", 1)),
        ("\nrules:\n", ConfigIssue("rules", "expected a mapping, got null", 2)),
        ("mode: [fix]\n", ConfigIssue("mode", "expected one of 'fix', 'check', got a list", 1)),
    ],
)
def test_wrong_type(text: str, expected: ConfigIssue) -> None:
    assert only_issue(text) == expected


def test_a_string_where_a_list_is_expected_is_not_split() -> None:
    issue = only_issue("paths:\n  include: 'deploy/*.yaml, k8s/*.yaml'\n")
    assert (issue.path, issue.line) == ("paths.include", 2)
    assert issue.message.startswith("expected a list, got 'deploy/*.yaml, k8s/*.yaml'")


def test_all_issues_are_reported_in_file_order() -> None:
    text = "pull_request:\n  draft: maybe\nmode: sometimes\nrulez: {}\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text)
    assert [(i.path, i.line) for i in caught.value.issues] == [
        ("pull_request.draft", 2),
        ("mode", 3),
        ("rulez", 4),
    ]
    assert str(caught.value).splitlines() == [
        ".pullpolicy.yml:2: pull_request.draft: expected true or false, got 'maybe'",
        ".pullpolicy.yml:3: mode: expected one of 'fix', 'check', got 'sometimes'",
        ".pullpolicy.yml:4: rulez: unknown key 'rulez', did you mean 'rules'?",
    ]


# --- malformed documents --------------------------------------------------------------------


@pytest.mark.parametrize("text", ["- fix\n- check\n", "just text\n", "42\n", "\n[]\n"])
def test_a_document_that_is_not_a_mapping(text: str) -> None:
    issue = only_issue(text)
    assert issue.path == ""
    assert issue.message.startswith("expected a mapping of keys at the top level, got ")
    assert issue.line == len(text) - len(text.lstrip("\n")) + 1


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("mode: fix\nrules:\n  never: keep\n    digests: fix\n", 4),
        ("mode: fix\npaths: {include: [a, b}\n", 2),
        ("mode: fix\n\tpaths: 1\n", 2),
        ("mode: fix\nenabled: \x00\n", 2),
    ],
)
def test_invalid_yaml_reports_the_parsers_line(text: str, line: int) -> None:
    issue = only_issue(text)
    assert (issue.path, issue.line) == ("", line)
    assert issue.message.startswith("invalid YAML: ")


@pytest.mark.parametrize(
    ("text", "path", "line", "first"),
    [
        ("mode: fix\nenabled: true\nmode: check\n", "mode", 3, 1),
        ("rules:\n  never: keep\n  digests: fix\n  never: fix\n", "rules.never", 4, 2),
    ],
)
def test_duplicate_keys_are_errors(text: str, path: str, line: int, first: int) -> None:
    issue = only_issue(text)
    assert (issue.path, issue.line) == (path, line)
    assert issue.message == f"duplicate key '{path.split('.')[-1]}' (first at line {first})"


def test_several_documents_are_an_error_at_the_second_one() -> None:
    issue = only_issue("mode: fix\n---\nmode: check\n")
    assert issue == ConfigIssue(
        "", "found a second YAML document; the file must hold exactly one", 2
    )


def test_bytes_with_a_bom_are_read() -> None:
    assert parse_config(b"\xef\xbb\xbfmode: check\n").mode is Mode.CHECK
    assert parse_config("\ufeffmode: check\n").mode is Mode.CHECK


def test_invalid_utf8_names_the_line() -> None:
    issue = only_issue(b"mode: fix\npull_request:\n  title: caf\xe9\n")
    assert issue == ConfigIssue("", "not valid UTF-8 (byte 0xe9)", 3)


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("pull_request:\n  title: !!int abc\n", "pull_request.title"),
        ("pull_request:\n  title: !!python/name:os.system x\n", "pull_request.title"),
        ("exempt:\n  kinds: !!set {Job}\n", "exempt.kinds"),
        ("? [a, b]\n: 1\n", ""),
    ],
)
def test_unusual_yaml_is_an_error_not_a_crash(text: str, path: str) -> None:
    assert only_issue(text).path == path


def test_alias_bombs_and_deep_nesting_are_refused() -> None:
    # Each anchor lists the previous one ten times: 10**9 values once expanded.
    bomb = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        bomb.append(f"l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * 10)}]")
    assert "aliases expand" in only_issue("\n".join(bomb)).message
    assert "aliases expand" in only_issue("a: &a [*a]\n").message
    too_deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    assert only_issue(too_deep) == ConfigIssue("", f"nested deeper than {MAX_DEPTH} levels", 1)
    # Composed, this would overflow libyaml's C stack. Our bound or PyYAML's own (newer
    # releases stop deep flow nesting while scanning, in their words) refuses it: no crash.
    deep = "[" * 100_000 + "]" * 100_000
    assert (only_issue(deep).path, only_issue(deep).line) == ("", 1)


@pytest.mark.parametrize("key", ["paths.include", "paths.exclude", "exempt.images"])
def test_too_many_patterns_are_an_error_naming_the_key(key: str) -> None:
    section, name = key.split(".")
    many = json.dumps([f"p{i}/*.yaml" for i in range(MAX_PATTERNS + 1)])
    issue = only_issue(f"{section}:\n  {name}: {many}\n")
    assert (issue.path, issue.line) == (key, 2)
    assert str(MAX_PATTERNS) in issue.message
    parse_config(f"{section}:\n  {name}: {json.dumps(['x'] * MAX_PATTERNS)}\n")  # the cap fits


@pytest.mark.parametrize("key", ["labels", "reviewers", "assignees"])
def test_too_many_or_too_long_names_are_an_error_naming_the_key(key: str) -> None:
    many = json.dumps([f"n{i}" for i in range(MAX_NAMES + 1)])
    issue = only_issue(f"pull_request:\n  {key}: {many}\n")
    assert (issue.path, issue.line) == (f"pull_request.{key}", 2)
    assert str(MAX_NAMES) in issue.message
    long = json.dumps(["x" * (MAX_NAME_CHARS + 1)])
    assert only_issue(f"pull_request:\n  {key}: {long}\n").path.startswith(f"pull_request.{key}")
    parse_config(f"pull_request:\n  {key}: {json.dumps(['x' * MAX_NAME_CHARS] * MAX_NAMES)}\n")


@pytest.mark.parametrize(
    ("key", "cap"), [("title", MAX_TITLE_CHARS), ("commit_message", MAX_MESSAGE_CHARS)]
)
def test_an_overlong_title_or_commit_message_is_an_error(key: str, cap: int) -> None:
    issue = only_issue(f"pull_request:\n  {key}: {'x' * (cap + 1)}\n")
    assert (issue.path, issue.line) == (f"pull_request.{key}", 2)
    parse_config(f"pull_request:\n  {key}: {'x' * cap}\n")


def test_an_overlong_pattern_is_an_error_naming_the_key() -> None:
    long = "**/" * MAX_PATTERN_CHARS
    issue = only_issue(f'paths:\n  exclude: ["ok", "{long}"]\n')
    assert (issue.path, issue.line) == ("paths.exclude[1]", 2)
    assert str(MAX_PATTERN_CHARS) in issue.message


def test_config_error_survives_pickling() -> None:
    error = ConfigError([ConfigIssue("mode", "expected one of 'fix', 'check', got 'x'", 1)], "f")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (copy.issues, copy.source, str(copy)) == (error.issues, "f", str(error))


# Mostly real key names, so that generated documents get past the first unknown key.
config_keys = st.sampled_from(
    sorted({path.split(".")[-1] for path in leaf_paths(Config)} | set(Config.model_fields) | {"x"})
)
yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(config_keys, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=80) | st.binary(max_size=80) | yaml_values.map(yaml.safe_dump))
def test_any_input_gives_a_config_or_a_config_error(text: str | bytes) -> None:
    try:
        parse_config(text)
    except ConfigError as error:
        assert error.issues
        assert all(issue.line is None or issue.line >= 1 for issue in error.issues)


# --- generated files ------------------------------------------------------------------------


def test_committed_schema_file_is_up_to_date() -> None:
    committed = (resources.files("workers.config") / "pullpolicy.schema.json").read_text("utf-8")
    assert committed == schema_json(), (
        "workers/config/pullpolicy.schema.json is stale; regenerate it with "
        "`pullpolicy schema > workers/config/pullpolicy.schema.json`"
    )


def test_schema_header_and_descriptions() -> None:
    text = schema_json()
    schema = json.loads(text)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == SCHEMA_ID == "https://pullpolicy.dev/schema/pullpolicy.schema.json"
    assert schema["title"]
    assert text == json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    jsonschema.Draft202012Validator.check_schema(schema)
    objects = [schema, *(d for d in schema["$defs"].values() if "properties" in d)]
    for name, prop in [item for obj in objects for item in obj["properties"].items()]:
        assert prop.get("description"), f"{name} has no docstring"
    assert len(objects) == 5


def test_schema_accepts_the_full_example_and_rejects_what_the_loader_rejects() -> None:
    validator = jsonschema.Draft202012Validator(json.loads(schema_json()))
    validator.validate(FULL_EXAMPLE_DATA)
    validator.validate({})
    for bad, text in [
        ({"rules": {"nevr": "keep"}}, "rules:\n  nevr: keep\n"),
        ({"rules": {"never": "nope"}}, "rules:\n  never: nope\n"),
        ({"enabled": "true"}, "enabled: 'true'\n"),
        ({"paths": {"include": "*.yaml"}}, "paths:\n  include: '*.yaml'\n"),
    ]:
        assert not validator.is_valid(bad), bad
        with pytest.raises(ConfigError):
            parse_config(text)


def test_defaults_yaml_documents_every_key_and_parses_to_the_defaults() -> None:
    text = render_defaults_yaml()
    assert parse_config(text) == DEFAULT_CONFIG
    assert yaml.safe_load(text) == DEFAULT_CONFIG.model_dump(mode="json")
    for path in leaf_paths(Config):
        name = path.split(".")[-1]
        assert any(line.strip().startswith(f"{name}: ") for line in text.splitlines()), path
    described = Config.model_fields["mode"].description
    assert described and f"# {described}\nmode: " in text


def test_review_keys_default_to_suggest_neutral_and_no_drafts() -> None:
    from workers.config.model import ReviewConclusion, ReviewEvent, ReviewMode

    default = parse_config("")
    assert default.review == ReviewMode.SUGGEST
    assert default.review_conclusion == ReviewConclusion.NEUTRAL
    assert default.review_event == ReviewEvent.COMMENT
    assert parse_config("review_event: request_changes\n").review_event == (
        ReviewEvent.REQUEST_CHANGES
    )
    with pytest.raises(ConfigError, match="review_event"):
        parse_config("review_event: approve\n")
    assert not default.review_drafts
    strict = parse_config("review: check\nreview_conclusion: failure\nreview_drafts: true\n")
    assert (strict.review, strict.review_conclusion, strict.review_drafts) == (
        ReviewMode.CHECK,
        ReviewConclusion.FAILURE,
        True,
    )
    assert parse_config("review: off\n").review == ReviewMode.OFF  # YAML 1.1 reads false
    with pytest.raises(ConfigError, match="review"):
        parse_config("review: request-changes\n")
