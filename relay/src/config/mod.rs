//! The relay's settings: command-line flags, each with an environment variable, the settings
//! file (`file`), tenants with hosts and rules of their own ([`tenants`]), signed invitation
//! links ([`links`]) and the `relay invite` command that makes them ([`invite`]).
//!
//! May not: run anything. Settings are read and checked once, at start; every other module gets
//! them as plain values.

pub mod file;
pub mod invite;
pub mod links;
pub mod tenants;

use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};

use clap::Parser;
use protocol::IceServer;

/// Treffpunkt relay: signalling for video meetings, and the web app's files, in one process.
#[derive(Debug, Clone, Parser)]
#[command(name = "relay", version = crate::ops::metrics::VERSION, about, long_about = None)]
pub struct Config {
    /// A TOML file with settings: each key is a flag's name (`room-capacity = 30`). Flags and
    /// environment variables override it. `relay check-config` checks one.
    #[arg(long, env = "TREFFPUNKT_CONFIG")]
    pub config: Option<PathBuf>,

    /// Log lines as text for people, or as JSON (one object a line) for journald or a log
    /// collector. Which lines: `RUST_LOG` (default `relay=info`).
    #[arg(long, env = "TREFFPUNKT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Address and port for HTTP and WebSocket signalling.
    #[arg(long, env = "TREFFPUNKT_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Serve the built web app (trunk's `dist/`) from this folder. Without it, only signalling runs.
    #[arg(long, env = "TREFFPUNKT_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// Most participants in one room.
    #[arg(long, env = "TREFFPUNKT_ROOM_CAPACITY", default_value_t = 50,
          value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub room_capacity: u32,

    /// A mesh room that grows past this many participants switches to server forwarding, live.
    /// Every browser in a mesh sends its video once per other participant, which stops working
    /// around five. 0 keeps every room a mesh (then keep --room-capacity small).
    #[arg(long, env = "TREFFPUNKT_MESH_THRESHOLD", default_value_t = 4)]
    pub mesh_threshold: u32,

    /// Most rooms open at the same time.
    #[arg(long, env = "TREFFPUNKT_MAX_ROOMS", default_value_t = 1000)]
    pub max_rooms: usize,

    /// Largest signalling message a client may send, in bytes. SDP offers are a few kilobytes.
    #[arg(long, env = "TREFFPUNKT_MAX_MESSAGE_BYTES", default_value_t = 64 * 1024)]
    pub max_message_bytes: usize,

    /// Messages per second a connection may send on average.
    #[arg(long, env = "TREFFPUNKT_MESSAGES_PER_SECOND", default_value_t = 50)]
    pub messages_per_second: u32,

    /// Messages a connection may send in a burst (joining a room trickles many ICE candidates).
    #[arg(long, env = "TREFFPUNKT_MESSAGE_BURST", default_value_t = 200)]
    pub message_burst: u32,

    /// More STUN/TURN servers handed to browsers, comma-separated (e.g.
    /// `turns:turn.example.org:443`), besides the relay's own STUN and TURN on the media port.
    /// Treffpunkt never sends anyone to a third-party server unless told to.
    #[arg(long = "ice-server", env = "TREFFPUNKT_ICE_SERVERS", value_delimiter = ',')]
    pub ice_servers: Vec<String>,

    /// Rooms that use server forwarding (SFU) from the start, comma-separated: exact names or
    /// prefixes ending in `*`, e.g. `klasse-*,gemeinderat`. Other rooms are meshes.
    #[arg(long, env = "TREFFPUNKT_SFU_ROOMS", value_delimiter = ',')]
    pub sfu_rooms: Vec<String>,

    /// UDP address of the media port for SFU rooms (one port for everyone). Default: the
    /// `--listen` address's IP on a free port.
    #[arg(long, env = "TREFFPUNKT_MEDIA_LISTEN")]
    pub media_listen: Option<SocketAddr>,

