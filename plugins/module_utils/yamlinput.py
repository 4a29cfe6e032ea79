# Copyright: patchpilot developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading YAML that comes from outside (a policy, a CMDB export), safely.

One loader for every YAML file patchpilot reads from a person or another
system. :func:`load` returns ``(data, node)``: the document as plain Python
(``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``, ``None``, dates) and
its node, which keeps the line numbers. Beyond ``yaml.SafeLoader`` it:

- refuses a key that appears twice in a mapping (line and column of each);
- reads a plain ``yes:``/``on:`` *key* as text (a hook's ``on:`` stays "on");
- reads ``01:30`` as text, not as the YAML 1.1 base-60 number 90;
- refuses nesting deeper than :data:`MAX_DEPTH` levels, counted while the
  document is composed (so the composer never recurses far) and again with
  aliases followed, with one message and never a ``RecursionError``;
- refuses an alias that refers to the node it sits in, and aliases that would
  expand the document by more than :data:`MAX_ALIAS_NODES` nodes (or by more
  than the document's own size, when that is larger), counted on the node graph
  before anything is constructed: a few hundred bytes of nested aliases cannot
  cost minutes and gigabytes;
- quotes at most a short prefix of an offending value in its messages.

Problems are raised as :class:`YamlInputError`, each with its line and column
(1-based; None when unknown), for the caller to prefix with the file name.
"""

from __future__ import annotations

import re
from collections import namedtuple

try:
    import yaml
except ImportError:  # only the controller reads these files, and it always has PyYAML
    yaml = None

__all__ = ["MAX_ALIAS_NODES", "MAX_DEPTH", "QUOTE_LIMIT", "YamlInputError", "YamlProblem", "load", "shorten"]

#: Collections inside collections, at most (a policy needs about 6, a CMDB 3).
MAX_DEPTH = 64
#: Nodes that aliases (and merge keys) may add to a document, at least; a larger document may add as many
#: nodes as it has.
MAX_ALIAS_NODES = 10_000
#: Characters of an offending value quoted in a message.
QUOTE_LIMIT = 60
_MESSAGE_LIMIT = 160

#: One problem: line and column (1-based, or None), the message, and whether it is a YAML syntax error.
YamlProblem = namedtuple("YamlProblem", "line column message syntax")


class YamlInputError(ValueError):
    """YAML that cannot be used; ``problems`` lists each as a :data:`YamlProblem`."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("; ".join(
            ("line %d, column %d: %s" % (item.line, item.column, item.message)) if item.line else item.message
            for item in self.problems))


def shorten(value, limit: int = QUOTE_LIMIT) -> str:
    """``repr(value)``, cut to ``limit`` characters with ``...`` when longer."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _clip(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _problem(mark, message: str, syntax: bool = False) -> YamlProblem:
    if mark is None:
        return YamlProblem(None, None, _clip(message), syntax)
    return YamlProblem(mark.line + 1, mark.column + 1, _clip(message), syntax)


_DEPTH_MESSAGE = "nested more than %d levels deep"


if yaml is not None:
    class SafeInputLoader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
        """SafeLoader that notes duplicate keys, limits nesting and alias loops, reads bool keys and 01:30 as text."""

        max_depth = MAX_DEPTH

        def __init__(self, stream):
            super().__init__(stream)
            self.duplicates = []
            self.alias_uses = []  # (mark, node) of every alias, in document order
            self._depth = 0
            self._open_anchors = []

        def compose_node(self, parent, index):
            event = self.peek_event()
            if isinstance(event, yaml.AliasEvent):
                if event.anchor in self._open_anchors:
                    raise YamlInputError([_problem(
                        event.start_mark, "the alias *%s refers to the node it is in (a recursive structure)"
                        % _clip(event.anchor, QUOTE_LIMIT))])
                node = super().compose_node(parent, index)
                self.alias_uses.append((event.start_mark, node))
                return node
            if not isinstance(event, yaml.CollectionStartEvent):
                return super().compose_node(parent, index)
            self._depth += 1
            if self._depth > self.max_depth:
                raise YamlInputError([_problem(event.start_mark, _DEPTH_MESSAGE % self.max_depth)])
            self._open_anchors.append(event.anchor)
            try:
                return super().compose_node(parent, index)
            finally:
                self._open_anchors.pop()
                self._depth -= 1

        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                seen = set()
                for key_node, _value_node in node.value:
                    # A key is a name, never a boolean: a hook's `on:` stays "on" (YAML 1.1 reads it as true).
                    if key_node.tag == "tag:yaml.org,2002:bool" and isinstance(key_node, yaml.ScalarNode) \
                            and key_node.style is None:
                        key_node.tag = "tag:yaml.org,2002:str"
                    if key_node.tag == "tag:yaml.org,2002:merge":
                        continue
                    key = self.construct_object(key_node, deep=True)
                    try:
                        duplicate = key in seen
                        seen.add(key)
                    except TypeError:  # an unhashable key: SafeLoader reports it
                        continue
                    if duplicate:
                        self.duplicates.append(_problem(key_node.start_mark, "duplicate key %s" % shorten(key)))
            return super().construct_mapping(node, deep=deep)

    SafeInputLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers
                if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    # YAML 1.1 numbers less the base-60 forms (1:30 is 90 there).
    SafeInputLoader.add_implicit_resolver(
        "tag:yaml.org,2002:int",
        re.compile(r"""^(?:[-+]?0b[0-1_]+
                    |[-+]?0[0-7_]+
                    |[-+]?(?:0|[1-9][0-9_]*)
                    |[-+]?0x[0-9a-fA-F_]+)$""", re.X),
        list("-+0123456789"))
    SafeInputLoader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
                    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""", re.X),
        list("-+0123456789."))


