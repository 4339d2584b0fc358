//! One websocket at a time. Each socket has a generation number; events of a socket the
//! core already gave up on (closed by `CloseSocket`) are ignored.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, WebSocket};

use super::{dispatch, Input};

/// The open (or opening) socket and its handlers.
pub struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut()>,
}

impl Socket {
    /// Opens a socket to `url`; failures to even construct one report as a close.
    pub fn open(url: &str, generation: u32) -> Option<Socket> {
        let ws = match WebSocket::new(url) {
            Ok(ws) => ws,
            Err(_) => {
                dispatch(Input::SocketClosed(generation));
                return None;
            }
        };
        let on_open = Closure::<dyn FnMut()>::new(move || dispatch(Input::SocketOpen(generation)));
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            if let Some(text) = e.data().as_string() {
                dispatch(Input::SocketMessage(generation, text));
            }
        });
        let on_close = Closure::<dyn FnMut()>::new(move || dispatch(Input::SocketClosed(generation)));
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Some(Socket { ws, _on_open: on_open, _on_message: on_message, _on_close: on_close })
    }

    /// Sends a text frame (dropped if the socket is not open; the outbox resends).
    pub fn send(&self, text: &str) {
        if self.ws.ready_state() == WebSocket::OPEN {
            let _ = self.ws.send_with_str(text);
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close();
    }
}