    /// The IP browsers should send media to, when it differs from the bound one (binding
    /// `0.0.0.0`, or behind NAT).
    #[arg(long, env = "TREFFPUNKT_MEDIA_ANNOUNCE_IP")]
    pub media_announce_ip: Option<IpAddr>,

    /// Media loops for server forwarding, each on a thread of its own; a room's media stays in
    /// one loop. 0: one per core.
    #[arg(long, env = "TREFFPUNKT_MEDIA_THREADS", default_value_t = 0)]
    pub media_threads: usize,

    /// A participant whose connection breaks keeps their seat this many seconds: others see
    /// them as reconnecting, and they come back as themselves (same tile, hand and chat). 0
    /// removes them at once.
    #[arg(long, env = "TREFFPUNKT_RESUME_GRACE_SECS", default_value_t = 30)]
    pub resume_grace_secs: u64,

    /// Secret that signs TURN credentials (coturn's `static-auth-secret`), so several relays or a
    /// coturn can share it. Default: a random one per start.
    #[arg(long, env = "TREFFPUNKT_TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<String>,

    /// Address of the STUN/TURN port (UDP, and TCP on the same number). Default: the media
    /// port's IP on a free port; 3478 is TURN's standard port.
    #[arg(long, env = "TREFFPUNKT_TURN_LISTEN")]
    pub turn_listen: Option<SocketAddr>,

    /// Address for TURN over TLS (browsers' `turns:`), for networks that let only HTTPS out:
    /// port 443 on an address of its own, or behind a TLS-passthrough proxy (docs/deploy.md).
    /// Needs `--tls-cert`, `--tls-key` and `--turn-tls-name`.
    #[arg(long, env = "TREFFPUNKT_TURN_TLS_LISTEN", requires_all = ["tls_cert", "tls_key", "turn_tls_name"])]
    pub turn_tls_listen: Option<SocketAddr>,

    /// The host name (or IP) in the certificate under which browsers reach TURN over TLS, and
    /// the port if it differs from `--turn-tls-listen`'s (a proxy in front): `turn.example.org`
    /// or `turn.example.org:443`.
    #[arg(long, env = "TREFFPUNKT_TURN_TLS_NAME")]
    pub turn_tls_name: Option<String>,

