//! Bulk import (`POST /api/indicators/import`, the console's import page): a body in MDE's
//! JSON batch, MDE's CSV template or a plain list is read row by row, each row validated on
//! its own (a bad row fails alone and is reported), and the valid rows stored in chunks inside
//! one transaction, so that memory stays bounded and nothing is half-applied on a failure.
//! One summary audit entry records the import; each indicator it touched carries its id.

use axum::body::Bytes;
use netward_model::import::{self, ImportError, ImportRow};
use netward_model::wire::ImportResult;
use netward_model::{Actor, FieldError, IndicatorDraft, IndicatorSubmission};

use crate::control::{ControlError, ControlPlane};
use crate::indicators::{DraftRefusal, logged};
use crate::policy_log::{self, History, LogEntry};
use crate::store::{Change, ImportSource, ImportSummary};

/// Valid rows validated, then stored, at a time: what bounds an import's memory.
const CHUNK_ROWS: usize = 50_000;

/// The body formats `POST /api/indicators/import` takes.
#[derive(Clone, Debug)]
pub enum ImportFormat {
    /// `{"Indicators": [...]}`.
    Json,
    /// MDE's CSV template.
    Csv,
    /// One value per line; the other fields come from these defaults.
    List(Box<IndicatorSubmission>),
}

impl ImportFormat {
    /// The name the summary audit entry gives the format.
    fn name(&self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Csv => "csv",
            Self::List(_) => "list",
        }
    }
}

/// What became of an import: its id, and one result per item, in order, kept compact (a
/// million rows are a few tens of megabytes) and turned into [`ImportResult`]s one at a time.
#[derive(Debug)]
pub struct ImportReport {
    /// The import's id (its audit entry's id and the policy version it made).
    pub import_id: i64,
    rows: Vec<ReportRow>,
}

#[derive(Debug)]
struct ReportRow {
    line: Option<u64>,
    value: Box<str>,
    outcome: RowOutcome,
}

#[derive(Debug)]
enum RowOutcome {
    /// Stored as this indicator (0 until its chunk is stored).
    Stored(i64),
    /// Refused, and why.
    Failed(Box<str>),
}

impl ImportReport {
    /// Items read.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the body held no items.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Items refused.
    pub fn failed(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| matches!(r.outcome, RowOutcome::Failed(_)))
            .count()
    }

    /// The result of each item, in order.
    pub fn results(&self) -> impl Iterator<Item = ImportResult> + '_ {
        self.results_from(0)
    }

    /// The results from item `first` (0-based) on, without building those before it.
    pub fn results_from(&self, first: usize) -> impl Iterator<Item = ImportResult> + '_ {
        self.rows.get(first..).unwrap_or_default().iter().map(|r| {
            let (id, failure_reason) = match &r.outcome {
                RowOutcome::Stored(id) => (Some(id.to_string()), None),
                RowOutcome::Failed(why) => (None, Some(why.to_string())),
            };
            ImportResult {
                is_failed: failure_reason.is_some(),
                id,
                indicator: r.value.to_string(),
                failure_reason,
                line: r.line,
            }
        })
    }
}

