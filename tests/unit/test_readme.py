"""What the README and the docs tell a newcomer holds: every `berth` command they show parses as
written, the spec they show validates against the stage it names, the security model names what
sets each fence, and what they say about health checks matches what Berth renders."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from berth.cli import main
from chalicelib.errors import SpecError
from chalicelib.spec.environments import Environment
from chalicelib.spec.fence import FENCE_VARIABLES
from chalicelib.spec.parse import parse_spec
from tests.conftest import EXAMPLES, ROOT

README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "README.md"]


def section(text: str, heading: str) -> str:
    """The body of the `## heading` section of a markdown text."""
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


# ---- commands as written -------------------------------------------------------------------------


def shown_commands(path: Path) -> list[str]:
    """The `berth` command lines a document shows: each line of its shell blocks and, in the
    README, each inline code span that names an argument or option (a newcomer copies those);
    synopses with placeholders (ENV, SERVICE, <64 hex>) are left out."""
    text = path.read_text()
    lines = [
        line.split("  #")[0].strip().split("| ")[-1]
        for block in re.findall(r"```sh\n(.*?)```", text, re.S)
        for line in block.splitlines()
    ]
    if path == README:
        prose = re.sub(r"```.*?```", "", text, flags=re.S)
        lines += [s for s in re.findall(r"`(berth [^`]+ [^`]+)`", prose)]
    placeholder = re.compile(r"\b[A-Z]{3,}\b|<|\.\.\.|\[")
    return [c for c in lines if re.match(r"(\.venv/bin/)?berth ", c) and not placeholder.search(c)]


def parse_command_line(line: str) -> None:
    """Parse `line` as the berth command does, down to its subcommand; raise click's error."""
    args = shlex.split(line)[1:]
    command: click.Command = main
    name, parent = "berth", None
    while True:
        try:
            context = command.make_context(name, args, parent=parent)
        except click.exceptions.Exit:  # --help, --version
            return
        if not isinstance(command, click.Group):
            return
        rest = [*context._protected_args, *context.args]
        if not rest:
            return
        found, sub, args = command.resolve_command(context, rest)
        assert sub is not None and found is not None
        command, name, parent = sub, found, context


@pytest.mark.parametrize("document", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_berth_command_a_document_shows_parses_as_written(document):
    # Issue 32: the README's `berth sandbox push --broken-health-check` missed its argument.
    commands = shown_commands(document)
    failures = []
    for line in commands:
        try:
            parse_command_line(line.removeprefix(".venv/bin/"))
        except click.UsageError as error:
            failures.append(f"{line}: {error.format_message()}")
    assert failures == []


def test_the_readme_shows_the_broken_health_check_push_with_its_image():
    assert ".venv/bin/berth sandbox push --broken-health-check wso2am:4.7.0-10" in shown_commands(
        README
    )


def help_examples() -> list[tuple[str, str]]:
    """(command path, example line) of every `berth ...` example in every command's help."""
    found = []

    def walk(command: click.Command, path: list[str]) -> None:
        text = command.help or ""
        for raw in text.split("Example", 1)[-1].splitlines() if "Example" in text else []:
            line = raw.strip()
            if line.startswith("berth ") or "| berth " in line:
                found.append((" ".join(path), re.sub(r"\s+\(.*\)$", "", line)))
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])

    walk(main, ["berth"])
    return found


def test_every_help_example_parses_as_written():
    examples = help_examples()
    assert len(examples) > 15
    failures = []
    for where, line in examples:
        if "<" in line:  # a placeholder such as sha256:<64 hex>
            continue
        try:
            parse_command_line(line.split("| ")[-1])
        except click.UsageError as error:
            failures.append(f"{where}: {line}: {error.format_message()}")
    assert failures == []