    /// Secret that signs invitation links. With it, a room opens only for someone holding a
    /// link made for it (`relay invite`), which also decides their role; without it rooms are
    /// open and whoever opens one hosts it.
    #[arg(
        long,
        env = "TREFFPUNKT_LINK_SECRET",
        hide_env_values = true,
        conflicts_with = "link_secret_file"
    )]
    pub link_secret: Option<String>,

    /// Key for `POST /api/invite`, where an LMS or intranet gets signed links (at least 32
    /// characters; without it the endpoint is off).
    #[arg(long, env = "TREFFPUNKT_OPERATOR_KEY", hide_env_values = true)]
    pub operator_key: Option<String>,

    /// Where people open Treffpunkt (e.g. `https://meet.example.org/`): the base of links the
    /// invitation endpoint hands out (relative links without it).
    #[arg(long, env = "TREFFPUNKT_PUBLIC_URL")]
    pub public_url: Option<String>,

    /// A file whose first line is the link secret (instead of `--link-secret`).
    #[arg(long, env = "TREFFPUNKT_LINK_SECRET_FILE")]
    pub link_secret_file: Option<PathBuf>,

    /// During a change of link secret: the previous one, whose links still work.
    #[arg(long, env = "TREFFPUNKT_LINK_SECRET_PREVIOUS", hide_env_values = true)]
    pub link_secret_previous: Option<String>,

    /// Serve the web app, signalling and `/metrics` over HTTPS with `--tls-cert` and `--tls-key`
    /// (without a proxy in front). The certificate is read again when its files change (looked
    /// at every 5 s) or on SIGHUP.
    #[arg(long, env = "TREFFPUNKT_HTTPS", requires_all = ["tls_cert", "tls_key"])]
    pub https: bool,

    /// With `--https`: also answer plain HTTP here (usually `0.0.0.0:80`), sending every
    /// request on to HTTPS (308; to `--public-url` when set, else to the host asked for).
    #[arg(long, env = "TREFFPUNKT_REDIRECT_HTTP_LISTEN")]
    pub redirect_http_listen: Option<SocketAddr>,

    /// A folder where an ACME client (`certbot certonly --webroot -w FOLDER`) puts its HTTP-01
    /// challenges: `--redirect-http-listen` answers them, so certificates renew while the relay
    /// runs.
    #[arg(long, env = "TREFFPUNKT_ACME_WEBROOT")]
    pub acme_webroot: Option<PathBuf>,

    /// The relay's TLS certificate chain (PEM, leaf first), for `--https` and TURN over TLS.
    #[arg(long, env = "TREFFPUNKT_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of `--tls-cert` (PEM).
    #[arg(long, env = "TREFFPUNKT_TLS_KEY")]
    pub tls_key: Option<PathBuf>,

    /// UDP ports for TURN's relayed addresses, `FIRST-LAST`; open them in the firewall.
    #[arg(long, env = "TREFFPUNKT_TURN_RELAY_PORTS", default_value = "49152-65535",
          value_parser = parse_port_range)]
    pub turn_relay_ports: std::ops::RangeInclusive<u16>,

    /// Turn off the relay's own STUN and TURN (then browsers behind symmetric NAT or firewalls
    /// without UDP reach nobody, unless `--ice-server` names another TURN server).
    #[arg(long, env = "TREFFPUNKT_NO_TURN")]
    pub no_turn: bool,

    /// Close connections that have sent nothing (not even a WebSocket pong) for this many
    /// seconds. The relay pings every 2 s and browsers answer on their own, so the default
    /// removes someone whose network vanished from the others' screens within about 10 s.
    #[arg(long, env = "TREFFPUNKT_IDLE_TIMEOUT_SECS", default_value_t = 9)]
    pub idle_timeout_secs: u64,

    /// On SIGTERM or Ctrl-C, keep the meetings that run going for up to this many seconds while
    /// taking no one new (a load balancer sends newcomers elsewhere: `/health` answers 503), then
    /// tell everyone still there that the relay restarts, so their browsers reconnect by
    /// themselves. 0 (the default) tells them at once: right for a single relay restarted in
    /// place, where everyone is back within seconds. A second signal ends the wait.
    #[arg(long, env = "TREFFPUNKT_DRAIN_SECS", default_value_t = 0)]
    pub drain_secs: u64,

    /// Web pages, besides the relay's own origin (and `--public-url`'s), whose WebSockets the
    /// relay accepts, comma-separated (`https://schule.example.org`); `*` for every page. Needed
    /// when the app is served from another host than the relay.
    #[arg(long, env = "TREFFPUNKT_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,

    /// Proxies whose `X-Forwarded-For` names the real client address, comma-separated (default:
    /// a proxy on this machine, 127.0.0.1 or ::1).
    #[arg(long, env = "TREFFPUNKT_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpAddr>,

    /// Addresses that may read `/metrics` (Prometheus), comma-separated (default: this machine
    /// only, 127.0.0.1 and ::1). Behind a proxy the address is the one it forwards.
    #[arg(long, env = "TREFFPUNKT_METRICS_ALLOW", value_delimiter = ',')]
    pub metrics_allow: Vec<IpAddr>,

    /// Connections one address may hold at once (an IPv6 address counts by its /64). A school
    /// puts all its classes behind one address: keep this above its largest simultaneous use.
    #[arg(long, env = "TREFFPUNKT_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 300)]
    pub max_connections_per_address: usize,

    /// Connections the relay holds at once, from everyone.
    #[arg(long, env = "TREFFPUNKT_MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,

    /// Towns or schools served under host names of their own: the settings file's `[[tenant]]`
    /// tables (there is no flag for them).
    #[arg(skip)]
    pub tenants: Vec<crate::config::tenants::TenantSettings>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// For people reading a terminal or `journalctl`.
    Text,
    /// One JSON object a line.
    Json,
}

