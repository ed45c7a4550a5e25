"""The documentation cannot drift from the code: README.md, docs/*.md and benchmarks/README.md.

(a) every relative link and image resolves to a file, and every `#anchor` to a heading of its
    target (GitHub's slugs);
(b) every `haan ...` command line in a shell code block parses with the real parser
    (`haan.cli.build_parser()`), and every `python main.py ...` line with main.py's;
(c) every command of the parser appears in docs/commands.md;
(d) docs/architecture.md's table "Where the 0.2 names live now" is `haan._moved.MOVED`.

Failures name file:line. Nothing here touches the network.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import io
import os
import re
import shlex
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = sorted([REPO / "README.md", REPO / "benchmarks" / "README.md",
               *(REPO / "docs").glob("*.md")])
SHELL_LANGUAGES = {"", "sh", "bash", "shell", "console"}


def rel(path: Path) -> str:
    return str(path.relative_to(REPO))


# --------------------------------------------------------------------------------------------
# Markdown: code blocks, headings, links


@dataclass(frozen=True)
class Block:
    language: str
    start: int  # line number of the first line inside the fence (1-based)
    lines: tuple[str, ...]


def split_markdown(text: str) -> tuple[list[tuple[int, str]], list[Block]]:
    """(the lines outside fenced code blocks with their numbers, the fenced blocks)."""
    prose: list[tuple[int, str]] = []
    blocks: list[Block] = []
    fence: str | None = None
    language, start, body = "", 0, []
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if fence is None:
            m = re.match(r"^(`{3,}|~{3,})\s*([\w+-]*)", stripped)
            if m:
                fence, language, start, body = m.group(1), m.group(2).lower(), number + 1, []
            else:
                prose.append((number, line))
        elif stripped.startswith(fence) and stripped.strip(fence[0]) == "":
            blocks.append(Block(language, start, tuple(body)))
            fence = None
        else:
            body.append(line)
    assert fence is None, "a code block is not closed"
    return prose, blocks


def heading_text(raw: str) -> str:
    """The text GitHub renders for a heading: no code marks, emphasis or link targets."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", raw)
    text = text.replace("`", "")
    text = re.sub(r"(\*\*|__|\*)", "", text)
    return text.strip()


