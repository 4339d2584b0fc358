//! The outbox: requests (messages, contextual data) waiting for the server's acknowledgement.
//!
//! Each item carries a client-generated id, the idempotency key the server stores it under,
//! so sending an item again (a new socket, a rate limit, another tab) is harmless. The
//! outbox decides what goes out and when; the [`super::Widget`] decides whether the link
//! may carry it (welcomed socket, no re-authentication pending, this tab owns the socket).

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use livechat_protocol::{ClientFrame, Millis};

use super::tabs::Role;
use super::error::ApiError;
use super::state::{Delivery, OutboxItem, OutboxRequest};

/// How long outbox items adopted from another tab wait before this tab sends them too.
pub const ADOPT_GRACE_MS: Millis = 5_000;
/// The pause after a rate limit when the server names none.
pub const RATE_LIMIT_PAUSE_MS: Millis = 1_000;

/// Requests not yet acknowledged, in send order, with what the current socket carried.
#[derive(Debug, Default)]
pub struct Outbox {
    items: Vec<OutboxItem>,
    /// Ids already sent on the current socket.
    in_flight: Vec<String>,
    /// Nothing goes out before this (a rate limit, or the grace period of adopted items).
    resend_at: Option<Millis>,
}

/// What [`Outbox::adopt`] found in another tab's outbox.
#[derive(Debug, Default, PartialEq)]
pub struct Adoption {
    /// Items of this tab the leader's socket saw refused: their callbacks get the error.
    pub failed: Vec<(String, ApiError)>,
    /// New items this tab must send at once (it owns the only socket).
    pub send_now: bool,
}

impl Outbox {
    /// An outbox holding `items` (from storage), none of them sent yet.
    #[inline]
    pub fn new(items: Vec<OutboxItem>) -> Self {
        Self { items, in_flight: Vec::new(), resend_at: None }
    }

    // ----- getters ------------------------------------------------------------------

    /// Items in send order.
    pub fn items(&self) -> &[OutboxItem] {
        &self.items
    }

    /// The item with this id.
    pub fn get(&self, id: &str) -> Option<&OutboxItem> {
        self.items.iter().find(|o| o.id == id)
    }

    /// When sending resumes after a pause (`None`: not paused).
    pub fn resend_at(&self) -> Option<Millis> {
        self.resend_at
    }

    // ----- inputs -------------------------------------------------------------------

    /// Queues a new request.
    #[inline]
    pub fn push(&mut self, id: String, request: OutboxRequest, now: Millis) {
        self.items.push(OutboxItem { id, request, status: Delivery::Sending, created_at: now });
    }

    /// Removes an acknowledged item; returns it if it was here.
    pub fn remove(&mut self, id: &str) -> Option<OutboxItem> {
        let i = self.items.iter().position(|o| o.id == id)?;
        Some(self.items.remove(i))
    }

    /// A new socket (or none), or the server took nothing sent so far: everything still
    /// sending goes out again.
    #[inline]
    pub fn forget_sent(&mut self) {
        self.in_flight.clear();
    }

    /// The server asked to slow down: send everything again, in order, at `until`.
    #[inline]
    pub fn handle_rate_limit(&mut self, until: Millis) {
        self.resend_at = Some(until);
        self.in_flight.clear();
    }

    /// The server wants a fresh JWT before it takes `id`: it goes out again after `auth`.
    #[inline]
    pub fn handle_reauth_required(&mut self, id: &str) {
        self.in_flight.retain(|i| i != id);
    }

    /// The server refused `id` for good: kept as failed for a manual retry. Returns whether
    /// the item was here.
    #[inline]
    pub fn handle_refused(&mut self, id: &str, code: &str, message: &str) -> bool {
        let Some(item) = self.items.iter_mut().find(|o| o.id == id) else { return false };
        item.status = Delivery::Failed { code: code.to_string(), message: message.to_string() };
        true
    }

    /// The visitor retries `id`: it is sending again. Returns whether the item was here.
    #[inline]
    pub fn retry(&mut self, id: &str) -> bool {
        let Some(item) = self.items.iter_mut().find(|o| o.id == id) else { return false };
        item.status = Delivery::Sending;
        self.in_flight.retain(|i| i != id);
        true
    }

    /// Ends a pause that is due. Returns whether sending may resume now.
    #[inline]
    pub fn handle_timeout(&mut self, now: Millis) -> bool {
        if self.resend_at.is_some_and(|at| now >= at) {
            self.resend_at = None;
            return true;
        }
        false
    }