/// `FIRST-LAST`, both inclusive, FIRST <= LAST, neither 0.
fn parse_port_range(text: &str) -> Result<std::ops::RangeInclusive<u16>, String> {
    let (first, last) = text.split_once('-').ok_or("expected FIRST-LAST, e.g. 49152-65535")?;
    let parse = |p: &str| p.trim().parse::<u16>().map_err(|e| format!("{p:?}: {e}"));
    let (first, last) = (parse(first)?, parse(last)?);
    if first == 0 || first > last {
        return Err(format!("{first}-{last} is not a range of ports"));
    }
    Ok(first..=last)
}

impl Config {
    /// The settings with every default, listening on `listen`. Handy for tests.
    pub fn with_listen(listen: SocketAddr) -> Self {
        let mut config = Self::parse_from(["relay"]);
        config.listen = listen;
        config
    }

    /// The ICE servers as they go into `welcome`.
    pub fn ice_server_list(&self) -> Vec<IceServer> {
        if self.ice_servers.is_empty() {
            return Vec::new();
        }
        vec![IceServer { urls: self.ice_servers.clone(), username: None, credential: None }]
    }

    /// Whether the media loop (server forwarding) runs at all.
    pub fn sfu_enabled(&self) -> bool {
        self.mesh_threshold > 0 || !self.sfu_rooms.is_empty()
    }

    /// Where the media port binds.
    pub fn media_bind(&self) -> SocketAddr {
        self.media_listen.unwrap_or_else(|| SocketAddr::new(self.listen.ip(), 0))
    }

    /// Where the TURN port binds.
    pub fn turn_bind(&self) -> SocketAddr {
        self.turn_listen.unwrap_or_else(|| SocketAddr::new(self.media_bind().ip(), 0))
    }

    /// Host and port for `turns:` URLs: `--turn-tls-name`, with the port TURN over TLS is bound
    /// to unless the name carries one.
    pub fn turn_tls_host(&self, bound_port: u16) -> Option<String> {
        let name = self.turn_tls_name.as_deref()?;
        let has_port = match name.strip_prefix('[') {
            Some(v6) => v6.contains("]:"),
            None => name.split_once(':').is_some_and(|(_, port)| port.parse::<u16>().is_ok()),
        };
        Some(if has_port { name.to_owned() } else { format!("{name}:{bound_port}") })
    }

    /// The keys invitation links are checked with, if a link secret is set; an unreadable or
    /// empty secret file is an error in words.
    pub fn link_keys(&self) -> Result<Option<crate::config::links::LinkKeys>, String> {
        let secret = match (&self.link_secret, &self.link_secret_file) {
            (Some(secret), _) => secret.clone(),
            (None, Some(path)) => std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the link secret from {}: {e}", path.display()))?
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned(),
            (None, None) => return Ok(None),
        };
        if secret.len() < 16 {
            return Err(
                "the link secret must be at least 16 characters (e.g. `openssl rand -hex 32`)"
                    .into(),
            );
        }
        let previous = self.link_secret_previous.as_deref().map(str::as_bytes);
        Ok(Some(crate::config::links::LinkKeys::new(secret.as_bytes(), previous)))
    }

