//! What the cluster reads from storage: the only place it touches the store's API.

use std::collections::BTreeMap;
use std::sync::Arc;

use livechat_protocol::{Event, Seq};

use crate::store::{AgentMessage, ConversationSummary, MetaEntry, Store, StoreResult};

/// Reads the cluster needs (all blocking; called from blocking threads).
pub trait Source: Send + Sync + 'static {
    /// Highest sequence number of a principal.
    fn head(&self, principal_id: &str) -> StoreResult<Seq>;
    /// A principal's events after `after`, in order.
    fn events_after(&self, principal_id: &str, after: Seq) -> StoreResult<Vec<(Seq, Event)>>;
    /// A conversation as agents see it.
    fn conversation(&self, thread_id: &str) -> StoreResult<Option<ConversationSummary>>;
    /// A conversation's messages as agents see them.
    fn conversation_messages(&self, thread_id: &str) -> StoreResult<Option<Vec<AgentMessage>>>;
    /// A conversation's merged metadata.
    fn conversation_metadata(&self, thread_id: &str) -> StoreResult<Option<BTreeMap<String, MetaEntry>>>;
}

/// [`Source`] over a [`Store`].
pub struct StoreSource(pub Arc<dyn Store>);

impl Source for StoreSource {
    fn head(&self, principal_id: &str) -> StoreResult<Seq> {
        self.0.head(principal_id)
    }
    fn events_after(&self, principal_id: &str, after: Seq) -> StoreResult<Vec<(Seq, Event)>> {
        self.0.events_after(principal_id, after)
    }
    fn conversation(&self, thread_id: &str) -> StoreResult<Option<ConversationSummary>> {
        self.0.conversation(thread_id)
    }
    fn conversation_messages(&self, thread_id: &str) -> StoreResult<Option<Vec<AgentMessage>>> {
        self.0.conversation_messages(thread_id)
    }
    fn conversation_metadata(&self, thread_id: &str) -> StoreResult<Option<BTreeMap<String, MetaEntry>>> {
        self.0.conversation_metadata(thread_id)
    }
}
