//! The ICE servers each participant gets in `welcome`: the relay's own STUN and TURN, with
//! credentials made for that participant, and any the operator configured.

use std::net::SocketAddr;

use protocol::{IceServer, ParticipantId};

use crate::turn::Credentials;

/// What goes into `welcome`'s `ice_servers`.
#[derive(Debug, Clone, Default)]
pub struct IceServers {
    /// Servers from `--ice-server`, handed out as they are.
    configured: Vec<IceServer>,
    /// The relay's own TURN: its URLs and the credentials to sign.
    own: Option<(Vec<String>, Credentials)>,
}

impl IceServers {
    /// Only the configured servers.
    pub fn configured(configured: Vec<IceServer>) -> Self {
        Self { configured, own: None }
    }

    /// Adds the relay's own STUN and TURN at `address` (the TURN port, as announced): STUN and
    /// TURN over UDP, and TURN over TCP on the same port number if `tcp` (it listens there).
    pub fn with_own_turn(
        mut self,
        address: SocketAddr,
        tcp: bool,
        credentials: Credentials,
    ) -> Self {
        let host = match address {
            SocketAddr::V4(v4) => v4.to_string(),
            SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
        };
        let mut urls = vec![format!("stun:{host}"), format!("turn:{host}?transport=udp")];
        if tcp {
            urls.push(format!("turn:{host}?transport=tcp"));
        }
        self.own = Some((urls, credentials));
        self
    }

    /// Adds TURN over TLS at `host` (the name in the relay's certificate, and the port).
    pub fn with_own_turns(mut self, host: &str) -> Self {
        if let Some((urls, _)) = self.own.as_mut() {
            urls.push(format!("turns:{host}?transport=tcp"));
        }
        self
    }

    /// The list for participant `id`.
    pub fn for_participant(&self, id: ParticipantId) -> Vec<IceServer> {
        let mut servers = Vec::with_capacity(self.configured.len() + 1);
        if let Some((urls, credentials)) = &self.own {
            let unix = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            match credentials.issue(id, unix) {
                Ok((username, password)) => servers.push(IceServer {
                    urls: urls.clone(),
                    username: Some(username),
                    credential: Some(password),
                }),
                Err(e) => tracing::warn!(participant = %id, "no TURN credentials: {e}"),
            }
        }
        servers.extend(self.configured.iter().cloned());
        servers
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn each_participant_gets_its_own_working_credentials_for_the_media_port() {
        let credentials =
            Credentials::new(b"k".to_vec(), 600, rtc::crypto::default_provider().unwrap());
        let ice = IceServers::configured(vec![IceServer {
            urls: vec!["turns:turn.example.org:443".into()],
            username: None,
            credential: None,
        }])
        .with_own_turn("203.0.113.1:3478".parse().unwrap(), true, credentials.clone())
        .with_own_turns("turn.example.org:443");
        let anna = ice.for_participant(ParticipantId(1));
        let ben = ice.for_participant(ParticipantId(2));
        assert_eq!(
            anna[0].urls,
            [
                "stun:203.0.113.1:3478",
                "turn:203.0.113.1:3478?transport=udp",
                "turn:203.0.113.1:3478?transport=tcp",
                "turns:turn.example.org:443?transport=tcp"
            ]
        );
        assert_eq!(anna[1].urls, ["turns:turn.example.org:443"]);
        let (user, password) =
            (anna[0].username.clone().unwrap(), anna[0].credential.clone().unwrap());
        assert!(user.ends_with(":p1"));
        assert_ne!(anna[0].username, ben[0].username);
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(credentials.password_for(&user, now).unwrap(), password);
    }

    #[test]
    fn turn_over_tcp_is_offered_only_where_it_listens() {
        let credentials =
            Credentials::new(b"k".to_vec(), 600, rtc::crypto::default_provider().unwrap());
        let ice = IceServers::default().with_own_turn(
            "203.0.113.1:3478".parse().unwrap(),
            false,
            credentials,
        );
        assert_eq!(
            ice.for_participant(ParticipantId(1))[0].urls,
            ["stun:203.0.113.1:3478", "turn:203.0.113.1:3478?transport=udp"]
        );
    }
}