impl ControlPlane {
    /// Imports a body: every item gets a result; valid items are stored in one transaction,
    /// under one policy version and one summary audit entry.
    pub async fn import_indicators(
        &self,
        body: Bytes,
        format: ImportFormat,
        force: bool,
        actor: Actor,
    ) -> Result<ImportReport, ControlError> {
        self.blocking(move |cp| {
            let started = std::time::Instant::now();
            let summary_format = format.name();
            let refused = |e: ImportError| {
                tracing::debug!(error = %e, "Import body refused.");
                let field = match e {
                    ImportError::JsonShape(_) => "Indicators",
                    ImportError::CsvHeader(_) => "header",
                };
                ControlError::Invalid(FieldError::new(field, e.to_string()))
            };
            let rows: Box<dyn Iterator<Item = ImportRow> + Send + '_> = match &format {
                ImportFormat::Json => Box::new(import::json_rows(&body).map_err(refused)?),
                ImportFormat::Csv => Box::new(import::csv_rows(&body).map_err(refused)?),
                ImportFormat::List(defaults) => Box::new(import::list_rows(&body, defaults)),
            };
            let now = cp.now();
            let reader = ChunkReader {
                cp,
                rows,
                force,
                now,
                groups: cp.group_names()?,
            };
            let change = Change {
                actor: &actor,
                at: now,
            };
            // Reading and validating run on a thread of their own, a chunk ahead of the
            // store, so that an import costs about the store's time rather than the sum.
            let (chunks_out, chunks_in) = std::sync::mpsc::sync_channel(1);
            let (stored, source) = std::thread::scope(|scope| {
                scope.spawn(move || reader.run(&chunks_out));
                let mut source = RowSource {
                    chunks: chunks_in,
                    format: summary_format,
                    report: Vec::new(),
                    chunk_slots: Vec::new(),
                    history: Some(Vec::new()),
                    waited: std::time::Duration::ZERO,
                };
                let stored = cp.policy_change_with(|| {
                    let stored = cp.store.import_indicators(&mut source, &change)?;
                    let history = match source.history.take() {
                        Some(entries) => History::Entries(entries),
                        None => History::TooLarge,
                    };
                    Ok((stored, history))
                });
                // Dropping the receiver ends the reader early when the store failed.
                (stored, source)
            });
            let stored = stored?;
            let report = ImportReport {
                import_id: stored.import_id,
                rows: source.report,
            };
            tracing::info!(
                actor = %actor.name,
                import_id = stored.import_id,
                format = summary_format,
                items = report.len(),
                created = stored.created,
                updated = stored.updated,
                waited_for_rows_ms = source.waited.as_millis(),
                elapsed_ms = started.elapsed().as_millis(),
                "Import applied."
            );
            Ok(report)
        })
        .await
    }
}

/// One chunk of an import as read and validated: every item's report row, and the drafts of
/// the valid ones with where their rows are.
struct ReadChunk {
    rows: Vec<ReportRow>,
    drafts: Vec<IndicatorDraft>,
    slots: Vec<usize>,
}

/// Reads and validates an import's rows, a chunk at a time, for [`RowSource`].
struct ChunkReader<'a> {
    cp: &'a ControlPlane,
    rows: Box<dyn Iterator<Item = ImportRow> + Send + 'a>,
    force: bool,
    now: i64,
    groups: std::collections::HashSet<String>,
}

impl ChunkReader<'_> {
    /// Sends chunks until the rows run out or the store stops listening.
    fn run(mut self, out: &std::sync::mpsc::SyncSender<ReadChunk>) {
        loop {
            let mut chunk = ReadChunk {
                rows: Vec::with_capacity(CHUNK_ROWS),
                drafts: Vec::with_capacity(CHUNK_ROWS),
                slots: Vec::with_capacity(CHUNK_ROWS),
            };
            while chunk.drafts.len() < CHUNK_ROWS {
                let Some(row) = self.rows.next() else { break };
                let outcome = match self.validate(row.parsed) {
                    Ok(draft) => {
                        chunk.slots.push(chunk.rows.len());
                        chunk.drafts.push(draft);
                        RowOutcome::Stored(0)
                    }
                    Err(why) => RowOutcome::Failed(why.into_boxed_str()),
                };
                chunk.rows.push(ReportRow {
                    line: row.line,
                    value: row.raw_value.into_boxed_str(),
                    outcome,
                });
            }
            let last = chunk.drafts.len() < CHUNK_ROWS;
            if chunk.rows.is_empty() || out.send(chunk).is_err() || last {
                return;
            }
        }
    }

    fn validate(
        &self,
        parsed: Result<IndicatorSubmission, FieldError>,
    ) -> Result<IndicatorDraft, String> {
        let draft = parsed
            .and_then(|s| s.validate(self.now))
            .map_err(|f| f.to_string())?;
        self.cp
            .check_draft(&draft, self.force, &self.groups)
            .map_err(|e: DraftRefusal| e.to_string())?;
        Ok(draft)
    }
}

