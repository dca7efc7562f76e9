//! The signalling WebSocket to the relay: open it, send typed messages, hand over typed events.

use std::{cell::Cell, rc::Rc};

use gloo_events::EventListener;
use protocol::{ClientMessage, ServerMessage};
use wasm_bindgen::JsCast;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use crate::js;

/// The relay's answers are small except for `welcome` with a large roster; this bounds what the
/// app is willing to parse.
const MAX_INCOMING_BYTES: usize = 1 << 20;
/// How often the app pings the relay to notice a dead connection (the relay answers each).
const PING_EVERY_MS: i32 = 2_000;
/// How often a connection that has not opened yet is checked against its deadline.
const OPENING_CHECK_MS: i32 = 250;
/// Silence after which the connection counts as lost: a network that went away is noticed
/// within seconds, not when TCP gives up minutes later.
const SILENCE_LIMIT_MS: f64 = 10_000.0;
/// Silence after which a connection counts as probably dead once a media connection shows
/// that the network is back (two pings unanswered): TCP retransmits on a connection that broke
/// only after growing pauses, so waiting for it would keep the seat empty seconds longer.
const QUIET_LIMIT_MS: f64 = 2.0 * PING_EVERY_MS as f64 + 500.0;
/// A keepalive tick this late means the page itself did not run (a busy machine, a frozen
/// tab): messages may be waiting behind it, so silence is not judged on that tick.
const LATE_TICK_MS: f64 = 1_000.0;

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
    /// When the relay was last heard (ms).
    last_heard: Rc<Cell<f64>>,
    /// Whether the socket opened.
    was_open: Rc<Cell<bool>>,
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
        let was_open = Rc::new(Cell::new(false));
        let alive = Rc::new(Cell::new(true));
        let last_heard = Rc::new(Cell::new(js_sys::Date::now()));

        let on_open = {
            let (on_event, was_open) = (Rc::clone(&on_event), Rc::clone(&was_open));
            EventListener::new(&ws, "open", move |_| {
                was_open.set(true);
                on_event(SocketEvent::Open);
            })
        };
        let on_message = {
            let (on_event, last_heard) = (Rc::clone(&on_event), Rc::clone(&last_heard));
            EventListener::new(&ws, "message", move |event| {
                last_heard.set(js_sys::Date::now());
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
            let (on_event, was_open, alive) =
                (Rc::clone(&on_event), Rc::clone(&was_open), Rc::clone(&alive));
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
                    on_event(SocketEvent::Closed { was_open: was_open.get() });
                }
            })
        };
        // `error` is always followed by `close`, which is where it is handled.

        // Keepalive: ping regularly; if the relay has been silent too long, or the connection
        // does not open in time, give up on the socket so the call can reconnect instead of
        // waiting for TCP to notice. The call hears of it at once; the socket closes behind.
        {
            let (ws, alive, last_heard) = (ws.clone(), Rc::clone(&alive), Rc::clone(&last_heard));
            let (on_event, was_open) = (Rc::clone(&on_event), Rc::clone(&was_open));
            // The opening deadline moves on by the time the page itself did not run (its timer
            // came late): a busy machine is not a relay that does not answer.
            let mut started = js_sys::Date::now();
            leptos::task::spawn_local(async move {
                let mut nonce = 0;
                let mut last_tick = started;
                loop {
                    // Until it opens, look often: an attempt that hangs is given up on time.
                    let step = if was_open.get() { PING_EVERY_MS } else { OPENING_CHECK_MS };
                    js::sleep(step).await;
                    if !alive.get() {
                        break;
                    }
                    let now = js_sys::Date::now();
                    let behind = (now - last_tick - f64::from(step)).max(0.0);
                    last_tick = now;
                    started += behind;
                    if behind > LATE_TICK_MS {
                        // Let the events queued meanwhile run before judging the relay; the
                        // time the page stood still is not the relay's silence.
                        last_heard.set(last_heard.get().max(now - f64::from(step)));
                        continue;
                    }
                    let opened = was_open.get();
                    let stuck = if opened {
                        now - last_heard.get() > SILENCE_LIMIT_MS
                    } else {
                        now - started > timeout_ms
                    };
                    if stuck {
                        js::warn(if opened {
                            "the relay stopped answering; closing the connection"
                        } else {
                            "the relay did not answer in time"
                        });
                        give_up(&ws, &alive, &on_event, opened);
                        break;
                    }
                    if ws.ready_state() == WebSocket::OPEN {
                        nonce += 1;
                        let _ = ws.send_with_str(&protocol::encode(&ClientMessage::Ping { nonce }));
                    }
                }
            });
        }

        Ok(Self { ws, alive, last_heard, was_open, _listeners: [on_open, on_message, on_close] })
    }

    /// A media connection came back after failing: the network is back. If the relay has been
    /// quiet meanwhile, this connection most likely broke with the network: it is given up
    /// (closed, and no more events), and true says the call should reconnect at once.
    pub fn abandon_if_quiet(&self) -> bool {
        let quiet = js_sys::Date::now() - self.last_heard.get();
        if !self.was_open.get() || quiet <= QUIET_LIMIT_MS || !self.alive.replace(false) {
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