    /// Checks what flag parsing cannot: the link secret and operator key, the allowed origins,
    /// and that the TLS certificate and key load and belong together. The relay makes the same
    /// checks when it starts; `relay check-config` makes them without starting.
    pub fn check(&self) -> Result<(), String> {
        if self.redirect_http_listen.is_some() && !self.https {
            return Err("redirect-http-listen sends people to HTTPS: it needs https".into());
        }
        if self.acme_webroot.is_some() && self.redirect_http_listen.is_none() {
            return Err("acme-webroot is answered on the plain-HTTP port: it needs \
                        redirect-http-listen"
                .into());
        }
        self.link_keys()?;
        crate::config::tenants::check_all(&self.tenants)?;
        if self
            .operator_key
            .as_ref()
            .is_some_and(|k| k.len() < crate::config::links::MIN_OPERATOR_KEY)
        {
            return Err(format!(
                "the operator key must have at least {} characters (openssl rand -hex 32)",
                crate::config::links::MIN_OPERATOR_KEY
            ));
        }
        crate::web::admission::AllowedOrigins::new(
            &self.allowed_origins,
            self.public_url.as_deref(),
        )?;
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => {
                crate::web::tls::server_config(cert, key).map_err(|e| e.to_string())?;
            }
            (Some(_), None) | (None, Some(_)) => {
                return Err("a TLS certificate needs its key, and a key its certificate".into());
            }
            (None, None) if self.https => {
                return Err("https needs tls-cert and tls-key".into());
            }
            (None, None) => {}
        }
        if self.turn_tls_listen.is_some()
            && (self.tls_cert.is_none() || self.turn_tls_name.is_none())
        {
            return Err("TURN over TLS needs tls-cert, tls-key and turn-tls-name".into());
        }
        Ok(())
    }

    /// How long a broken connection's seat is kept.
    pub fn resume_grace(&self) -> Duration {
        Duration::from_secs(self.resume_grace_secs)
    }

    /// How long a shutdown waits for meetings to end.
    pub fn drain(&self) -> Duration {
        Duration::from_secs(self.drain_secs)
    }

    /// How long a silent connection lives.
    pub fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_secs.max(1))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_are_first_dash_last() {
        assert_eq!(parse_port_range("49152-65535"), Ok(49152..=65535));
        assert_eq!(parse_port_range("4000-4000"), Ok(4000..=4000));
        for bad in ["", "4000", "5000-4000", "0-10", "1-70000", "a-b"] {
            assert!(parse_port_range(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn turns_urls_name_the_certificates_host_and_the_port() {
        let config = |args: &[&str]| Config::try_parse_from([&["relay"], args].concat());
        let tls =
            ["--tls-cert", "c.pem", "--tls-key", "k.pem", "--turn-tls-listen", "192.0.2.1:5349"];
        let host = |name: &str| {
            config(&[&tls[..], &["--turn-tls-name", name]].concat()).unwrap().turn_tls_host(5349)
        };
        assert_eq!(host("turn.example.org").as_deref(), Some("turn.example.org:5349"));
        assert_eq!(host("turn.example.org:443").as_deref(), Some("turn.example.org:443"));
        assert_eq!(host("[2001:db8::1]").as_deref(), Some("[2001:db8::1]:5349"));
        assert_eq!(host("[2001:db8::1]:443").as_deref(), Some("[2001:db8::1]:443"));
        // TURN over TLS needs a certificate, its key and the name browsers check it against.
        assert!(config(&["--turn-tls-listen", "192.0.2.1:5349"]).is_err());
        assert!(config(&tls).is_err());
        assert_eq!(config(&[]).unwrap().turn_tls_host(5349), None);
    }

    #[test]
    fn the_plain_http_port_and_acme_challenges_need_what_they_serve() {
        let checked = |args: &[&str]| {
            Config::try_parse_from([&["relay"], args].concat()).map_err(|e| e.to_string())?.check()
        };
        let https = ["--https", "--tls-cert", "c.pem", "--tls-key", "k.pem"];
        let redirect = ["--redirect-http-listen", "127.0.0.1:80"];
        let acme = ["--acme-webroot", "/var/lib/treffpunkt-acme"];
        let refused = checked(&redirect).unwrap_err();
        assert!(refused.contains("needs https"), "{refused}");
        let refused = checked(&[&https[..], &acme[..]].concat()).unwrap_err();
        assert!(refused.contains("needs redirect-http-listen"), "{refused}");
        // Together they pass, up to the certificate files (which this test does not make).
        let refused = checked(&[&https[..], &redirect[..], &acme[..]].concat()).unwrap_err();
        assert!(refused.contains("c.pem"), "{refused}");
    }
}
