//! The stored format, pinned for both SQL backends: a fixed conversation (visitor, queued
//! contextual data, messages, sign-in, agent reply, status change) is stored through the
//! service, then the schema and every row are dumped, random ids replaced by their role,
//! and compared with `server/tests/snapshots/stored_{sqlite,postgres}.txt`. A change to
//! the schema or to what a rule writes shows up here; a deliberate one needs a new
//! migration and `UPDATE_SNAPSHOTS=1 cargo test -p livechat-server --test stored_format`.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use livechat_protocol::{Customer, Json, MultiThreadStrategy, OutgoingBody, ThreadStatus};
use livechat_server::config::Config;
use livechat_server::service::{AuthRequest, SendOutcome, Service};
use livechat_server::store::Store;

const T0: u64 = 1_790_000_000_000;

/// Runs the scenario; returns (random value → placeholder) for everything it generated.
fn scenario(store: Arc<dyn Store>) -> Vec<(String, String)> {
    let config = Arc::new(Config::from_toml_str(&common::config_toml("")).expect("config"));
    let s = Service::new(store, config);
    let w = s.config.widget(common::MULTI).expect("widget").clone();
    let mut names = Vec::new();
    let opened = s.open_session(&w, None, T0).expect("session");
    names.push((opened.principal.id.clone(), "<visitor>".to_string()));
    names.push((opened.token_hash.clone(), "<visitor-token-hash>".to_string()));
    let p = opened.principal;
    let md: BTreeMap<String, Json> = [("cart".to_string(), Json::from(3))].into();
    let c = s.prepare_context(&w, p.id.clone(), "ctx-1".into(), md, MultiThreadStrategy::AllPlusNew, T0 + 1).unwrap();
    futures::executor::block_on(s.contextual_data(c)).expect("context");
    let dir = std::env::temp_dir();
    let send = |req: &str, text: &str, new_thread: bool, t: u64, names: &mut Vec<(String, String)>| {
        let body: OutgoingBody = serde_json::from_value(serde_json::json!({"kind": "BASIC", "text": text})).unwrap();
        let r = s.prepare_send(&w, p.id.clone(), req.into(), None, new_thread, body, &dir, t).unwrap();
        match futures::executor::block_on(s.send(r)).expect("send") {
            SendOutcome::Stored { message, .. } => {
                if !names.iter().any(|(id, _)| *id == message.thread_id) {
                    let n = names.iter().filter(|(_, v)| v.starts_with("<thread")).count() + 1;
                    names.push((message.thread_id.clone(), format!("<thread{n}>")));
                }
                names.push((message.id.clone(), format!("<message:{req}>")));
                message.thread_id
            }
            SendOutcome::Duplicate { .. } => panic!("fresh request"),
        }
    };
    let t1 = send("m-1", "hello", false, T0 + 10, &mut names);
    send("m-2", "a second thread", true, T0 + 20, &mut names);
    let customer = s
        .authenticate(AuthRequest {
            widget_id: w.id.clone(),
            multi_thread: true,
            from: p.clone(),
            old_token_hash: None,
            new_token_hash: "customer-token-hash".into(),
            customer: Customer { subject: "erin@example.com".into(), subject_type: "email".into() },
            jti: "jti-1".into(),
            jti_exp_ms: T0 + 300_000,
            auth_expires_ms: Some(T0 + 300_000),
            recent_messages: 50,
            now: T0 + 30,
        })
        .expect("auth");
    names.push((customer.id.clone(), "<customer>".to_string()));
    let reply = s.agent_reply(&t1, "Ann", "hi, how can I help?", T0 + 40).expect("reply");
    names.push((reply.message.id.clone(), "<message:agent>".to_string()));
    s.set_status(&t1, ThreadStatus::Solved, T0 + 50).expect("status");
    names
}

fn normalize(dump: &str, names: &[(String, String)]) -> String {
    let mut out = dump.to_string();
    for (id, name) in names {
        out = out.replace(id.as_str(), name);
    }
    out
}

