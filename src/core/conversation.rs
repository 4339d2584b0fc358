//! The visitor's threads and messages as the widget knows them.

use alloc::string::String;
use alloc::vec::Vec;
use livechat_protocol::{Message, Thread, ThreadStatus};

use super::state::{STORED_MESSAGES_PER_THREAD, STORED_THREADS};

/// Threads, oldest first, each with messages oldest first. Message ids are unique.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conversations {
    threads: Vec<Thread>,
}

impl Conversations {
    /// Wraps threads restored from storage or a `sync`.
    pub fn new(threads: Vec<Thread>) -> Self {
        Self { threads }
    }

    /// All threads, oldest first.
    pub fn threads(&self) -> &[Thread] {
        &self.threads
    }

    /// The thread with this id.
    pub fn get(&self, id: &str) -> Option<&Thread> {
        self.threads.iter().find(|t| t.id == id)
    }

    /// The most recent open thread: where a `send` without `threadId` goes.
    pub fn active_open(&self) -> Option<&Thread> {
        self.threads.iter().rev().find(|t| t.status == ThreadStatus::Open)
    }

    /// True when the visitor has no thread at all.
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty()
    }

    /// Adds a thread, or updates its status if known.
    pub fn open_thread(&mut self, thread: Thread) {
        match self.threads.iter_mut().find(|t| t.id == thread.id) {
            Some(known) => known.status = thread.status,
            None => self.threads.push(thread),
        }
    }

    /// Sets a thread's status. Returns false for an unknown thread.
    pub fn set_status(&mut self, thread_id: &str, status: ThreadStatus) -> bool {
        match self.threads.iter_mut().find(|t| t.id == thread_id) {
            Some(t) => {
                t.status = status;
                true
            }
            None => false,
        }
    }

    /// Adds a message once (by id), in time order. Returns false when it was already there.
    pub fn insert(&mut self, message: Message) -> bool {
        let thread = match self.threads.iter().position(|t| t.id == message.thread_id) {
            Some(i) => &mut self.threads[i],
            None => {
                // A message for a thread we have not seen (e.g. opened on another device
                // before a resume): create it rather than drop the message.
                self.threads.push(Thread {
                    id: message.thread_id.clone(),
                    status: ThreadStatus::Open,
                    created_at: message.created_at,
                    messages: Vec::new(),
                });
                self.threads.last_mut().expect("just pushed")
            }
        };
        if thread.messages.iter().any(|m| m.id == message.id) {
            return false;
        }
        let at = thread
            .messages
            .iter()
            .rposition(|m| m.created_at <= message.created_at)
            .map_or(0, |i| i + 1);
        thread.messages.insert(at, message);
        true
    }

    /// The message with this id in this thread, if known.
    pub fn has_message(&self, thread_id: &str, id: &str) -> Option<&Message> {
        self.get(thread_id)?.messages.iter().find(|m| m.id == id)
    }

    /// True when a message sent with this client id is already stored here.
    pub fn has_client_id(&self, client_id: &str) -> Option<&Message> {
        self.threads
            .iter()
            .flat_map(|t| t.messages.iter())
            .find(|m| m.client_id.as_deref() == Some(client_id))
    }

    /// The most recent threads with their most recent messages, for storage.
    pub fn to_stored(&self) -> Vec<Thread> {
        let skip = self.threads.len().saturating_sub(STORED_THREADS);
        self.threads[skip..]
            .iter()
            .map(|t| {
                let from = t.messages.len().saturating_sub(STORED_MESSAGES_PER_THREAD);
                Thread { messages: t.messages[from..].to_vec(), ..t.clone() }
            })
            .collect()
    }

    /// Ids of every thread, oldest first.
    pub fn ids(&self) -> Vec<String> {
        self.threads.iter().map(|t| t.id.clone()).collect()
    }
}
