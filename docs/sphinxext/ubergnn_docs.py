"""Sphinx glue of the sklearn_ubergnn documentation (loaded by ``docs/conf.py``).

- ``reset_argv``: sphinx-gallery runs every example with ``--quick`` (their small mode, the one
  ``tests/test_examples.py`` runs), with the ``__doc__`` and ``__file__`` of a script.
- The ``Shapes`` section of our torch docstrings (STYLE.md §4) is not a numpydoc section, so
  numpydoc would drop it with a warning: it is moved into ``Notes`` under a "Shapes" rubric
  before numpydoc parses the docstring.
- Class pages list the methods and properties written in this package, not the dozens that
  ``torch.nn.Module`` or scikit-learn's mixins add.
- docutils reads metric names such as ``P@20`` or ``MRR@20`` as e-mail addresses: those links
  are turned back into text.
- The API reference (``api/index.rst``) is written from ``docs/api_reference.py`` and the
  ``__all__`` of each module it names, so a public name added to an ``__all__`` appears without
  editing the docs; a public module missing from that table fails the build.
"""
import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

logger = logging.getLogger(__name__)

PACKAGE = "sklearn_ubergnn"


# --------------------------------------------------------------------------- sphinx-gallery
def reset_argv(gallery_conf, script_vars):
    """Arguments of every gallery example: ``--quick``.

    Also give the example the ``__doc__`` and ``__file__`` it has when run as a script
    (sphinx-gallery blanks the first and leaves out the second): the scripts build their
    ``argparse`` description from ``__doc__`` and find ``../shared/data`` from ``__file__``.
    """
    example_globals = script_vars.get("example_globals")
    src_file = script_vars.get("src_file")
    if example_globals is not None and src_file:
        tree = ast.parse(Path(src_file).read_text(encoding="utf-8"))
        example_globals["__doc__"] = ast.get_docstring(tree, clean=False) or ""
        example_globals["__file__"] = str(Path(src_file).resolve())
    return ["--quick"]


# --------------------------------------------------------------------------- docstrings
_HEADER = re.compile(r"^(\s*)(\S.*?)\s*$")


def _section_bounds(lines, title):
    """``(start, end)`` of the numpydoc section ``title`` in ``lines`` (header line .. end), or None."""
    def is_header(i):
        return (i + 1 < len(lines) and lines[i].strip() and set(lines[i + 1].strip()) == {"-"}
                and len(lines[i + 1].strip()) >= len(lines[i].strip()))

    start = next((i for i in range(len(lines)) if lines[i].strip() == title and is_header(i)), None)
    if start is None:
        return None
    end = next((i for i in range(start + 2, len(lines)) if is_header(i)), len(lines))
    return start, end


def move_shapes_into_notes(app, what, name, obj, options, lines):
    """Turn a ``Shapes`` section into a "Shapes" rubric at the end of ``Notes`` (created if absent)."""
    bounds = _section_bounds(lines, "Shapes")
    if bounds is None:
        return
    start, end = bounds
    body = lines[start + 2:end]
    while body and not body[-1].strip():
        body.pop()
    del lines[start:end]
    block = ["", ".. rubric:: Shapes", "", *body, ""]
    notes = _section_bounds(lines, "Notes")
    if notes is None:
        while lines and not lines[-1].strip():
            lines.pop()
        # numpydoc wants Notes before References and Examples
        follow = [b for b in (_section_bounds(lines, t) for t in ("References", "Examples")) if b]
        at = min(b[0] for b in follow) if follow else len(lines)
        lines[at:at] = ["", "Notes", "-----", *block[1:]]
    else:
        at = notes[1]
        while at > notes[0] + 2 and not lines[at - 1].strip():
            at -= 1
        lines[at:at] = block


def skip_foreign_members(app, what, name, obj, skip, options):
    """On class pages, skip members defined outside this package (torch.nn.Module, sklearn mixins)."""
    if what != "class" or skip:
        return None
    target = obj.fget if isinstance(obj, property) else getattr(obj, "__func__", obj)
    module = getattr(target, "__module__", None)
    if module is None or not inspect.isroutine(target) and not isinstance(obj, property):
        return None
    if not module.startswith(PACKAGE):
        return True
    return None


_NOT_AN_ADDRESS = re.compile(r"[^@\s.]+@\w+")  # P@20, MRR@k, Recall@20: no dot after the @