    /// Ends any pause now (this tab took the socket over, or the widget was reset).
    #[inline]
    pub fn resume(&mut self) {
        self.resend_at = None;
    }

    /// Merges another tab's outbox (read from its storage write). `delivered` tells which
    /// ids this tab has seen stored by the server (the other tab's write can arrive after
    /// the message event).
    #[inline]
    pub fn adopt(
        &mut self,
        theirs: &[OutboxItem],
        role: Role,
        delivered: impl Fn(&str) -> bool,
        now: Millis,
    ) -> Adoption {
        let mut adoption = Adoption::default();
        let mut adopted = false;
        for item in theirs {
            if let Some(ours) = self.items.iter_mut().find(|o| o.id == item.id) {
                match (&ours.status, &item.status, role) {
                    // The leader's answer for an item this tab queued.
                    (Delivery::Sending, Delivery::Failed { code, message }, Role::Follower) => {
                        adoption.failed.push((item.id.clone(), ApiError::rejected(code, message)));
                        ours.status = item.status.clone();
                    }
                    // Retried in a follower: send it again.
                    (Delivery::Failed { .. }, Delivery::Sending, Role::Leader) => {
                        ours.status = Delivery::Sending;
                        adopted = true;
                    }
                    _ => {}
                }
                continue;
            }
            if !delivered(&item.id) {
                self.items.push(item.clone());
                adopted = true;
            }
        }
        // The only socket is ours: what another tab queued goes out now.
        adoption.send_now = adopted && role == Role::Leader;
        if adopted && self.resend_at.is_none() && role == Role::Solo {
            // The other tab is sending these; its message events normally complete them
            // here too. Send them ourselves only if they are still pending after a grace
            // period (the other tab may have closed).
            self.resend_at = Some(now + ADOPT_GRACE_MS);
        }
        adoption
    }

    // ----- outputs ------------------------------------------------------------------

    /// The next frame to send on the current socket, in order, each item once per socket;
    /// `None` when everything sending is in flight or sending is paused. The caller asks
    /// only while the socket may carry requests.
    pub fn poll_transmit(&mut self) -> Option<ClientFrame> {
        if self.resend_at.is_some() {
            return None;
        }
        let item = self
            .items
            .iter()
            .find(|o| o.status == Delivery::Sending && !self.in_flight.iter().any(|id| *id == o.id))?;
        self.in_flight.push(item.id.clone());
        Some(match &item.request {
            OutboxRequest::Message { thread_id, new_thread, body } => ClientFrame::Send {
                req: item.id.clone(),
                thread_id: thread_id.clone(),
                new_thread: *new_thread,
                body: body.clone(),
            },
            OutboxRequest::ContextualData { metadata, strategy } => {
                ClientFrame::ContextualData { req: item.id.clone(), metadata: metadata.clone(), strategy: *strategy }
            }
        })
    }

