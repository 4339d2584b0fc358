//! What the cluster reads from storage: the only place it touches the store's API.

use std::collections::BTreeMap;
use std::sync::Arc;

use livechat_protocol::{Event, Seq};

use crate::service::rules;
use crate::store::{self, AgentMessage, ConversationSummary, MetaEntry, Store, StoreResult};

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
        store::read(&*self.0, |tx| tx.head(principal_id))
    }
    fn events_after(&self, principal_id: &str, after: Seq) -> StoreResult<Vec<(Seq, Event)>> {
        store::read(&*self.0, |tx| tx.events_after(principal_id, after))
    }
    fn conversation(&self, thread_id: &str) -> StoreResult<Option<ConversationSummary>> {
        store::read(&*self.0, |tx| rules::summary(tx, thread_id))
    }
    fn conversation_messages(&self, thread_id: &str) -> StoreResult<Option<Vec<AgentMessage>>> {
        store::read(&*self.0, |tx| {
            if tx.thread(thread_id)?.is_none() {
                return Ok(None);
            }
            Ok(Some(tx.thread_messages(thread_id, 0)?))
        })
    }
    fn conversation_metadata(&self, thread_id: &str) -> StoreResult<Option<BTreeMap<String, MetaEntry>>> {
        store::read(&*self.0, |tx| {
            if tx.thread(thread_id)?.is_none() {
                return Ok(None);
            }
            Ok(Some(tx.metadata(thread_id)?))
        })
    }
}
