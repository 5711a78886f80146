//! The recording fake passes the enforcer conformance suite that nftables passes
//! (`nft_enforcer.rs`): what the engine's unit tests see is what the kernel would report.
//! No root needed.

#![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

mod conformance;

use netward_agent::enforcer::fake::RecordingEnforcer;

#[test]
fn the_recording_fake_passes_the_enforcer_conformance_suite() {
    let mut fake = RecordingEnforcer::default();
    conformance::run(
        &mut fake,
        |e| e.tampered = true,
        |e, id, value| {
            let (start, end) = netward_model::IndicatorValue::parse(value)
                .unwrap()
                .bounds();
            e.delete_behind_back(id, (start, end));
        },
    );
}
