#!/usr/bin/env python3
"""Fails when a crate in the dependency graph has no licence compatible with shipping netward
under Apache-2.0 (GPL-3.0-only crates, for example). Reads `cargo metadata`."""

import json
import re
import subprocess
import sys

PERMISSIVE = {
    "MIT", "Apache-2.0", "Apache-2.0 WITH LLVM-exception", "BSD-2-Clause", "BSD-3-Clause",
    "ISC", "Zlib", "Unicode-3.0", "Unicode-DFS-2016", "Unlicense", "BSL-1.0", "CC0-1.0",
    # A permissive licence for data (the Mozilla root certificates in webpki-root-certs).
    "CDLA-Permissive-2.0",
}


def acceptable(expr: str) -> bool:
    """True if some OR-alternative of the SPDX expression is made only of permissive terms."""
    expr = expr.replace("/", " OR ")
    # Flatten one level of parentheses: (A OR B) AND C  ->  try each choice.
    groups = re.findall(r"\(([^()]*)\)", expr)
    if groups:
        inner = groups[0]
        return any(acceptable(expr.replace(f"({inner})", alt.strip(), 1)) for alt in inner.split(" OR "))
    for alternative in expr.split(" OR "):
        terms = [t.strip() for t in alternative.split(" AND ")]
        if all(t in PERMISSIVE for t in terms):
            return True
    return False


def main() -> int:
    meta = json.loads(subprocess.check_output(["cargo", "metadata", "--locked", "--format-version", "1"]))
    workspace = set(meta["workspace_members"])
    bad = []
    for pkg in meta["packages"]:
        if pkg["id"] in workspace:
            continue
        lic = pkg.get("license")
        if not lic or not acceptable(lic):
            bad.append(f"{pkg['name']} {pkg['version']}: {lic or 'no licence field'}")
    if bad:
        print("licence check failed; these crates are not permissively licensed:", *bad, sep="\n  ")
        return 1
    print(f"licence check: {len(meta['packages']) - len(workspace)} crates, all permissive")
    return 0


if __name__ == "__main__":
    sys.exit(main())
