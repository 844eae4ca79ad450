//! Turning the vendor's error bodies into one line a spreadsheet user can read.

use crate::api::types::{ErrorBody, ValidationIssue};

/// The message of an error answer: the vendor's `ValidationError` paths in
/// words (`name: too long (maxLength)`), a `BadRequestError`'s messages, the
/// plain `message`, or, for a body that is not the vendor's shape, the
/// status with the start of the body. Also returns the body's `trackingId`.
pub fn error_message(status: u16, body: &[u8]) -> (String, Option<String>) {
    let (message, trace) = unscrubbed_message(status, body);
    (crate::secrets::scrub(&message).into_owned(), trace)
}

/// [`error_message`] before the known secrets are hidden: the server may
/// quote the request (its body, its `Authorization` header).
fn unscrubbed_message(status: u16, body: &[u8]) -> (String, Option<String>) {
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        let text = String::from_utf8_lossy(body);
        let text: String = text.trim().chars().take(200).collect();
        let message = if text.is_empty() {
            format!("HTTP {status}")
        } else {
            format!("HTTP {status}: {text}")
        };
        return (message, None);
    };
    let trace = Some(parsed.tracking_id.clone()).filter(|t| !t.is_empty());
    let error = &parsed.error;
    let mut parts: Vec<String> = Vec::new();
    if let Some(payload) = &error.payload {
        if let Some(issues) = &payload.validation_errors {
            parts.extend(issues.iter().map(describe_issue));
        }
        if let Some(errors) = &payload.errors {
            parts.extend(
                errors
                    .iter()
                    .map(|e| e.message.clone())
                    .filter(|m| !m.is_empty()),
            );
        }
    }
    if parts.is_empty() {
        if let Some(m) = error.message.as_ref().filter(|m| !m.is_empty()) {
            parts.push(m.clone());
        }
    }
    let detail = if parts.is_empty() {
        error.name.clone()
    } else {
        parts.join("; ")
    };
    let message = if detail.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {detail}")
    };
    (message, trace)
}

fn describe_issue(issue: &ValidationIssue) -> String {
    let words = match issue.keyword.as_str() {
        "maxLength" => "too long",
        "minLength" => "too short",
        "required" => "missing",
        "type" => "of the wrong type",
        "enum" => "not one of the allowed values",
        "additionalProperties" => "not a known field",
        "pattern" | "format" => "in the wrong format",
        "minimum" | "exclusiveMinimum" => "too small",
        "maximum" | "exclusiveMaximum" => "too large",
        "exists" | "reference" | "notFound" => "refers to a record that does not exist",
        _ => "not accepted",
    };
    let path = issue
        .path
        .trim_start_matches(['/', '.', '$'])
        .replace('/', ".");
    let path = if path.is_empty() {
        "body".to_string()
    } else {
        path
    };
    let mut s = format!("{path}: {words} ({})", issue.keyword);
    if let Some(m) = issue.message.as_ref().filter(|m| !m.is_empty()) {
        s.push_str(&format!(", {m}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_errors_in_words() {
        let body = br#"{"error":{"name":"ValidationError","payload":{"validationErrors":[
            {"path":"name","keyword":"maxLength"},{"path":"/category/id","keyword":"required"}]}},
            "trackingId":"abc-1"}"#;
        let (m, t) = error_message(400, body);
        assert_eq!(
            m,
            "HTTP 400: name: too long (maxLength); category.id: missing (required)"
        );
        assert_eq!(t.as_deref(), Some("abc-1"));
    }

    #[test]
    fn other_shapes() {
        let (m, _) = error_message(
            400,
            br#"{"error":{"name":"BadRequestError","payload":{"errors":[{"type":"x","message":"bad unit","arguments":{}}]}},"trackingId":""}"#,
        );
        assert_eq!(m, "HTTP 400: bad unit");
        let (m, t) = error_message(
            403,
            br#"{"error":{"name":"ForbiddenError","message":"missing scope"},"trackingId":"t"}"#,
        );
        assert_eq!(
            (m.as_str(), t.as_deref()),
            ("HTTP 403: missing scope", Some("t"))
        );
        assert_eq!(
            error_message(418, b"  I'm a teapot ").0,
            "HTTP 418: I'm a teapot"
        );
        assert_eq!(error_message(404, b"").0, "HTTP 404");
    }
}
