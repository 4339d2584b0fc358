//! HS256 JWT verification for `auth` (and minting for the demo endpoint).
//!
//! Rules: `alg` must be HS256; `ski` (claim, or header as a fallback) selects the widget key;
//! `iss` must equal the widget id; `exp` required and in the future; `iat` required and not
//! more than [`IAT_LEEWAY_SECS`] in the future; `jti` required (single use is enforced by the
//! store); `stp` ∈ email | msisdn | externalPersonId; `sub` non-empty.

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::config::WidgetSettings;

/// Allowed clock skew for `iat`, seconds.
pub const IAT_LEEWAY_SECS: u64 = 60;

/// Subject types accepted in `stp`.
pub const SUBJECT_TYPES: [&str; 3] = ["email", "msisdn", "externalPersonId"];

/// A verified token.
#[derive(Debug, Clone)]
pub struct Verified {
    /// `sub`.
    pub subject: String,
    /// `stp`.
    pub subject_type: String,
    /// `jti`.
    pub jti: String,
    /// `exp`, seconds since the epoch.
    pub exp: u64,
}

fn b64(s: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(s)
        .or_else(|_| URL_SAFE.decode(s))
        .map_err(|_| "token is not base64url".into())
}

fn num(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, String> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f >= 0.0 && f.is_finite() => Ok(Some(f as u64)),
            _ => Err(format!("{name} must be a non-negative number")),
        },
        Some(_) => Err(format!("{name} must be a number")),
    }
}

fn string<'a>(claims: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, String> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{name} must be a string")),
    }
}

/// Verifies `token` for `widget` at `now_secs`. The error names the broken rule, never a secret.
pub fn verify(token: &str, widget: &WidgetSettings, now_secs: u64) -> Result<Verified, String> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("token must have three dot-separated parts".into());
    };
    let header: Map<String, Value> = serde_json::from_slice(&b64(h)?)
        .map_err(|_| "token header is not a JSON object".to_string())?;
    match header.get("alg").and_then(Value::as_str) {
        Some("HS256") => {}
        Some(other) => return Err(format!("alg must be HS256, not {other}")),
        None => return Err("alg must be HS256".into()),
    }
    let claims: Map<String, Value> = serde_json::from_slice(&b64(p)?)
        .map_err(|_| "token payload is not a JSON object".to_string())?;
    let ski = match string(&claims, "ski")? {
        Some(s) => s.to_string(),
        None => match header
            .get("ski")
            .or_else(|| header.get("kid"))
            .and_then(Value::as_str)
        {
            Some(s) => s.to_string(),
            None => return Err("ski is required".into()),
        },
    };
    let key = widget
        .secret_keys
        .iter()
        .find(|k| k.ski == ski)
        .ok_or_else(|| "ski does not name a key of this widget".to_string())?;
    let secret = key
        .bytes()
        .ok_or_else(|| "ski does not name a usable key".to_string())?;
    let sig = b64(s)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret).map_err(|_| "bad key".to_string())?;
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(p.as_bytes());
    // `verify_slice` compares in constant time.
    mac.verify_slice(&sig)
        .map_err(|_| "signature does not verify (wrong key?)".to_string())?;

    match string(&claims, "iss")? {
        Some(iss) if iss == widget.id => {}
        Some(_) => return Err("iss must equal the widget id".into()),
        None => return Err("iss is required".into()),
    }
    let exp = num(&claims, "exp")?.ok_or_else(|| "exp is required".to_string())?;
    if exp <= now_secs {
        return Err("exp has passed (token expired)".into());
    }
    let iat = num(&claims, "iat")?.ok_or_else(|| "iat is required".to_string())?;
    if iat > now_secs + IAT_LEEWAY_SECS {
        return Err("iat is in the future".into());
    }
    let jti = match string(&claims, "jti")? {
        Some(j) if !j.is_empty() => j.to_string(),
        _ => return Err("jti is required".into()),
    };
    let stp = match string(&claims, "stp")? {
        Some(t) if SUBJECT_TYPES.contains(&t) => t.to_string(),
        Some(_) => return Err("stp must be email, msisdn or externalPersonId".into()),
        None => return Err("stp is required".into()),
    };
    let sub = match string(&claims, "sub")? {
        Some(s) if !s.trim().is_empty() => s.to_string(),
        _ => return Err("sub must be non-empty".into()),
    };
    Ok(Verified {
        subject: sub,
        subject_type: stp,
        jti,
        exp,
    })
}

/// Signs `claims` with HS256 and `secret` (used by the demo mint endpoint and tests).
pub fn sign_hs256(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let h = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap_or_default());
    let p = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("hmac accepts any key length");
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(p.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{h}.{p}.{sig}")
}