def _children(node):
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    return ()


def _expanded(root):
    """(distinct nodes, nodes with every alias followed, depth with every alias followed, {id: size}) of a graph.

    Iterative and memoised per node: one visit per distinct node, however far the aliases would expand.
    """
    size, depth = {}, {}
    entered = set()
    stack = [root]
    while stack:
        node = stack[-1]
        key = id(node)
        if key in size:
            stack.pop()
            continue
        children = _children(node)
        if key not in entered:
            entered.add(key)
            # an entered, unfinished child would be an alias loop: the composer refuses those
            stack.extend(child for child in children if id(child) not in size and id(child) not in entered)
            continue
        stack.pop()
        size[key] = 1 + sum(size.get(id(child), 1) for child in children)
        depth[key] = int(not isinstance(node, yaml.ScalarNode)) \
            + max((depth.get(id(child), 0) for child in children), default=0)
    return len(size), size[id(root)], depth[id(root)], size


def _yaml_error(exc) -> YamlProblem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    if context and problem.startswith("but "):
        problem = "%s, %s" % (context, problem)
    return _problem(mark, problem, syntax=True)


def load(text: str, max_depth: int = MAX_DEPTH, max_alias_nodes: int = MAX_ALIAS_NODES):
    """``(data, node)`` of a single-document YAML text; ``(None, None)`` when it is empty.

    Raises YamlInputError (syntax errors, duplicate keys, nesting, aliases); never RecursionError.
    """
    if yaml is None:
        raise YamlInputError([YamlProblem(None, None, "reading YAML needs the PyYAML library", False)])
    loader = SafeInputLoader(text)
    loader.max_depth = max_depth
    try:
        try:
            node = loader.get_single_node()
            if node is None:
                return None, None
            _check_expansion(node, loader.alias_uses, max_depth, max_alias_nodes)
            data = loader.construct_document(node)
        except yaml.YAMLError as exc:
            raise YamlInputError([_yaml_error(exc)]) from None
        except RecursionError:  # not expected within the limits; still one message, not a traceback
            raise YamlInputError([YamlProblem(None, None, _DEPTH_MESSAGE % max_depth, False)]) from None
    finally:
        loader.dispose()
    if loader.duplicates:
        raise YamlInputError(sorted(loader.duplicates, key=lambda item: (item.line, item.column)))
    return data, node


def _check_expansion(node, alias_uses, max_depth: int, max_alias_nodes: int) -> None:
    if not alias_uses:
        return  # without aliases the composer's own count is the whole story
    distinct, expanded, depth, sizes = _expanded(node)
    limit = max(max_alias_nodes, distinct)
    biggest_mark = max(alias_uses, key=lambda use: sizes[id(use[1])])[0]
    if expanded - distinct > limit:
        raise YamlInputError([_problem(biggest_mark, "aliases would expand the document by more than %d nodes"
                                       % limit)])
    if depth > max_depth:
        raise YamlInputError([_problem(biggest_mark, (_DEPTH_MESSAGE + " once aliases are followed") % max_depth)])
