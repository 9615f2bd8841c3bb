//! The measuring library stays a library: a user who adds protolab-bench gets no
//! command line, no server side, no Docker client, no charts and no TLS stack
//! (issue 20 §1). `cargo tree -p protolab-bench` resolves features as a build of
//! this crate alone does, which is what a dependent crate gets.

use std::process::Command;

const NOT_IN_THE_LIBRARY: &[&str] = &[
    "axum",
    "bollard",
    "clap",
    "hyper",
    "indicatif",
    "plotters",
    "rustls",
    "sqlx",
    "tonic",
];

#[test]
fn the_library_pulls_no_cli_server_docker_or_charts() {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "protolab-bench",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--offline", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let crates: Vec<&str> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(crates.contains(&"protolab-core"), "{tree}");
    for name in NOT_IN_THE_LIBRARY {
        assert!(
            !crates.contains(name),
            "protolab-bench pulls {name}:\n{tree}"
        );
    }
}
