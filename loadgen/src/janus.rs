//! The same synthetic participants against Janus' VideoRoom plugin, over its WebSocket API, so
//! both servers can be measured with identical media in one run.
//!
//! A Janus participant uses two connections, as Janus' own clients do: one publishing (a
//! `publisher` handle) and, once the room's publishers are up, one subscribing to all of their
//! streams (a multistream `subscriber` handle). Each runs as its own task with its own session.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest, http::HeaderValue};

use crate::{
    Control, LoadError, Options, Report,
    driver::{Driver, media_err},
};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A Janus session over one WebSocket.
struct Session {
    ws: Ws,
    id: u64,
    next_transaction: u64,
    /// Events that arrived while waiting for something else.
    pending: Vec<Value>,
}

fn signalling(e: impl std::fmt::Display) -> LoadError {
    LoadError::Signalling(e.to_string())
}

impl Session {
    async fn open(url: &str) -> Result<Self, LoadError> {
        let mut request = url.into_client_request().map_err(signalling)?;
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("janus-protocol"));
        let (ws, _) = tokio_tungstenite::connect_async(request).await.map_err(signalling)?;
        let mut session = Self { ws, id: 0, next_transaction: 1, pending: Vec::new() };
        let created = session.request(json!({"janus": "create"})).await?;
        session.id = created["data"]["id"].as_u64().ok_or_else(|| signalling("no session id"))?;
        Ok(session)
    }

    async fn send(&mut self, mut message: Value) -> Result<String, LoadError> {
        let transaction = format!("t{}", self.next_transaction);
        self.next_transaction += 1;
        message["transaction"] = json!(transaction);
        if self.id != 0 {
            message["session_id"] = json!(self.id);
        }
        self.ws.send(Message::Text(message.to_string().into())).await.map_err(signalling)?;
        Ok(transaction)
    }

    async fn next(&mut self) -> Result<Value, LoadError> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(text.as_str()).map_err(signalling);
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(signalling(e)),
                None => return Err(signalling("Janus closed the connection")),
            }
        }
    }

    /// Sends a request and waits for its synchronous answer (`success`, or an `event` carrying
    /// the same transaction after an `ack`).
    async fn request(&mut self, message: Value) -> Result<Value, LoadError> {
        let transaction = self.send(message).await?;
        loop {
            let reply = self.next().await?;
            if reply["transaction"] != json!(transaction) {
                self.pending.push(reply);
                continue;
            }
            match reply["janus"].as_str() {
                Some("ack") => continue,
                Some("error") => return Err(LoadError::Refused(reply["error"].to_string())),
                _ => return Ok(reply),
            }
        }
    }

    /// Tells Janus our one candidate and that there are no more (it waits for that otherwise).
    async fn trickle(&mut self, handle: u64, addr: std::net::SocketAddr) -> Result<(), LoadError> {
        let candidate =
            format!("candidate:1 1 udp 2130706431 {} {} typ host", addr.ip(), addr.port());
        let one = json!({"candidate": candidate, "sdpMid": "0", "sdpMLineIndex": 0});
        self.send(json!({"janus": "trickle", "handle_id": handle, "candidate": one})).await?;
        let done = json!({"completed": true});
        self.send(json!({"janus": "trickle", "handle_id": handle, "candidate": done})).await?;
        Ok(())
    }

    async fn attach(&mut self) -> Result<u64, LoadError> {
        let attached =
            self.request(json!({"janus": "attach", "plugin": "janus.plugin.videoroom"})).await?;
        attached["data"]["id"].as_u64().ok_or_else(|| signalling("no handle id"))
    }

    async fn message(
        &mut self,
        handle: u64,
        body: Value,
        jsep: Option<Value>,
    ) -> Result<Value, LoadError> {
        let mut message = json!({"janus": "message", "handle_id": handle, "body": body});
        if let Some(jsep) = jsep {
            message["jsep"] = jsep;
        }
        let reply = self.request(message).await?;
        if let Some(error) = reply["plugindata"]["data"]["error"].as_str() {
            return Err(LoadError::Refused(error.to_owned()));
        }
        Ok(reply)
    }
}

/// The Janus room number for a room name (Janus rooms are numbered).
pub fn room_number(room: &str) -> u64 {
    room.bytes().fold(1_000u64, |h, b| (h.wrapping_mul(31) + u64::from(b)) % 1_000_000_000)
}

/// Creates the room unless it exists.
async fn ensure_room(session: &mut Session, handle: u64, room: u64) -> Result<(), LoadError> {
    let body = json!({
        "request": "create", "room": room, "publishers": 100, "bitrate": 0,
        "videocodec": "vp8", "audiocodec": "opus", "audiolevel_ext": true, "fir_freq": 0,
    });
    match session.message(handle, body, None).await {
        Ok(_) => Ok(()),
        // 427: the room exists already (another participant made it).
        Err(LoadError::Refused(e)) if e.contains("already exists") => Ok(()),
        Err(e) => Err(e),
    }
}

