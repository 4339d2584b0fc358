//! Validation of visitor input: message bodies, attachments, contextual data.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use base64::Engine;
use livechat_protocol::{attachment, error_code, Json, OutgoingAttachment, OutgoingBody};

use crate::config::{Limits, WidgetSettings};
use crate::store::{NewAttachment, NewContent};
use crate::util::random_id;

/// A refusal: error code and message for the error frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// Stable code.
    pub code: &'static str,
    /// Human explanation.
    pub message: String,
}

fn reject(code: &'static str, message: impl Into<String>) -> Reject {
    Reject {
        code,
        message: message.into(),
    }
}

fn depth(v: &Json) -> usize {
    match v {
        Json::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Json::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// Checks contextual data against the limits. Keys such as `__proto__` are plain data here.
pub fn check_metadata(metadata: &BTreeMap<String, Json>, limits: &Limits) -> Result<(), Reject> {
    if metadata.is_empty() {
        return Err(reject(
            error_code::INVALID_METADATA,
            "metadata must not be empty",
        ));
    }
    for (k, v) in metadata {
        if k.is_empty() || k.chars().count() > 256 {
            return Err(reject(
                error_code::INVALID_METADATA,
                "metadata keys must be 1 to 256 characters",
            ));
        }
        if 1 + depth(v) > limits.metadata_max_depth {
            return Err(reject(
                error_code::INVALID_METADATA,
                format!(
                    "metadata is nested deeper than {} levels",
                    limits.metadata_max_depth
                ),
            ));
        }
    }
    let size = serde_json::to_vec(metadata)
        .map(|v| v.len())
        .unwrap_or(usize::MAX);
    if size > limits.metadata_max_bytes {
        return Err(reject(
            error_code::INVALID_METADATA,
            format!(
                "metadata is {size} bytes; the limit is {}",
                limits.metadata_max_bytes
            ),
        ));
    }
    Ok(())
}

fn check_text(text: &str, limits: &Limits, what: &str) -> Result<(), Reject> {
    let n = text.chars().count();
    if n > limits.text_max_chars {
        return Err(reject(
            error_code::INVALID_MESSAGE,
            format!(
                "{what} is {n} characters; the limit is {}",
                limits.text_max_chars
            ),
        ));
    }
    Ok(())
}

/// Validates a message body and writes its attachment (if any) durably into `attachments_dir`.
pub fn prepare_body(
    body: OutgoingBody,
    widget: &WidgetSettings,
    limits: &Limits,
    attachments_dir: &Path,
) -> Result<NewContent, Reject> {
    match body {
        OutgoingBody::Basic { text, attachment } => {
            let text = text.filter(|t| !t.trim().is_empty());
            if let Some(t) = &text {
                check_text(t, limits, "text")?;
            }
            if text.is_none() && attachment.is_none() {
                return Err(reject(
                    error_code::INVALID_MESSAGE,
                    "message needs text or an attachment",
                ));
            }
            let attachment = match attachment {
                Some(a) => Some(prepare_attachment(a, widget, attachments_dir)?),
                None => None,
            };
            Ok(NewContent {
                text,
                attachment,
                ..Default::default()
            })
        }
        OutgoingBody::CustomData {
            custom_data,
            agent_message,
            user_message,
        } => {
            if let Some(t) = &agent_message {
                check_text(t, limits, "agentMessage")?;
            }
            if let Some(t) = &user_message {
                check_text(t, limits, "userMessage")?;
            }
            let size = serde_json::to_vec(&custom_data)
                .map(|v| v.len())
                .unwrap_or(usize::MAX);
            if size > limits.custom_data_max_bytes {
                return Err(reject(
                    error_code::INVALID_MESSAGE,
                    format!(
                        "customData is {size} bytes; the limit is {}",
                        limits.custom_data_max_bytes
                    ),
                ));
            }
            if depth(&custom_data) > limits.metadata_max_depth.max(16) {
                return Err(reject(
                    error_code::INVALID_MESSAGE,
                    "customData is nested too deeply",
                ));
            }
            Ok(NewContent {
                text: user_message,
                attachment: None,
                custom: true,
                custom_data: Some(custom_data),
                agent_message,
            })
        }
    }
}

fn clean_file_name(name: &str) -> Result<String, Reject> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control()).collect();
    let cleaned = cleaned.trim().to_string();
    if cleaned.is_empty() || cleaned == "." || cleaned == ".." {
        return Err(reject(
            error_code::INVALID_MESSAGE,
            "attachment needs a file name",
        ));
    }
    if cleaned.chars().count() > 255 {
        return Err(reject(
            error_code::INVALID_MESSAGE,
            "attachment file name is longer than 255 characters",
        ));
    }
    Ok(cleaned)
}

fn prepare_attachment(
    a: OutgoingAttachment,
    widget: &WidgetSettings,
    dir: &Path,
) -> Result<NewAttachment, Reject> {
    let policy = &widget.attachments;
    let file_name = clean_file_name(&a.file_name)?;
    // The rules the widget applied already (livechat_protocol::attachment), applied again.
    let checked = attachment::check(
        &file_name,
        &a.content,
        &policy.allowed_types,
        policy.max_bytes,
    )
    .map_err(|r| Reject {
        code: r.code(),
        message: r.message(&policy.allowed_types),
    })?;
    let mime = checked.content_type;
    let data = match checked.source {
        attachment::Source::Link(url) => {
            return Ok(NewAttachment {
                id: random_id(),
                file_name,
                content_type: mime,
                size: 0,
                file: None,
                external_url: Some(url.to_string()),
            })
        }
        attachment::Source::Base64(data) => data,
    };
    let compact: String = data.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(&compact))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(&compact))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&compact))
        .map_err(|_| {
            reject(
                error_code::INVALID_MESSAGE,
                "attachment content is not valid base64",
            )
        })?;
    if bytes.is_empty() {
        return Err(reject(error_code::INVALID_MESSAGE, "attachment is empty"));
    }
    if bytes.len() as u64 > policy.max_bytes {
        return Err(reject(
            error_code::ATTACHMENT_REJECTED,
            format!(
                "attachment is {} bytes; the limit is {}",
                bytes.len(),
                policy.max_bytes
            ),
        ));
    }
    let id = random_id();
    let write = || -> std::io::Result<()> {
        let tmp = dir.join(format!("{id}.tmp"));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dir.join(&id))?;
        Ok(())
    };
    write().map_err(|e| {
        reject(
            error_code::INTERNAL,
            format!("could not store attachment: {e}"),
        )
    })?;
    Ok(NewAttachment {
        file: Some(id.clone()),
        id,
        file_name,
        content_type: mime,
        size: bytes.len() as u64,
        external_url: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_limits() {
        let l = Limits::default();
        let mut m = BTreeMap::new();
        m.insert("__proto__".to_string(), json!({"polluted": true}));
        assert!(check_metadata(&m, &l).is_ok());
        let mut deep = json!(1);
        for _ in 0..10 {
            deep = json!({ "a": deep });
        }
        m.insert("deep".into(), deep);
        assert_eq!(check_metadata(&m, &l).unwrap_err().code, "invalid_metadata");
        let mut big = BTreeMap::new();
        big.insert("k".to_string(), json!("x".repeat(20_000)));
        assert_eq!(
            check_metadata(&big, &l).unwrap_err().code,
            "invalid_metadata"
        );
    }
}
