//! `netward alert …`, `netward incident …`, `netward timeline`, `netward events` (with
//! `--follow`) and `netward hunt`: what the agents reported.

use clap::{Args, Subcommand};
use futures_util::StreamExt;
use netward_model::detection::{
    AlertEntity, AlertList, AlertStatus, ContactList, EventEntity, EventList, IncidentEntity,
    IncidentList, Outcome, StatusPatch,
};
use netward_model::sse::{SseDecoder, SseEvent, SseItem};
use reqwest::Method;

use crate::client::ApiClient;
use crate::error::CliError;
use crate::table;

/// Alert commands.
#[derive(Subcommand, Debug)]
pub enum AlertCommand {
    /// List alerts, most recently active first.
    List {
        /// Only this status: new, inProgress or resolved.
        #[arg(long)]
        status: Option<String>,
        /// Only this device.
        #[arg(long)]
        device: Option<String>,
        /// Only this indicator.
        #[arg(long)]
        indicator: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        top: usize,
    },
    /// Show an alert with the events behind it.
    Show {
        /// Alert id.
        id: String,
    },
    /// Mark an alert resolved.
    Resolve {
        /// Alert id.
        id: String,
    },
    /// Set an alert's status: new, inProgress or resolved.
    SetStatus {
        /// Alert id.
        id: String,
        /// The status.
        status: String,
    },
}

/// Incident commands.
#[derive(Subcommand, Debug)]
pub enum IncidentCommand {
    /// List incidents (one per indicator, across devices).
    List {
        /// Only this status: new, inProgress or resolved.
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        top: usize,
    },
    /// Show an incident with its alerts.
    Show {
        /// Incident id.
        id: String,
    },
    /// Resolve an incident and all its alerts.
    Resolve {
        /// Incident id.
        id: String,
    },
    /// Set an incident's status (and its alerts'): new, inProgress or resolved.
    SetStatus {
        /// Incident id.
        id: String,
        /// The status.
        status: String,
    },
}

/// Event filters.
#[derive(Args, Debug, Clone, Default)]
pub struct EventFilters {
    /// Only remote addresses in this address or CIDR range.
    #[arg(long)]
    pub remote_ip: Option<String>,
    /// Only events that matched this indicator id.
    #[arg(long)]
    pub indicator: Option<String>,
    /// Only this outcome: blocked, audited or allowed.
    #[arg(long)]
    pub outcome: Option<String>,
    /// Only events active at or after this RFC 3339 time.
    #[arg(long)]
    pub from: Option<String>,
    /// Only events that began before this RFC 3339 time.
    #[arg(long)]
    pub to: Option<String>,
}

/// `netward events`.
#[derive(Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    filters: EventFilters,
    /// Only this device.
    #[arg(long)]
    device: Option<String>,
    /// At most this many (newest first).
    #[arg(long, default_value_t = 100)]
    top: usize,
    /// Keep printing events as they arrive (Ctrl-C stops).
    #[arg(long, short = 'f', conflicts_with_all = ["from", "to"])]
    follow: bool,
}

/// `netward timeline`.
#[derive(Args, Debug)]
pub struct TimelineArgs {
    /// Device id.
    device: String,
    #[command(flatten)]
    filters: EventFilters,
    /// At most this many (oldest first).
    #[arg(long, default_value_t = 1000)]
    top: usize,
}

/// `netward hunt`.
#[derive(Args, Debug)]
pub struct HuntArgs {
    /// The address or CIDR range to hunt for.
    remote_ip: String,
    /// From this RFC 3339 time.
    #[arg(long)]
    from: Option<String>,
    /// Until this RFC 3339 time.
    #[arg(long)]
    to: Option<String>,
}

/// A status as the user typed it (any case), or a usage error naming the choices.
fn status_arg(raw: &str) -> Result<AlertStatus, CliError> {
    AlertStatus::parse(raw).ok_or_else(|| {
        CliError::Usage(format!(
            "`{raw}` is not a status; use one of new, inProgress, resolved"
        ))
    })
}