def unlink_metric_names(app, doctree):
    """Replace the ``mailto:`` links docutils makes of metric names (``P@20``) by their text."""
    for ref in list(doctree.findall(nodes.reference)):
        text = ref.astext()
        if ref.get("refuri", "").startswith("mailto:") and _NOT_AN_ADDRESS.fullmatch(text):
            ref.replace_self(nodes.Text(text))


# --------------------------------------------------------------------------- API reference
def _public_names(module):
    names = getattr(module, "__all__", None)
    if names is None:
        return []
    return [n for n in names if not n.startswith("_")]


def _canonical_home(sections):
    """Map ``id(obj)`` to ``module_name.name`` for every object listed in a section."""
    home = {}
    for section in sections:
        module = importlib.import_module(section["module"])
        for name in _public_names(module):
            home.setdefault(id(getattr(module, name)), f"{section['module']}.{name}")
    return home


def check_api_reference(sections, excluded):
    """Problems with the table: public modules it misses, root names documented nowhere."""
    package = importlib.import_module(PACKAGE)
    listed = {s["module"] for s in sections} | set(excluded)
    problems = []
    for info in pkgutil.iter_modules(package.__path__, prefix=PACKAGE + "."):
        if info.name.rsplit(".", 1)[-1].startswith("_") or info.name in listed:
            continue
        if _public_names(importlib.import_module(info.name)):
            problems.append(f"public module {info.name} has no section in docs/api_reference.py")
    home = _canonical_home(sections)
    for name in _public_names(package):
        obj = getattr(package, name)
        if name != "__version__" and id(obj) not in home:
            problems.append(f"{PACKAGE}.{name} is in {PACKAGE}.__all__ but in no module of docs/api_reference.py")
    return problems


def render_api_reference(sections):
    package = importlib.import_module(PACKAGE)
    home = _canonical_home(sections)
    out = [
        ".. Generated by docs/sphinxext/ubergnn_docs.py from docs/api_reference.py and the modules'",
        "   __all__ lists: do not edit; edit those instead.",
        "",
        ".. _api_reference:",
        "",
        "=============",
        "API reference",
        "=============",
        "",
        "Every public name of every module's ``__all__``, documented once, under the module that",
        "defines it. The package root re-exports the estimators and the pipeline helpers:",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - ``from sklearn_ubergnn import ...``",
        "     - documented as",
    ]
    for name in _public_names(package):
        if name == "__version__":
            continue
        target = home[id(getattr(package, name))]
        short = target[len(PACKAGE) + 1:]
        out += [f"   * - ``{name}``", f"     - :obj:`{short} <{target}>`"]
    out += ["", f"``sklearn_ubergnn.__version__`` is the installed version (this page: |release|).", ""]
    for section in sections:
        module = importlib.import_module(section["module"])
        title = f":mod:`{section['module']}`: {section['title']}"
        out += [title, "=" * len(title), "", f".. automodule:: {section['module']}", "   :no-members:",
                "   :no-inherited-members:", ""]
        if section.get("description"):
            out += [section["description"].strip(), ""]
        out += [f".. currentmodule:: {PACKAGE}", "", ".. autosummary::", "   :toctree: generated/", ""]
        relative = section["module"][len(PACKAGE) + 1:]
        for name in _public_names(module):
            if home[id(getattr(module, name))] == f"{section['module']}.{name}":
                out.append(f"   {relative}.{name}")
        out.append("")
    return "\n".join(out)


def write_api_reference(app, config):
    srcdir = Path(app.srcdir)
    namespace = {}
    exec(compile((srcdir / "api_reference.py").read_text(), "api_reference.py", "exec"), namespace)
    sections, excluded = namespace["API_REFERENCE"], namespace["NOT_IN_API_REFERENCE"]
    for problem in check_api_reference(sections, excluded):
        logger.warning(problem, type="ubergnn", subtype="api")
    text = render_api_reference(sections)
    target = srcdir / "api" / "index.rst"
    target.parent.mkdir(exist_ok=True)
    if not target.exists() or target.read_text() != text:  # unchanged file: no needless rebuild
        target.write_text(text)


def setup(app):
    app.connect("config-inited", write_api_reference)
    app.connect("autodoc-process-docstring", move_shapes_into_notes, priority=400)  # numpydoc: 500
    app.connect("autodoc-skip-member", skip_foreign_members)
    app.connect("doctree-read", unlink_metric_names)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
