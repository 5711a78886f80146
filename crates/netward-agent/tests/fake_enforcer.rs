//! The recording fake passes the enforcer conformance suite that nftables passes
//! (`nft_enforcer.rs`): what the engine's unit tests see is what the kernel would report.
//! No root needed.

mod conformance;

use netward_agent::enforcer::fake::RecordingEnforcer;

#[test]
fn the_recording_fake_passes_the_enforcer_conformance_suite() {
    let mut fake = RecordingEnforcer::default();
    conformance::run(&mut fake, |e| e.tampered = true);
}