/// Outcomes as a table cell.
fn outcomes_text(outcomes: &[Outcome], sep: &str) -> String {
    outcomes
        .iter()
        .map(|o| o.as_str())
        .collect::<Vec<_>>()
        .join(sep)
}

fn id(what: &str, id: &str) -> Result<String, CliError> {
    id.trim()
        .parse::<u64>()
        .map(|n| n.to_string())
        .map_err(|_| CliError::Usage(format!("`{id}` is not a {what} id")))
}

fn filters_query(f: &EventFilters) -> Vec<(&'static str, String)> {
    let mut q = Vec::new();
    for (k, v) in [
        ("remoteIp", &f.remote_ip),
        ("indicatorId", &f.indicator),
        ("outcome", &f.outcome),
        ("from", &f.from),
        ("to", &f.to),
    ] {
        if let Some(v) = v {
            q.push((k, v.clone()));
        }
    }
    q
}

fn process(e: &EventEntity) -> String {
    match e.initiating_process_id {
        Some(pid) => format!("{} ({pid})", e.initiating_process_file_name),
        None => e.initiating_process_file_name.clone(),
    }
}

fn endpoint(ip: &str, port: Option<u16>) -> String {
    match port {
        Some(p) if ip.contains(':') => format!("[{ip}]:{p}"),
        Some(p) => format!("{ip}:{p}"),
        None => ip.to_owned(),
    }
}

fn event_row(e: &EventEntity) -> Vec<String> {
    let f = &e.additional_fields;
    vec![
        e.timestamp.clone(),
        e.device_name.clone(),
        f.outcome.as_str().to_owned(),
        f.reason.as_str().to_owned(),
        e.protocol.to_lowercase(),
        f.direction.as_str().to_owned(),
        endpoint(&e.remote_ip, e.remote_port),
        f.count.to_string(),
        process(e),
        f.indicators
            .iter()
            .map(|i| i.title.clone().unwrap_or_else(|| i.value.clone()))
            .collect::<Vec<_>>()
            .join("; "),
    ]
}

const EVENT_HEADERS: [&str; 10] = [
    "TIME",
    "DEVICE",
    "OUTCOME",
    "REASON",
    "PROTO",
    "DIR",
    "REMOTE",
    "COUNT",
    "PROCESS",
    "INDICATOR",
];

fn print_events(list: &[EventEntity]) {
    let rows: Vec<Vec<String>> = list.iter().map(event_row).collect();
    table::print(&EVENT_HEADERS, &rows);
}

fn print_alerts(list: &[AlertEntity]) {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|a| {
            vec![
                a.id.clone(),
                a.status.as_str().to_owned(),
                a.severity.as_str().to_owned(),
                a.title.clone(),
                a.device_name.clone(),
                a.indicator_value.clone(),
                a.hit_count.to_string(),
                outcomes_text(&a.outcomes, ","),
                a.last_seen.clone(),
            ]
        })
        .collect();
    table::print(
        &[
            "ID",
            "STATUS",
            "SEVERITY",
            "TITLE",
            "DEVICE",
            "INDICATOR",
            "HITS",
            "OUTCOMES",
            "LAST SEEN",
        ],
        &rows,
    );
}

fn print_alert(a: &AlertEntity) {
    table::print_record(&[
        ("id", a.id.clone()),
        ("incident", a.incident_id.clone()),
        ("title", a.title.clone()),
        ("severity", a.severity.as_str().to_owned()),
        ("status", a.status.as_str().to_owned()),
        (
            "status changed",
            match (&a.status_changed_by, &a.status_changed_at) {
                (Some(by), Some(at)) => format!("{at} by {by}"),
                _ => "-".into(),
            },
        ),
        ("device", format!("{} ({})", a.device_name, a.device_id)),
        (
            "indicator",
            format!("{} ({})", a.indicator_value, a.indicator_id),
        ),
        (
            "recommended actions",
            a.recommended_actions.clone().unwrap_or_else(|| "-".into()),
        ),
        ("first seen", a.first_seen.clone()),
        ("last seen", a.last_seen.clone()),
        ("hits", a.hit_count.to_string()),
        ("outcomes", outcomes_text(&a.outcomes, ", ")),
    ]);
    if let Some(evidence) = &a.evidence {
        crate::say!("\nevidence:");
        print_events(evidence);
    }
}