    /// The deadline of a pause, with its reason.
    #[inline]
    pub fn poll_timeout(&self) -> Option<super::Deadline> {
        self.resend_at.map(|at| super::Deadline { at, reason: "resend after rate limit" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::vec;
    use livechat_protocol::{MultiThreadStrategy, OutgoingBody};

    fn text(t: &str) -> OutboxRequest {
        OutboxRequest::Message {
            thread_id: None,
            new_thread: false,
            body: OutgoingBody::Basic { text: Some(t.into()), attachment: None },
        }
    }

    fn drain(outbox: &mut Outbox) -> Vec<String> {
        core::iter::from_fn(|| outbox.poll_transmit())
            .map(|f| match f {
                ClientFrame::Send { req, .. } | ClientFrame::ContextualData { req, .. } => req,
                other => panic!("unexpected frame {other:?}"),
            })
            .collect()
    }

    fn with(ids: &[&str]) -> Outbox {
        let mut outbox = Outbox::default();
        for id in ids {
            outbox.push(id.to_string(), text(id), 0);
        }
        outbox
    }

    #[test]
    fn sends_each_item_once_per_socket_in_order() {
        let mut outbox = with(&["m-1", "m-2"]);
        outbox.push(
            "d-1".into(),
            OutboxRequest::ContextualData { metadata: BTreeMap::new(), strategy: MultiThreadStrategy::All },
            0,
        );

        assert_eq!(drain(&mut outbox), ["m-1", "m-2", "d-1"]);
        assert_eq!(drain(&mut outbox), Vec::<String>::new(), "in flight: not sent twice on one socket");

        outbox.forget_sent();
        assert_eq!(drain(&mut outbox), ["m-1", "m-2", "d-1"], "a new socket resends what is unacked");
    }

    #[test]
    fn an_acknowledged_item_is_gone() {
        let mut outbox = with(&["m-1", "m-2"]);
        drain(&mut outbox);

        assert!(outbox.remove("m-1").is_some());
        assert!(outbox.remove("m-1").is_none(), "a second ack finds nothing");
        outbox.forget_sent();

        assert_eq!(drain(&mut outbox), ["m-2"]);
    }

    #[test]
    fn a_rate_limit_pauses_then_resends_everything_in_order() {
        let mut outbox = with(&["m-1", "m-2"]);
        drain(&mut outbox);

        outbox.handle_rate_limit(1_000);
        assert_eq!(outbox.poll_timeout().map(|d| (d.at, d.reason)), Some((1_000, "resend after rate limit")));
        assert_eq!(drain(&mut outbox), Vec::<String>::new(), "paused");
        assert!(!outbox.handle_timeout(999), "not yet due");
        assert!(outbox.handle_timeout(1_000));

        assert_eq!(outbox.poll_timeout(), None);
        assert_eq!(drain(&mut outbox), ["m-1", "m-2"]);
    }

    #[test]
    fn a_refused_item_stays_failed_until_retried() {
        let mut outbox = with(&["m-1"]);
        drain(&mut outbox);

        assert!(outbox.handle_refused("m-1", "message_too_long", "too long"));
        outbox.forget_sent();
        assert_eq!(drain(&mut outbox), Vec::<String>::new(), "a failed item is not resent by itself");
        assert!(matches!(outbox.get("m-1").map(|o| &o.status), Some(Delivery::Failed { .. })));

        assert!(outbox.retry("m-1"));
        assert_eq!(drain(&mut outbox), ["m-1"]);
        assert!(!outbox.retry("m-9") && !outbox.handle_refused("m-9", "x", "y"), "unknown ids change nothing");
    }

    #[test]
    fn an_item_waiting_for_reauth_goes_out_again_on_the_same_socket() {
        let mut outbox = with(&["m-1", "m-2"]);
        drain(&mut outbox);

        outbox.handle_reauth_required("m-1");

        assert_eq!(drain(&mut outbox), ["m-1"]);
    }

    #[test]
    fn a_leader_sends_what_a_follower_queued_at_once() {
        let mut outbox = with(&["m-1"]);
        drain(&mut outbox);
        let theirs = with(&["m-1", "m-2"]);

        let adoption = outbox.adopt(theirs.items(), Role::Leader, |_| false, 0);

        assert_eq!(adoption, Adoption { failed: vec![], send_now: true });
        assert_eq!(drain(&mut outbox), ["m-2"], "the item already held is not sent twice");
    }

    #[test]
    fn an_item_already_delivered_is_not_adopted() {
        let mut outbox = Outbox::default();
        let theirs = with(&["m-1"]);

        let adoption = outbox.adopt(theirs.items(), Role::Leader, |id| id == "m-1", 0);

        assert!(!adoption.send_now);
        assert!(outbox.items().is_empty());
    }

    #[test]
    fn a_solo_tab_waits_a_grace_period_before_sending_adopted_items() {
        let mut outbox = Outbox::default();
        let theirs = with(&["m-1"]);

        let adoption = outbox.adopt(theirs.items(), Role::Solo, |_| false, 100);

        assert!(!adoption.send_now);
        assert_eq!(outbox.resend_at(), Some(100 + ADOPT_GRACE_MS));
        assert_eq!(drain(&mut outbox), Vec::<String>::new());
        assert!(outbox.handle_timeout(100 + ADOPT_GRACE_MS));
        assert_eq!(drain(&mut outbox), ["m-1"]);
    }

    #[test]
    fn a_follower_mirrors_the_leaders_refusal_and_a_leader_the_followers_retry() {
        let mut follower = with(&["m-1"]);
        let mut leader = with(&["m-1"]);
        leader.handle_refused("m-1", "attachment_rejected", "no");

        let adoption = follower.adopt(leader.items(), Role::Follower, |_| false, 0);
        assert_eq!(adoption.failed, vec![("m-1".to_string(), ApiError::rejected("attachment_rejected", "no"))]);
        assert_eq!(follower.get("m-1").map(|o| &o.status), leader.get("m-1").map(|o| &o.status));

        follower.retry("m-1");
        let adoption = leader.adopt(follower.items(), Role::Leader, |_| false, 0);
        assert!(adoption.send_now && adoption.failed.is_empty());
        assert_eq!(drain(&mut leader), ["m-1"]);
    }
}
