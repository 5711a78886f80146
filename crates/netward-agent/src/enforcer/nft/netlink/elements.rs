//! Set-element messages (NEWSETELEM, DELSETELEM, DESTROYSETELEM), written straight into the
//! batch. A snapshot of a million indicators is a million nested attributes: built as
//! netlink-packet structures first (a few allocations each), they took 0.4 s of it.
//!
//! The layout, from `linux/netfilter/nf_tables.h`: the netlink header, the nfgenmsg header,
//! the table and set names, then the element list, each element a nested key (and a timeout
//! on an added element that expires, or the interval-end flag on the element that closes a
//! range). The tests check it byte for byte against netlink-packet-netfilter's encoding.

use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_REQUEST};

use super::{Element, ElementOp, SetChange};
use crate::SetId;

/// `NFNL_SUBSYS_NFTABLES`, the subsystem of every nftables message type.
const SUBSYS_NFTABLES: u16 = 10;
/// Elements per message, keeping each nested list well under 64 KiB.
pub(super) const ELEMENTS_PER_MESSAGE: usize = 1024;

const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
/// A DELSETELEM that ignores missing elements (Linux 6.3).
const NFT_MSG_DESTROYSETELEM: u16 = 30;
const NFPROTO_INET: u8 = 1;

const NLA_F_NESTED: u16 = 0x8000;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_FLAGS: u16 = 3;
const NFTA_SET_ELEM_TIMEOUT: u16 = 4;
const NFTA_DATA_VALUE: u16 = 1;
const NFT_SET_ELEM_INTERVAL_END: u32 = 1;

/// Starts an attribute of `kind` at the end of `buf`; returns where, for [`close`].
fn open(buf: &mut Vec<u8>, kind: u16) -> usize {
    let at = buf.len();
    buf.extend_from_slice(&[0, 0]);
    buf.extend_from_slice(&kind.to_ne_bytes());
    at
}

/// Ends the attribute opened at `at`: its length, then padding to 4 bytes.
fn close(buf: &mut Vec<u8>, at: usize) {
    let len = u16::try_from(buf.len() - at).unwrap_or(u16::MAX);
    buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    buf.resize(buf.len().next_multiple_of(4), 0);
}

fn attribute(buf: &mut Vec<u8>, kind: u16, payload: &[u8]) {
    let at = open(buf, kind);
    buf.extend_from_slice(payload);
    close(buf, at);
}

/// A NUL-terminated string attribute.
fn name(buf: &mut Vec<u8>, kind: u16, text: &str) {
    let at = open(buf, kind);
    buf.extend_from_slice(text.as_bytes());
    buf.push(0);
    close(buf, at);
}

/// One element of the list: its key (`value` in network byte order, as long as a key of set
/// `id`), and a timeout or the interval-end flag.
fn list_element(
    buf: &mut Vec<u8>,
    (id, value): (SetId, u128),
    timeout_ms: Option<u64>,
    interval_end: bool,
) {
    let element = open(buf, NFTA_LIST_ELEM | NLA_F_NESTED);
    let key_at = open(buf, NFTA_SET_ELEM_KEY | NLA_F_NESTED);
    attribute(
        buf,
        NFTA_DATA_VALUE,
        &value.to_be_bytes()[16 - id.key_len()..],
    );
    close(buf, key_at);
    if let Some(ms) = timeout_ms {
        attribute(buf, NFTA_SET_ELEM_TIMEOUT, &ms.to_be_bytes());
    }
    if interval_end {
        attribute(
            buf,
            NFTA_SET_ELEM_FLAGS,
            &NFT_SET_ELEM_INTERVAL_END.to_be_bytes(),
        );
    }
    close(buf, element);
}