fn print_incidents(list: &[IncidentEntity]) {
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|i| {
            vec![
                i.id.clone(),
                i.status.as_str().to_owned(),
                i.severity.as_str().to_owned(),
                i.title.clone(),
                i.indicator_value.clone(),
                i.device_count.to_string(),
                i.alert_count.to_string(),
                i.hit_count.to_string(),
                i.last_seen.clone(),
            ]
        })
        .collect();
    table::print(
        &[
            "ID",
            "STATUS",
            "SEVERITY",
            "TITLE",
            "INDICATOR",
            "DEVICES",
            "ALERTS",
            "HITS",
            "LAST SEEN",
        ],
        &rows,
    );
}

/// Runs an alert command.
pub async fn run_alert(client: &ApiClient, json: bool, cmd: AlertCommand) -> Result<(), CliError> {
    let one: AlertEntity = match cmd {
        AlertCommand::List {
            status,
            device,
            indicator,
            top,
        } => {
            let mut q = vec![("$top", top.to_string())];
            if let Some(s) = status {
                q.push(("status", s));
            }
            if let Some(d) = device {
                q.push(("deviceId", id("device", &d)?));
            }
            if let Some(i) = indicator {
                q.push(("indicatorId", id("indicator", &i)?));
            }
            let list: AlertList = client.get("/api/alerts", &q).await?;
            if json {
                return table::print_json(&list);
            }
            print_alerts(&list.value);
            return Ok(());
        }
        AlertCommand::Show { id: a } => {
            client
                .get(&format!("/api/alerts/{}", id("alert", &a)?), &[])
                .await?
        }
        AlertCommand::Resolve { id: a } => set_alert(client, &a, "resolved").await?,
        AlertCommand::SetStatus { id: a, status } => set_alert(client, &a, &status).await?,
    };
    if json {
        return table::print_json(&one);
    }
    print_alert(&one);
    Ok(())
}

async fn set_alert(client: &ApiClient, a: &str, status: &str) -> Result<AlertEntity, CliError> {
    client
        .write(
            Method::PATCH,
            &format!("/api/alerts/{}", id("alert", a)?),
            &StatusPatch {
                status: status_arg(status)?,
            },
        )
        .await
}

/// Runs an incident command.
pub async fn run_incident(
    client: &ApiClient,
    json: bool,
    cmd: IncidentCommand,
) -> Result<(), CliError> {
    let one: IncidentEntity = match cmd {
        IncidentCommand::List { status, top } => {
            let mut q = vec![("$top", top.to_string())];
            if let Some(s) = status {
                q.push(("status", s));
            }
            let list: IncidentList = client.get("/api/incidents", &q).await?;
            if json {
                return table::print_json(&list);
            }
            print_incidents(&list.value);
            return Ok(());
        }
        IncidentCommand::Show { id: i } => {
            client
                .get(&format!("/api/incidents/{}", id("incident", &i)?), &[])
                .await?
        }
        IncidentCommand::Resolve { id: i } => set_incident(client, &i, "resolved").await?,
        IncidentCommand::SetStatus { id: i, status } => set_incident(client, &i, &status).await?,
    };
    if json {
        return table::print_json(&one);
    }
    print_incidents(std::slice::from_ref(&one));
    if let Some(alerts) = &one.alerts {
        crate::say!("\nalerts:");
        print_alerts(alerts);
    }
    Ok(())
}

