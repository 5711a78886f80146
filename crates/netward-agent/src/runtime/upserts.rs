//! The upserts of a policy update as the agent reads them: compact ([`PolicyIndicator`]s, no
//! titles), and, when read against the held indicators ([`read_against`]), split into those
//! that change something and the ids of those that repeat a held indicator exactly.
//!
//! A snapshot that repeats most of the held policy (after a server restart, say) then costs
//! eight bytes per indicator it repeats, not the 48 of a parsed indicator: at a million, 8 MB
//! beside the held indicators rather than 48 MB.

use std::cell::RefCell;

use netward_model::agent_wire::PolicyIndicator;
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::held::SharedIndicators;

/// The upserts of an update.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Upserts {
    /// The indicators to add or replace, in the order sent.
    pub changed: Vec<PolicyIndicator>,
    /// The ids of indicators sent exactly as they are held (only when read against them).
    pub unchanged: Vec<i64>,
}

impl From<Vec<PolicyIndicator>> for Upserts {
    fn from(changed: Vec<PolicyIndicator>) -> Self {
        Self {
            changed,
            unchanged: Vec::new(),
        }
    }
}

thread_local! {
    /// The held indicators that upserts read on this thread are compared with.
    static AGAINST: RefCell<Option<SharedIndicators>> = const { RefCell::new(None) };
}

/// Runs `read` (a parse) on this thread with its [`Upserts`] read against `held`.
pub fn read_against<T>(held: SharedIndicators, read: impl FnOnce() -> T) -> T {
    /// Clears the thread's context when the parse ends, a panic included, so that the next
    /// parse on this (pooled) thread is not read against indicators it was not given.
    struct Cleared;
    impl Drop for Cleared {
        fn drop(&mut self) {
            AGAINST.with(|slot| *slot.borrow_mut() = None);
        }
    }
    AGAINST.with(|slot| *slot.borrow_mut() = Some(held));
    let _cleared = Cleared;
    read()
}

impl<'de> Deserialize<'de> for Upserts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct List(Option<SharedIndicators>);
        impl<'de> Visitor<'de> for List {
            type Value = Upserts;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of indicators")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Upserts, A::Error> {
                let mut out = Upserts::default();
                let mut previous = None;
                while let Some(i) = seq.next_element::<PolicyIndicator>()? {
                    // An id sent twice in a row is kept as sent, so that its last one counts.
                    // (The server sends each once; sent twice apart, the copy that changes
                    // something would count.)
                    let repeats = previous == Some(i.id);
                    previous = Some(i.id);
                    let held = self.0.as_ref().is_some_and(|held| {
                        let held = held
                            .read()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        held.get(i.id) == Some(&i.entry)
                    });
                    if held && !repeats {
                        out.unchanged.push(i.id);
                    } else {
                        out.changed.push(i);
                    }
                }
                Ok(out)
            }
        }
        let against = AGAINST.with(|slot| slot.borrow().clone());
        deserializer.deserialize_seq(List(against))
    }
}

impl Serialize for Upserts {
    /// The indicators that change something (those repeated exactly change nothing).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.changed.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::held::HeldIndicators;
    use crate::runtime::engine::tests::ind;
    use std::sync::{Arc, RwLock};

    fn json(list: &[PolicyIndicator]) -> String {
        serde_json::to_string(list).unwrap()
    }

    #[test]
    fn read_against_the_held_indicators_repeats_are_ids_and_the_rest_is_kept_whole() {
        let held: HeldIndicators = [
            ind(1, "192.0.2.1", "block", None),
            ind(2, "192.0.2.2", "block", None),
        ]
        .iter()
        .map(|i| (i.id, i.entry))
        .collect();
        let held = Arc::new(RwLock::new(held));
        let sent = [
            ind(1, "192.0.2.1", "block", None),
            ind(2, "192.0.2.2", "audit", None),
            ind(3, "192.0.2.3", "block", None),
            // Sent twice in a row: both kept, so that the last counts.
            ind(3, "192.0.2.3", "block", None),
        ];
        let read: Upserts = read_against(held, || serde_json::from_str(&json(&sent))).unwrap();
        assert_eq!(read.unchanged, vec![1]);
        assert_eq!(read.changed, sent[1..].to_vec());
        // Without held indicators to read against (a journal line), everything is kept.
        let plain: Upserts = serde_json::from_str(&json(&sent)).unwrap();
        assert_eq!(plain, Upserts::from(sent.to_vec()));
        // Written back, the changes alone, as the server's indicators with empty titles.
        let line = serde_json::to_value(&read).unwrap();
        assert_eq!(line.as_array().unwrap().len(), 3);
        assert_eq!(line[0]["title"], "");
        assert_eq!(line[0]["action"], "audit");
    }
}