/// The store's side of an import: chunks as the reader sends them, and what became of each
/// item.
struct RowSource {
    chunks: std::sync::mpsc::Receiver<ReadChunk>,
    format: &'static str,
    report: Vec<ReportRow>,
    /// Where in `report` each draft of the current chunk is.
    chunk_slots: Vec<usize>,
    /// What changed, for agents' deltas; `None` once it outgrows the policy log.
    history: Option<Vec<LogEntry>>,
    /// Time the store waited for the reader.
    waited: std::time::Duration,
}

impl ImportSource for RowSource {
    fn next_chunk(&mut self) -> Option<Vec<IndicatorDraft>> {
        loop {
            let started = std::time::Instant::now();
            let chunk = self.chunks.recv().ok();
            self.waited += started.elapsed();
            let chunk = chunk?;
            let base = self.report.len();
            self.report.extend(chunk.rows);
            self.chunk_slots = chunk.slots.into_iter().map(|s| base + s).collect();
            if !chunk.drafts.is_empty() {
                return Some(chunk.drafts);
            }
        }
    }
    fn stored(&mut self, drafts: &[IndicatorDraft], ids: &[i64]) {
        for (slot, id) in self.chunk_slots.iter().zip(ids) {
            if let Some(row) = self.report.get_mut(*slot) {
                row.outcome = RowOutcome::Stored(*id);
            }
        }
        if let Some(entries) = &mut self.history {
            if entries.len() + drafts.len() > policy_log::CAPACITY {
                // Agents behind this import get a snapshot: a delta this large would be
                // dropped by the log anyway.
                self.history = None;
            } else {
                entries.extend(
                    ids.iter()
                        .zip(drafts)
                        .map(|(id, d)| LogEntry::Upsert(logged(*id, d))),
                );
            }
        }
    }

    fn summary(&self) -> ImportSummary {
        ImportSummary {
            format: self.format,
            items: self.report.len() as u64,
            failed: self
                .report
                .iter()
                .filter(|r| matches!(r.outcome, RowOutcome::Failed(_)))
                .count() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test should fail loudly")]

    use super::*;

    fn source() -> RowSource {
        let (_, chunks) = std::sync::mpsc::sync_channel(1);
        RowSource {
            chunks,
            format: "list",
            report: Vec::new(),
            chunk_slots: Vec::new(),
            history: Some(Vec::new()),
            waited: std::time::Duration::ZERO,
        }
    }

    fn draft(i: u32) -> IndicatorDraft {
        IndicatorSubmission {
            indicator_value: Some(std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string()),
            action: Some("Block".into()),
            title: Some("t".into()),
            ..Default::default()
        }
        .validate(0)
        .unwrap()
    }

    #[test]
    fn an_import_larger_than_the_policy_log_forces_snapshots_instead_of_a_delta() {
        let mut small = source();
        let drafts: Vec<_> = (0..3).map(draft).collect();
        small.stored(&drafts, &[1, 2, 3]);
        assert_eq!(small.history.as_ref().map(Vec::len), Some(3));

        let mut large = source();
        let chunk: Vec<_> = (0..50_000).map(draft).collect();
        let ids: Vec<i64> = (0..50_000).collect();
        for _ in 0..policy_log::CAPACITY / 50_000 {
            large.stored(&chunk, &ids);
        }
        assert_eq!(
            large.history.as_ref().map(Vec::len),
            Some(policy_log::CAPACITY),
            "up to the log's capacity, every change is kept"
        );
        large.stored(&chunk[..1], &ids[..1]);
        assert!(large.history.is_none(), "one more, and none is");
    }
}
