//! The visitor's session with the server beyond the socket: `auth` and `logout` requests
//! waiting for their answer, and whether the server wants a fresh JWT before more sends.

use alloc::collections::VecDeque;
use alloc::string::String;

use livechat_protocol::ClientFrame;

use super::effect::Effect;
use super::vec_map::VecMap;

/// A request sent to the server whose answer a callback waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    /// `auth` with the page's JWT (kept only until it is answered, never stored).
    Auth {
        /// The token.
        jwt: String,
        /// Sent on the current socket.
        sent: bool,
    },
    /// `logout`.
    Logout,
}

/// Auth/logout requests and the re-authentication state.
#[derive(Debug, Default)]
pub struct Session {
    /// By request id, in the order asked.
    requests: VecMap<String, Pending>,
    /// The server wants a fresh JWT for this customer: sends wait (still "sending") until
    /// `auth` succeeds; the page got `livechat:reauth_required` once.
    reauth_pending: bool,
}

impl Session {
    // ----- getters ------------------------------------------------------------------

    /// True while an `auth` or `logout` waits for the server.
    #[inline]
    pub fn has_requests(&self) -> bool {
        !self.requests.is_empty()
    }

    /// True while sends wait for a fresh JWT.
    #[inline]
    pub fn reauth_pending(&self) -> bool {
        self.reauth_pending
    }

    // ----- inputs -------------------------------------------------------------------

    /// Asks the server to authenticate with `jwt` under request id `req`.
    #[inline]
    pub fn auth(&mut self, req: String, jwt: String) {
        self.requests.insert(req, Pending::Auth { jwt, sent: false });
    }

    /// Asks the server to end the session under request id `req`.
    #[inline]
    pub fn logout(&mut self, req: String) {
        self.requests.insert(req, Pending::Logout);
    }

    /// The server answered `req` (or refused it): returns what it was.
    #[inline]
    pub fn handle_answer(&mut self, req: &str) -> Option<Pending> {
        self.requests.remove(req)
    }

    /// Takes a `logout` out of the requests (its socket failed: it ends offline).
    #[inline]
    pub fn take_logout(&mut self) -> Option<String> {
        let mut logout = None;
        for (req, pending) in self.requests.iter_mut() {
            if matches!(pending, Pending::Logout) {
                logout = Some(req.clone());
                break;
            }
        }
        self.requests.remove(logout.as_deref()?);
        logout
    }

    /// The socket was lost: what was sent and not answered goes out again on the next one
    /// (the server answers a repeated request the same way).
    #[inline]
    pub fn forget_sent(&mut self) {
        for (_, pending) in self.requests.iter_mut() {
            if let Pending::Auth { sent, .. } = pending {
                *sent = false;
            }
        }
    }

    /// The server wants a fresh JWT. Returns true the first time (the page is told once).
    #[inline]
    pub fn require_reauth(&mut self) -> bool {
        !core::mem::replace(&mut self.reauth_pending, true)
    }

    /// Authenticated again. Returns whether sends were waiting for it.
    #[inline]
    pub fn reauthenticated(&mut self) -> bool {
        core::mem::take(&mut self.reauth_pending)
    }

    /// Drops every request and the re-authentication state (reset, another widget).
    #[inline]
    pub fn clear(&mut self) {
        self.requests.take();
        self.reauth_pending = false;
    }

    // ----- outputs ------------------------------------------------------------------

    /// Queues the frames to send on a welcomed socket: each `auth` once per socket;
    /// `logout` every time (it is idempotent and carries no secret).
    #[inline]
    pub fn poll_transmit(&mut self, out: &mut VecDeque<Effect>) {
        for (req, pending) in self.requests.iter_mut() {
            let frame = match pending {
                Pending::Auth { jwt, sent: sent @ false } => {
                    *sent = true;
                    ClientFrame::Auth { req: req.clone(), jwt: jwt.clone() }
                }
                Pending::Logout => ClientFrame::Logout { req: req.clone() },
                Pending::Auth { .. } => continue,
            };
            out.push_back(Effect::SendFrame(frame));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;
    use alloc::vec::Vec;

    fn sent(session: &mut Session) -> Vec<ClientFrame> {
        let mut out = VecDeque::new();
        session.poll_transmit(&mut out);
        out.into_iter()
            .map(|e| match e {
                Effect::SendFrame(frame) => frame,
                other => panic!("unexpected effect {other:?}"),
            })
            .collect()
    }

    fn reqs(frames: &[ClientFrame]) -> Vec<String> {
        frames
            .iter()
            .map(|f| match f {
                ClientFrame::Auth { req, .. } | ClientFrame::Logout { req } => req.clone(),
                other => panic!("unexpected frame {other:?}"),
            })
            .collect()
    }

    #[test]
    fn an_auth_goes_out_once_per_socket_until_answered() {
        let mut session = Session::default();
        session.auth("a-1".into(), "jwt".into());

        assert_eq!(sent(&mut session), vec![ClientFrame::Auth { req: "a-1".into(), jwt: "jwt".into() }]);
        assert!(sent(&mut session).is_empty(), "not twice on one socket");

        session.forget_sent();
        assert_eq!(reqs(&sent(&mut session)), ["a-1"], "again on the next socket");

        assert!(matches!(session.handle_answer("a-1"), Some(Pending::Auth { .. })));
        assert!(!session.has_requests());
        session.forget_sent();
        assert!(sent(&mut session).is_empty());
    }

    #[test]
    fn requests_go_out_in_the_order_asked() {
        let mut session = Session::default();
        session.logout("l-1".into());
        session.auth("a-1".into(), "jwt".into());

        assert_eq!(reqs(&sent(&mut session)), ["l-1", "a-1"]);
        assert_eq!(session.handle_answer("l-1"), Some(Pending::Logout));
        assert_eq!(session.handle_answer("l-1"), None, "answered once");
    }

    #[test]
    fn a_logout_is_taken_out_alone() {
        let mut session = Session::default();
        session.auth("a-1".into(), "jwt".into());
        assert_eq!(session.take_logout(), None);
        session.logout("l-1".into());
        assert_eq!(session.take_logout().as_deref(), Some("l-1"));
        assert_eq!(session.take_logout(), None);
        assert_eq!(reqs(&sent(&mut session)), ["a-1"], "the auth stays");
    }

    #[test]
    fn the_page_is_told_once_about_reauth_until_it_authenticates() {
        let mut session = Session::default();

        assert!(session.require_reauth());
        assert!(!session.require_reauth(), "told once");
        assert!(session.reauth_pending());
        assert!(session.reauthenticated(), "sends were waiting");
        assert!(!session.reauthenticated());
        assert!(session.require_reauth(), "a later expiry is told again");
    }

    #[test]
    fn clear_drops_requests_and_reauth() {
        let mut session = Session::default();
        session.auth("a-1".to_string(), "jwt".into());
        session.require_reauth();

        session.clear();

        assert!(!session.has_requests() && !session.reauth_pending());
        assert!(sent(&mut session).is_empty());
    }
}
