"""The website's ES modules import each other without a cycle (no browser needed).

A cycle makes the order modules run in depend on which one is loaded first, and lets importing one page start the
whole app. Each `import … from "…"`, `export … from "…"`, `import "…"` and `import("…")` in web/ is read, resolved
to its file, and the graph searched; a failure names each cycle found (a.js -> b.js -> a.js).

Run: scripts/browser-test test_modules, or on any tree: python3 scripts/webtest/test_modules.py [WEB_DIR]
"""
import re
import sys
import tempfile
import unittest
from pathlib import Path

WEB_DIR = Path(__file__).resolve().parents[2] / "web"

# Static imports and re-exports are statements at the start of a line (possibly over several lines);
# dynamic imports may be anywhere.
STATIC = re.compile(r"""^[ \t]*(?:import|export)\b[^;'"`]*?\bfrom\s*(['"])(.+?)\1|^[ \t]*import\s*(['"])(.+?)\3""", re.M)
DYNAMIC = re.compile(r"""\bimport\s*\(\s*(['"`])(.+?)\1\s*\)""")


def imports(source):
    """The module specifiers `source` imports, in order."""
    found = [(m.start(), m.group(2) or m.group(4)) for m in STATIC.finditer(source)]
    found += [(m.start(), m.group(2)) for m in DYNAMIC.finditer(source)]
    return [spec for _, spec in sorted(found)]


def graph(web):
    """{file: [files it imports]} for every .js under `web`, as paths relative to it; raises on an import of a
    missing file (it would hide the edges of the graph). Bare and absolute-URL specifiers are not files here."""
    web = Path(web).resolve()
    edges, missing = {}, []
    for path in sorted(web.rglob("*.js")):
        name = path.relative_to(web).as_posix()
        edges[name] = []
        for spec in imports(path.read_text(encoding="utf-8")):
            if not spec.startswith((".", "/")):
                continue
            target = ((web / spec.lstrip("/")) if spec.startswith("/") else (path.parent / spec)).resolve()
            if not target.is_file():
                missing.append("%s imports %s: no such file" % (name, spec))
                continue
            edges[name].append(target.relative_to(web).as_posix())
    if missing:
        raise AssertionError("\n".join(missing))
    return edges


def cycles(edges):
    """Each cycle a depth-first search meets (one per edge back to a module still being visited), as a list of
    modules that starts and ends with the same one."""
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in edges.get(node, []):
            if state.get(target) == "open":
                found.append(stack[stack.index(target):] + [target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def describe(found):
    return "\n".join(" -> ".join(cycle) for cycle in found)


class ImportCycles(unittest.TestCase):
    def test_the_website_has_no_import_cycle(self):
        edges = graph(WEB_DIR)
        self.assertTrue("js/main.js" in edges, "web/js/main.js is missing")
        found = cycles(edges)
        if found:
            self.fail("import cycles in web/:\n" + describe(found))

    def test_neither_the_router_nor_a_page_imports_a_page(self):
        # Only main.js does; what two pages share is in js/views/.
        edges = graph(WEB_DIR)
        self.assertTrue("js/router.js" in edges, "web/js/router.js is missing")
        found = ["%s imports %s" % (m, t) for m, targets in edges.items() if m != "js/main.js" for t in targets if t.startswith("js/pages/")]
        self.assertEqual(found, [])

    def test_a_cycle_is_found_and_named(self):
        # The check itself can fail: a small tree with a cycle through a multi-line import, a re-export and import().
        with tempfile.TemporaryDirectory() as web:
            files = {
                "main.js": 'import { a } from "./pages/a.js";\nimport "./side.js";\n',
                "pages/a.js": 'import {\n  b,\n} from "./b.js";\n// "//" in a string: not a comment\nexport const a = "//";\n',
                "pages/b.js": 'export { c } from "../c.js";\n',
                "c.js": 'export async function c() { return import("./pages/a.js"); }\n',
                "side.js": "export const unrelated = 1; // import x from 'nowhere.js'\n",
            }
            for name, text in files.items():
                Path(web, name).parent.mkdir(parents=True, exist_ok=True)
                Path(web, name).write_text(text)
            edges = graph(web)
            self.assertEqual(edges["main.js"], ["pages/a.js", "side.js"])
            self.assertEqual(edges["side.js"], [])
            found = cycles(edges)
            self.assertEqual(describe(found), "c.js -> pages/a.js -> pages/b.js -> c.js")
            with self.assertRaises(AssertionError) as failure:
                Path(web, "side.js").write_text('import { gone } from "./gone.js";\n')
                graph(web)
            self.assertIn("side.js imports ./gone.js: no such file", str(failure.exception))


if __name__ == "__main__":
    if len(sys.argv) > 1:
        found = cycles(graph(sys.argv[1]))
        print(describe(found) or "no import cycle")
        sys.exit(1 if found else 0)
    unittest.main()
