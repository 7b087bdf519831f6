"""Print, as JSON, every talonsync command line an Airflow DAG file runs.

Usage: python3 extract_airflow_commands.py DAG.py

The DAG is not imported (Airflow need not be installed): its syntax tree is
read, module-level constants are evaluated (strings, numbers, lists, dicts,
f-strings, +, list comprehensions over range, str()), and each
KubernetesPodOperator or BashOperator call, plain or as
.partial(...).expand(...), gives one entry:

  {"operator": ..., "task_id": ..., "argv": [...], "env": {...},
   "mapped_over": N or null, "trigger_rule": ... or null, "line": N}

argv is cmds + arguments for KubernetesPodOperator, and the shlex-split
bash_command for BashOperator; only commands whose argv[0] is talonsync are
printed. Jinja templates ({{ ... }}) are left as they are. A value that
cannot be evaluated statically makes the script exit 1, naming its line.
"""

import ast
import json
import shlex
import sys

OPERATORS = {"KubernetesPodOperator", "BashOperator"}


class Unsupported(Exception):
    pass


def ev(node, scope):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple)):
        out = []
        for e in node.elts:
            if isinstance(e, ast.Starred):
                out.extend(ev(e.value, scope))
            else:
                out.append(ev(e, scope))
        return out
    if isinstance(node, ast.Dict):
        out = {}
        for k, v in zip(node.keys, node.values):
            if k is None:
                out.update(ev(v, scope))
            else:
                out[ev(k, scope)] = ev(v, scope)
        return out
    if isinstance(node, ast.Name):
        if node.id in scope:
            return scope[node.id]
        raise Unsupported(f"line {node.lineno}: unknown name {node.id}")
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.FormattedValue):
                parts.append(str(ev(v.value, scope)))
            else:
                parts.append(ev(v, scope))
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return ev(node.left, scope) + ev(node.right, scope)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        args = [ev(a, scope) for a in node.args]
        if node.func.id == "str":
            return str(*args)
        if node.func.id == "range":
            return list(range(*args))
    if isinstance(node, ast.ListComp) and len(node.generators) == 1:
        gen = node.generators[0]
        if isinstance(gen.target, ast.Name) and not gen.ifs:
            out = []
            for item in ev(gen.iter, scope):
                inner = dict(scope)
                inner[gen.target.id] = item
                out.append(ev(node.elt, inner))
            return out
    raise Unsupported(f"line {getattr(node, 'lineno', '?')}: cannot evaluate {ast.dump(node)[:80]}")


def module_constants(tree):
    scope = {}
    for stmt in tree.body:
        targets = []
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        if len(targets) == 1 and isinstance(targets[0], ast.Name):
            try:
                scope[targets[0].id] = ev(value, scope)
            except Unsupported:
                pass  # an object (a Secret, a DAG): not a constant
    return scope


def operator_call(call):
    """Returns (operator, partial kwargs, expand kwargs or None) or None."""
    f = call.func
    if isinstance(f, ast.Name) and f.id in OPERATORS:
        return f.id, call.keywords, None
    # Op.partial(...).expand(...)
    if (isinstance(f, ast.Attribute) and f.attr == "expand" and isinstance(f.value, ast.Call)
            and isinstance(f.value.func, ast.Attribute) and f.value.func.attr == "partial"
            and isinstance(f.value.func.value, ast.Name) and f.value.func.value.id in OPERATORS):
        return f.value.func.value.id, f.value.keywords, call.keywords
    return None


def kwargs(keywords, scope, wanted):
    out = {}
    for kw in keywords:
        if kw.arg in wanted:
            out[kw.arg] = ev(kw.value, scope)
    return out


def main(path):
    tree = ast.parse(open(path).read(), path)
    scope = module_constants(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        op = operator_call(node)
        if op is None:
            continue
        name, partial, expand = op
        kw = kwargs(partial, scope, {"task_id", "cmds", "arguments", "bash_command", "env_vars", "env", "trigger_rule"})
        if name == "BashOperator":
            argv = shlex.split(kw.get("bash_command", ""))
            env = kw.get("env") or {}
        else:
            argv = list(kw.get("cmds") or []) + list(kw.get("arguments") or [])
            env = kw.get("env_vars") or {}
        if not argv or argv[0] != "talonsync":
            continue
        mapped = None
        if expand is not None:
            lengths = {len(ev(k.value, scope)) for k in expand}
            if len(lengths) != 1:
                raise Unsupported(f"line {node.lineno}: expand() over lists of different lengths")
            mapped = lengths.pop()
        found.append({
            "operator": name,
            "task_id": kw.get("task_id"),
            "argv": argv,
            "env": env,
            "mapped_over": mapped,
            "trigger_rule": kw.get("trigger_rule"),
            "line": node.lineno,
        })
    found.sort(key=lambda e: e["line"])
    json.dump(found, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except Unsupported as e:
        print(f"{sys.argv[1]}: {e}", file=sys.stderr)
        sys.exit(1)
