"""A cheap text test that decides whether a file is worth parsing at all.

Parsing is most of a lint's cost, and most Python files in a repository never touch a
model. Every rule needs one of a few textual footholds, and none is written here by hand:
- a model constructor the zoo knows, or a model directive (from detect.py's own tables);
- a rule's own triggers: the text that can make it report with no model known, which each
  rule declares with `@rule(..., triggers=...)` (checks/);
- with an explicit model (or checkpoint): any use of a module, a parameter or a state dict
  (MODEL_FOOTHOLDS, next to the facts in analysis/facts.py: `has_model_foothold`).
Rules that read the one-pass syntax collection declare when it is worth running
(`@rule(..., syntax=...)`, their triggers by default): `has_syntactic_patterns`.
A test runs every rule example through `lint` and checks this never skips one with a finding.
"""

from __future__ import annotations

import ast
import bisect
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache

from freezelint import checks
from freezelint.analysis.detect import names_a_zoo_model
from freezelint.analysis.facts import has_model_foothold
from freezelint.analysis.model_text import (
    LineBounds,
    kept_as_a_module,
    line_end,
    occurrences,
    used_as_modules,
)
from freezelint.analysis.project_modules import maybe_project
from freezelint.common.torch_api import OPTIMIZER_NAMES
from freezelint.common.words import starts_a_name
from freezelint.inputs.bare_strings import bare_strings, without_bare_strings
from freezelint.inputs.source import python_tree

# Without an explicit model: a model the analysis can identify. Separate patterns, each
# starting with a literal, which `re` scans for quickly (one alternation is ten times slower).
_WITHOUT_MODEL = tuple(re.compile(pattern) for pattern in (
    r"ASTModel\s*\(", r"freezelint:",  # the AST constructor called, or a model directive
    r"Auto(?:Model|For)\w*\.from_",  # transformers Auto classes (detect.py reads the name)
))


def _names_a_zoo_model(text: str) -> bool:
    # The other constructors: detect.py's own test, from the zoo's names (a library's name
    # alone, `is_torchvision_available`, names no model).
    if any(pattern.search(text) for pattern in _WITHOUT_MODEL):
        return True
    return names_a_zoo_model(text)


TextTest = Callable[[str], bool]


@cache
def _rule_triggers() -> tuple[TextTest, ...]:
    """Every rule's triggers, each distinct test once."""
    return _unique(test for rule in checks.REGISTRY.values() for test in rule.triggers)


@cache
def _syntax_triggers() -> tuple[TextTest, ...]:
    return _unique(test for rule in checks.REGISTRY.values() for test in rule.syntax)


@cache
def _syntax_only_triggers() -> tuple[TextTest, ...]:
    """The syntax triggers that are no rule's trigger: once the rule triggers all failed,
    only these can still find a syntactic pattern (most of them are the same tests)."""
    rules = set(_rule_triggers())
    return tuple(test for test in _syntax_triggers() if test not in rules)


def _unique(tests: Iterable[TextTest]) -> tuple[TextTest, ...]:
    return tuple(dict.fromkeys(tests))


def has_syntactic_patterns(text: str) -> bool:
    """True when a rule that reads the syntax pass (analysis/syntax.py) could report on
    `text`: only then is that pass worth running."""
    return any(test(text) for test in _syntax_triggers())


def _model_free_finding_possible(text: str) -> bool:
    return any(test(text) for test in _rule_triggers())


# A model class of the project's own, defined in the file, or imported from a module that may
# be the project's and called (`from models import GPT` ... `GPT(config)`,
# `GPT.from_pretrained(...)`, `model = build_model(cfg)`): the static class reader may know its
# names, so the file is worth parsing as if a model were named.
# A module built from torch.nn in the script (`model = nn.Sequential(...)`,
# `torch.nn.Linear(20, 1)`) is a model of known names once the script uses it as one.
# `nn.Parameter(...)` builds no module (a library's loading code wraps tensors in it).
_OWN_CLASS = re.compile(r"class (\w+)\([^)]*(?:Module|Sequential|ModuleList|ModuleDict)\b")
_OWN_MODEL = (_OWN_CLASS, re.compile(r"nn\.(?!Parameter\()[A-Z]\w*\("))
# What a rule judges on a model the file defines or builds from torch.nn: a freeze, a name
# test, an optimizer, a load or a state dict, train()/eval(). A file that only defines layers
# (a library's modules: `self.fc = nn.Linear(...)`, `nn.Parameter(..., requires_grad=False)`)
# has nothing to check against their names. One pattern each, each starting with a literal
# (`\b(?:Adam|SGD...)` in one alternation was tried at every character: 5x slower).
_JUDGED_ON_OWN_MODEL = tuple(re.compile(pattern) for pattern in (
    r"\.requires_grad(?:\s*=(?!=)|_\()", r"named_(?:parameters|modules|children|buffers)\(",
    r"load_state_dict\(", r"\.parameters\(", r"torch\.load\(", r"\.state_dict\(",
    r"\.(?:train|eval)\(", r"configure_optimizers"))
