//! What netward's tests and benchmarks share, so that each harness exists once: a lab of
//! network namespaces joined by veth pairs, a `netward server` started in the test's own
//! process or as a process, `netward agent` processes, a child cgroup for process attribution,
//! free loopback ports, the fuzz harness ([`fuzz::fuzz`]), and [`wait_until`] and its
//! siblings, which poll a condition instead of sleeping for a guessed time.
//!
//! It is a dev-dependency only: nothing here ships in the binary. A failed set-up step panics
//! with the step named, because a harness that cannot build its world must fail the test
//! loudly. Everything it creates in the kernel (namespaces, cgroups) or on disk is removed on
//! drop, on failure too. The namespace and cgroup parts need root and fail without it.
//!
//! Each crate turns on the part it uses: `agent` (the lab, agent processes, the cgroup; builds
//! netward-agent) and `server` (the in-process server; builds netward-server), so that the
//! agent's tests do not build the server, nor the server's tests the agent. The rest (the
//! server process, waits, ports, the fuzz harness, the benchmarks' generator) needs neither.

#![expect(
    clippy::expect_used,
    reason = "a harness: a failed set-up step must fail the test loudly, with the step named"
)]

#[cfg(feature = "agent")]
pub mod agent_process;
pub mod bench;
#[cfg(feature = "agent")]
pub mod cgroup;
pub mod fuzz;
#[cfg(feature = "server")]
pub mod in_process;
#[cfg(feature = "agent")]
pub mod lab;
pub mod list_server;
pub mod netns;
pub mod ports;
pub mod postgres;
pub mod server_process;
pub mod wait;

#[cfg(feature = "agent")]
pub use agent_process::AgentProcess;
#[cfg(feature = "agent")]
pub use cgroup::test_cgroup;
#[cfg(feature = "agent")]
pub use lab::{Lab, Outcome, SideHost};
pub use list_server::ListServer;
pub use netns::Netns;
pub use ports::free_port;
pub use server_process::ServerProcess;
pub use wait::{eventually, wait_for, wait_for_async, wait_until};
