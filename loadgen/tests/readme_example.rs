//! The README's library snippet is loadgen/examples/my_call.rs, which the workspace
//! compiles: the README must show exactly its lines between the markers.

fn marked_lines(example: &str) -> Vec<&str> {
    let begin = example.find("// README: begin").expect("begin marker");
    let end = example.find("// README: end").expect("end marker");
    let body = &example[begin..end];
    let lines: Vec<&str> = body.lines().skip(1).collect();
    let indent = lines
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    lines
        .into_iter()
        .map(|l| l.get(indent..).unwrap_or("").trim_end())
        .collect()
}

#[test]
fn the_readme_shows_the_compiled_library_example() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).expect("README.md");
    let example = std::fs::read_to_string(format!("{root}/loadgen/examples/my_call.rs"))
        .expect("the example");
    let want = marked_lines(&example).join("\n");
    let block = readme
        .split("```rust\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("a rust block in the README");
    assert_eq!(
        block.trim_end(),
        want.trim_end(),
        "README's rust block differs from the example"
    );
}