_OPTIMIZER_CALL = re.compile(r"(?:" + "|".join(sorted(OPTIMIZER_NAMES)) + r")\(")


def _judged_on_own_model(text: str) -> bool:
    if any(pattern.search(text) for pattern in _JUDGED_ON_OWN_MODEL):
        return True
    # an optimizer's own name (`AdamW(`, `optim.SGD(`), not the end of another (`FusedAdam(`)
    return any(starts_a_name(text, match.start()) for match in _OPTIMIZER_CALL.finditer(text))


_FROM_IMPORT = re.compile(r"from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)")


def _starts_its_line(text: str, at: int) -> bool:
    """Whether only indentation comes before offset `at` on its line."""
    while at and text[at - 1] in " \t":
        at -= 1
    return at == 0 or text[at - 1] == "\n"


def _starting_lines(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """The matches of `pattern` that start a line (after its indentation), in order and
    not overlapping, as `^[ \t]*` before it would find them: `pattern` starts with a
    literal, which `re` scans for quickly (`^` in MULTILINE mode is tried at every
    character: 0.08 s over transformers' 316 files, against 0.01 s)."""
    at = 0
    while (match := pattern.search(text, at)) is not None:
        if _starts_its_line(text, match.start()):
            yield match
            at = match.end()
        else:
            at = match.start() + 1


def _calls_a_project_name(text: str) -> bool:
    """A name imported from a module that may be the project's, constructed or called into
    a variable (`model = GPT(config)`, `model = GPT.from_pretrained(...)`,
    `model = build_model(cfg)`) that the file then uses as a module (`kept_as_a_module`)."""
    for match in _starting_lines(_FROM_IMPORT, text):
        if not maybe_project(match.group(1)):
            continue
        if match.group(2).split("#")[0].strip() == "*":  # any name the file calls may be it
            if _builds_any_used_module(text):
                return True
            continue
        for item in match.group(2).strip("()").split(","):
            words = item.split("#")[0].split()
            name = words[-1] if len(words) == 3 and words[1] == "as" else words[0] if words else ""
            if name.isidentifier() and _builds_a_used_module(name, _CALLED, text):
                return True
    return False


# `model =`, `self.model: nn.Module =` at the start of a line: group 1 the last name.
_ASSIGNED = re.compile(r"[ \t]*(?:[\w.]+\.)?(\w+)(?:[ \t]*:[^=\n]+)?[ \t]*=(?!=)")
_MODULE_USE = re.compile(r"\.(?:(?:named_)?(?:parameters|modules|children|buffers)|state_dict"
                         r"|load_state_dict|requires_grad_)\s*\(")
# `model = build_model(cfg)`, `self.model = build_model(cfg)`: the variable (group 2; group 1
# when it is an attribute) and the name called first on the right (group 3).
_ASSIGNED_CALL = re.compile(r"^[ \t]*(?:[\w.]+(\.))?(\w+)(?:[ \t]*:[^=\n]+)?[ \t]*=(?!=)[ \t]*"
                            r"([^\W\d]\w*)(?:\.\w+)*\s*\(", re.MULTILINE)


def _builds_any_used_module(text: str) -> bool:
    """After `from models import *`: whether a name called first on the right of an
    assignment builds what the file uses as a module (the variable or attribute it is kept
    in, or on the spot). One pass over the text, whatever the number of names: the
    variables used as modules are found once, not looked for one by one."""
    used = used_as_modules(text)
    for match in _ASSIGNED_CALL.finditer(text):
        variable = match.group(2)
        if variable in used.variables or (match.group(1) and variable in used.attributes):
            return True
        end = text.find("\n", match.start(3))
        if _MODULE_USE.search(text, match.start(3), end if end >= 0 else len(text)):
            return True
    return False


# Each search below finds a name with str.find and matches what follows it with a compiled
# pattern: a pattern made per name (or one starting with `\b`) would be compiled per file
# and tried at every character of it.
_CALLED = re.compile(r"(?:\.\w+)*\s*\(")  # `GPT(`, `GPT.from_pretrained(`
_MEMBER = re.compile(r"\.")  # `models.` (of a project module)


def _builds_a_used_module(name: str, follows: re.Pattern[str], text: str,
                          then: str = "", depth: int = 0) -> bool:
    """Whether a line where `name` is followed by `follows` (which starts with `then`)
    assigns what it builds to a variable the file uses as a module, or uses it on the spot
    (`m = litgpt.GPT(config).requires_grad_(False)`), or returns it from a function of the
    file whose own call does (`def make(): return build_model()` ... `model = make()`).
    Only the lines where one of these can hold are looked at (`_BuildSites`)."""
    sites = _build_sites(text)
    for at, start in sites.names.get(name, ()):
        if not follows.match(text, at + len(name)):
            continue
        line = sites.line(start)
        if line.last_use >= at:
            return True
        if line.assigned is not None and line.assigned.end() <= at:
            # (`self.model = GPT(config)`: the attribute is what the file uses)
            target = line.assigned.start(1)
            attribute = target > start and text[target - 1] == "."
            if kept_as_a_module(line.assigned.group(1), text, attribute):
                return True
        elif line.returned == at and _returned_by_a_used_builder(line, text, depth):
            return True
    return False


@dataclass(frozen=True)
class _Line:
    """A line where a name may build what the file uses as a module."""

    start: int
    indent: int  # the width of its indentation
    last_use: int  # where its last module use (`_MODULE_USE`) starts; -1: none
    assigned: re.Match[str] | None  # `model =`, `self.model: nn.Module =` starting it
    returned: int  # where the value of a `return` starting it starts; -1: none


# Names used as modules whose assignments are looked for one by one, at most: past this many
# (real files have up to 52), every line is tried as an assignment instead.
_MAX_KEPT_NAMES = 64
_ASSIGNMENT_LINE = re.compile(r"^" + _ASSIGNED.pattern, re.MULTILINE)
_MAY_ASSIGN = re.compile(r"[ \t]*[:=]")  # after an assignment's target: its annotation or `=`
_NAME = re.compile(r"(?<![\w.])\w+")  # a whole name (or number), not an attribute
_RETURN = re.compile(r"return[ \t]+")


class _BuildSites:
    """Per name, where it occurs on a line where `_builds_a_used_module` can find what it
    looks for: a line that uses a module (`_MODULE_USE`) or assigns to a name the file uses
    as one (each name on it), or a line that starts with `return` (the name right after
    it). Found once per file: looking for each name the file imports through the whole text
    cost 0.1 s over transformers' files, and was quadratic in a hostile file importing
    thousands (12 s for 20,000). Each line is read once, however many names it holds."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._lines: dict[int, _Line] = {}
        self.names: dict[str, list[tuple[int, int]]] = {}  # name -> (offset, its line's)
        building = self._building()
        for start in sorted(building):
            for match in _NAME.finditer(text, start, line_end(text, start)):
                self.names.setdefault(match.group(), []).append((match.start(), start))
        lines = LineBounds(text)
        for match in _RETURN.finditer(text):
            start = lines.of(match.start())[0]
            if start not in building and _starts_its_line(text, match.start()):
                value = _NAME.match(text, match.end(), line_end(text, start))
                if value is not None:
                    self.names.setdefault(value.group(), []).append((value.start(), start))
        for found in self.names.values():
            found.sort()

    def _building(self) -> set[int]:
        """The lines that use a module, or assign to a name the file uses as one."""
        text = self.text
        lines = LineBounds(text)
        building = {lines.of(use.start())[0] for use in _MODULE_USE.finditer(text)}
        used = used_as_modules(text)
        kept = used.variables | used.attributes
        if len(kept) > _MAX_KEPT_NAMES:
            building.update(match.start() for match in _ASSIGNMENT_LINE.finditer(text)
                            if match.group(1) in kept)
            return building
        for name in kept:  # (each line holding it read once: then on to the next line)
            lines = LineBounds(text)
            at = text.find(name)
            while at >= 0:
                if not _MAY_ASSIGN.match(text, at + len(name)):
                    at = text.find(name, at + len(name))
                    continue
                start = lines.of(at)[0]
                assigned = self.line(start).assigned
                if assigned is not None and assigned.group(1) in kept:
                    building.add(start)
                at = text.find(name, line_end(text, start))
        return building

    def line(self, start: int) -> _Line:
        """The line starting at offset `start`, read once."""
        if start not in self._lines:
            text = self.text
            end = line_end(text, start)
            words = text[start:end]
            uses = [use.start() for use in _MODULE_USE.finditer(text, start, end)]
            returned = _RETURNED.match(text, start, end)
            self._lines[start] = _Line(
                start, len(words) - len(words.lstrip(" \t")), uses[-1] if uses else -1,
                _ASSIGNED.match(text, start, end), returned.end() if returned else -1)
        return self._lines[start]


@lru_cache(maxsize=4)
def _build_sites(text: str) -> _BuildSites:
    return _BuildSites(text)


_RETURNED = re.compile(r"[ \t]*return[ \t]+")
_DEF = re.compile(r"def[ \t]+(\w+)")  # (found by its literal; its line is checked after)
_ASYNC = re.compile(r"async[ \t]+")
# Functions of the file that return what another builds, followed at most this far; and the
# definitions looked through, from the nearest up, for the one a line belongs to (a
# function's own nested ones: real code has a few; a hostile text is not scanned per line).
_MAX_RETURN_DEPTH = 3
_MAX_DEFINITIONS_UP = 100
# Functions of one file followed so, at most: each costs a scan of the text for its calls.
# Past this many, a file is parsed, as one that may build a model (a script returns its
# model from a few; sympy's and torch's largest modules return their own objects from up to
# 200; a hostile file from thousands, each a scan).
_MAX_FUNCTIONS_FOLLOWED = 256


def _returned_by_a_used_builder(line: _Line, text: str, depth: int) -> bool:
    """Whether the function of the file that `line` returns a value from builds a used
    module itself where it is called."""
    if depth >= _MAX_RETURN_DEPTH:
        return False
    function = _enclosing_function(text, line.start, line.indent)
    if function is None:
        return False
    followed = _functions_followed(text)
    if function not in followed:
        if len(followed) >= _MAX_FUNCTIONS_FOLLOWED:
            return True
        followed[function] = False  # (while it is followed: `f` returns `g()`, `g` `f()`)
        followed[function] = _builds_a_used_module(function, _CALLED, text, depth=depth + 1)
    return followed[function]


@lru_cache(maxsize=4)
def _functions_followed(text: str) -> dict[str, bool]:
    """Per function of `text` followed above: whether its call builds a used module."""
    return {}


def _enclosing_function(text: str, start: int, indent: int) -> str | None:
    """The name of the nearest `def` above offset `start` (a line's) indented less than
    `indent`: the function that line belongs to."""
    definitions = _definitions(text)
    index = bisect.bisect_left(definitions, (start,))
    for _, width, name in reversed(definitions[max(index - _MAX_DEFINITIONS_UP, 0):index]):
        if width < indent:
            return name
    return None


@lru_cache(maxsize=4)
def _definitions(text: str) -> list[tuple[int, int, str]]:
    """Each `def` line of `text`: its offset, the width of its indentation, its name."""
    found = []
    for match in _DEF.finditer(text):
        line_start = text.rfind("\n", 0, match.start()) + 1
        before = text[line_start:match.start()]
        keyword = before.lstrip(" \t")
        if not keyword or _ASYNC.fullmatch(keyword):
            found.append((line_start, len(before) - len(keyword), match.group(1)))
    return found


# A project module imported by name whose class or factory the file builds its model with
# (`import models` ... `model = models.Net(...)`, `from pkg import models as m` ...
# `model = getattr(m, "Net")()`).
_GETATTR_OF = re.compile(r"getattr\(\s*(\w+)")
_IMPORT = re.compile(r"import ([\w.]+)(?: as (\w+))?")
_FROM_IMPORT_NAME = re.compile(r"from ([\w.]*) import (\w+)(?: as (\w+))?")


# `nn.Linear(`, `torch.nn.Sequential(`: a module built from torch.nn (followed by its name).
_NN_BUILT = re.compile(r"\.(?!Parameter\()[A-Z]\w*\s*\(")
_TORCH_NN_BUILT = re.compile(r"\.nn\.(?!Parameter\()[A-Z]\w*\s*\(")
# Classes of a file looked for by name, at most (a hostile file defines thousands): past
# this many, the file is parsed.
_MAX_OWN_CLASSES = 100


def _judges_what_it_builds(text: str) -> bool:
    """Whether what the file judges (`_judged_on_own_model`) can be a model it builds
    itself: a class of its own is used as a module inside it (`self.fc = nn.Linear(...)`,
    `self.parameters()`: its methods are analysed on the instance) or called anywhere
    (`net = Net()`, `[Net()]`), or a module built from torch.nn is kept where the file uses
    it as one (`model = nn.Sequential(...)` ... `model.parameters()`). A library's file that
    defines a module and freezes or walks the modules of a model it is handed
    (`model.named_modules()` of a parameter) has nothing of its own to judge them on."""
    classes = set(_OWN_CLASS.findall(text))
    if len(classes) > _MAX_OWN_CLASSES:
        return True
    if classes and "self" in used_as_modules(text).variables:
        return True
    for name in classes:
        for at in occurrences(name, text):
            if _CALLED.match(text, at + len(name)) and not text.endswith("class ", 0, at):
                return True
    return _builds_a_used_module("nn", _NN_BUILT, text, ".") \
        or _builds_a_used_module("torch", _TORCH_NN_BUILT, text, ".")


def _uses_project_module(text: str) -> bool:
    bound = set()
    for match in _starting_lines(_IMPORT, text):
        dotted, alias = match.groups()
        found = alias or dotted.split(".")[0]
        if maybe_project(dotted) and found:
            bound.add(found)
    for match in _starting_lines(_FROM_IMPORT_NAME, text):
        package, name, alias = match.groups()
        if maybe_project(package or name):
            bound.add(alias or name)
    looked_up = set(_GETATTR_OF.findall(text)) if bound and "getattr" in text else set()
    for module in bound:
        if _builds_a_used_module(module, _MEMBER, text, ".") or (
                module in looked_up
                and _builds_a_used_module("getattr", re.compile(rf"\(\s*{module}\b"), text)):
            return True
    return False


def worth_linting(text: str, *, explicit_model: bool) -> bool:
    if _model_free_finding_possible(text):
        return True
    # (every rule trigger failed: of the syntax triggers, only the others can hold)
    if (has_model_foothold(text)
            or any(test(text) for test in _syntax_only_triggers())) and (
            explicit_model or (any(p.search(text) for p in _OWN_MODEL)
                               and _judged_on_own_model(text) and _judges_what_it_builds(text))
            or _calls_a_project_name(text) or _uses_project_module(text)):
        return True
    # A zoo constructor, in the code: a library's docstrings are full of examples
    # (`model = AutoModel.from_pretrained(...)`), which Python's own parser tells from code
    # for a fraction of what analysing the file would cost.
    return _names_a_zoo_model(text) and _names_a_zoo_model(_without_docstrings(text))


def _without_docstrings(text: str) -> str:
    """`text` without its docstrings and other bare string statements (the rest of their
    lines kept): found by a scan of its strings (inputs/bare_strings.py), or by Python's
    parser when the scan cannot vouch for them."""
    spans = bare_strings(text)
    if spans is None:
        return _without_docstrings_parsed(text)
    return without_bare_strings(text, spans)


def _statements(tree: ast.Module) -> Iterator[ast.stmt]:
    """Every statement, in blocks at any depth; expressions are not entered (a bare string
    is a statement, and walking every expression node cost four times the parse)."""
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        for field in ("body", "orelse", "finalbody"):
            stack.extend(getattr(node, field, ()))
        for handler in getattr(node, "handlers", ()):
            stack.extend(handler.body)
        for case in getattr(node, "cases", ()):
            stack.extend(case.body)


def _without_docstrings_parsed(text: str) -> str:
    """`text` without its docstrings and other bare string statements (the rest of their
    lines kept), as Python's parser finds them; `text` itself when it cannot parse it."""
    tree = python_tree(text)
    if tree is None:
        return text
    lines = io.StringIO(text, newline="").readlines()  # as the tokenizer counts them
    for node in _statements(tree):
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str) and node.end_lineno is not None
                and node.end_col_offset is not None and node.end_lineno <= len(lines)):
            continue
        first, last = node.lineno - 1, node.end_lineno - 1
        # (ast's columns count UTF-8 bytes)
        before = lines[first].encode()[:node.col_offset].decode(errors="ignore")
        after = lines[last].encode()[node.end_col_offset:].decode(errors="ignore")
        for index in range(first, last + 1):
            lines[index] = "\n"
        lines[first] = before + " " + after
    return "".join(lines)
