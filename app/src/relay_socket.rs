//! The signalling WebSocket to the relay: open it, send typed messages, hand over typed events.

use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use client::keepalive::{Keepalive, Tick};

use gloo_events::EventListener;
use protocol::{ClientMessage, ServerMessage};
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::js;

/// The relay's answers are small except for `welcome` with a large roster; this bounds what the
/// app is willing to parse.
const MAX_INCOMING_BYTES: usize = 1 << 20;

/// What the socket reports.
#[derive(Debug)]
pub enum SocketEvent {
    /// The connection is open; send `hello`.
    Open,
    /// A message from the relay.
    Message(ServerMessage),
    /// The connection ended (or never opened, if `was_open` is false).
    Closed {
        /// Whether it had been open.
        was_open: bool,
    },
}

/// An open (or opening) signalling connection. Dropping it closes the socket and releases its
/// event handlers.
pub struct RelaySocket {
    /// The socket.
    ws: WebSocket,
    /// Cleared on drop, which stops the keepalive loop.
    alive: Rc<Cell<bool>>,
    /// When to ping and when to give up (`client::keepalive`).
    keepalive: Rc<RefCell<Keepalive>>,
    /// The event listeners; dropping them removes them from the socket.
    _listeners: [EventListener; 3],
}

impl RelaySocket {
    /// Starts connecting to `url`, giving up after `timeout_ms` if it has not opened by then;
    /// events go to `on_event`.
    pub fn connect(
        url: &str,
        timeout_ms: f64,
        on_event: impl Fn(SocketEvent) + 'static,
    ) -> Result<Self, String> {
        let ws = WebSocket::new(url).map_err(|e| js::describe(&e))?;
        let on_event: Rc<dyn Fn(SocketEvent)> = Rc::new(on_event);
        let alive = Rc::new(Cell::new(true));
        let keepalive = Rc::new(RefCell::new(Keepalive::new(js_sys::Date::now(), timeout_ms)));

        let on_open = {
            let (on_event, keepalive) = (Rc::clone(&on_event), Rc::clone(&keepalive));
            EventListener::new(&ws, "open", move |_| {
                keepalive.borrow_mut().opened();
                on_event(SocketEvent::Open);
            })
        };
        let on_message = {
            let (on_event, keepalive) = (Rc::clone(&on_event), Rc::clone(&keepalive));
            EventListener::new(&ws, "message", move |event| {
                keepalive.borrow_mut().heard(js_sys::Date::now());
                let Some(text) = event.dyn_ref::<MessageEvent>().and_then(|e| e.data().as_string())
                else {
                    return;
                };
                match protocol::decode_server(&text, MAX_INCOMING_BYTES) {
                    Ok(message) => on_event(SocketEvent::Message(message)),
                    Err(e) => js::warn(&format!("ignoring a message from the relay: {e}")),
                }
            })
        };
        let on_close = {
            let (on_event, keepalive, alive) =
                (Rc::clone(&on_event), Rc::clone(&keepalive), Rc::clone(&alive));
            EventListener::new(&ws, "close", move |event| {
                if let Some(close) = event.dyn_ref::<CloseEvent>()
                    && close.code() != 1000
                {
                    js::warn(&format!(
                        "relay connection closed: {} {}",
                        close.code(),
                        close.reason()
                    ));
                }
                if alive.replace(false) {
                    let was_open = keepalive.borrow().is_open();
                    on_event(SocketEvent::Closed { was_open });
                }
            })
        };
        // `error` is always followed by `close`, which is where it is handled.

        // Keepalive: ping regularly; if the relay has been silent too long, or the connection
        // does not open in time, give up on the socket so the call can reconnect instead of
        // waiting for TCP to notice. The call hears of it at once; the socket closes behind.
        {
            let (ws, alive) = (ws.clone(), Rc::clone(&alive));
            let (on_event, keepalive) = (Rc::clone(&on_event), Rc::clone(&keepalive));
            leptos::task::spawn_local(async move {
                let mut nonce = 0;
                loop {
                    let step = keepalive.borrow().step_ms();
                    js::sleep(step).await;
                    if !alive.get() {
                        break;
                    }
                    let tick = keepalive.borrow_mut().on_tick(js_sys::Date::now(), step);
                    match tick {
                        Tick::Wait => {}
                        Tick::GiveUp { opened } => {
                            js::warn(if opened {
                                "the relay stopped answering; closing the connection"
                            } else {
                                "the relay did not answer in time"
                            });
                            give_up(&ws, &alive, &on_event, opened);
                            break;
                        }
                        Tick::Ping => {
                            if ws.ready_state() == WebSocket::OPEN {
                                nonce += 1;
                                let ping = ClientMessage::Ping { nonce };
                                let _ = ws.send_with_str(&protocol::encode(&ping));
                            }
                        }
                    }
                }
            });
        }

        Ok(Self { ws, alive, keepalive, _listeners: [on_open, on_message, on_close] })
    }

    /// A media connection came back after failing: the network is back. If the relay has been
    /// quiet meanwhile, this connection most likely broke with the network: it is given up
    /// (closed, and no more events), and true says the call should reconnect at once.
    pub fn abandon_if_quiet(&self) -> bool {
        let quiet = self.keepalive.borrow().quiet_after_network_back(js_sys::Date::now());
        if !quiet || !self.alive.replace(false) {
            return false;
        }
        js::warn("the network is back and the relay has been quiet: reconnecting");
        let _ = self.ws.close_with_code_and_reason(protocol::CLOSE_RECONNECTING, "reconnecting");
        true
    }

    /// Sends a message if the socket is open; messages sent while it is not are dropped (after a
    /// reconnect the call takes its seat back and sends again what was lost: see
    /// `Meeting::keep_on_resume`).
    pub fn send(&self, message: &ClientMessage) {
        if self.ws.ready_state() == WebSocket::OPEN {
            let _ = self.ws.send_with_str(&protocol::encode(message));
        }
    }
}

/// Tells the call the connection is lost (once), and closes it behind.
fn give_up(ws: &WebSocket, alive: &Cell<bool>, on_event: &Rc<dyn Fn(SocketEvent)>, was_open: bool) {
    if alive.replace(false) {
        on_event(SocketEvent::Closed { was_open });
    }
    // Should the relay still hear this, the code says: keep my seat.
    let _ = ws.close_with_code_and_reason(protocol::CLOSE_RECONNECTING, "reconnecting");
}

impl Drop for RelaySocket {
    fn drop(&mut self) {
        // The listeners go with `self`: nothing more is heard from this socket.
        self.alive.set(false);
        let _ = self.ws.close_with_code_and_reason(1000, "leaving");
    }
}
