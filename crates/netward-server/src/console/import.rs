//! `/indicators/import`: a file in MDE's CSV template or a plain list, through the same
//! `ControlPlane::import_indicators` as `POST /api/indicators/import`; one result per row.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, Render, html};
use netward_model::{IndicatorSubmission, Role};

use super::error::PageError;
use super::html::{Notice, TextField, Viewer, notice, page, select_field, table};
use super::user::User;
use crate::control::{ControlError, ControlPlane};
use crate::import::ImportFormat;

/// The import form, below `result` (a notice, or nothing).
fn import_form(viewer: &Viewer, result: Option<Markup>) -> Markup {
    html! {
        @if let Some(result) = result {
            (result)
        }
        form method="post" action="/indicators/import" enctype="multipart/form-data" class="card" {
            (viewer.csrf_field())
            div class="field" {
                label for="file" { "File: MDE's CSV template, or one address or range per line" }
                input type="file" id="file" name="file" required;
            }
            (select_field(
                "format",
                "Format",
                &[("csv", "CSV (MDE's template)"), ("list", "List (one value per line)")],
                "csv",
                None
            ))
            (select_field(
                "action",
                "Action, for a list",
                &[("block", "Block"), ("audit", "Audit"), ("allow", "Allow")],
                "block",
                None
            ))
            (TextField::new("title", "Title, for a list"))
            button type="submit" { "Import" }
        }
    }
}

/// `GET /indicators/import`.
pub(super) async fn form_page(u: User) -> Result<Markup, PageError> {
    u.require(Role::Analyst)?;
    Ok(page(
        "Import indicators",
        "/indicators",
        Some(&u.viewer),
        import_form(&u.viewer, None),
    ))
}

/// The fields of the multipart form, with the defaults the form shows.
struct Upload {
    csrf: String,
    format: String,
    action: String,
    title: String,
    file: Vec<u8>,
}

impl Upload {
    async fn read(multipart: &mut Multipart) -> Result<Self, PageError> {
        let mut upload = Upload {
            csrf: String::new(),
            format: "csv".to_owned(),
            action: "block".to_owned(),
            title: String::new(),
            file: Vec::new(),
        };
        while let Ok(Some(field)) = multipart.next_field().await {
            let name = field.name().unwrap_or("").to_owned();
            let bytes = field.bytes().await.map_err(|e| {
                PageError::Shown(
                    StatusCode::BAD_REQUEST,
                    format!("cannot read the upload: {e}"),
                )
            })?;
            let text = || String::from_utf8_lossy(&bytes).trim().to_owned();
            match name.as_str() {
                "csrf" => upload.csrf = text(),
                "format" => upload.format = text(),
                "action" => upload.action = text(),
                "title" => upload.title = text(),
                "file" => upload.file = bytes.to_vec(),
                _ => {}
            }
        }
        Ok(upload)
    }

    /// How to read the file: a list takes its action and title from the form.
    fn format(&self) -> ImportFormat {
        match self.format.as_str() {
            "list" => ImportFormat::List(Box::new(IndicatorSubmission {
                action: Some(self.action.clone()),
                title: Some(if self.title.is_empty() {
                    "imported".into()
                } else {
                    self.title.clone()
                }),
                ..IndicatorSubmission::default()
            })),
            _ => ImportFormat::Csv,
        }
    }
}

/// `POST /indicators/import`: one result per row; bad rows fail alone.
pub(super) async fn upload(
    State(cp): State<ControlPlane>,
    u: User,
    mut multipart: Multipart,
) -> Result<Response, PageError> {
    u.require(Role::Analyst)?;
    let upload = Upload::read(&mut multipart).await?;
    u.check(&upload.csrf)?;
    let kind = upload.format();
    let results = match cp
        .import_indicators(upload.file.into(), kind, false, u.actor())
        .await
    {
        Ok(r) => r,
        Err(ControlError::Invalid(f)) => {
            let form = import_form(&u.viewer, Some(notice(Notice::Error, &f.to_string())));
            return Ok((
                StatusCode::BAD_REQUEST,
                page("Import indicators", "/indicators", Some(&u.viewer), form),
            )
                .into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let failed = results.failed();
    let rows: Vec<Vec<Markup>> = results
        .results()
        .map(|r| {
            vec![
                r.line.map_or("-".into(), |l| l.to_string()).render(),
                r.indicator.render(),
                if r.is_failed {
                    html! { span class="outcome blocked" { "failed" } }
                } else {
                    html! { span class="outcome allowed" { "applied" } }
                },
                r.failure_reason.as_deref().unwrap_or("").render(),
            ]
        })
        .collect();
    let summary = notice(
        if failed == 0 {
            Notice::Ok
        } else {
            Notice::Error
        },
        &format!(
            "{} of {} rows applied; {failed} failed.",
            results.len() - failed,
            results.len()
        ),
    );
    let body = html! {
        (summary)
        (table("One result per row", &["Line", "Value", "Result", "Reason"], &rows, ""))
    };
    Ok(page("Import results", "/indicators", Some(&u.viewer), body).into_response())
}
