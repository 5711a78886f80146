//! SIEM export: every stored event and every alert change as NDJSON lines in a file and as
//! RFC 5424 syslog messages over UDP. A leaf: it knows the API's entities, not the core.

use std::io::Write;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::Mutex;

use netward_model::Severity;
use netward_model::detection::{AlertEntity, EventEntity, Outcome};

use super::config::DetectionConfig;

/// The SIEM outputs.
#[derive(Debug, Default)]
pub struct Exporter {
    ndjson: Option<Mutex<std::fs::File>>,
    syslog: Option<(UdpSocket, SocketAddr)>,
    hostname: String,
}

/// Why an export could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The NDJSON file cannot be opened for appending.
    #[error("cannot open {path} for appending: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No UDP socket for syslog.
    #[error("cannot open a UDP socket for syslog: {0}")]
    Syslog(#[source] std::io::Error),
}

/// RFC 5424 severity of an event outcome or alert severity.
fn outcome_severity(outcome: Outcome) -> u8 {
    match outcome {
        Outcome::Blocked => 3, // error
        Outcome::Audited => 4, // warning
        Outcome::Allowed => 6, // informational
    }
}

/// RFC 5424 severity of an alert.
fn alert_severity(severity: Severity) -> u8 {
    match severity {
        Severity::High => 3,          // error
        Severity::Medium => 4,        // warning
        Severity::Low => 5,           // notice
        Severity::Informational => 6, // informational
    }
}

/// Escapes an RFC 5424 structured-data parameter value; control and bidi characters (a
/// device's host name, a command line) are written as escapes, so a value stays one line.
fn sd_escape(v: &str) -> String {
    netward_model::text::printable(v)
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace(']', "\\]")
}

/// One RFC 5424 message: facility local0, `netward` as the app, the record type as MSGID,
/// a few fields as structured data (`netward@32473`, the documentation enterprise number)
/// and the whole record as JSON in MSG.
pub fn syslog_message(
    hostname: &str,
    timestamp: &str,
    msgid: &str,
    severity: u8,
    fields: &[(&str, &str)],
    json: &str,
) -> String {
    let pri = 16 * 8 + u16::from(severity);
    let sd: String = fields
        .iter()
        .map(|(k, v)| format!(" {k}=\"{}\"", sd_escape(v)))
        .collect();
    // RFC 5424 HOSTNAME: 1 to 255 printable US-ASCII characters, no space.
    let host: String = hostname
        .chars()
        .take(255)
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    let host = if host.is_empty() { "-" } else { host.as_str() };
    format!(
        "<{pri}>1 {timestamp} {host} netward {} {msgid} [netward@32473{sd}] {json}",
        std::process::id()
    )
}

impl Exporter {
    /// Opens the configured outputs.
    pub fn open(config: &DetectionConfig) -> Result<Self, ExportError> {
        let ndjson = config
            .ndjson
            .as_ref()
            .map(|path| {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map(Mutex::new)
                    .map_err(|source| ExportError::File {
                        path: path.clone(),
                        source,
                    })
            })
            .transpose()?;
        let syslog = config
            .syslog
            .map(|to| {
                let bind = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
                UdpSocket::bind(bind)
                    .map(|s| (s, to))
                    .map_err(ExportError::Syslog)
            })
            .transpose()?;
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default();
        Ok(Self {
            ndjson,
            syslog,
            hostname,
        })
    }

    fn emit(
        &self,
        record_type: &str,
        value: serde_json::Value,
        severity: u8,
        fields: &[(&str, &str)],
        timestamp: &str,
    ) {
        let mut value = value;
        if let Some(obj) = value.as_object_mut() {
            obj.insert("RecordType".into(), record_type.into());
        }
        let line = value.to_string();
        if let Some(file) = &self.ndjson
            && let Ok(mut f) = file.lock()
            && let Err(error) = writeln!(f, "{line}")
        {
            tracing::error!(%error, "Cannot append to the NDJSON export.");
        }
        if let Some((socket, to)) = &self.syslog {
            let msg = syslog_message(
                &self.hostname,
                timestamp,
                record_type,
                severity,
                fields,
                &line,
            );
            if let Err(error) = socket.send_to(msg.as_bytes(), to) {
                tracing::warn!(%error, %to, "Cannot send a syslog message.");
            }
        }
    }

    pub(crate) fn event(&self, e: &EventEntity) {
        if self.ndjson.is_none() && self.syslog.is_none() {
            return;
        }
        let value = serde_json::to_value(e).unwrap_or_default();
        self.emit(
            "NetworkEvent",
            value,
            outcome_severity(e.additional_fields.outcome),
            &[
                ("outcome", e.additional_fields.outcome.as_str()),
                ("remoteIP", &e.remote_ip),
                ("deviceName", &e.device_name),
                ("process", &e.initiating_process_file_name),
            ],
            &e.timestamp,
        );
    }

    pub(crate) fn alert(&self, a: &AlertEntity) {
        if self.ndjson.is_none() && self.syslog.is_none() {
            return;
        }
        let value = serde_json::to_value(a).unwrap_or_default();
        self.emit(
            "Alert",
            value,
            alert_severity(a.severity),
            &[
                ("alertId", &a.id),
                ("title", &a.title),
                ("deviceName", &a.device_name),
                ("status", a.status.as_str()),
            ],
            &a.last_seen,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::syslog_message;

    /// A device's host name or a command line cannot break a syslog message into two, or
    /// smuggle a header field.
    #[test]
    fn device_text_stays_inside_its_field() {
        let m = syslog_message(
            "ep 1\nFAKE",
            "2026-12-01T00:00:00Z",
            "event",
            4,
            &[("cmdline", "curl \"x\"]\n<13>1 forged")],
            "{}",
        );
        assert!(!m.contains('\n'), "{m}");
        assert!(m.contains(" ep_1_FAKE netward "), "{m}");
        assert!(
            m.contains(r#"cmdline="curl \"x\"\]\\u{a}<13>1 forged""#),
            "{m}"
        );
    }
}