def slug(text: str) -> str:
    """GitHub's heading anchors (github-slugger): lower case, every character that is not a
    letter, mark, number, connector, space or hyphen dropped, each space a hyphen."""
    kept = []
    for ch in text.lower():
        category = unicodedata.category(ch)
        if ch in " -" or category[0] in "LMN" or category == "Pc":
            kept.append(ch)
    return "".join(kept).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    prose, _ = split_markdown(path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    found = set()
    for _, line in prose:
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        base = slug(heading_text(m.group(1)))
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return found


LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def links(path: Path) -> list[tuple[int, str]]:
    prose, _ = split_markdown(path.read_text(encoding="utf-8"))
    found = []
    for number, line in prose:
        line = re.sub(r"`[^`]*`", "", line)  # code spans are not links
        found.extend((number, m.group(1)) for m in LINK.finditer(line))
    return found


def test_the_documentation_files_exist():
    names = {rel(p) for p in DOCS}
    for expected in ("README.md", "benchmarks/README.md", "docs/commands.md", "docs/data.md",
                     "docs/video.md", "docs/training.md", "docs/evaluation.md",
                     "docs/performance.md", "docs/architecture.md", "docs/HAAN-method.md"):
        assert expected in names, f"{expected} is missing"


@pytest.mark.parametrize("doc", DOCS, ids=rel)
def test_every_relative_link_resolves(doc):
    problems = []
    for number, target in links(doc):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
            continue
        path_part, _, anchor = target.partition("#")
        where = f"{rel(doc)}:{number}: [{target}]"
        file = (doc.parent / path_part).resolve() if path_part else doc
        if not file.exists():
            problems.append(f"{where}: {path_part} does not exist")
            continue
        if anchor:
            if file.suffix != ".md":
                problems.append(f"{where}: an anchor into a file that is not Markdown")
            elif anchor not in anchors(file):
                problems.append(f"{where}: no heading #{anchor} in {rel(file)}")
    assert not problems, "\n".join(problems)


def test_the_slugs_follow_github():
    assert slug(heading_text("Your own data: `haan data import activitynet`")) == \
        "your-own-data-haan-data-import-activitynet"
    assert slug(heading_text("The paper's data")) == "the-papers-data"
    assert slug(heading_text("Where the 0.2 names live now")) == "where-the-02-names-live-now"
    assert slug(heading_text("4. Losses (per video, then summed)")) == "4-losses-per-video-then-summed"
    assert slug(heading_text("Seeds, ablations, W-TALC")) == "seeds-ablations-w-talc"


# --------------------------------------------------------------------------------------------
# Command lines in code blocks


@dataclass(frozen=True)
class CommandLine:
    file: Path
    line: int
    text: str
    program: str  # "haan" or "main.py"
    argv: tuple[str, ...]

    def where(self) -> str:
        return f"{rel(self.file)}:{self.line}: {self.text}"


ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
LAUNCHERS = {"time", "flock", "sudo", "nice", "env", "timeout"}


def tokenize(text: str) -> list[str]:
    """shlex words, with `|`, `&&`, `;`, `>` ... as words of their own and `#` comments dropped."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars="|&;<>")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    return list(lexer)


def logical_lines(block: Block) -> list[tuple[int, str]]:
    """The block's lines with `\\` continuations joined, each with the number of its first line;
    a leading `$ ` prompt is stripped, and in a console block only the prompted lines count (the
    rest is output)."""
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for offset, raw in enumerate(block.lines):
        number = block.start + offset
        if pending is None:
            if raw.startswith("$ "):
                raw = raw[2:]
            elif block.language == "console":
                continue
            pending = (number, "")
        text = pending[1] + raw
        if text.rstrip().endswith("\\"):
            pending = (pending[0], text.rstrip()[:-1] + " ")
            continue
        out.append((pending[0], text.strip()))
        pending = None
    if pending is not None:
        out.append((pending[0], pending[1].strip()))
    return out


def command_of(tokens: list[str]) -> tuple[str, list[str]] | None:
    """("haan" | "main.py", its arguments) when the tokens run haan or main.py: `haan ...`,
    `.venv/bin/haan ...`, `python -m haan ...`, `torchrun ... -m haan ...`, `python main.py ...`,
    after environment assignments (`HAAN_THREADS=2`) and launchers (`/usr/bin/time -v`), up to
    the first pipe, redirection or `&&`."""
    while tokens and ENV_ASSIGNMENT.match(tokens[0]):
        tokens = tokens[1:]
    for i, token in enumerate(tokens):
        if set(token) <= set("|&;<>"):  # a pipe, a redirection, && or ;
            tokens = tokens[:i]
            break
    for i, token in enumerate(tokens):
        name = os.path.basename(token)
        if name == "haan" and (i == 0 or tokens[i - 1] == "-m"
                               or os.path.basename(tokens[0]) in LAUNCHERS):
            return "haan", tokens[i + 1:]
        if name == "main.py" and i > 0 and os.path.basename(tokens[i - 1]).startswith("python"):
            return "main.py", tokens[i + 1:]
    return None


def command_lines() -> list[CommandLine]:
    found = []
    for doc in DOCS:
        _, blocks = split_markdown(doc.read_text(encoding="utf-8"))
        for block in blocks:
            if block.language not in SHELL_LANGUAGES:
                continue
            for number, text in logical_lines(block):
                if not text or text.startswith("#"):
                    continue
                try:
                    tokens = tokenize(text)
                except ValueError as e:
                    found.append(CommandLine(doc, number, text, "unparsable", (str(e),)))
                    continue
                command = command_of(tokens)
                if command is not None:
                    found.append(CommandLine(doc, number, text, command[0], tuple(command[1])))
    return found


COMMANDS = command_lines()


def parse_with(parse, argv: tuple[str, ...]) -> str | None:
    """None when argv parses; else what the parser said."""
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            parse(list(argv))
    except SystemExit as e:
        if e.code in (0, None):  # --help, --version
            return None
        return err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else f"exit {e.code}"
    return None


def main_py_parser():
    spec = importlib.util.spec_from_file_location("haan_main_py", REPO / "main.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # main.py runs nothing unless __name__ == "__main__"
    return module.parse_args


def test_the_documentation_shows_commands():
    programs = {c.program for c in COMMANDS}
    assert "haan" in programs and "main.py" in programs
    assert len([c for c in COMMANDS if c.program == "haan"]) >= 30


def test_every_haan_command_line_parses():
    from haan.cli import build_parser

    problems = []
    for c in COMMANDS:
        if c.program == "unparsable":
            problems.append(f"{c.where()}\n    shlex: {c.argv[0]}")
        elif c.program == "haan":
            said = parse_with(build_parser().parse_args, c.argv)
            if said is not None:
                problems.append(f"{c.where()}\n    {said}")
    assert not problems, "\n".join(problems)


def test_every_main_py_command_line_parses():
    parse_args = main_py_parser()
    problems = []
    for c in COMMANDS:
        if c.program == "main.py":
            said = parse_with(parse_args, c.argv)
            if said is not None:
                problems.append(f"{c.where()}\n    {said}")
    assert not problems, "\n".join(problems)


def test_a_wrong_command_line_is_caught():
    from haan.cli import build_parser

    doc = REPO / "README.md"
    block = Block("sh", 10, ("haan train --config C \\", "    --no-such-option 3 | tee log"))
    (number, text), = logical_lines(block)
    assert number == 10
    program, argv = command_of(tokenize(text))
    assert (program, argv) == ("haan", ["train", "--config", "C", "--no-such-option", "3"])
    said = parse_with(build_parser().parse_args, tuple(argv))
    assert said is not None and "--no-such-option" in said
    assert CommandLine(doc, number, text, program, tuple(argv)).where().startswith("README.md:10:")


def test_prefixes_are_stripped():
    cases = {
        "HAAN_THREADS=2 haan train --config C": ["train", "--config", "C"],
        "torchrun --nproc_per_node 2 -m haan train --config C": ["train", "--config", "C"],
        ".venv/bin/python -m haan evaluate --models-dir D": ["evaluate", "--models-dir", "D"],
        "/usr/bin/time -v haan data info --config C": ["data", "info", "--config", "C"],
        "haan data info --json | head -c 10": ["data", "info", "--json"],
    }
    for text, argv in cases.items():
        assert command_of(tokenize(text)) == ("haan", argv), text
    assert command_of(tokenize("pip install 'haan[video]'")) is None
    assert command_of(tokenize("flock /tmp/haan-cpu.lock python benchmarks/bench_eval.py")) is None
    assert command_of(tokenize("python main.py --dataset FineGym  # a comment")) == \
        ("main.py", ["--dataset", "FineGym"])


# --------------------------------------------------------------------------------------------
# Every command documented


def parser_commands() -> list[str]:
    from haan.cli import build_parser

    found: list[str] = []

    def walk(parser: argparse.ArgumentParser, prefix: list[str]) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    found.append(" ".join([*prefix, name]))
                    walk(sub, [*prefix, name])

    walk(build_parser(), [])
    return found


def test_every_command_is_in_the_command_reference():
    text = (REPO / "docs" / "commands.md").read_text(encoding="utf-8")
    commands = parser_commands()
    assert "data import activitynet" in commands and "plot video" in commands
    missing = [c for c in commands if not re.search(rf"haan {re.escape(c)}(?![\w-])", text)]
    assert not missing, f"docs/commands.md:1: commands not documented: {missing}"


def test_every_leaf_command_has_a_section_in_the_command_reference():
    prose, _ = split_markdown((REPO / "docs" / "commands.md").read_text(encoding="utf-8"))
    headings = " ".join(line for _, line in prose if line.startswith("#"))
    commands = parser_commands()
    leaves = [c for c in commands if not any(o.startswith(c + " ") for o in commands)]
    missing = [c for c in leaves if f"`haan {c}`" not in headings]
    assert not missing, f"docs/commands.md:1: no heading for {missing}"


# --------------------------------------------------------------------------------------------
# The 0.2 names


def test_the_moved_table_is_haan_moved():
    from haan._moved import MOVED

    path = REPO / "docs" / "architecture.md"
    prose, _ = split_markdown(path.read_text(encoding="utf-8"))
    in_section, rows = False, {}
    for number, line in prose:
        if line.startswith("#"):
            in_section = heading_text(line.lstrip("#")) == "Where the 0.2 names live now"
            continue
        m = re.match(r"^\|\s*`(haan[\w.]*)`\s*\|(.*)\|\s*$", line)
        if in_section and m:
            rows[m.group(1)] = (number, tuple(re.findall(r"`([\w.]+)`", m.group(2))))
    assert rows, f"{rel(path)}: no table under 'Where the 0.2 names live now'"
    problems = []
    for old, targets in MOVED.items():
        if old not in rows:
            problems.append(f"{rel(path)}: {old} is missing from the table (-> {', '.join(targets)})")
        elif rows[old][1] != tuple(targets):
            problems.append(f"{rel(path)}:{rows[old][0]}: {old} -> {', '.join(rows[old][1])}; "
                            f"haan._moved says {', '.join(targets)}")
    for old, (number, _) in rows.items():
        if old not in MOVED:
            problems.append(f"{rel(path)}:{number}: {old} is not in haan._moved.MOVED")
    assert not problems, "\n".join(problems)
