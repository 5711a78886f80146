//! A child cgroup of the test's own, for process attribution: the agent's BPF programs attach
//! to it, never to the root, so they see only the processes the test puts there.

use netward_agent::events::cgroup::ChildCgroup;

/// A child cgroup named after this process and `tag`, holding only this test's client
/// processes; removed on drop.
pub fn test_cgroup(tag: &str) -> ChildCgroup {
    ChildCgroup::create(&format!("netward-test-{}-{tag}", std::process::id()))
        .expect("a cgroup2 hierarchy is mounted and writable (root)")
}