fn compare(name: &str, got: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if want != got {
        let diff: Vec<String> = want
            .lines()
            .zip(got.lines())
            .filter(|(a, b)| a != b)
            .take(5)
            .map(|(a, b)| format!("- {a}\n+ {b}"))
            .collect();
        panic!(
            "stored format changed ({} vs {} lines); first differences:\n{}\n(a deliberate change needs a migration and UPDATE_SNAPSHOTS=1)",
            want.lines().count(),
            got.lines().count(),
            diff.join("\n")
        );
    }
}

#[test]
fn sqlite_stored_format() {
    let dir = tempfile::tempdir().unwrap();
    let store = livechat_server::store::sqlite::SqliteStore::open(dir.path()).unwrap();
    let names = scenario(Arc::new(store));
    let c = rusqlite::Connection::open(dir.path().join("livechat.sqlite3")).unwrap();
    let mut dump = String::from("# schema\n");
    let tables: Vec<(String, String)> = {
        let mut st = c
            .prepare("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'refinery%' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap();
        let v = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().collect::<Result<_, _>>().unwrap();
        v
    };
    for (_, sql) in &tables {
        dump.push_str(&sql.split_whitespace().collect::<Vec<_>>().join(" "));
        dump.push('\n');
    }
    let versions: Vec<String> = {
        let mut st = c.prepare("SELECT version || ' ' || name FROM refinery_schema_history ORDER BY version").unwrap();
        let v = st.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
        v
    };
    dump.push_str(&format!("# migrations\n{}\n# rows\n", versions.join("\n")));
    let table_names: Vec<String> = {
        let mut st = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'refinery%' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .unwrap();
        let v = st.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap();
        v
    };
    for t in table_names {
        let mut st = c.prepare(&format!("SELECT * FROM {t}")).unwrap();
        let cols: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
        let mut rows: Vec<String> = st
            .query_map([], |r| {
                let mut fields = Vec::new();
                for (i, col) in cols.iter().enumerate() {
                    let v = match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => "NULL".to_string(),
                        rusqlite::types::ValueRef::Integer(n) => n.to_string(),
                        rusqlite::types::ValueRef::Real(x) => x.to_string(),
                        rusqlite::types::ValueRef::Text(s) => format!("{:?}", String::from_utf8_lossy(s)),
                        rusqlite::types::ValueRef::Blob(b) => format!("<{} bytes>", b.len()),
                    };
                    fields.push(format!("{col}={v}"));
                }
                Ok(fields.join(" "))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows = rows.into_iter().map(|r| normalize(&r, &names)).collect();
        rows.sort();
        for r in rows {
            dump.push_str(&format!("{t}: {r}\n"));
        }
    }
    compare("stored_sqlite.txt", &dump);
}

#[test]
fn postgres_stored_format() {
    let url = common::pg::shared().fresh_database();
    let store = livechat_server::store::postgres::PostgresStore::open(&url).unwrap();
    let names = scenario(Arc::new(store));
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let dump = rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(conn);
        let q = |sql: &'static str| {
            let client = &client;
            async move {
                client
                    .query(sql, &[])
                    .await
                    .unwrap()
                    .iter()
                    .map(|r| r.get::<_, String>(0))
                    .collect::<Vec<String>>()
            }
        };
        let mut dump = String::from("# schema\n");
        for l in q("SELECT table_name || '.' || column_name || ' ' || data_type || CASE WHEN is_nullable = 'NO' THEN ' NOT NULL' ELSE '' END \
                    || COALESCE(' DEFAULT ' || column_default, '') FROM information_schema.columns \
                    WHERE table_schema = 'public' AND table_name NOT LIKE 'refinery%' ORDER BY table_name, ordinal_position")
            .await
        {
            dump.push_str(&l);
            dump.push('\n');
        }
        for l in q("SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename NOT LIKE 'refinery%' ORDER BY indexname").await {
            dump.push_str(&l);
            dump.push('\n');
        }
        dump.push_str("# migrations\n");
        for l in q("SELECT version || ' ' || name FROM refinery_schema_history ORDER BY version").await {
            dump.push_str(&l);
            dump.push('\n');
        }
        dump.push_str("# rows\n");
        let tables = q("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' \
                        AND table_name NOT LIKE 'refinery%' ORDER BY table_name")
            .await;
        for t in tables {
            let sql = format!("SELECT row_to_json(x)::text FROM {t} x");
            let mut rows: Vec<String> = client
                .query(sql.as_str(), &[])
                .await
                .unwrap()
                .iter()
                .map(|r| normalize(&r.get::<_, String>(0), &names))
                .collect();
            rows.sort();
            for r in rows {
                dump.push_str(&format!("{t}: {r}\n"));
            }
        }
        dump
    });
    compare("stored_postgres.txt", &dump);
}

