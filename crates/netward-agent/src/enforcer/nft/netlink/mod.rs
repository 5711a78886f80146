//! nftables over netlink: batched, atomic transactions of set-element changes, and the few
//! queries the enforcer needs. The whole batch goes out in one `sendmsg` (the kernel applies a
//! batch only if it arrives whole), with the send buffer forced up to the batch size.

use std::io;
use std::os::fd::AsFd;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkBuffer, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_netfilter::nftables::NfTablesMessage;
use netlink_packet_netfilter::none::ControlMessage;
use netlink_packet_netfilter::{NetfilterHeader, NetfilterMessage, NetfilterProtoFamily};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_NETFILTER};
use nix::sys::socket::{setsockopt, sockopt};

mod elements;
mod queries;

use super::super::EnforcerError;
use crate::SetId;

/// `NFNL_SUBSYS_NFTABLES`, the resource id of batch begin/end messages.
const SUBSYS_NFTABLES: u16 = 10;
/// Receive buffer for acknowledgements.
const RECV_BUFFER: usize = 16 * 1024 * 1024;
/// Longest wait for the kernel's answer, in seconds.
const RECV_TIMEOUT_SECS: i64 = 30;

/// A netlink socket on the netfilter protocol.
#[derive(Debug)]
pub struct NfSocket {
    socket: Socket,
    sequence: u32,
}

fn io_err(operation: &'static str) -> impl FnOnce(io::Error) -> EnforcerError {
    move |source| EnforcerError::Netlink { operation, source }
}

/// One change to one set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetChange {
    /// The set.
    pub id: SetId,
    /// What to do.
    pub op: ElementOp,
    /// The elements added or deleted (empty for a flush).
    pub elements: Vec<Element>,
}

/// One element: an inclusive range (a single address when its ends are equal), and for an
/// added element the milliseconds until the kernel drops it by itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Element {
    /// The first address.
    pub start: u128,
    /// The last address.
    pub end: u128,
    /// Milliseconds until the kernel expires the element; `None`: never.
    pub timeout_ms: Option<u64>,
}

/// A set-element change, in kernel terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElementOp {
    /// Remove every element of the set.
    Flush,
    /// Add the elements.
    Add,
    /// Delete the elements; the whole transaction fails if one is not there.
    Delete,
    /// Delete the elements that are there (`NFT_MSG_DESTROYSETELEM`, Linux 6.3): for elements
    /// with a timeout, which the kernel may expire between our look at the clock and the
    /// commit.
    Destroy,
}

impl NfSocket {
    /// Opens and binds a socket in the caller's network namespace.
    pub fn open() -> Result<Self, EnforcerError> {
        let mut socket = Socket::new(NETLINK_NETFILTER).map_err(io_err("socket"))?;
        socket
            .bind(&SocketAddr::new(0, 0))
            .map_err(io_err("bind"))?;
        setsockopt(&socket.as_fd(), sockopt::RcvBufForce, &RECV_BUFFER)
            .map_err(|e| io_err("set the receive buffer")(e.into()))?;
        // A kernel that never answers must not hang the agent.
        let timeout = nix::sys::time::TimeVal::new(RECV_TIMEOUT_SECS, 0);
        setsockopt(&socket.as_fd(), sockopt::ReceiveTimeout, &timeout)
            .map_err(|e| io_err("set the receive timeout")(e.into()))?;
        let _ = socket.set_ext_ack(true);
        Ok(Self {
            socket,
            sequence: 1,
        })
    }

    fn next_seq(&mut self) -> u32 {
        self.sequence = self.sequence.wrapping_add(1).max(1);
        self.sequence
    }

    fn encode(
        &mut self,
        buf: &mut Vec<u8>,
        family: NetfilterProtoFamily,
        res_id: u16,
        inner: impl Into<netlink_packet_netfilter::NetfilterMessageInner>,
        flags: u16,
    ) -> u32 {
        let seq = self.next_seq();
        let mut msg = NetlinkMessage::from(NetfilterMessage::new(
            NetfilterHeader::new(family, 0, res_id),
            inner,
        ));
        msg.header.flags = flags;
        msg.header.sequence_number = seq;
        msg.finalize();
        let start = buf.len();
        buf.resize(start + msg.buffer_len(), 0);
        msg.serialize(&mut buf[start..]);
        seq
    }

