//! What the engine tells the server: the acknowledgement of what the kernel holds, with every
//! problem to show on the device record.

use netward_model::agent_wire::{AckRequest, DeviceFacts};
use netward_model::text::printable;

use super::Engine;
use crate::enforcer::Enforcer;

/// The longest error text an acknowledgement carries (the server takes 2,000).
pub const MAX_ERROR_CHARS: usize = 1_900;

impl<E: Enforcer> Engine<E> {
    /// The acknowledgement of what the kernel now holds, with every problem to show on the
    /// device record (enforcement, an unusable update, start-up notices) in its `error`. A
    /// pending tamper report and the notices stay pending until [`Engine::ack_delivered`] says
    /// the server has them. Nothing before the first update: the server keeps the record of
    /// the version it last heard of.
    pub fn ack(&self, facts: DeviceFacts) -> Option<AckRequest> {
        let version = self.state.version?;
        Some(AckRequest {
            version,
            entries: self.entries,
            not_enforceable: self.not_enforceable.clone(),
            error: self.problems(),
            tamper_repaired: self.tamper_pending,
            facts,
            exemptions: self.exemptions.clone(),
        })
    }

    /// Every problem to report (enforcement, an unusable update, start-up notices), in one text
    /// of at most [`MAX_ERROR_CHARS`] characters.
    pub fn problems(&self) -> Option<String> {
        let all: Vec<&str> = self
            .last_error
            .iter()
            .chain(&self.update_error)
            .chain(&self.notices)
            .map(String::as_str)
            .collect();
        if all.is_empty() {
            return None;
        }
        // An error can quote what a hostile server sent; the server refuses, and terminals
        // would render, control characters.
        let joined = printable(&all.join("; ")).into_owned();
        if joined.chars().count() <= MAX_ERROR_CHARS {
            return Some(joined);
        }
        let mut cut: String = joined.chars().take(MAX_ERROR_CHARS - 1).collect();
        cut.push('…');
        Some(cut)
    }

    /// Records that the server accepted `ack`.
    pub fn ack_delivered(&mut self, ack: &AckRequest) {
        if ack.tamper_repaired {
            self.tamper_pending = false;
        }
        // A notice cut from the text (many problems at once) stays for the next one.
        if let Some(sent) = &ack.error {
            self.notices.retain(|n| !sent.contains(n.as_str()));
        }
    }
}
