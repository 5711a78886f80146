//! `netward events` (with `--follow`), `netward timeline` and `netward hunt`.

use clap::Args;
use futures_util::StreamExt;
use netward_model::detection::{ContactList, EventEntity, EventList, Outcome};
use netward_model::sse::{SseDecoder, SseEvent, SseItem};
use reqwest::Method;

use super::id;
use crate::args::{self, TimeArg};
use crate::client::ApiClient;
use crate::error::CliError;
use crate::{flags, table};

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
    #[arg(long, value_parser = args::outcome)]
    pub outcome: Option<Outcome>,
    /// Only events active at or after this time: a duration ago (30m, 12h, 7d) or RFC 3339.
    #[arg(long, visible_alias = "since", value_parser = args::time, value_name = "WHEN")]
    pub from: Option<TimeArg>,
    /// Only events that began before this time: a duration ago (30m, 12h, 7d) or RFC 3339.
    #[arg(long, value_parser = args::time, value_name = "WHEN")]
    pub to: Option<TimeArg>,
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
    /// From this time: a duration ago (30m, 12h, 7d) or RFC 3339.
    #[arg(long, visible_alias = "since", value_parser = args::time, value_name = "WHEN")]
    from: Option<TimeArg>,
    /// Until this time: a duration ago (30m, 12h, 7d) or RFC 3339.
    #[arg(long, value_parser = args::time, value_name = "WHEN")]
    to: Option<TimeArg>,
}

fn filters_query(f: &EventFilters) -> Vec<(&'static str, String)> {
    let now = args::now();
    let mut q = Vec::new();
    for (k, v) in [
        ("remoteIp", f.remote_ip.clone()),
        ("indicatorId", f.indicator.clone()),
        ("outcome", f.outcome.map(|o| o.as_str().to_owned())),
        ("from", f.from.map(|t| t.before(now))),
        ("to", f.to.map(|t| t.before(now))),
    ] {
        if let Some(v) = v {
            q.push((k, v));
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

pub(super) fn print_events(list: &[EventEntity]) {
    let rows: Vec<Vec<String>> = list.iter().map(event_row).collect();
    table::print_painted(&EVENT_HEADERS, &rows, 2, table::Paint::outcome);
}

/// Runs `netward timeline`; an error names the flags, not the API's fields.
pub async fn run_timeline(
    client: &ApiClient,
    json: bool,
    args: TimelineArgs,
) -> Result<(), CliError> {
    timeline(client, json, args)
        .await
        .map_err(|e| e.in_terms_of(&flags::DETECTION))
}

/// Runs `netward hunt`; an error names the flags, not the API's fields.
pub async fn run_hunt(client: &ApiClient, json: bool, args: HuntArgs) -> Result<(), CliError> {
    hunt(client, json, args)
        .await
        .map_err(|e| e.in_terms_of(&flags::HUNT))
}

/// Runs `netward events`; an error names the flags, not the API's fields.
pub async fn run_events(client: &ApiClient, json: bool, args: EventsArgs) -> Result<(), CliError> {
    events(client, json, args)
        .await
        .map_err(|e| e.in_terms_of(&flags::DETECTION))
}

async fn timeline(client: &ApiClient, json: bool, args: TimelineArgs) -> Result<(), CliError> {
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

async fn hunt(client: &ApiClient, json: bool, args: HuntArgs) -> Result<(), CliError> {
    let now = args::now();
    let mut q = vec![("remoteIp", args.remote_ip)];
    if let Some(f) = args.from {
        q.push(("from", f.before(now)));
    }
    if let Some(t) = args.to {
        q.push(("to", t.before(now)));
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
    table::print_painted(
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
        4,
        table::Paint::outcome,
    );
    Ok(())
}

async fn events(client: &ApiClient, json: bool, args: EventsArgs) -> Result<(), CliError> {
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
    let colour = !json && table::colour_enabled();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| CliError::Failed(format!("the event stream broke: {e}")))?;
        let items = decoder
            .push(&chunk)
            .map_err(|e| CliError::Failed(format!("the event stream broke: {e}")))?;
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
                Ok(e) => crate::say!(
                    "{}",
                    table::tab_line_painted(&event_row(&e), 2, table::Paint::outcome, colour)
                ),
                Err(e) => eprintln!("warning: unreadable event from the server: {e}"),
            }
        }
    }
    Err(CliError::Failed(
        "the server closed the event stream".into(),
    ))
}