/// A data directory written before refinery (versions in `PRAGMA user_version`) opens: its
/// migrations are recorded as applied, not run again, and its data is intact — including
/// what V4 (append-friendly messages) converts: a message, its event and its send's answer
/// stored as JSON copies read back the same, and new message numbers continue after it.
#[test]
fn sqlite_database_from_before_refinery_opens() {
    use livechat_protocol::{Author, Event, Message};
    let dir = tempfile::tempdir().unwrap();
    let message = Message {
        id: "old-message".into(),
        thread_id: "old-thread".into(),
        client_id: Some("req-1".into()),
        author: Author::Visitor,
        agent_name: None,
        text: Some("hello from before".into()),
        attachment: None,
        custom: false,
        created_at: 5,
    };
    let event = Event::Message { message: message.clone() };
    {
        let c = rusqlite::Connection::open(dir.path().join("livechat.sqlite3")).unwrap();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
        for f in ["V1__init.sql", "V2__session_auth_expiry.sql"] {
            c.execute_batch(&std::fs::read_to_string(root.join(f)).unwrap()).unwrap();
        }
        c.execute_batch(
            "PRAGMA user_version = 2; \
             INSERT INTO principals(id, widget_id, kind, head_seq, created_at) VALUES ('old-visitor', 'w-single', 'visitor', 7, 1); \
             INSERT INTO threads(id, widget_id, principal_id, status, created_at, last_activity_at, updated_at) \
               VALUES ('old-thread', 'w-single', 'old-visitor', 'OPEN', 1, 5, 5); \
             INSERT INTO messages(id, thread_id, client_id, author, text, custom, created_at) \
               VALUES ('old-message', 'old-thread', 'req-1', 'visitor', 'hello from before', 0, 5);",
        )
        .unwrap();
        c.execute(
            "INSERT INTO events(principal_id, seq, body, created_at) VALUES ('old-visitor', 7, ?1, 5)",
            [serde_json::to_string(&event).unwrap()],
        )
        .unwrap();
        c.execute(
            "INSERT INTO requests(principal_id, req, kind, body_hash, response, created_at) VALUES ('old-visitor', 'req-1', 'send', 'h', ?1, 5)",
            [serde_json::to_string(&message).unwrap()],
        )
        .unwrap();
    }
    let store = livechat_server::store::sqlite::SqliteStore::open(dir.path()).expect("opens the old database");
    let (head, events, request, messages) = livechat_server::store::read(&store, |tx| {
        Ok((tx.head("old-visitor")?, tx.events_after("old-visitor", 0)?, tx.request("old-visitor", "req-1")?, tx.thread_messages("old-thread", 0)?))
    })
    .unwrap();
    assert_eq!(head, 7);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].0, 7);
    assert_eq!(serde_json::to_value(&events[0].1).unwrap(), serde_json::to_value(&event).unwrap());
    let request = request.expect("the idempotency row survives");
    assert_eq!((request.kind.as_str(), request.body_hash.as_str()), ("send", "h"));
    assert_eq!(request.response, serde_json::to_string(&message).unwrap());
    assert_eq!(messages.iter().map(|m| m.message.clone()).collect::<Vec<_>>(), vec![message]);
    drop(store);
    let c = rusqlite::Connection::open(dir.path().join("livechat.sqlite3")).unwrap();
    let applied: i64 = c.query_row("SELECT COUNT(*) FROM refinery_schema_history", [], |r| r.get(0)).unwrap();
    let shipped = std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite")).unwrap().count();
    assert_eq!(applied as usize, shipped, "every migration applied on top of the old database");
    let next: i64 = c.query_row("SELECT seq FROM sqlite_sequence WHERE name = 'messages'", [], |r| r.get(0)).unwrap();
    assert_eq!(next, 1, "message numbers continue after the old ones");
}