def test_help_examples_for_aws_name_specs_their_stage_accepts():
    # A help example with --stage names a spec that stage's fence lets through; those without
    # name the file `berth sandbox up` writes and run on it (tests/e2e/test_operator_cli.py).
    checked = 0
    for _, line in help_examples():
        args = shlex.split(line.split("| ")[-1])
        specs = [a for a in args if re.search(r"\.(ya?ml|json)$", a)]
        if not specs or args[1] in ("validate", "render", "sandbox"):
            continue
        if "--stage" in args:
            stage = args[args.index("--stage") + 1]
            result = CliRunner().invoke(main, ["validate", "--stage", stage, *specs])
            assert result.exit_code == 0, (line, result.output)
        else:
            assert all(s.startswith("out/sandbox-") for s in specs), line
        checked += 1
    assert checked >= 4


# ---- the spec it shows ---------------------------------------------------------------------------


def test_every_spec_the_readme_shows_validates_against_its_stage():
    blocks = [
        b for b in re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S) if "berth: 1" in b
    ]
    assert blocks
    for block in blocks:
        stage = yaml.safe_load(block)["environment"]
        result = CliRunner().invoke(main, ["validate", "--stage", stage, "-"], input=block)
        assert result.exit_code == 0, result.output
        assert result.output.endswith(f"valid ({stage}: apim, mi)\n")


# ---- the security model --------------------------------------------------------------------------


def test_the_security_model_names_what_sets_each_fence():
    # Issue 28: each fence with the variable or file that sets it.
    rows = [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in section(README.read_text(), "Security model").splitlines()
        if line.startswith("| ") and not line.startswith("| fence")
    ]
    assert rows and all(len(row) == 3 and row[0] and row[1] for row in rows)
    set_by = " ".join(row[1] for row in rows)
    variables = {*FENCE_VARIABLES, "BERTH_CLUSTERS", "BERTH_SHARES_CLUSTERS_WITH"}
    assert {v for v in variables if f"`{v}`" not in set_by} == set()
    for path in (".chalice/policy-<stage>.json", "infra/resources.yaml"):
        assert path in set_by
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    for variable in config["stages"]["dev"]["environment_variables"]:
        if variable.startswith("BERTH_ENVIRONMENT_"):
            assert f"`{variable}`" in set_by, variable
    # Each field of the stage's environments file (issue 28) is a fence the table names.
    assert "chalicelib/environments/<stage>.yaml" in section(README.read_text(), "Security model")
    fields = [f.alias or n for n, f in Environment.model_fields.items()]
    assert [f for f in fields if f"`{f}" not in set_by] == []


def test_what_the_docs_say_of_cmd_shell_is_about_specs_which_may_not_while_presets_do():
    # Issue 32: the README said "no CMD-SHELL" while every rendered preset is CMD-SHELL.
    rendered = json.loads((ROOT / "tests" / "golden" / "wso2-dev.apim.json").read_text())
    assert rendered["containerDefinitions"][0]["healthCheck"]["command"][0] == "CMD-SHELL"
    text = (EXAMPLES / "wso2-dev.yaml").read_text().replace(
        "    desiredCount: 1\n",
        "    desiredCount: 1\n    healthCheck: {command: [CMD-SHELL, 'curl -f http://localhost:9763/']}\n",
        1,
    )
    with pytest.raises(SpecError, match="no CMD-SHELL"):
        parse_spec(text.encode(), "s.yaml")
    for document in DOCS:
        # Each sentence (or table row) that says "no CMD-SHELL" says it of specs.
        for item in re.split(r"\n(?=- |\|)|\n\n|(?<=[.;])\s", document.read_text()):
            if re.search(r"no\s+`?CMD-SHELL", item):
                assert re.search(r"\bspecs?\b", item), (document.name, item)


@pytest.mark.parametrize("document", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(document):
    # The maintainer material moved out of the README: no link may point where it was.
    targets = re.findall(r"\]\(([^)#]+)\)", document.read_text())
    assert [t for t in targets if not t.startswith("http") and not (document.parent / t).exists()] == []