    /// Sends `changes` as one atomic transaction and waits for every acknowledgement. The
    /// changes are encoded as they come, each dropped once encoded.
    pub fn transact(
        &mut self,
        operation: &'static str,
        table: &str,
        changes: impl IntoIterator<Item = SetChange>,
    ) -> Result<(), EnforcerError> {
        let mut buf = Vec::new();
        self.encode(
            &mut buf,
            NetfilterProtoFamily::Unspec,
            SUBSYS_NFTABLES,
            ControlMessage::BatchBegin,
            NLM_F_REQUEST,
        );
        let mut awaited = 0usize;
        for c in changes {
            awaited += elements::encode(&mut buf, &mut || self.next_seq(), table, &c);
        }
        if awaited == 0 {
            return Ok(());
        }
        self.encode(
            &mut buf,
            NetfilterProtoFamily::Unspec,
            SUBSYS_NFTABLES,
            ControlMessage::BatchEnd,
            NLM_F_REQUEST,
        );
        let sndbuf = buf.len().max(256 * 1024);
        setsockopt(&self.socket.as_fd(), sockopt::SndBufForce, &sndbuf)
            .map_err(|e| io_err("set the send buffer")(e.into()))?;
        let sent = self.socket.send(&buf, 0).map_err(io_err("send batch"))?;
        if sent != buf.len() {
            return Err(EnforcerError::Netlink {
                operation: "send batch",
                source: io::Error::other(format!("sent {sent} of {} bytes", buf.len())),
            });
        }
        drop(buf);
        self.await_acks(operation, awaited)
    }

    /// Reads acknowledgements until `expected` arrived or one reports an error.
    fn await_acks(
        &mut self,
        operation: &'static str,
        expected: usize,
    ) -> Result<(), EnforcerError> {
        let mut acked = 0;
        while acked < expected {
            let (data, _) = self
                .socket
                .recv_from_full()
                .map_err(io_err("receive acknowledgements"))?;
            for msg in parse_all(&data, operation)? {
                if let NetlinkPayload::Error(e) = msg.payload {
                    match e.code {
                        None => acked += 1,
                        Some(code) => {
                            self.drain();
                            return Err(EnforcerError::Refused {
                                operation,
                                source: io::Error::from_raw_os_error(-code.get()),
                            });
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Discards whatever is left to read after a refused batch.
    fn drain(&mut self) {
        if self.socket.set_non_blocking(true).is_ok() {
            while self.socket.recv_from_full().is_ok() {}
            let _ = self.socket.set_non_blocking(false);
        }
    }

    /// Sends one request and hands each answer to `visit` until the ack or the end of the
    /// dump; the kernel's refusal, if any, as the inner error. Answers are never kept here, so
    /// a dump of a million elements can be counted as it arrives.
    fn exchange(
        &mut self,
        operation: &'static str,
        message: NfTablesMessage,
        dump: bool,
        mut visit: impl FnMut(NfTablesMessage),
    ) -> Result<Result<(), io::Error>, EnforcerError> {
        let mut buf = Vec::new();
        // A GET answers with the object, then the ack; a dump with its objects, then DONE.
        let flags = if dump {
            NLM_F_REQUEST | NLM_F_DUMP
        } else {
            NLM_F_REQUEST | NLM_F_ACK
        };
        let seq = self.encode(&mut buf, NetfilterProtoFamily::Inet, 0, message, flags);
        self.socket.send(&buf, 0).map_err(io_err("send request"))?;
        loop {
            let (data, _) = self
                .socket
                .recv_from_full()
                .map_err(io_err("receive answer"))?;
            for msg in parse_all(&data, operation)? {
                if msg.header.sequence_number != seq {
                    continue;
                }
                match msg.payload {
                    NetlinkPayload::Done(_) => return Ok(Ok(())),
                    NetlinkPayload::Error(e) => {
                        return Ok(match e.code {
                            None => Ok(()),
                            Some(code) => Err(io::Error::from_raw_os_error(-code.get())),
                        });
                    }
                    NetlinkPayload::InnerMessage(inner) => {
                        if let netlink_packet_netfilter::NetfilterMessageInner::NfTables(m) =
                            inner.inner
                        {
                            visit(m);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Sends one request and collects the answers until the ack or the end of the dump.
    fn request(
        &mut self,
        operation: &'static str,
        message: NfTablesMessage,
        dump: bool,
    ) -> Result<Result<Vec<NfTablesMessage>, io::Error>, EnforcerError> {
        let mut answers = Vec::new();
        let done = self.exchange(operation, message, dump, |m| answers.push(m))?;
        Ok(done.map(|()| answers))
    }
}

fn parse_all(
    data: &[u8],
    operation: &'static str,
) -> Result<Vec<NetlinkMessage<NetfilterMessage>>, EnforcerError> {
    let mut out = Vec::new();
    let mut offset = 0;
    while offset < data.len() {
        let rest = &data[offset..];
        let len = NetlinkBuffer::new_checked(rest)
            .map(|b| b.length() as usize)
            .map_err(|e| EnforcerError::Decode {
                operation,
                detail: e.to_string(),
            })?;
        if len == 0 || len > rest.len() {
            break;
        }
        let msg = NetlinkMessage::<NetfilterMessage>::deserialize(&rest[..len]).map_err(|e| {
            EnforcerError::Decode {
                operation,
                detail: e.to_string(),
            }
        })?;
        out.push(msg);
        offset += (len + 3) & !3;
    }
    Ok(out)
}
