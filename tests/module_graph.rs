//! The layout rules of the source tree, checked on the source itself: no cycle among the
//! modules (the `crate::` and `super::` paths they use), every `impl Issuer` in `issuer.rs`, and
//! no file over 600 lines except test files.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/plan/spec.rs` → `["plan", "spec"]`; `src/plan/mod.rs` → `["plan"]`; `src/lib.rs` → `[]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The code of a file without comments (line comments and doc comments).
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter(|l| !l.trim_start().starts_with("//"))
}

/// The modules `module` refers to: `crate::a::b` → `a` (and `a::b` when `a` is a directory
/// module), `super::x` → the sibling `x`.
fn references(module: &[String], text: &str, dirs: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in code_lines(text) {
        for (prefix, base) in [("crate::", Vec::new()), ("super::", parent(module))] {
            let mut rest = line;
            while let Some(pos) = rest.find(prefix) {
                let before = rest[..pos].chars().last();
                rest = &rest[pos + prefix.len()..];
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                    continue;
                }
                let path: Vec<&str> = rest
                    .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .next()
                    .unwrap_or("")
                    .split("::")
                    .filter(|s| !s.is_empty())
                    .collect();
                let mut target = base.clone();
                if let Some(first) = path.first() {
                    target.push((*first).to_owned());
                    let joined = target.join("::");
                    if dirs.contains(&joined)
                        && let Some(second) = path.get(1)
                        && second.chars().next().is_some_and(char::is_lowercase)
                    {
                        target.push((*second).to_owned());
                    }
                    out.insert(target.join("::"));
                }
            }
        }
    }
    out.remove(&module.join("::"));
    out
}

fn parent(module: &[String]) -> Vec<String> {
    module[..module.len().saturating_sub(1)].to_vec()
}

struct Tree {
    files: Vec<(PathBuf, Vec<String>, String)>,
}

fn tree() -> Tree {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    sources(&src, &mut paths);
    paths.sort();
    let files = paths
        .into_iter()
        .map(|p| {
            let module = module_of(&src, &p);
            let text = fs::read_to_string(&p).unwrap();
            (p, module, text)
        })
        .collect();
    Tree { files }
}

fn is_test_file(path: &Path) -> bool {
    let name = path.file_stem().unwrap().to_string_lossy();
    name == "tests" || name.ends_with("_tests")
}

#[test]
fn the_modules_form_no_cycle() {
    let tree = tree();
    let dirs: BTreeSet<String> = tree
        .files
        .iter()
        .filter(|(p, m, _)| p.ends_with("mod.rs") && !m.is_empty())
        .map(|(_, m, _)| m.join("::"))
        .collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, module, text) in &tree.files {
        if module.is_empty() || is_test_file(path) {
            continue;
        }
        let refs = references(module, text, &dirs);
        graph.entry(module.join("::")).or_default().extend(refs);
    }
    let known: BTreeSet<String> = graph.keys().cloned().collect();
    assert!(
        known.contains("issuer") && known.contains("plan::spec"),
        "{known:?}"
    );
    // Depth-first search for a cycle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if done.contains(node) {
            return;
        }
        if let Some(at) = stack.iter().position(|n| n == node) {
            panic!("module cycle: {} -> {node}", stack[at..].join(" -> "));
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, stack, done);
        }
        stack.pop();
        done.insert(node.to_owned());
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        visit(node, &graph, &mut Vec::new(), &mut done);
    }
}

#[test]
fn every_impl_issuer_is_in_issuer_rs() {
    for (path, _, text) in &tree().files {
        let has = code_lines(text).any(|l| l.trim_start().starts_with("impl Issuer"));
        assert!(
            !has || path.ends_with("src/issuer.rs"),
            "{} has an `impl Issuer`",
            path.display()
        );
    }
}

#[test]
fn no_source_file_is_over_600_lines() {
    for (path, _, text) in &tree().files {
        let lines = text.lines().count();
        assert!(
            is_test_file(path) || lines <= 600,
            "{} has {lines} lines",
            path.display()
        );
    }
}
