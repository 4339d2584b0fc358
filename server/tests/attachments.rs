//! Attachments: size and type limits, storage, download headers.

mod common;
use common::*;
use serde_json::{json, Value};

async fn send_attachment(c: &mut Client, req: &str, file_name: &str, content: &str) -> Value {
    c.send(
        json!({"type": "send", "req": req, "body": {"kind": "BASIC", "text": "see attached",
        "attachment": {"file_name": file_name, "content": content}}}),
    )
    .await;
    c.recv_type_for(req).await
}

#[tokio::test]
async fn attachments_are_stored_and_served_as_downloads() {
    let s = TestServer::new().await;
    let (mut c, _, _) = s.visitor(SINGLE).await;
    let png = b"\x89PNG\r\n\x1a\n fake png bytes";
    let ack = send_attachment(
        &mut c,
        "a1",
        "../../etc/shot.png",
        &format!("data:image/png;base64,{}", b64(png)),
    )
    .await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let att = &ack["message"]["attachment"];
    assert_eq!(att["file_name"], "shot.png", "path components are stripped");
    assert_eq!(att["content_type"], "image/png");
    assert_eq!(att["size"], png.len());
    let url = att["url"].as_str().unwrap();
    assert!(url.starts_with("/v1/attachments/"));
    assert_eq!(
        url.len(),
        "/v1/attachments/".len() + 32,
        "128-bit random id"
    );

    let r = s.http("GET", url, &[], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, png);
    assert_eq!(r.header("content-type"), Some("image/png"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(r
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment; filename=\"shot.png\""));

    // Bare base64 with the type taken from the extension.
    let ack = send_attachment(&mut c, "a2", "notes.txt", &b64(b"hello")).await;
    assert_eq!(ack["message"]["attachment"]["content_type"], "text/plain");
    let r = s
        .http(
            "GET",
            ack["message"]["attachment"]["url"].as_str().unwrap(),
            &[],
            None,
        )
        .await;
    assert_eq!(r.body, b"hello");

    // The agent sees the attachment too.
    let t = ack["message"]["thread_id"].as_str().unwrap();
    let m = s
        .agent_get(&format!("/v1/conversations/{t}/messages"))
        .await
        .json();
    assert_eq!(m["messages"][0]["attachment"]["file_name"], "shot.png");

    // Unknown ids are 404.
    assert_eq!(
        s.http(
            "GET",
            "/v1/attachments/00000000000000000000000000000000",
            &[],
            None
        )
        .await
        .status,
        404
    );
    assert_eq!(
        s.http("GET", "/v1/attachments/..%2F..%2Fetc", &[], None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn attachment_limits_are_enforced() {
    let s = TestServer::new().await;
    let (mut c, _, _) = s.visitor(SINGLE).await;
    // Too large (widget limit 1000 bytes).
    let e = send_attachment(
        &mut c,
        "big",
        "big.png",
        &format!("data:image/png;base64,{}", b64(&[7u8; 1001])),
    )
    .await;
    assert_eq!(e["code"], "attachment_rejected");
    // Type not allowed, by data URL type…
    let e = send_attachment(
        &mut c,
        "html",
        "page.png",
        &format!("data:text/html;base64,{}", b64(b"<script>")),
    )
    .await;
    assert_eq!(e["code"], "attachment_rejected");
    // …or by extension, even when the data URL claims an allowed type.
    let e = send_attachment(
        &mut c,
        "exe",
        "setup.exe",
        &format!("data:image/png;base64,{}", b64(b"MZ")),
    )
    .await;
    assert_eq!(e["code"], "attachment_rejected");
    let e = send_attachment(&mut c, "pdf", "doc.pdf", &b64(b"%PDF")).await;
    assert_eq!(e["code"], "attachment_rejected");
    // Broken content.
    let e = send_attachment(&mut c, "b64", "x.png", "data:image/png;base64,@@@").await;
    assert_eq!(e["code"], "invalid_message");
    let e = send_attachment(&mut c, "noname", "", &b64(b"x")).await;
    assert_eq!(e["code"], "invalid_message");
    // Exactly at the limit is fine.
    let ok = send_attachment(
        &mut c,
        "edge",
        "edge.png",
        &format!("data:image/png;base64,{}", b64(&[7u8; 1000])),
    )
    .await;
    assert_eq!(ok["type"], "ack");
    // Nothing refused was stored.
    let t = ok["message"]["thread_id"].as_str().unwrap();
    let m = s
        .agent_get(&format!("/v1/conversations/{t}/messages"))
        .await
        .json();
    assert_eq!(m["messages"].as_array().unwrap().len(), 1);
    let files = std::fs::read_dir(s.dir.path().join("attachments"))
        .unwrap()
        .count();
    assert_eq!(files, 1);
}
