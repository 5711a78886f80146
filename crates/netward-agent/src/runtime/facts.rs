//! What the device says about itself: host name, OS, kernel, agent version, addresses.

use netward_model::agent_wire::DeviceFacts;

fn first_line(path: &str) -> String {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.lines().next().map(|l| l.trim().to_owned()))
        .unwrap_or_default()
}

fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| "Linux".into())
}

/// The facts of this machine.
pub fn collect() -> DeviceFacts {
    let mut addresses: Vec<String> = if_addrs::get_if_addrs()
        .map(|ifs| {
            ifs.into_iter()
                .filter(|i| !i.is_loopback())
                .map(|i| i.ip().to_string())
                .collect()
        })
        .unwrap_or_default();
    addresses.sort();
    addresses.dedup();
    addresses.truncate(256);
    DeviceFacts {
        hostname: first_line("/proc/sys/kernel/hostname"),
        os: os_name(),
        kernel: first_line("/proc/sys/kernel/osrelease"),
        agent_version: env!("CARGO_PKG_VERSION").to_owned(),
        addresses,
    }
}