async fn set_incident(
    client: &ApiClient,
    i: &str,
    status: &str,
) -> Result<IncidentEntity, CliError> {
    client
        .write(
            Method::PATCH,
            &format!("/api/incidents/{}", id("incident", i)?),
            &StatusPatch {
                status: status_arg(status)?,
            },
        )
        .await
}

/// Runs `netward timeline`.
pub async fn run_timeline(
    client: &ApiClient,
    json: bool,
    args: TimelineArgs,
) -> Result<(), CliError> {
    let mut q = filters_query(&args.filters);
    q.push(("$top", args.top.to_string()));
    let list: EventList = client
        .get(
            &format!("/api/machines/{}/timeline", id("device", &args.device)?),
            &q,
        )
        .await?;
    if json {
        return table::print_json(&list);
    }
    print_events(&list.value);
    Ok(())
}

/// Runs `netward hunt`.
pub async fn run_hunt(client: &ApiClient, json: bool, args: HuntArgs) -> Result<(), CliError> {
    let mut q = vec![("remoteIp", args.remote_ip)];
    if let Some(f) = args.from {
        q.push(("from", f));
    }
    if let Some(t) = args.to {
        q.push(("to", t));
    }
    let list: ContactList = client.get("/api/hunting/contacts", &q).await?;
    if json {
        return table::print_json(&list);
    }
    let rows: Vec<Vec<String>> = list
        .value
        .iter()
        .map(|c| {
            vec![
                c.device_name.clone(),
                c.device_id.clone(),
                c.process.clone(),
                c.remote_ips.join(", "),
                c.outcomes.join(","),
                c.count.to_string(),
                c.first_seen.clone(),
                c.last_seen.clone(),
            ]
        })
        .collect();
    table::print(
        &[
            "DEVICE",
            "ID",
            "PROCESS",
            "REMOTE",
            "OUTCOMES",
            "COUNT",
            "FIRST SEEN",
            "LAST SEEN",
        ],
        &rows,
    );
    Ok(())
}

/// Runs `netward events`.
pub async fn run_events(client: &ApiClient, json: bool, args: EventsArgs) -> Result<(), CliError> {
    let mut q = filters_query(&args.filters);
    if let Some(d) = &args.device {
        q.push(("deviceId", id("device", d)?));
    }
    if args.follow {
        return follow(client, json, &q).await;
    }
    q.push(("$top", args.top.to_string()));
    let list: EventList = client.get("/api/events", &q).await?;
    if json {
        return table::print_json(&list);
    }
    print_events(&list.value);
    Ok(())
}

/// Prints events as the server streams them: one JSON object per line with `--json`, one
/// tab-separated row per line otherwise.
async fn follow(client: &ApiClient, json: bool, q: &[(&str, String)]) -> Result<(), CliError> {
    let resp = client
        .send_raw(client.request(Method::GET, "/api/events/stream").query(q))
        .await?;
    if !json {
        crate::say!("{}", EVENT_HEADERS.join("\t"));
    }
    let mut body = resp.bytes_stream();
    let mut decoder = SseDecoder::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| CliError::Usage(format!("the event stream broke: {e}")))?;
        let items = decoder
            .push(&chunk)
            .map_err(|e| CliError::Usage(format!("the event stream broke: {e}")))?;
        for item in items {
            let SseItem::Event(SseEvent { event, data, .. }) = item else {
                continue;
            };
            if event != "event" {
                continue;
            }
            if json {
                crate::say!("{data}");
                continue;
            }
            match serde_json::from_str::<EventEntity>(&data) {
                Ok(e) => crate::say!("{}", event_row(&e).join("\t")),
                Err(e) => eprintln!("warning: unreadable event from the server: {e}"),
            }
        }
    }
    Err(CliError::Usage("the server closed the event stream".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_numbers() {
        assert_eq!(id("alert", " 12 ").unwrap(), "12");
        assert!(matches!(id("alert", "12a"), Err(CliError::Usage(_))));
    }
}
