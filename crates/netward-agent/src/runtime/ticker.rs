//! The tick loop: every [`TICK`], the engine brings its bookkeeping up to date when an
//! indicator expired (the kernel already dropped its elements at that second), restores the
//! kernel table when someone altered it, and now and then counts the sets' elements to restore
//! what someone deleted, with or without the server; what it changed is written to the status
//! file and acknowledged.

use super::config::TICK;
use super::engine::TickOutcome;
use super::shared::{Shared, with_engine};
use crate::clock::Clock;
use crate::enforcer::Enforcer;

/// Ticks the engine until the task is aborted.
pub(crate) async fn tick_loop<E: Enforcer + 'static, C: Clock + Clone>(shared: Shared<E, C>) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Log a persistent failure once, not every tick.
    let mut last_failure: Option<String> = None;
    loop {
        interval.tick().await;
        // The time is read under the engine's lock, not before waiting for it.
        let clock = shared.clock.clone();
        let outcome = with_engine(&shared.engine, move |e| e.tick(clock.now_secs())).await;
        if let Ok(Err(error)) = &outcome {
            let text = error.to_string();
            if last_failure.as_ref() == Some(&text) {
                continue;
            }
            last_failure = Some(text);
        } else {
            last_failure = None;
        }
        match outcome {
            Ok(Ok(TickOutcome::Idle)) => continue,
            Ok(Ok(outcome)) => {
                tracing::info!(?outcome, "Kernel updated without the server.");
                shared.status(None).await;
                if let Err(error) = shared.ack().await {
                    tracing::warn!(%error, "Cannot report to the server; the kernel is up to date.");
                }
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "Cannot check or update the kernel; retrying.");
                shared.status(None).await;
            }
            Err(error) => tracing::error!(%error, "Engine task failed."),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::runtime::upserts::Upserts;
    use netward_model::agent_wire::PolicyUpdate;
    use netward_model::{Action, Family};

    use super::*;
    use crate::SetId;
    use crate::clock::FakeClock;
    use crate::enforcer::fake::RecordingEnforcer;
    use crate::runtime::engine::{Engine, PolicyState};

    /// Whether the kernel the fake enforcer models blocks `addr` now (by its clock).
    fn blocks(engine: &Engine<RecordingEnforcer>, addr: std::net::Ipv4Addr) -> bool {
        let key = u128::from(u32::from(addr));
        SetId::holding(Family::V4, key)
            .filter(|id| id.action == Action::Block)
            .any(|id| engine.enforcer().enforces(id, key))
    }

    #[test]
    fn an_indicator_expiring_at_t_is_enforced_at_t_minus_1_and_gone_at_t() {
        let t: i64 = 1_700_000_100;
        // As the server sends it (the wire form, whatever the Rust types behind it).
        let update: PolicyUpdate<Upserts> = serde_json::from_value(serde_json::json!({
            "version": 1, "full": true, "group": "default", "mode": "block", "coverage": "all",
            "upserts": [
                {"id": 1, "value": "192.0.2.1", "action": "block", "expiresAt": t, "title": "t"},
                {"id": 2, "value": "192.0.2.2", "action": "block", "expiresAt": null, "title": "t"}
            ],
            "removals": [], "serverTime": 0
        }))
        .unwrap();
        let expiring = "192.0.2.1".parse().unwrap();
        let lasting = "192.0.2.2".parse().unwrap();
        let clock = FakeClock::at_secs(t - 60);
        let mut engine = Engine::new(
            RecordingEnforcer::with_clock(clock.clone()),
            PolicyState::default(),
            &[],
        );
        engine.update(update, clock.now_secs()).unwrap();
        assert!(blocks(&engine, expiring) && blocks(&engine, lasting));

        clock.set_secs(t - 1);
        assert_eq!(engine.tick(clock.now_secs()).unwrap(), TickOutcome::Idle);
        clock.advance_ms(999);
        assert_eq!(engine.tick(clock.now_secs()).unwrap(), TickOutcome::Idle);
        assert!(
            blocks(&engine, expiring),
            "still enforced in the last millisecond before T"
        );

        clock.advance_ms(1);
        assert!(
            !blocks(&engine, expiring),
            "gone at T in the kernel itself, before any tick"
        );
        assert_eq!(engine.tick(clock.now_secs()).unwrap(), TickOutcome::Expired);
        assert!(!blocks(&engine, expiring), "gone at T");
        assert!(blocks(&engine, lasting));
        clock.set_secs(t + 1);
        assert_eq!(engine.tick(clock.now_secs()).unwrap(), TickOutcome::Idle);
    }
}