/// Appends one message of `change` on `table` with `elements` (none for a flush), sequence
/// number `seq`.
fn message(buf: &mut Vec<u8>, seq: u32, table: &str, change: &SetChange, elements: &[Element]) {
    let (kind, flags) = match change.op {
        ElementOp::Add => (NFT_MSG_NEWSETELEM, NLM_F_CREATE),
        ElementOp::Flush | ElementOp::Delete => (NFT_MSG_DELSETELEM, 0),
        ElementOp::Destroy => (NFT_MSG_DESTROYSETELEM, 0),
    };
    let id = change.id;
    let start = buf.len();
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&((SUBSYS_NFTABLES << 8) | kind).to_ne_bytes());
    buf.extend_from_slice(&(NLM_F_REQUEST | NLM_F_ACK | flags).to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&[NFPROTO_INET, 0, 0, 0]);
    name(buf, NFTA_SET_ELEM_LIST_TABLE, table);
    name(buf, NFTA_SET_ELEM_LIST_SET, &id.name());
    if !elements.is_empty() {
        let list = open(buf, NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED);
        let max = if id.key_len() == 4 {
            u128::from(u32::MAX)
        } else {
            u128::MAX
        };
        for e in elements {
            let timeout = if change.op == ElementOp::Add {
                e.timeout_ms
            } else {
                None
            };
            list_element(buf, (id, e.start), timeout, false);
            // An interval ends with an END element at the first address past it; a range
            // that runs to the family's last address has none.
            if id.is_interval() && e.end < max {
                list_element(buf, (id, e.end + 1), None, true);
            }
        }
        close(buf, list);
    }
    let len = u32::try_from(buf.len() - start).unwrap_or(u32::MAX);
    buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

