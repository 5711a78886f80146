//! The tick loop: every [`TICK`], the engine re-applies the policy when an indicator expired
//! and restores the kernel table when someone altered it, with or without the server; what it
//! changed is written to the status file and acknowledged.

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
