//! Compiles the agent's BPF programs (C, `bpf/*.bpf.c`) with clang. Stable Rust cannot build
//! BPF programs itself; Debian's clang can.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let source = "bpf/attribution.bpf.c";
    println!("cargo:rerun-if-changed={source}");
    let clang = std::env::var("CLANG").unwrap_or_else(|_| "clang".into());
    println!("cargo:rerun-if-env-changed=CLANG");
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    let multiarch = match arch.as_str() {
        "x86_64" => "x86_64-linux-gnu",
        "aarch64" => "aarch64-linux-gnu",
        other => other,
    };
    let status = Command::new(&clang)
        .args(["-O2", "-g", "-target", "bpf", "-Wall", "-Werror"])
        .arg(format!("-I/usr/include/{multiarch}"))
        .args(["-c", source, "-o"])
        .arg(out.join("attribution.bpf.o"))
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => panic!("{clang} failed to compile {source} ({s}); see its messages above"),
        Err(e) => panic!(
            "cannot run {clang} to compile {source}: {e}. Install clang and libbpf-dev (./dev setup does)."
        ),
    }
}