/// Appends the messages of `change` on `table` to `buf`, numbered by `next_seq`; returns how
/// many (each is acknowledged).
pub(super) fn encode(
    buf: &mut Vec<u8>,
    next_seq: &mut impl FnMut() -> u32,
    table: &str,
    change: &SetChange,
) -> usize {
    if change.op == ElementOp::Flush {
        message(buf, next_seq(), table, change, &[]);
        return 1;
    }
    // A range takes two list entries (its start and its END), an address one.
    let per_message = if change.id.is_interval() {
        ELEMENTS_PER_MESSAGE / 2
    } else {
        ELEMENTS_PER_MESSAGE
    };
    let mut messages = 0;
    for chunk in change.elements.chunks(per_message) {
        message(buf, next_seq(), table, change, chunk);
        messages += 1;
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::NetlinkMessage;
    use netlink_packet_netfilter::nftables::{
        DataAttribute, ListAttribute, NfTablesMessage, SetElementAttribute, SetElementFlags,
        SetElementList, SetElementMessage,
    };
    use netlink_packet_netfilter::{NetfilterHeader, NetfilterMessage, NetfilterProtoFamily};
    use netward_model::{Action, Family};

    /// The messages of `change` as netlink-packet-netfilter encodes them.
    fn reference(table: &str, change: &SetChange, mut seq: u32) -> Vec<u8> {
        let id = change.id;
        let max = if id.key_len() == 4 {
            u128::from(u32::MAX)
        } else {
            u128::MAX
        };
        let key = |v: u128| v.to_be_bytes()[16 - id.key_len()..].to_vec();
        let per_message = if id.is_interval() {
            ELEMENTS_PER_MESSAGE / 2
        } else {
            ELEMENTS_PER_MESSAGE
        };
        let chunks: Vec<&[Element]> = if change.op == ElementOp::Flush {
            vec![&[]]
        } else {
            change.elements.chunks(per_message).collect()
        };
        let mut out = Vec::new();
        for chunk in chunks {
            let mut elements = Vec::new();
            for e in chunk {
                let mut first = vec![SetElementAttribute::Key(DataAttribute::Value(key(e.start)))];
                if let (ElementOp::Add, Some(ms)) = (change.op, e.timeout_ms) {
                    first.push(SetElementAttribute::Timeout(ms));
                }
                elements.push(ListAttribute::Element(first));
                if id.is_interval() && e.end < max {
                    elements.push(ListAttribute::Element(vec![
                        SetElementAttribute::Key(DataAttribute::Value(key(e.end + 1))),
                        SetElementAttribute::Flags(SetElementFlags::IntervalEnd),
                    ]));
                }
            }
            let mut attributes = vec![
                SetElementList::Table(table.to_owned()),
                SetElementList::Set(id.name()),
            ];
            if !elements.is_empty() {
                attributes.push(SetElementList::Elements(elements));
            }
            let body = SetElementMessage { attributes };
            let (message, flags) = match change.op {
                ElementOp::Add => (NfTablesMessage::NewSetElement(body), NLM_F_CREATE),
                _ => (NfTablesMessage::DeleteSetElement(body), 0),
            };
            let mut msg = NetlinkMessage::from(NetfilterMessage::new(
                NetfilterHeader::new(NetfilterProtoFamily::Inet, 0, 0),
                message,
            ));
            msg.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
            msg.header.sequence_number = seq;
            seq += 1;
            msg.finalize();
            if change.op == ElementOp::Destroy {
                msg.header.message_type = (SUBSYS_NFTABLES << 8) | NFT_MSG_DESTROYSETELEM;
            }
            let start = out.len();
            out.resize(start + msg.buffer_len(), 0);
            msg.serialize(&mut out[start..]);
        }
        out
    }

    fn ours(table: &str, change: &SetChange, first_seq: u32) -> (Vec<u8>, usize) {
        let mut buf = Vec::new();
        let mut seq = first_seq;
        let messages = encode(
            &mut buf,
            &mut || {
                seq += 1;
                seq - 1
            },
            table,
            change,
        );
        (buf, messages)
    }

    #[test]
    fn messages_match_netlink_packet_netfilter_byte_for_byte() {
        let v4 = |a: u32, b: u32, t: Option<u64>| Element {
            start: u128::from(a),
            end: u128::from(b),
            timeout_ms: t,
        };
        let v6 = |a: u128, b: u128| Element {
            start: a,
            end: b,
            timeout_ms: None,
        };
        let many: Vec<Element> = (0..2_500u32)
            .map(|i| {
                v4(
                    0x0a00_0000 + 2 * i,
                    0x0a00_0000 + 2 * i,
                    (i % 3 == 0).then_some(1_500),
                )
            })
            .collect();
        let ranges: Vec<Element> = (0..1_300u32)
            .map(|i| {
                v4(
                    0x6500_0000 + 256 * i,
                    0x6500_0000 + 256 * i + 127,
                    (i % 2 == 0).then_some(9),
                )
            })
            .chain([v4(0xffff_ff00, u32::MAX, None)])
            .collect();
        let cases = [
            (
                SetId::addresses(Action::Block, Family::V4),
                ElementOp::Add,
                many.clone(),
            ),
            (
                SetId::addresses(Action::Block, Family::V4),
                ElementOp::Delete,
                many.clone(),
            ),
            (
                SetId::addresses(Action::Audit, Family::V4),
                ElementOp::Destroy,
                many[..10].to_vec(),
            ),
            (
                SetId::addresses(Action::Allow, Family::V4),
                ElementOp::Flush,
                Vec::new(),
            ),
            (
                SetId::ranges(Action::Block, Family::V4, 25),
                ElementOp::Add,
                ranges.clone(),
            ),
            (
                SetId::ranges(Action::Block, Family::V4, 25),
                ElementOp::Delete,
                ranges,
            ),
            (
                SetId::ranges(Action::Audit, Family::V6, 3),
                ElementOp::Add,
                vec![
                    v6(0x2001_0db8 << 96, (0x2001_0db8 << 96) + 0xffff),
                    v6(u128::MAX - 15, u128::MAX),
                ],
            ),
            (
                SetId::addresses(Action::Block, Family::V6),
                ElementOp::Add,
                vec![v6(1, 1), v6(0x2001_0db8 << 96, 0x2001_0db8 << 96)],
            ),
        ];
        for (id, op, elements) in cases {
            let change = SetChange { id, op, elements };
            let (bytes, messages) = ours("netward", &change, 7);
            assert_eq!(
                bytes,
                reference("netward", &change, 7),
                "{} {op:?}",
                id.name()
            );
            let per_message = if id.is_interval() {
                ELEMENTS_PER_MESSAGE / 2
            } else {
                ELEMENTS_PER_MESSAGE
            };
            assert_eq!(messages, change.elements.len().div_ceil(per_message).max(1));
        }
    }
}