/// Runs one Janus participant's publishing connection (if `options.publish`) or subscribing
/// connection (otherwise, subscribing to `expected_publishers` publishers, none of them named
/// `options.name`).
pub async fn run(
    options: Options,
    expected_publishers: usize,
    mut control: mpsc::UnboundedReceiver<Control>,
) -> Report {
    let mut report = Report::default();
    let result = match Room::enter(&options).await {
        Ok(room) if options.publish => publish(&options, room, &mut control, &mut report).await,
        Ok(room) => subscribe(&options, room, expected_publishers, &mut control, &mut report).await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        report.error = Some(e.to_string());
    }
    report
}

/// A session with a VideoRoom handle, in a room that exists.
struct Room {
    session: Session,
    handle: u64,
    number: u64,
    started: Instant,
    deadline: Instant,
}

impl Room {
    async fn enter(options: &Options) -> Result<Self, LoadError> {
        let started = Instant::now();
        let mut session = Session::open(&options.url).await?;
        let handle = session.attach().await?;
        let number = room_number(&options.room);
        ensure_room(&mut session, handle, number).await?;
        Ok(Self { session, handle, number, started, deadline: started + options.duration })
    }
}

async fn publish(
    options: &Options,
    Room { mut session, handle, number: room, started, deadline }: Room,
    control: &mut mpsc::UnboundedReceiver<Control>,
    report: &mut Report,
) -> Result<(), LoadError> {
    let mut driver = Driver::new(options, true, started).await?;
    let offer = driver.peer.create_offer(Instant::now()).map_err(media_err)?;
    let body = json!({
        "request": "joinandconfigure", "room": room, "ptype": "publisher",
        "display": options.name, "audio": true, "video": true,
    });
    let jsep = json!({"type": "offer", "sdp": offer});
    let joined = session.message(handle, body, Some(jsep)).await?;
    let answer = joined["jsep"]["sdp"].as_str().ok_or_else(|| signalling("no answer"))?;
    driver.peer.set_answer(Instant::now(), answer.to_owned()).map_err(media_err)?;
    session.trickle(handle, driver.socket.local_addr()?).await?;
    run_media(options, control, report, session, driver, deadline).await
}

async fn subscribe(
    options: &Options,
    Room { mut session, handle, number: room, started, deadline }: Room,
    expected_publishers: usize,
    control: &mut mpsc::UnboundedReceiver<Control>,
    report: &mut Report,
) -> Result<(), LoadError> {
    // Wait for the room's publishers (other than ourselves) to be up.
    let feeds: Vec<u64> = loop {
        let listed = session
            .message(handle, json!({"request": "listparticipants", "room": room}), None)
            .await?;
        let feeds: Vec<u64> = listed["plugindata"]["data"]["participants"]
            .as_array()
            .map(|all| {
                all.iter()
                    .filter(|p| p["publisher"] == json!(true))
                    .filter(|p| p["display"].as_str() != Some(options.name.as_str()))
                    .filter_map(|p| p["id"].as_u64())
                    .collect()
            })
            .unwrap_or_default();
        if feeds.len() >= expected_publishers {
            break feeds;
        }
        if Instant::now() >= deadline {
            return Err(signalling("the publishers never showed up"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let streams: Vec<Value> = feeds.iter().map(|feed| json!({"feed": feed})).collect();
    let body = json!({"request": "join", "room": room, "ptype": "subscriber", "streams": streams});
    let attached = session.message(handle, body, None).await?;
    let offer = match attached["jsep"]["sdp"].as_str() {
        Some(sdp) => sdp.to_owned(),
        None => loop {
            // The offer may come as a separate event.
            let event = session.next().await?;
            if let Some(sdp) = event["jsep"]["sdp"].as_str() {
                break sdp.to_owned();
            }
        },
    };
    let mut driver = Driver::new(options, false, started).await?;
    let answer = driver.peer.answer(Instant::now(), offer).map_err(media_err)?;
    let jsep = json!({"type": "answer", "sdp": answer});
    session.message(handle, json!({"request": "start", "room": room}), Some(jsep)).await?;
    session.trickle(handle, driver.socket.local_addr()?).await?;
    run_media(options, control, report, session, driver, deadline).await
}

/// Pumps media until the deadline, keeping the Janus session alive.
async fn run_media(
    options: &Options,
    control: &mut mpsc::UnboundedReceiver<Control>,
    report: &mut Report,
    mut session: Session,
    mut driver: Driver,
    deadline: Instant,
) -> Result<(), LoadError> {
    let mut keepalive = tokio::time::interval(Duration::from_secs(20));
    let mut control_open = true;
    loop {
        driver.pump(options, report)?;
        if Instant::now() >= deadline {
            let _ = session.send(json!({"janus": "destroy"})).await;
            let _ = session.ws.close(None).await;
            return Ok(());
        }
        let wake = driver.next_wake(deadline);
        tokio::select! {
            received = driver.recv(options.drop_every) => received?,
            event = session.next() => { event?; }
            _ = keepalive.tick() => { session.send(json!({"janus": "keepalive"})).await?; }
            command = control.recv(), if control_open => match command {
                Some(Control::Stop) => {
                    let _ = session.send(json!({"janus": "destroy"})).await;
                    return Ok(());
                }
                Some(_) => {}
                None => control_open = false,
            },
            _ = tokio::time::sleep_until(wake.into()) => driver.on_timeout(),
        }
    }
}
