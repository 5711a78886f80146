//! Named network namespaces (`/run/netns/NAME`) that remove themselves on drop, on failure
//! too, and the `ip` calls that join them with veth pairs and give them addresses. The
//! traffic of a test stays inside namespaces it created, or on loopback.

use std::path::PathBuf;
use std::process::Command;

/// Runs `ip` (iproute2) with `args`; panics with its error output if it fails.
pub fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("run ip (iproute2)");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace, deleted on drop (with the veth ends inside it).
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates the namespace `name` and brings its loopback up. Needs root.
    pub fn add(name: &str) -> Self {
        ip(&["netns", "add", name]);
        let ns = Self {
            name: name.to_owned(),
        };
        ip(&["-n", name, "link", "set", "lo", "up"]);
        ns
    }

    /// The namespace's name, for `ip -n` and `ip netns exec`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its file, for `netward_agent::netns::run_in` and `netward agent --netns`.
    pub fn path(&self) -> PathBuf {
        PathBuf::from(format!("/run/netns/{}", self.name))
    }

    /// Adds `address` (`ADDR/PREFIX`) to `dev` here; IPv6 addresses skip duplicate address
    /// detection, so they are usable at once.
    pub fn add_address(&self, dev: &str, address: &str) {
        let mut args = vec!["-n", &self.name, "addr", "add", address, "dev", dev];
        if address.contains(':') {
            args.push("nodad");
        }
        ip(&args);
    }

    /// A command that runs `program` inside the namespace (`ip netns exec`).
    pub fn exec(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}

/// Joins `a` and `b` with a veth pair, `a_dev` in `a` and `b_dev` in `b`, both up. The pair
/// goes away with either namespace.
pub fn veth(a: &Netns, a_dev: &str, b: &Netns, b_dev: &str) {
    ip(&[
        "link", "add", a_dev, "netns", &a.name, "type", "veth", "peer", "name", b_dev, "netns",
        &b.name,
    ]);
    ip(&["-n", &a.name, "link", "set", a_dev, "up"]);
    ip(&["-n", &b.name, "link", "set", b_dev, "up"]);
}
